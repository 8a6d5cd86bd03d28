"""The walking skeleton, end to end in the real page: file picker and drag-and-drop input,
Pillow decoding in the workers, the 3×3 convolution on WebGPU, the NumPy reference, and the
page's own comparison of the two."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from playwright.sync_api import Error as PlaywrightError

from pages import png_bytes, random_image, run_api, wait_verified

RESULT_TIMEOUT_MS = 120_000


def _wait_for_metric(page):
    return wait_verified(page, RESULT_TIMEOUT_MS)


def _canvas_size(page, testid):
    return page.evaluate(
        "(id) => { const c = document.querySelector(`[data-testid=${id}]`); return [c.width, c.height]; }", testid)


def _canvas_pixels(page, testid):
    """Read an RGBA8 canvas back (2-D canvases only)."""
    data = page.evaluate(
        """(id) => { const c = document.querySelector(`[data-testid=${id}]`);
                     return Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data); }""",
        testid)
    w, h = _canvas_size(page, testid)
    return np.asarray(data, np.uint8).reshape(h, w, 4)


def _select_preset(page, name):
    page.get_by_test_id(f"preset-0-{name}").click()


def test_file_picker_runs_gpu_and_cpu_and_they_agree(open_app, tmp_path):
    page = open_app()
    assert page.get_by_test_id("status").get_attribute("data-gpu") == "available"
    source = random_image(29, 23, 3, seed=1)
    path = tmp_path / "picked.png"
    path.write_bytes(png_bytes(source))
    page.get_by_test_id("file-input").set_input_files(str(path))
    error = _wait_for_metric(page)
    assert 0 <= error <= 1e-5
    assert _canvas_size(page, "canvas-gpu") == [23, 29]
    assert _canvas_size(page, "canvas-cpu") == [23, 29]
    original = _canvas_pixels(page, "canvas-original")
    np.testing.assert_array_equal(original[..., :3], source)
    assert "GPU adapter" in page.get_by_test_id("gpu-adapter").text_content()
    assert not page.errors


@pytest.mark.parametrize("preset", ["identity", "box_blur", "sharpen", "edge"])
def test_drop_event_with_each_preset(open_app, preset):
    page = open_app()
    source = random_image(21, 34, 4, seed=2)
    source[:, :17, 3] = 255  # canvases store premultiplied colour: compare the opaque half exactly
    data = list(png_bytes(source))
    page.evaluate(
        """(bytes) => {
            const file = new File([new Uint8Array(bytes)], 'dropped.png', { type: 'image/png' });
            const dt = new DataTransfer();
            dt.items.add(file);
            const zone = document.querySelector('[data-testid=drop-zone]');
            zone.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
            zone.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
        }""",
        data,
    )
    _wait_for_metric(page)
    _select_preset(page, preset)
    error = _wait_for_metric(page)
    assert 0 <= error <= 1e-5
    cpu = _canvas_pixels(page, "canvas-cpu")
    gpu = _canvas_pixels(page, "canvas-gpu")
    assert np.abs(cpu.astype(int) - gpu.astype(int)).max() <= 1
    if preset == "identity":
        np.testing.assert_array_equal(cpu[:, :17], source[:, :17])
    assert not page.errors


def test_without_webgpu_the_page_says_so_and_still_shows_the_cpu_result(open_app, tmp_path):
    page = open_app(init_script="delete Navigator.prototype.gpu; delete WorkerNavigator.prototype?.gpu;")
    status = page.get_by_test_id("status")
    assert status.get_attribute("data-gpu") == "unavailable"
    assert "WebGPU is not available" in page.get_by_test_id("gpu-adapter").text_content()
    assert "CPU" in status.inner_text()
    device = page.get_by_test_id("phase-device").get_attribute("class").split()
    assert "failed" in device and "done" not in device  # no ✓ without an adapter
    source = random_image(16, 16, 1, seed=3)
    path = tmp_path / "gray.png"
    path.write_bytes(png_bytes(source))
    page.get_by_test_id("file-input").set_input_files(str(path))
    page.wait_for_function(
        "() => document.querySelector('[data-testid=verify-progress]').dataset.percent === '100'",
        timeout=RESULT_TIMEOUT_MS)
    assert _canvas_size(page, "canvas-cpu") == [16, 16]
    cpu = _canvas_pixels(page, "canvas-cpu")
    assert cpu[..., 3].min() == 255 and cpu[..., :3].max() > 0
    assert page.get_by_test_id("metric-max-abs-error").inner_text() == "–"
    assert page.get_by_test_id("gpu-note").is_visible()


def test_a_corrupt_file_gets_a_clear_message_and_keeps_the_image(open_app, tmp_path):
    page = open_app()
    good = tmp_path / "good.png"
    good.write_bytes(png_bytes(random_image(8, 8, 3, seed=4)))
    page.get_by_test_id("file-input").set_input_files(str(good))
    _wait_for_metric(page)
    bad = tmp_path / "broken.png"
    bad.write_bytes(png_bytes(random_image(8, 8, 3, seed=5))[:40])
    page.get_by_test_id("file-input").set_input_files(str(bad))
    page.wait_for_function("() => document.querySelector('[data-testid=status]').classList.contains('error')")
    text = page.get_by_test_id("status").inner_text()
    assert text.startswith("broken.png:") and "Traceback" not in text
    assert _canvas_size(page, "canvas-original") == [8, 8]


def _png_claiming(width, height):
    """A PNG signature and header that declare width × height, and no pixel data."""
    def chunk(kind, payload):
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


def test_an_oversized_image_is_refused_before_decoding_and_the_old_one_stays(app):
    small = png_bytes(random_image(6, 5, 3, seed=9))
    run_api(app, small, [])
    with pytest.raises(PlaywrightError, match="The image is 9000×8000 = 72 MP; the limit for RGBA images is 71 MP."):
        run_api(app, _png_claiming(9000, 8000), [])
    still = app.evaluate("async () => (await window.filterlab.run({ chain: [] })).width")
    assert still == 5
