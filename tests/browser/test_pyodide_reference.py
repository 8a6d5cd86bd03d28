"""The NumPy reference and the Pillow decoder as they run in the browser (Pyodide 0.27.7:
NumPy 2.0.2, Pillow 10.2.0), checked against scipy.ndimage on CPython. This catches drift
between the versions the CPython suite uses and the ones users get."""

from __future__ import annotations

import io

import numpy as np
import pytest
import scipy.ndimage as ndi
from PIL import Image

from pages import png_bytes, random_image, run_api

SOBEL_X = np.outer([1, 2, 1], [-1, 0, 1]).astype(np.float64)
LAPLACE_8 = np.array([[1, 1, 1], [1, -8, 1], [1, 1, 1]], np.float64)
KERNEL = [[0.5, -1.0, 0.25], [2.0, 0.0, -0.75], [0.125, 1.5, -0.5]]


def _scipy(op, params, plane):
    mode, cval = params["mode"], params["cval"]
    if op == "convolve":
        return ndi.convolve(plane, np.array(params["kernel"]), mode=mode, cval=cval)
    if op == "gaussian_blur":
        return ndi.gaussian_filter(plane, params["sigma"], truncate=params["truncate"], mode=mode, cval=cval)
    if op == "box_blur":
        return ndi.uniform_filter(plane, params["size"], mode=mode, cval=cval)
    if op == "unsharp_mask":
        return plane + params["amount"] * (plane - ndi.gaussian_filter(plane, params["sigma"], mode=mode, cval=cval))
    if op == "edges":
        gx = ndi.correlate(plane, SOBEL_X, mode=mode, cval=cval)
        gy = ndi.correlate(plane, SOBEL_X.T, mode=mode, cval=cval)
        return np.hypot(gx, gy)
    if op == "laplace":
        return ndi.correlate(plane, LAPLACE_8, mode=mode, cval=cval)
    raise AssertionError(op)


CASES = [
    ("convolve", {"kernel": KERNEL}),
    ("gaussian_blur", {"sigma": 1.7, "truncate": 3.0}),
    ("box_blur", {"size": 5}),
    ("unsharp_mask", {"sigma": 1.1, "amount": 1.3}),
    ("edges", {"operator": "sobel", "output": "magnitude"}),
    ("laplace", {"neighbours": 8}),
]


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
@pytest.mark.parametrize(("op", "params"), CASES, ids=[c[0] for c in CASES])
def test_reference_in_pyodide_matches_scipy(app, image, mode, op, params):
    data, expected_input = IMAGES[image]
    full = {**params, "mode": mode, "cval": 0.2}
    got = run_api(app, data, [{"op": op, "params": full}], pixels="cpu", compare=False)["pixels"]
    expected = np.stack([_scipy(op, full, expected_input[..., c]) for c in range(expected_input.shape[2])], axis=-1)
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
