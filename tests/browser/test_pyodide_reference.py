"""The NumPy reference and the Pillow decoder as they run in the browser (Pyodide 0.27.7:
NumPy 2.0.2, Pillow 10.2.0), checked against scipy.ndimage on CPython. This catches drift
between the versions the CPython suite uses and the ones users get."""

from __future__ import annotations

import io

import numpy as np
import pytest
from filterlab import catalog
from oracles import EXAMPLE_IDS, EXAMPLES, ORACLES
from PIL import Image

from pages import png_bytes, random_image, run_api

def _png16(gray16: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(gray16.astype(np.uint16)).save(out, format="PNG")
    return out.getvalue()


RGB = random_image(19, 26, 3, seed=31)
GRAY16 = np.random.default_rng(32).integers(0, 65536, size=(17, 23)).astype(np.uint16)
IMAGES = {
    "rgb8": (png_bytes(RGB), RGB.astype(np.float64) / 255),
    "gray16": (_png16(GRAY16), GRAY16[..., None].astype(np.float64) / 65535),
}


@pytest.mark.parametrize("image", list(IMAGES))
@pytest.mark.parametrize("mode", ["reflect", "constant"])
@pytest.mark.parametrize(("op", "example"), EXAMPLES, ids=EXAMPLE_IDS)
def test_reference_in_pyodide_matches_scipy(app, image, mode, op, example):
    data, expected_input = IMAGES[image]
    full = {**catalog.OPS[op].defaults(), **example, "mode": mode, "cval": 0.2}
    got = run_api(app, data, [{"op": op, "params": full}], pixels="cpu", compare=False)["pixels"]
    planes = [ORACLES[op](expected_input[..., c], full) for c in range(expected_input.shape[2])]
    expected = np.stack(planes, axis=-1)
    assert got.shape == expected.shape
    tol = 1e-6 * max(1.0, float(np.abs(expected).max()))
    assert np.abs(got - expected).max() <= tol


def test_pyodide_decodes_16_bit_precision_and_alpha(app):
    la = np.stack([random_image(9, 7, 1, seed=5), random_image(9, 7, 1, seed=6)], axis=-1)
    out = io.BytesIO()
    Image.fromarray(la).save(out, format="PNG")
    got = run_api(app, out.getvalue(), [], pixels="cpu", compare=False)
    assert got["channels"] == 2
    np.testing.assert_array_equal(got["pixels"], la.astype(np.float32) / np.float32(255))
    got16 = run_api(app, IMAGES["gray16"][0], [], pixels="cpu", compare=False)["pixels"]
    np.testing.assert_allclose(got16[..., 0], GRAY16 / 65535, atol=1e-7)
