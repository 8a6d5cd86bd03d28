"""Helpers shared by the browser tests: test images and calls into window.filterlab."""

from __future__ import annotations

import io
import json
import time

import numpy as np
from PIL import Image


def png_bytes(array: np.ndarray) -> bytes:
    """Encode a uint8 H×W or H×W×C array as PNG with Pillow."""
    out = io.BytesIO()
    Image.fromarray(array).save(out, format="PNG")
    return out.getvalue()


def random_image(height, width, channels, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    shape = (height, width) if channels == 1 else (height, width, channels)
    return rng.integers(0, 256, size=shape, dtype=np.uint8)


def run_api(page, image: bytes | None, chain, **options):
    """Call window.filterlab.run from Python (``image=None`` keeps the current image);
    Float32Array pixels come back as numpy."""
    result = page.evaluate(
        """async ([bytes, chain, options]) => {
            const image = bytes === null ? undefined : new Uint8Array(bytes);
            const r = await window.filterlab.run({ image, chain, ...options });
            if (r.pixels) r.pixels = Array.from(r.pixels);
            return r;
        }""",
        [None if image is None else list(image), chain, options],
    )
    if result.get("pixels") is not None:
        result["pixels"] = np.asarray(result["pixels"], np.float32).reshape(
            result["height"], result["width"], result["channels"])
    return result


def settled_stats(page, timeout_s=180):
    """window.filterlab.debug('stats') once the GPU worker's background compiles are done."""
    deadline = time.monotonic() + timeout_s
    while True:
        stats = page.evaluate("() => window.filterlab.debug('stats')")
        if stats["pendingCompiles"] == 0 or time.monotonic() > deadline:
            return stats
        page.wait_for_timeout(250)


METRIC = "[data-testid=metric-max-abs-error]"
VERIFIED = """() => { const m = document.querySelector('[data-testid=metrics]');
    return m.dataset.verdict === 'final' && m.dataset.stale === 'false'
        && /^[0-9.e+-]+$/.test(document.querySelector('[data-testid=metric-max-abs-error]').textContent); }"""


def wait_verified(page, timeout_ms=120_000):
    """Wait for a complete verification of what the controls show; return its max |Δ|.

    The metric's text is then cleared, so the next call waits for the next verification."""
    page.wait_for_function(VERIFIED, timeout=timeout_ms)
    value = float(page.locator(METRIC).inner_text())
    page.evaluate(f"() => {{ document.querySelector('{METRIC}').textContent = '–'; }}")
    return value


BENCH_DONE = "() => /^[{]|error:/m.test(document.querySelector('[data-testid=bench-output]').textContent)"


def bench_result(browser, url: str, timeout_ms: int) -> dict:
    """Open a bench.html `url` in a fresh context and return the JSON it shows, asserting that
    the page reported no error and raised none."""
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(url)
        page.wait_for_function(BENCH_DONE, timeout=timeout_ms)
        text = page.locator("[data-testid=bench-output]").inner_text()
    finally:
        context.close()
    assert "error:" not in text, text
    assert not errors, errors
    return json.loads(text)
