"""The page survives what users and scripts throw at it: a dead worker, a hostile page
address, off-origin requests, odd values for the API; and it keeps every input."""

from __future__ import annotations

import http.server
import threading

import pytest
from playwright.sync_api import Error as PlaywrightError

from conftest import content_security_policy
from pages import png_bytes, random_image, run_api, wait_verified

IMAGE = png_bytes(random_image(26, 31, 3, seed=71))
CHAIN = [{"op": "gaussian_blur", "params": {"sigma": 1.5}}]


def test_the_gpu_worker_recovers_from_a_fatal_error_without_a_reload(open_app):
    page = open_app()
    first = run_api(page, IMAGE, CHAIN)
    with pytest.raises(PlaywrightError, match="stopped"):
        page.evaluate("() => window.filterlab.debug('fatal')")
    page.wait_for_function("() => document.querySelector('[data-testid=notice]').textContent.includes('restored')",
                           timeout=120_000)
    # the image is back: a run without an image argument works, with the same result
    again = run_api(page, None, CHAIN)
    assert (again["width"], again["height"]) == (first["width"], first["height"])
    assert again["metrics"]["maxAbsError"] <= 1e-5


def test_a_reference_worker_that_dies_is_replaced(open_app):
    page = open_app()
    run_api(page, IMAGE, CHAIN)
    assert page.evaluate("() => window.filterlab.debug('pool-fatal')")["stopped"] == "WorkerCrashed"
    page.wait_for_function("() => document.querySelector('[data-testid=notice]').textContent.includes('reference worker')")
    assert run_api(page, IMAGE, CHAIN)["metrics"]["maxAbsError"] <= 1e-5


def test_a_deeply_nested_chain_in_a_link_is_refused_and_the_page_works(open_app):
    page = open_app()
    deep = page.evaluate("""async () => {
        try { await window.filterlab.run({ chain: JSON.parse('[' .repeat(3000) + ']'.repeat(3000)) }); }
        catch (err) { return err.message; }
    }""")
    assert "nested too deeply" in deep or "No image" in deep
    assert run_api(page, IMAGE, CHAIN)["metrics"]["maxAbsError"] <= 1e-5


def test_back_and_forward_apply_the_chain_in_the_address(open_app, tmp_path):
    page = open_app()
    path = tmp_path / "a.png"
    path.write_bytes(IMAGE)
    page.get_by_test_id("file-input").set_input_files(str(path))
    wait_verified(page)
    page.get_by_test_id("add-op").select_option("box_blur")
    page.get_by_test_id("add-step").click()
    page.wait_for_function("() => location.hash.startsWith('#chain=')")
    wait_verified(page)
    with_box = page.evaluate("() => location.hash")
    page.get_by_test_id("step-1-remove").click()
    page.wait_for_function(f"() => location.hash !== {with_box!r}")
    wait_verified(page)
    assert page.locator("[data-testid=step-1]").count() == 0
    page.go_back()
    page.wait_for_function("() => document.querySelector('[data-testid=step-1]') !== null")
    wait_verified(page)
    page.go_forward()
    page.wait_for_function("() => document.querySelector('[data-testid=step-1]') === null")


def test_a_pasted_image_is_processed(open_app):
    page = open_app()
    page.evaluate("""(bytes) => {
        const dt = new DataTransfer();
        dt.items.add(new File([new Uint8Array(bytes)], 'clip.png', { type: 'image/png' }));
        window.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt }));
    }""", list(IMAGE))
    wait_verified(page)
    assert page.evaluate("() => document.querySelector('[data-testid=canvas-gpu]').width") == 31


@pytest.mark.parametrize("image, message", [
    ("{ length: 1e10 }", "must be a File, Blob, ArrayBuffer or Uint8Array"),
    ("'a string'", "must be a File, Blob, ArrayBuffer or Uint8Array"),
    ("new Blob([new Uint8Array(300 * 2 ** 20)])", "the limit is 256 MiB"),
])
def test_run_checks_the_image_it_is_given(app, image, message):
    with pytest.raises(PlaywrightError, match=message):
        app.evaluate(f"() => window.filterlab.run({{ image: {image}, chain: [] }})")


@pytest.mark.parametrize("value", ["0", "-1", "2.5", "many"])
def test_debug_values_are_checked(app, value):
    run_api(app, IMAGE, CHAIN)
    with pytest.raises(PlaywrightError, match="band-rows must be a positive whole number"):
        app.evaluate("(v) => window.filterlab.debug('band-rows', v)", value)
    assert run_api(app, None, CHAIN)["timings"]["bands"] == 1


def test_the_content_security_policy_blocks_requests_to_other_origins(open_app):
    hits = []

    class Other(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    other = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Other)
    threading.Thread(target=other.serve_forever, daemon=True).start()
    try:
        page = open_app()
        policy = page.evaluate(
            "() => document.querySelector('meta[http-equiv=Content-Security-Policy]').content")
        assert policy == content_security_policy()
        assert "script-src 'self' 'wasm-unsafe-eval'" in policy and "'unsafe-eval'" not in policy.replace("'wasm-unsafe-eval'", "")
        port = other.server_address[1]
        outcome = page.evaluate("""async (port) => {
            const violations = [];
            document.addEventListener('securitypolicyviolation', (e) => violations.push(e.violatedDirective));
            let fetched = 'sent';
            try { await fetch(`http://127.0.0.1:${port}/leak`); } catch (err) { fetched = 'blocked'; }
            const img = new Image();
            img.src = `http://127.0.0.1:${port}/pixel.png`;
            await new Promise((r) => { img.onerror = r; img.onload = r; });
            await new Promise((r) => setTimeout(r, 200));
            return { fetched, violations };
        }""", port)
        assert outcome["fetched"] == "blocked"
        assert "connect-src" in outcome["violations"] and "img-src" in outcome["violations"]
        assert hits == []  # nothing reached the other origin
        assert run_api(page, IMAGE, CHAIN)["metrics"]["maxAbsError"] <= 1e-5  # the app works under it
        # the app itself never trips the policy: the only violations are the two injected ones
        assert not [e for e in page.errors if "Content Security Policy" in e and f":{port}/" not in e]
    finally:
        other.shutdown()
