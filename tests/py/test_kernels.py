import numpy as np
import pytest
import scipy.ndimage as ndi
from filterlab import kernels
from filterlab.kernels import KernelError


@pytest.mark.parametrize("sigma", [0.1, 0.5, 1.0, 1.7, 3.0, 16.0])
@pytest.mark.parametrize("truncate", [1.0, 2.5, 4.0, 6.0])
def test_gaussian_1d_matches_scipy(sigma, truncate):
    w = kernels.gaussian_1d(sigma, truncate=truncate)
    radius = int(truncate * sigma + 0.5)
    assert w.shape == (2 * radius + 1,)
    # The impulse response of scipy's filter is its kernel (symmetric, so no flip).
    impulse = np.zeros(2 * radius + 1)
    impulse[radius] = 1.0
    expected = ndi.gaussian_filter1d(impulse, sigma, truncate=truncate, mode="constant")
    np.testing.assert_allclose(w, expected, rtol=0, atol=1e-15)
    assert w.sum() == pytest.approx(1.0, abs=1e-14)


@pytest.mark.parametrize("sigma", [0.1, 0.8, 2.5, 16.0])
def test_second_derivative_of_gaussian_matches_scipy(sigma):
    w = kernels.gaussian_1d(sigma, order=2)
    radius = kernels.gaussian_radius(sigma)
    impulse = np.zeros(2 * radius + 1)
    impulse[radius] = 1.0
    expected = ndi.gaussian_filter1d(impulse, sigma, order=2, mode="constant")
    np.testing.assert_allclose(w, expected, rtol=0, atol=1e-13 * np.abs(expected).max())
    with pytest.raises(KernelError, match="order"):
        kernels.gaussian_1d(sigma, order=1)


def test_gaussian_2d_is_outer_product():
    w = kernels.gaussian_1d(1.2, truncate=3.0)
    np.testing.assert_array_equal(kernels.gaussian(1.2, truncate=3.0), np.outer(w, w))


@pytest.mark.parametrize("bad", [0, -1.0, float("nan"), float("inf"), True, "2"])
def test_gaussian_rejects_bad_sigma(bad):
    with pytest.raises(KernelError, match="sigma"):
        kernels.gaussian_1d(bad)


def test_box_and_identity():
    np.testing.assert_allclose(kernels.box(5), np.full((5, 5), 1 / 25))
    np.testing.assert_allclose(kernels.box_1d(7), np.full(7, 1 / 7))
    assert kernels.identity(1).tolist() == [[1.0]]
    assert kernels.identity(5)[2, 2] == 1 and kernels.identity(5).sum() == 1
    with pytest.raises(KernelError, match="odd"):
        kernels.box(4)
    with pytest.raises(KernelError, match="odd"):
        kernels.identity(0)


def test_fixed_kernels_follow_scipy_convention():
    np.testing.assert_array_equal(kernels.SOBEL_X, np.outer([1, 2, 1], [-1, 0, 1]))
    np.testing.assert_array_equal(kernels.SOBEL_Y, kernels.SOBEL_X.T)
    np.testing.assert_array_equal(kernels.SCHARR_X, np.outer([3, 10, 3], [-1, 0, 1]))
    np.testing.assert_array_equal(kernels.PREWITT_Y, np.outer([-1, 0, 1], [1, 1, 1]))
    for direction in ("x", "y"):
        name = direction.upper()
        np.testing.assert_array_equal(kernels.sobel(direction), getattr(kernels, f"SOBEL_{name}"))
        np.testing.assert_array_equal(kernels.scharr(direction), getattr(kernels, f"SCHARR_{name}"))
        np.testing.assert_array_equal(
            kernels.prewitt(direction), getattr(kernels, f"PREWITT_{name}")
        )
    # x differentiates along axis 1: a ramp increasing to the right gives a positive value.
    ramp = np.tile(np.arange(5.0), (5, 1))
    assert ndi.correlate(ramp, kernels.SOBEL_X)[2, 2] > 0
    np.testing.assert_array_equal(
        ndi.correlate(ramp, kernels.SOBEL_X), ndi.sobel(ramp, axis=1)
    )
    with pytest.raises(ValueError):
        kernels.SOBEL_X[0, 0] = 5  # module constants are read-only


def test_laplacians_emboss_sharpen():
    impulse = np.zeros((5, 5))
    impulse[2, 2] = 1
    # Correlating an impulse with a symmetric kernel reproduces the kernel.
    np.testing.assert_array_equal(ndi.laplace(impulse)[1:4, 1:4], kernels.laplacian(4))
    assert kernels.laplacian(8).tolist() == [[1, 1, 1], [1, -8, 1], [1, 1, 1]]
    assert kernels.EDGE.tolist() == [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]]
    assert kernels.emboss().sum() == 1
    np.testing.assert_array_equal(kernels.sharpen(1.0), [[0, -1, 0], [-1, 5, -1], [0, -1, 0]])
    assert kernels.sharpen(2.5).sum() == pytest.approx(1.0)
    np.testing.assert_array_equal(kernels.sharpen(0.0), kernels.identity(3))
    with pytest.raises(KernelError, match="4 or 8"):
        kernels.laplacian(6)


@pytest.mark.parametrize(
    "kernel, message",
    [
        ([[1, 2, 3]], "kernel must be square, got 1×3"),
        ([[1, 2], [3, 4]], "kernel size must be odd, got 2×2"),
        (np.ones((33, 33)), "kernel size must be at most 31×31, got 33×33"),
        ([[1, 2, 3], [4, 5]], "kernel rows must all have the same length, got 3 and 2"),
        ([[0, float("nan"), 0]] * 3,
         "kernel row 1, column 2 must be a finite number; NaN is not allowed"),
        (np.full((3, 3), np.inf), "kernel row 1, column 1 must be a finite number; "
                                  "infinity is not allowed"),
        ([[0, 0, 0], [0, 0, 0], [0, -np.inf, 0]],
         "kernel row 3, column 2 must be a finite number; -infinity is not allowed"),
        ([[None]], "kernel row 1, column 1 must be a number, got null (an empty value; "
                   "JSON writes NaN and infinity as null)"),
        ([[True]], "kernel row 1, column 1 must be a number, got true"),
        ([["1"]], "kernel row 1, column 1 must be a number, got '1'"),
        ([[0, 0, 0], [0, [1], 0], [0, 0, 0]], "kernel row 2, column 2 must be a number, got a list"),
        ([[3e38]], "kernel row 1, column 1 must be between -1e+06 and 1e+06, got 3e+38"),
        ([[0, 0, 0], [0, 0, -1000000.5], [0, 0, 0]],
         "kernel row 2, column 3 must be between -1e+06 and 1e+06, got -1000000.5"),
        ([[10**5000]], "kernel row 1, column 1 must be a finite number; the value given is too large"),
        (np.array([[0, 0, 0], [0, 0, 0], [0, 0, 2e6]]),
         "kernel row 3, column 3 must be between -1e+06 and 1e+06, got 2e+06"),
        ([[0] * 3] * 100_000, "kernel must be square, got 100000×3"),
        ([[0] * 41] * 41, "kernel size must be at most 31×31, got 41×41"),
        ([], "kernel must be a non-empty list of rows"),
        ([1, 2, 3], "kernel must be a list of rows (a 2-D array)"),
        (np.ones((3, 3, 3)), "kernel must be a 2-D array, got 3 dimension(s)"),
        (np.array([[1 + 1j]]), "kernel values must be real numbers"),
    ],
)
def test_validate_messages(kernel, message):
    with pytest.raises(KernelError) as info:
        kernels.validate(kernel)
    assert str(info.value) == message
    assert isinstance(info.value, ValueError)


def test_validate_returns_float64_copy():
    source = np.ones((3, 3), np.float32)
    out = kernels.validate(source)
    assert out.dtype == np.float64 and out.shape == (3, 3)
    out[0, 0] = 7
    assert source[0, 0] == 1
    assert kernels.validate([[2]]).tolist() == [[2.0]]
    assert kernels.validate(np.ones((31, 31), int)).shape == (31, 31)


@pytest.mark.parametrize("size", [1, 3, 7, 31])
def test_separate_rank_one(rng, size):
    column, row = rng.standard_normal(size), rng.standard_normal(size)
    kernel = np.outer(column, row)
    split = kernels.separate(kernel)
    assert split is not None
    np.testing.assert_allclose(np.outer(*split), kernel, atol=1e-12)
    assert split[1][np.argmax(np.abs(split[1]))] > 0


@pytest.mark.parametrize(
    "kernel",
    [kernels.SOBEL_X, kernels.SCHARR_Y, kernels.PREWITT_X, kernels.box(5), kernels.gaussian(1.5)],
)
def test_separate_known_separable(kernel):
    column, row = kernels.separate(kernel)
    np.testing.assert_allclose(np.outer(column, row), kernel, atol=1e-12)


@pytest.mark.parametrize("kernel", [kernels.LAPLACE_4, kernels.LAPLACE_8, kernels.EMBOSS,
                                    kernels.sharpen(1.0)])
def test_separate_rejects_full_rank(kernel):
    assert kernels.separate(kernel) is None


def test_separate_tolerance_and_zero():
    kernel = np.outer([1.0, 2.0, 1.0], [1.0, 0.0, -1.0])
    kernel[0, 0] += 1e-8
    assert kernels.separate(kernel, tol=1e-6) is not None
    assert kernels.separate(kernel) is None  # the default is SEPARABLE_TOL, 1e-12
    column, row = kernels.separate(np.zeros((3, 3)))
    assert not column.any() and not row.any()


@pytest.mark.parametrize("size", [1, 3, 5, 9, 31])
def test_analyse_agrees_with_separate_and_counts_the_rank(rng, size):
    rank_one = np.outer(rng.normal(size=size), rng.normal(size=size))
    facts = kernels.analyse(rank_one)
    assert (facts["rank"], facts["separable"], facts["taps"]) == (1, True, size)
    np.testing.assert_allclose(facts["singular_values"], np.linalg.svd(rank_one, compute_uv=False))
    if size >= 3:
        rank_two = rank_one + np.outer(rng.normal(size=size), rng.normal(size=size))
        facts = kernels.analyse(rank_two)
        assert (facts["rank"], facts["separable"], facts["taps"]) == (2, False, size * size)
        assert kernels.separate(rank_two) is None
    full = rng.normal(size=(size, size))
    assert kernels.analyse(full)["rank"] == size
    assert kernels.analyse(np.zeros((size, size)))["rank"] == 0


def test_analyse_sums_the_weights():
    assert kernels.analyse(kernels.SOBEL_X)["sum"] == 0.0
    assert kernels.analyse([[1, 2, 1], [2, 4, 2], [1, 2, 1]])["sum"] == 16.0


@pytest.mark.parametrize("value, text", [
    (1 / 9, "1/9"), (-2 / 16, "-1/8"), (1 / 16, "1/16"), (0.25, "1/4"), (0.75, "3/4"), (0.5, "0.5"), (3.0, "3"), (-0.0, "0"),
    (0.1, "0.1"), (1 / 3, "1/3"), (0.1 + 0.2, "0.30000000000000004"), (1e-7, "1e-07"),
    (2 / 9999, "2/9999"), (1 / 10007, repr(1 / 10007)),
])
def test_value_text_is_exact(value, text):
    assert kernels.value_text(value) == text
    numerator, _, denominator = text.partition("/")
    back = float(numerator) / float(denominator) if denominator else float(text)
    assert back == value  # the text gives back the same float
