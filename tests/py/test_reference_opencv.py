"""The reference filters against OpenCV, a second independent oracle.

OpenCV's border handling for kernels larger than the image differs, so these tests use
images larger than the kernel. cv2.filter2D and cv2.sepFilter2D correlate (they do not
flip the kernel) and accumulate in float32 for float32 images; 5×5 kernels stay on the
direct (non-DFT) path.
"""

import cv2
import numpy as np
import pytest
from oracles import CV2_BORDER, CV2_FILTER_MODES, assert_close, image
from filterlab import kernels, reference
from filterlab.borders import MODES

_RNG = np.random.default_rng(99)
K5 = _RNG.standard_normal((5, 5))
K5 /= np.abs(K5).sum()
COLUMN = np.array([0.3, -0.6, 1.0, 0.2, 0.4])
ROW = np.array([0.25, 0.5, -0.2, 0.1, 0.35])
SHAPES = [(16, 11), (64, 48)]


def _colour(img):
    return img[:, :, :3] if img.shape[2] == 4 else img


def _cv(result):
    return result[:, :, None] if result.ndim == 2 else result


@pytest.mark.parametrize("channels", [1, 3, 4])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("mode", CV2_FILTER_MODES)
def test_filter2d(mode, shape, channels):
    img = image(shape, channels, seed=3)
    expected = _cv(
        cv2.filter2D(np.ascontiguousarray(_colour(img)), -1, K5, borderType=CV2_BORDER[mode])
    )
    result = reference.correlate(img, K5, mode=mode)
    assert_close(_colour(result), expected)


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("mode", CV2_FILTER_MODES)
def test_sep_filter2d(mode, shape):
    img = image(shape, 3, seed=4)
    expected = cv2.sepFilter2D(img, -1, ROW, COLUMN, borderType=CV2_BORDER[mode])
    result = reference.correlate(img, np.outer(COLUMN, ROW), mode=mode)
    assert_close(result, expected)


@pytest.mark.parametrize("mode", CV2_FILTER_MODES)
def test_gaussian_blur(mode):
    img = image((40, 33), 3, seed=5)
    taps = kernels.gaussian_1d(1.3)
    expected = cv2.sepFilter2D(img, -1, taps, taps, borderType=CV2_BORDER[mode])
    assert_close(reference.gaussian_blur(img, 1.3, mode=mode), expected)


@pytest.mark.parametrize("cval", [0.0, 0.3])
@pytest.mark.parametrize("mode", MODES)
def test_padded_by_copy_make_border(mode, cval):
    # copyMakeBorder supports every mode, wrap included, and a border value; filtering the
    # padded image and keeping the centre gives the full-image result.
    img = image((20, 17), 3, seed=6)
    r = 2
    padded = cv2.copyMakeBorder(img, r, r, r, r, CV2_BORDER[mode], value=(cval,) * 4)
    full = cv2.filter2D(padded, -1, K5, borderType=cv2.BORDER_CONSTANT)
    expected = full[r:-r, r:-r]
    assert_close(reference.correlate(img, K5, mode=mode, cval=cval), expected)
    separable = cv2.sepFilter2D(padded, -1, ROW, COLUMN, borderType=cv2.BORDER_CONSTANT)
    assert_close(
        reference.correlate(img, np.outer(COLUMN, ROW), mode=mode, cval=cval),
        separable[r:-r, r:-r],
    )


@pytest.mark.parametrize("mode", CV2_FILTER_MODES)
def test_sobel(mode):
    img = image((30, 25), 1, seed=8)[:, :, 0]
    for dx, dy, output in ((1, 0, "x"), (0, 1, "y")):
        expected = cv2.Sobel(img, cv2.CV_32F, dx, dy, ksize=3, borderType=CV2_BORDER[mode])
        assert_close(reference.edges(img, "sobel", output=output, mode=mode), expected)
    expected = cv2.Scharr(img, cv2.CV_32F, 1, 0, borderType=CV2_BORDER[mode])
    assert_close(reference.edges(img, "scharr", output="x", mode=mode), expected)


@pytest.mark.parametrize("mode", CV2_FILTER_MODES)
def test_box_blur(mode):
    img = image((23, 31), 3, seed=9)
    expected = cv2.blur(img, (5, 5), borderType=CV2_BORDER[mode])
    assert_close(reference.box_blur(img, 5, mode=mode), expected)
