"""The reference filters against scipy.ndimage, operation by operation.

``ORACLES`` holds one independent implementation per catalog operation, and the grid runs
every example parameter set of every operation through it; an operation without an oracle
fails :func:`test_every_operation_has_an_oracle`. ``CASES`` adds direct calls of the public
functions with kernels the catalog examples do not cover."""

import numpy as np
import pytest
import scipy.ndimage as ndi
from oracles import (BORDER_IDS, BORDERS, CHANNELS, EXAMPLE_IDS, EXAMPLES, ORACLES, SHAPES,
                     assert_close, image, per_channel, scipy_derivative)
from filterlab import catalog, kernels, reference

_RNG = np.random.default_rng(2024)


def _normalised(kernel):
    return kernel / np.abs(kernel).sum()


K3 = _normalised(_RNG.standard_normal((3, 3)))  # not separable, not symmetric
K5 = _normalised(_RNG.standard_normal((5, 5)))
K31 = _normalised(_RNG.standard_normal((31, 31)))
# Rank 1, weights not summing to 1 (row sum 0.85): exercises the two-pass cval rule.
K_SEP = np.outer([0.25, -0.5, 1.0, 0.125, 0.75], [0.5, 0.15, -0.35, 0.1, 0.45])
assert kernels.separate(K3) is None and kernels.separate(K31) is None
assert kernels.separate(K_SEP) is not None


def _edges_case(operator, output):
    dx, dy = scipy_derivative(operator, 1), scipy_derivative(operator, 0)
    if output == "x":
        oracle = dx
    elif output == "y":
        oracle = dy
    else:

        def oracle(plane, mode, cval):
            x = np.asarray(dx(plane, mode, cval), dtype=np.float64)
            return np.hypot(x, np.asarray(dy(plane, mode, cval), dtype=np.float64))

    def ours(img, mode, cval):
        return reference.edges(img, operator, output=output, mode=mode, cval=cval)

    return ours, oracle


CASES = {
    "correlate-3x3": (
        lambda img, mode, cval: reference.correlate(img, K3, mode=mode, cval=cval),
        lambda p, mode, cval: ndi.correlate(p, K3, mode=mode, cval=cval),
    ),
    "correlate-separable": (
        lambda img, mode, cval: reference.correlate(img, K_SEP, mode=mode, cval=cval),
        lambda p, mode, cval: ndi.correlate(p.astype(np.float64), K_SEP, mode=mode, cval=cval),
    ),
    "correlate-31x31": (
        lambda img, mode, cval: reference.correlate(img, K31, mode=mode, cval=cval),
        lambda p, mode, cval: ndi.correlate(p.astype(np.float64), K31, mode=mode, cval=cval),
    ),
    "correlate-sobel": (
        lambda img, mode, cval: reference.correlate(img, kernels.SOBEL_Y, mode=mode, cval=cval),
        lambda p, mode, cval: ndi.correlate(p, kernels.SOBEL_Y, mode=mode, cval=cval),
    ),
    "convolve-5x5": (
        lambda img, mode, cval: reference.convolve(img, K5, mode=mode, cval=cval),
        lambda p, mode, cval: ndi.convolve(p, K5, mode=mode, cval=cval),
    ),
    "convolve-separable": (
        lambda img, mode, cval: reference.convolve(img, K_SEP, mode=mode, cval=cval),
        lambda p, mode, cval: ndi.convolve(p.astype(np.float64), K_SEP, mode=mode, cval=cval),
    ),
    "gaussian-1.5": (
        lambda img, mode, cval: reference.gaussian_blur(img, 1.5, mode=mode, cval=cval),
        lambda p, mode, cval: ndi.gaussian_filter(p, 1.5, mode=mode, cval=cval),
    ),
    "gaussian-0.7-t2.5": (
        lambda img, mode, cval: reference.gaussian_blur(
            img, 0.7, mode=mode, cval=cval, truncate=2.5
        ),
        lambda p, mode, cval: ndi.gaussian_filter(p, 0.7, mode=mode, cval=cval, truncate=2.5),
    ),
    "gaussian-3-radius-12": (
        lambda img, mode, cval: reference.gaussian_blur(img, 3.0, mode=mode, cval=cval),
        lambda p, mode, cval: ndi.gaussian_filter(p, 3.0, mode=mode, cval=cval),
    ),
    "box-3": (
        lambda img, mode, cval: reference.box_blur(img, 3, mode=mode, cval=cval),
        lambda p, mode, cval: ndi.uniform_filter(p, 3, mode=mode, cval=cval),
    ),
    "box-11": (
        lambda img, mode, cval: reference.box_blur(img, 11, mode=mode, cval=cval),
        lambda p, mode, cval: ndi.uniform_filter(p, 11, mode=mode, cval=cval),
    ),
    "unsharp": (
        lambda img, mode, cval: reference.unsharp_mask(img, 1.2, 1.5, mode=mode, cval=cval),
        lambda p, mode, cval: ORACLES["unsharp_mask"](p, {"sigma": 1.2, "amount": 1.5, "mode": mode, "cval": cval}),
    ),
    "laplace-4": (
        lambda img, mode, cval: reference.laplace(img, neighbours=4, mode=mode, cval=cval),
        lambda p, mode, cval: ndi.laplace(p, mode=mode, cval=cval),
    ),
    "laplace-8": (
        lambda img, mode, cval: reference.laplace(img, neighbours=8, mode=mode, cval=cval),
        lambda p, mode, cval: ndi.correlate(p, kernels.LAPLACE_8, mode=mode, cval=cval),
    ),
}
for _operator in reference.EDGE_OPERATORS:
    for _output in reference.EDGE_OUTPUTS:
        CASES[f"edges-{_operator}-{_output}"] = _edges_case(_operator, _output)


def test_every_operation_has_an_oracle():
    assert set(ORACLES) == set(catalog.OPS)


@pytest.mark.parametrize("channels", CHANNELS)
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("mode, cval", BORDERS, ids=BORDER_IDS)
@pytest.mark.parametrize("name, example", EXAMPLES, ids=EXAMPLE_IDS)
def test_catalog_examples_match_their_oracle(name, example, mode, cval, shape, channels):
    op = catalog.OPS[name]
    params = {**op.defaults(), **example, "mode": mode, "cval": cval}
    img = image(shape, channels)
    result = op.reference(img, **params)
    expected = per_channel(img, lambda plane: ORACLES[name](plane, params))
    assert_close(result, expected)


@pytest.mark.parametrize("channels", CHANNELS)
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("mode, cval", BORDERS, ids=BORDER_IDS)
@pytest.mark.parametrize("case", list(CASES))
def test_matches_scipy(case, mode, cval, shape, channels):
    ours, oracle = CASES[case]
    img = image(shape, channels)
    result = ours(img, mode, cval)
    expected = per_channel(img, lambda plane: oracle(plane, mode, cval))
    assert_close(result, expected)
    if channels == 4:
        np.testing.assert_array_equal(result[:, :, 3], img[:, :, 3])


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_shapes_dtypes_and_alpha(channels):
    img = image((6, 7), channels)
    out = reference.gaussian_blur(img, 1.0)
    assert out.shape == img.shape and out.dtype == np.float32
    if channels in (2, 4):
        np.testing.assert_array_equal(out[:, :, -1], img[:, :, -1])
        assert not np.array_equal(out[:, :, 0], img[:, :, 0])
    else:
        assert not np.array_equal(out[:, :, -1], img[:, :, -1])


def test_two_dimensional_and_other_dtypes():
    plane = image((8, 9), 1)[:, :, 0]
    out = reference.box_blur(plane, 3)
    assert out.shape == (8, 9) and out.dtype == np.float32
    assert_close(out, ndi.uniform_filter(plane, 3))
    assert_close(reference.box_blur(plane.astype(np.float64), 3), ndi.uniform_filter(plane, 3))
    as_bytes = np.arange(20, dtype=np.uint8).reshape(4, 5)
    assert_close(reference.laplace(as_bytes), ndi.laplace(as_bytes.astype(np.float64)))


def test_input_is_not_modified():
    img = image((5, 5), 4)
    copy = img.copy()
    reference.unsharp_mask(img, 1.0, 2.0)
    np.testing.assert_array_equal(img, copy)


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.zeros((3, 3, 5)), "1 to 4 channels"),
        (np.zeros((3,)), "H×W or H×W×C"),
        (np.zeros((0, 3)), "must not be empty"),
        (np.zeros((3, 3), bool), "real numbers"),
    ],
)
def test_rejects_bad_images(bad, message):
    with pytest.raises(ValueError, match=message):
        reference.box_blur(bad, 3)


def test_rejects_bad_options():
    img = image((4, 4), 3)
    with pytest.raises(ValueError, match="unknown border mode"):
        reference.gaussian_blur(img, 1.0, mode="edge")
    with pytest.raises(ValueError, match="cval must be a finite number"):
        reference.gaussian_blur(img, 1.0, mode="constant", cval=float("nan"))
    with pytest.raises(ValueError, match="odd"):
        reference.box_blur(img, 4)
    with pytest.raises(ValueError, match="unknown operator"):
        reference.edges(img, "canny")
    with pytest.raises(ValueError, match="unknown output"):
        reference.edges(img, output="angle")
    with pytest.raises(ValueError, match="square"):
        reference.correlate(img, [[1, 2, 1]])
    with pytest.raises(TypeError):
        reference.gaussian_blur(img, 1.0, "reflect")  # options are keyword-only


def test_large_image_tiles_agree_with_scipy():
    # Larger than one tile in both directions, with a ragged last tile.
    img = image((401, 150), 3, seed=7)
    assert_close(
        reference.gaussian_blur(img, 2.0, mode="wrap"),
        ndi.gaussian_filter(img, (2.0, 2.0, 0), mode="wrap"),
    )
    assert_close(
        reference.correlate(img, K5, mode="constant", cval=0.5),
        per_channel(img, lambda p: ndi.correlate(p, K5, mode="constant", cval=0.5)),
    )


def test_unsharp_amount_zero_and_no_clipping():
    img = image((9, 9), 3)
    np.testing.assert_allclose(reference.unsharp_mask(img, 2.0, 0.0), img, atol=1e-7)
    step = np.zeros((9, 9), np.float32)
    step[:, 5:] = 1.0
    out = reference.unsharp_mask(step, 1.0, 3.0)
    assert out.max() > 1.0 and out.min() < 0.0
