"""`make run` serves the app with Vite's dev server: the page starts there too, under the same
Content-Security-Policy, sent as a header."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request

from conftest import ROOT, content_security_policy


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_dev_server_serves_a_working_app(browser):
    port = _free_port()
    server = subprocess.Popen(["npx", "vite", "--host", "127.0.0.1", "--port", str(port), "--strictPort"],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              start_new_session=True)  # npx's children (node, esbuild) stop with it
    try:
        url = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    header = response.headers["Content-Security-Policy"]
                    break
            except OSError:
                assert server.poll() is None, server.stdout.read()
                assert time.monotonic() < deadline, "the dev server did not answer"
                time.sleep(0.5)
        assert header == content_security_policy()
        context = browser.new_context()
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(url)
        page.wait_for_function("() => window.filterlab !== undefined", timeout=60_000)
        page.evaluate("() => window.filterlab.ready")
        assert page.get_by_test_id("status").inner_text().startswith("Ready")
        assert not errors
        context.close()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(10)
