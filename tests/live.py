"""The app served over real HTTP on a loopback port, for browsers and concurrent requests."""

import gc
import threading
import warnings
from http.cookiejar import CookieJar
from urllib.error import HTTPError
from urllib.request import HTTPCookieProcessor, Request, build_opener

from werkzeug.datastructures import FileStorage
from werkzeug.serving import make_server
from werkzeug.test import encode_multipart

from tests.helpers import TOKEN


def closing(wsgi_app):
    """Hand the server each response whole, with its file already closed.

    werkzeug's development server leaves a static or download file open when the browser
    drops the connection mid-response (its clean-up reads the dead socket first and never
    reaches close()). The ResourceWarning then surfaced, via filterwarnings=error, as an
    error in whichever test happened to be running when the file was collected.
    """

    def app(environ, start_response):
        body = wsgi_app(environ, start_response)
        try:
            return [b"".join(body)]
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()

    return app


class LiveServer:
    """The app on a loopback port, one thread per request; stop() waits for all of them."""

    def __init__(self, app):
        self.server = make_server("127.0.0.1", 0, closing(app), threaded=True)
        self.server.daemon_threads = False  # tracked, so server_close() joins them
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.stopped = False

    def stop(self) -> list[str]:
        """Stop serving, close the socket, join the request threads; return any leaks."""
        if self.stopped:
            return []
        self.stopped = True
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ResourceWarning)
            self.server.shutdown()
            self.thread.join(timeout=10)
            self.server.server_close()
            gc.collect()
        return [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]


class Browserless:
    """One person at a plain HTTP client against a LiveServer: cookies kept, redirects
    followed, forms posted with the token of the page they are on."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.opener = build_opener(HTTPCookieProcessor(CookieJar()))

    def open(self, path: str, body: bytes | None = None, content_type: str = "") -> tuple[int, str]:
        request = Request(self.base_url + path, data=body)  # noqa: S310 - loopback http
        if content_type:
            request.add_header("Content-Type", content_type)
        try:
            with self.opener.open(request, timeout=60) as response:
                return response.status, response.read().decode()
        except HTTPError as error:
            with error:
                return error.code, error.read().decode()

    def token(self, page: str) -> str:
        _status, html = self.open(page)
        match = TOKEN.search(html)
        assert match, f"no CSRF token on {page}"
        return match.group(1)

    def post(self, path: str, fields: dict, *, page: str | None = None,
             token: str | None = None) -> tuple[int, str]:
        """Post a multipart form (values may be (BytesIO, filename) files)."""
        values = {k: FileStorage(v[0], filename=v[1]) if isinstance(v, tuple) else v
                  for k, v in fields.items()}
        values["csrf_token"] = token or self.token(page or path)
        boundary, body = encode_multipart(values)
        return self.open(path, body, f"multipart/form-data; boundary={boundary}")

    def login(self, username: str, password: str) -> None:
        status, html = self.post("/login", {"username": username, "password": password})
        assert status == 200 and "欢迎" in html, f"{username} could not log in"
