"""Browser tests: the built app (dist/) served on 127.0.0.1, driven by Playwright in headless
Chromium with a real WebGPU adapter (SwiftShader on machines without a GPU).

The browser is Debian's /usr/bin/chromium when present (``FILTERLAB_CHROMIUM`` overrides it),
else Playwright's own download if one is installed.
"""

from __future__ import annotations

import functools
import html
import http.server
import os
import re
import shutil
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "py"))  # the oracles, shared with the CPython tests
DIST = ROOT / "dist"
WEBGPU_ARGS = [
    "--enable-unsafe-webgpu",
    "--use-webgpu-adapter=swiftshader",
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
START_TIMEOUT_MS = 180_000


def content_security_policy(page: str = "index.html") -> str:
    """The policy the build wrote into a page; the server sends it as a header too, as the dev
    and preview servers do, so that it also governs the workers."""
    text = (DIST / page).read_text()
    match = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)"', text)
    if match is None:
        pytest.fail(f"dist/{page} has no Content-Security-Policy")
    return html.unescape(match.group(1))


class _Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".wasm": "application/wasm", ".mjs": "text/javascript", ".js": "text/javascript"}
    policies: dict = {}

    def log_message(self, *args):
        pass

    def end_headers(self):
        page = self.path.split("?")[0].rsplit("/", 1)[-1]
        self.send_header("Content-Security-Policy", self.policies.get(page, self.policies["index.html"]))
        super().end_headers()


@pytest.fixture(scope="session")
def server_url():
    if not (DIST / "index.html").is_file():
        pytest.fail("dist/ is missing: run 'make build' (make test does) before the browser tests")
    _Handler.policies = {page: content_security_policy(page) for page in ("index.html", "bench.html")}
    handler = functools.partial(_Handler, directory=str(DIST))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


def _chromium_path() -> str | None:
    explicit = os.environ.get("FILTERLAB_CHROMIUM")
    if explicit:
        return explicit
    for candidate in ("/usr/bin/chromium", shutil.which("chromium") or ""):
        if candidate and os.path.exists(candidate):
            return candidate
    return None  # Playwright's own browser, if installed


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=_chromium_path(), args=WEBGPU_ARGS, headless=True)
        yield browser
        browser.close()


def _open(browser, url, init_script=None):
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    if init_script:
        page.add_init_script(init_script)
    page.goto(url)
    page.wait_for_function("() => window.filterlab !== undefined", timeout=30_000)
    page.evaluate("() => window.filterlab.ready")
    page.errors = errors
    return context, page


@pytest.fixture(scope="session")
def app(browser, server_url):
    """One started app page, shared by the tests that only script it."""
    context, page = _open(browser, server_url)
    yield page
    context.close()


@pytest.fixture
def open_app(browser, server_url):
    """Open a fresh app page, optionally with an init script; closed after the test."""
    contexts = []

    def opener(init_script=None):
        context, page = _open(browser, server_url, init_script)
        contexts.append(context)
        return page

    yield opener
    for context in contexts:
        context.close()
