"""Oracle helpers shared by the reference tests: test images, border maps, tolerances, and
``ORACLES``, one independent scipy.ndimage implementation per catalog operation (the browser
tests use them too)."""

import cv2
import numpy as np
import scipy.ndimage as ndi
from filterlab import catalog, kernels
from filterlab.borders import MODES

#: The one map from Filter Lab border modes to OpenCV border types.
CV2_BORDER = {
    "reflect": cv2.BORDER_REFLECT,  # fedcba|abcdef|fedcba
    "mirror": cv2.BORDER_REFLECT_101,  # fedcb|abcdef|edcba
    "nearest": cv2.BORDER_REPLICATE,
    "wrap": cv2.BORDER_WRAP,
    "constant": cv2.BORDER_CONSTANT,
}

#: Modes cv2.filter2D and cv2.sepFilter2D accept directly (they reject BORDER_WRAP).
CV2_FILTER_MODES = tuple(mode for mode in MODES if mode != "wrap")

#: Border cases for oracle tests: every mode, and constant with a zero and a non-zero
#: value (non-constant modes ignore cval).
BORDERS = [(mode, 0.0) for mode in MODES] + [("constant", 0.3)]
BORDER_IDS = [f"{mode}-{cval:g}" if mode == "constant" else mode for mode, cval in BORDERS]

SHAPES = [(1, 1), (1, 9), (9, 1), (7, 5), (64, 48)]
CHANNELS = [1, 3, 4]

#: Agreement required with the oracles: 1e-6 absolute for results of magnitude up to 1,
#: and 1e-6 relative beyond, where one float32 rounding step alone exceeds 1e-6 (the
#: derivative filters reach 16 and more).
TOL = 1e-6


def image(shape, channels, seed=0):
    """A reproducible float32 H×W×C image with values in [0, 1)."""
    rng = np.random.default_rng([seed, *shape, channels])
    return rng.random((*shape, channels), dtype=np.float32)


def per_channel(img, oracle_2d):
    """Apply a 2-D oracle to each colour channel; alpha (C = 2 or 4) passes through."""
    colour = img.shape[2] - 1 if img.shape[2] in (2, 4) else img.shape[2]
    planes = [np.asarray(oracle_2d(img[:, :, c]), dtype=np.float64) for c in range(colour)]
    if colour < img.shape[2]:
        planes.append(img[:, :, -1].astype(np.float64))
    return np.stack(planes, axis=2)


def assert_close(actual, expected, tol=TOL):
    actual = np.asarray(actual)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape
    assert actual.dtype == np.float32
    error = np.abs(actual.astype(np.float64) - expected)
    allowed = tol * np.maximum(1.0, np.abs(expected))
    worst = float((error / allowed).max())
    assert worst <= 1.0, f"max error {float(error.max()):.3g} exceeds tolerance ({worst:.3g}×)"


# -- one oracle per catalog operation -------------------------------------------------------------


def scipy_derivative(operator, axis):
    """An oracle of one derivative: scipy.ndimage's own sobel or prewitt, or the correlation
    with the 2-D kernel (scharr, and any constant border with a non-zero value: scipy's
    sobel and prewitt pad their second 1-D pass with cval too, which is not the 2-D
    correlation the operation is defined as)."""
    kernel = getattr(kernels, f"{operator.upper()}_{'X' if axis == 1 else 'Y'}")

    def oracle(plane, mode, cval):
        if operator != "scharr" and (mode != "constant" or cval == 0.0):
            return getattr(ndi, operator)(plane, axis=axis, mode=mode, cval=cval)
        return ndi.correlate(plane.astype(np.float64), kernel, mode=mode, cval=cval)

    return oracle


def _convolve(plane, p):
    convolved = ndi.convolve(plane.astype(np.float64), np.array(p["kernel"]) / p["divisor"],
                             mode=p["mode"], cval=p["cval"])
    return convolved + p["offset"]


def _gaussian_blur(plane, p):
    return ndi.gaussian_filter(plane, p["sigma"], truncate=p["truncate"], mode=p["mode"], cval=p["cval"])


def _box_blur(plane, p):
    return ndi.uniform_filter(plane, p["size"], mode=p["mode"], cval=p["cval"])


def _unsharp_mask(plane, p):
    blur = ndi.gaussian_filter(plane, p["sigma"], mode=p["mode"], cval=p["cval"], truncate=4.0)
    plane = plane.astype(np.float64)
    return plane + p["amount"] * (plane - blur)


def _edges(plane, p):
    gx = np.asarray(scipy_derivative(p["operator"], 1)(plane, p["mode"], p["cval"]), np.float64)
    gy = np.asarray(scipy_derivative(p["operator"], 0)(plane, p["mode"], p["cval"]), np.float64)
    return {"x": gx, "y": gy, "magnitude": np.hypot(gx, gy)}[p["output"]]


def _laplace(plane, p):
    if p["neighbours"] == 4:
        return ndi.laplace(plane, mode=p["mode"], cval=p["cval"])
    return ndi.correlate(plane.astype(np.float64), kernels.LAPLACE_8, mode=p["mode"], cval=p["cval"])


def _log(plane, p):
    plane = plane.astype(np.float64)
    if p["mode"] != "constant" or p["cval"] == 0.0:
        return ndi.gaussian_laplace(plane, p["sigma"], mode=p["mode"], cval=p["cval"])
    # scipy pads each 1-D pass with cval; the operation holds cval in two dimensions, which is
    # the correlation with the full 2-D kernel.
    radius = int(4.0 * p["sigma"] + 0.5)
    impulse = np.zeros(2 * radius + 1)
    impulse[radius] = 1.0  # the impulse responses of scipy's 1-D filters are its kernels
    smooth = ndi.gaussian_filter1d(impulse, p["sigma"], mode="constant")
    second = ndi.gaussian_filter1d(impulse, p["sigma"], order=2, mode="constant")
    kernel = np.outer(smooth, second) + np.outer(second, smooth)
    return ndi.correlate(plane, kernel, mode="constant", cval=p["cval"])


#: One oracle per catalog operation: ``ORACLES[op](plane, params)`` filters one channel with
#: every parameter given. A test fails when the catalog has an operation without one.
ORACLES = {
    "convolve": _convolve,
    "gaussian_blur": _gaussian_blur,
    "box_blur": _box_blur,
    "unsharp_mask": _unsharp_mask,
    "edges": _edges,
    "laplace": _laplace,
    "log": _log,
}

#: Every example parameter set of every catalog operation, and a pytest id for each that
#: starts with the operation's name (so ``pytest -k laplace`` selects one operation's cases).
EXAMPLES = [(name, example) for name, op in catalog.OPS.items() for example in op.examples]
EXAMPLE_IDS = [f"{name}-{i}" for name, op in catalog.OPS.items() for i in range(len(op.examples))]
