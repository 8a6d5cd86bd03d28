"""The page as a person uses it: build a chain, move sliders, type bad values, reload."""

from __future__ import annotations

import cv2
import numpy as np

from pages import png_bytes, random_image, run_api, wait_verified

TIMEOUT_MS = 120_000
METRIC = "[data-testid=metric-max-abs-error]"


def _load(page, tmp_path, seed=0):
    path = tmp_path / f"image{seed}.png"
    path.write_bytes(png_bytes(random_image(24, 32, 3, seed=seed)))
    page.get_by_test_id("file-input").set_input_files(str(path))
    _wait_fresh_metric(page)


def _wait_fresh_metric(page):
    return wait_verified(page, TIMEOUT_MS)


def _gpu_pixels(page):
    return np.asarray(page.evaluate(
        """() => { const c = document.querySelector('[data-testid=canvas-gpu]');
                   return Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data); }"""))


def _slide(page, testid, value):
    page.evaluate(
        """([id, v]) => { const s = document.querySelector(`[data-testid=${id}]`);
                          s.value = v; s.dispatchEvent(new Event('input', { bubbles: true })); }""",
        [testid, str(value)])


def test_build_a_chain_and_tune_it_with_sliders(open_app, tmp_path):
    page = open_app()
    _load(page, tmp_path)
    page.get_by_test_id("add-op").select_option("gaussian_blur")
    page.get_by_test_id("add-step").click()
    assert page.get_by_test_id("step-1").is_visible()
    assert _wait_fresh_metric(page) <= 1e-5
    before = _gpu_pixels(page)
    _slide(page, "param-1-sigma", 4.5)
    assert _wait_fresh_metric(page) <= 1e-5
    after = _gpu_pixels(page)
    assert np.abs(after - before).max() > 0  # the preview followed the slider
    assert page.get_by_test_id("param-1-sigma-number").input_value() == "4.5"
    # Moving a step up and disabling it are edits too; each result is still verified.
    page.get_by_test_id("step-1-up").click()
    assert _wait_fresh_metric(page) <= 1e-5
    page.get_by_test_id("step-0-enabled").uncheck()
    assert _wait_fresh_metric(page) <= 1e-5
    assert not page.errors


def test_out_of_range_and_non_numeric_input_is_refused_with_a_message(open_app, tmp_path):
    page = open_app()
    _load(page, tmp_path, seed=1)
    page.get_by_test_id("add-op").select_option("gaussian_blur")
    page.get_by_test_id("add-step").click()
    _wait_fresh_metric(page)
    number = page.get_by_test_id("param-1-sigma-number")
    number.fill("99")
    number.dispatch_event("change")
    assert "between" in number.locator("xpath=..").get_attribute("title")
    cell = page.get_by_test_id("kernel-0-1-1")
    cell.fill("not a number")
    cell.dispatch_event("change")
    page.wait_for_function("() => document.querySelector('[data-testid=status]').classList.contains('error')")
    message = page.get_by_test_id("status").inner_text()
    assert message.startswith("step 1 (convolve): kernel")  # the validator's words, no class names
    assert "Traceback" not in message
    # The last good result stays on screen.
    assert page.evaluate("() => document.querySelector('[data-testid=canvas-gpu]').width") == 32


def test_the_chain_survives_a_reload_through_the_address(open_app, tmp_path):
    page = open_app()
    first = page.evaluate("() => location.hash")  # the address holds the first chain too
    assert first.startswith("#chain=")
    page.get_by_test_id("add-op").select_option("edges")
    page.get_by_test_id("add-step").click()
    page.get_by_test_id("param-1-operator").select_option("scharr")
    page.wait_for_function("(first) => location.hash.startsWith('#chain=') && location.hash !== first", arg=first)
    page.wait_for_timeout(600)  # edits within the address's 250 ms debounce make one entry
    page.reload()
    page.evaluate("() => window.filterlab.ready")
    assert page.get_by_test_id("param-1-operator").input_value() == "scharr"
    assert page.get_by_test_id("step-0").is_visible()


def test_export_downloads_the_gpu_result_as_png(open_app, tmp_path):
    page = open_app()
    source = png_bytes(random_image(24, 32, 3, seed=4))
    path = tmp_path / "in.png"
    path.write_bytes(source)
    page.get_by_test_id("file-input").set_input_files(str(path))
    _wait_fresh_metric(page)
    # The default chain (a 3×3 sharpen), as the reference computes it, clipped for a file.
    sharpen = [{"op": "convolve", "params": {"kernel": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]]}}]
    expected = np.clip(run_api(page, source, sharpen, pixels="cpu", compare=False)["pixels"], 0, 1)
    for bits, scale in ((8, 255), (16, 65535)):
        with page.expect_download() as info:
            page.get_by_test_id(f"export-{bits}").click()
        target = tmp_path / f"out{bits}.png"
        info.value.save_as(str(target))
        # OpenCV reads 16-bit colour PNGs at full depth (Pillow reduces them to 8 bits).
        exported = cv2.imread(str(target), cv2.IMREAD_UNCHANGED)[..., ::-1]
        assert exported.dtype == (np.uint8 if bits == 8 else np.uint16)
        assert exported.shape == (24, 32, 3)
        assert np.abs(exported / scale - expected).max() <= 0.5 / scale + 1e-6
