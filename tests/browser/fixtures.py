"""Browser fixtures, shared by every journey (a plugin of tests/conftest.py, so one Chromium
serves the whole session): the real app served on a loopback port, driven by Chromium.

`HEADED=1` shows the browser window instead (needs a display), and `SLOWMO=250` waits that many
milliseconds before each browser action, so a person can follow the journey.
"""

import os
import shutil

import pytest
from playwright.sync_api import sync_playwright

CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--disable-quic",
    "--no-first-run", "--disable-background-networking", "--disable-component-update",
    "--disable-sync",
]


def launch_options(environ=os.environ) -> dict:
    """Headless unless HEADED is set to something other than "", "0" or "false"."""
    headed = environ.get("HEADED", "").strip().lower() not in ("", "0", "false", "no")
    options: dict = {"headless": not headed}
    if headed and environ.get("SLOWMO", "").strip():
        options["slow_mo"] = float(environ["SLOWMO"])
    return options


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, **launch_options())
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser, live_app):
    """Open a fresh browser context (its own cookies) per person in the journey."""
    contexts = []

    def open_page(**options):
        context = browser.new_context(base_url=live_app.base_url, locale="zh-CN", **options)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        return page

    yield open_page
    for context in contexts:
        context.close()
