"""Properties of the reference filters, checked on generated images and kernels."""

import numpy as np
from oracles import assert_close
from filterlab import reference
from filterlab.borders import MODES
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

SETTINGS = settings(max_examples=40, deadline=None)

# numpy.pad names for the scipy.ndimage modes ("mirror" on one pixel reads that pixel).
_NUMPY_PAD = {"reflect": "symmetric", "mirror": "reflect", "nearest": "edge", "wrap": "wrap"}

sizes = st.integers(1, 12)
odd_sizes = st.sampled_from([1, 3, 5, 7])
modes = st.sampled_from(MODES)
cvals = st.floats(0.0, 1.0, width=32)
unit = st.floats(0.0, 1.0, width=32)
weights = st.floats(-1.0, 1.0, allow_nan=False, width=64)


@st.composite
def images(draw, channels=st.sampled_from([1, 3, 4])):
    h, w, c = draw(sizes), draw(sizes), draw(channels)
    return draw(arrays(np.float32, (h, w, c), elements=unit))


@st.composite
def vectors(draw, size):
    return np.array(draw(st.lists(weights, min_size=size, max_size=size)))


def _brute_force(img, kernel, mode, cval):
    """Full 2-D correlation by padding with numpy.pad and summing every tap in float64."""
    r = kernel.shape[0] // 2
    h, w, _ = img.shape
    pad = ((r, r), (r, r), (0, 0))
    plane = img.astype(np.float64)
    if mode == "constant":
        padded = np.pad(plane, pad, mode="constant", constant_values=cval)
    else:
        padded = plane
        for axis, n in ((0, h), (1, w)):
            axis_pad = [(0, 0)] * 3
            axis_pad[axis] = (r, r)
            numpy_mode = "edge" if (mode == "mirror" and n == 1) else _NUMPY_PAD[mode]
            padded = np.pad(padded, axis_pad, mode=numpy_mode)
    out = np.zeros_like(plane)
    for dy in range(kernel.shape[0]):
        for dx in range(kernel.shape[1]):
            out += kernel[dy, dx] * padded[dy : dy + h, dx : dx + w]
    return out


def _colour(img):
    return img[:, :, :3] if img.shape[2] == 4 else img


@SETTINGS
@given(img=images(), size=odd_sizes, mode=modes, cval=cvals)
def test_identity_kernel_is_identity(img, size, mode, cval):
    kernel = np.zeros((size, size))
    kernel[size // 2, size // 2] = 1.0
    np.testing.assert_array_equal(reference.correlate(img, kernel, mode=mode, cval=cval), img)
    np.testing.assert_array_equal(reference.convolve(img, kernel, mode=mode, cval=cval), img)


@SETTINGS
@given(
    a=images(st.just(3)),
    data=st.data(),
    size=odd_sizes,
    mode=modes,
    alpha=st.floats(-2, 2),
    beta=st.floats(-2, 2),
)
def test_linearity(a, data, size, mode, alpha, beta):
    b = data.draw(arrays(np.float32, a.shape, elements=unit))
    kernel = data.draw(vectors(size * size)).reshape(size, size)
    # Linear only with a zero border value; other modes ignore cval.
    combined = (alpha * a.astype(np.float64) + beta * b).astype(np.float32)

    def f(x):
        return reference.correlate(x, kernel, mode=mode, cval=0.0).astype(np.float64)

    expected = alpha * f(a) + beta * f(b)
    # The combined image is rounded to float32 before filtering, hence the looser bound.
    np.testing.assert_allclose(f(combined), expected, atol=2e-5 * max(1, size * size / 4))


@SETTINGS
@given(img=images(), data=st.data(), size=odd_sizes, mode=modes, cval=cvals)
def test_separable_equals_full_2d(img, data, size, mode, cval):
    column, row = data.draw(vectors(size)), data.draw(vectors(size))
    kernel = np.outer(column, row)
    expected = _brute_force(_colour(img), kernel, mode, cval)
    result = reference.correlate(img, kernel, mode=mode, cval=cval)
    assert_close(_colour(result), expected)
    flipped = _brute_force(_colour(img), kernel[::-1, ::-1], mode, cval)
    assert_close(_colour(reference.convolve(img, kernel, mode=mode, cval=cval)), flipped)


@SETTINGS
@given(img=images(), data=st.data(), size=odd_sizes, mode=modes, cval=cvals)
def test_full_2d_matches_brute_force(img, data, size, mode, cval):
    kernel = data.draw(vectors(size * size)).reshape(size, size)
    kernel[0, 0] += 0.5  # keep it clear of rank 1 for size > 1
    expected = _brute_force(_colour(img), kernel, mode, cval)
    assert_close(_colour(reference.correlate(img, kernel, mode=mode, cval=cval)), expected)


@SETTINGS
@given(img=images(), data=st.data(), size=odd_sizes)
def test_wrap_keeps_the_mean(img, data, size):
    kernel = np.array(
        data.draw(st.lists(st.floats(0.01, 1.0), min_size=size * size, max_size=size * size))
    ).reshape(size, size)
    kernel /= kernel.sum()
    result = reference.correlate(img, kernel, mode="wrap")
    np.testing.assert_allclose(
        result.astype(np.float64).mean(axis=(0, 1)),
        img.astype(np.float64).mean(axis=(0, 1)),
        atol=1e-6,
    )


@SETTINGS
@given(img=images(), sigma=st.floats(0.1, 4.0), mode=modes, cval=cvals)
def test_blur_of_constant_image_in_matching_border_is_constant(img, sigma, mode, cval):
    flat = np.full_like(img, cval)
    out = reference.gaussian_blur(flat, sigma, mode=mode, cval=cval)
    np.testing.assert_allclose(out, flat, atol=1e-6)
