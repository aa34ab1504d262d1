"""The test server itself: a browser that drops a download mid-way leaves nothing open."""

import socket
import struct

import pytest


def drop_mid_response(port: int, path: str) -> None:
    """Ask for `path`, read a few bytes, then reset the connection (as a tab closed)."""
    with socket.create_connection(("127.0.0.1", port)) as conn:
        conn.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        assert conn.recv(12).startswith(b"HTTP/1.1 200")


@pytest.mark.parametrize("path", ["/static/vendor/pico.min.css", "/static/css/site.css"])
def test_dropped_downloads_leave_no_file_open(live_app, path):
    for _ in range(5):
        drop_mid_response(live_app.server.port, path)
    assert live_app.server.stop() == []
