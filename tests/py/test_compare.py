import json
import math

import numpy as np
import pytest
from filterlab import compare


def test_identical_images():
    a = np.random.default_rng(0).random((4, 5, 3), dtype=np.float32)
    m = compare.metrics(a, a.copy())
    assert m.max_abs_error == m.mean_abs_error == m.rmse == m.fraction_over_tolerance == 0.0
    assert m.psnr == math.inf and m.tolerance == 1e-5


def test_known_values():
    a = np.zeros((2, 2), np.float32)
    b = np.array([[0.1, 0.0], [0.0, -0.3]], np.float32)
    m = compare.metrics(a, b, tol=0.2)
    assert m.max_abs_error == pytest.approx(0.3)
    assert m.mean_abs_error == pytest.approx(0.1)
    mse = (0.1**2 + 0.3**2) / 4
    assert m.rmse == pytest.approx(math.sqrt(mse))
    assert m.psnr == pytest.approx(10 * math.log10(1 / mse))
    assert m.fraction_over_tolerance == 0.25
    assert (m.worst_x, m.worst_y) == (1, 1)
    d = m.as_dict()
    assert list(d) == ["max_abs_error", "worst_x", "worst_y", "mean_abs_error", "rmse", "psnr",
                       "fraction_over_tolerance", "tolerance", "fraction_pixels_over_tolerance"]
    assert m.fraction_pixels_over_tolerance == 0.25
    assert type(d["worst_x"]) is int and type(d["worst_y"]) is int
    assert json.loads(json.dumps(d))["tolerance"] == 0.2


def test_shape_mismatch_and_bad_tol():
    with pytest.raises(ValueError, match=r"same shape, got \(2, 2, 3\) and \(2, 2, 4\)"):
        compare.metrics(np.zeros((2, 2, 3)), np.zeros((2, 2, 4)))
    with pytest.raises(ValueError, match="tol"):
        compare.metrics(np.zeros(2), np.zeros(2), tol=-1)


def test_heatmap():
    a = np.zeros((2, 3, 4), np.float32)
    b = a.copy()
    b[0, 1, 2] = 1.02e-6  # the largest channel difference counts
    b[0, 1, 0] = 1e-8
    b[1, 2, 0] = 1e-4
    b[1, 1, 3] = 1e-9
    out = compare.heatmap(a, b, limits=(1e-8, 1e-4))
    assert out.dtype == np.uint8 and out.shape == (2, 3, 4)
    assert (out[:, :, 3] == 255).all()
    assert out[0, 0, :3].tolist() == list(compare.ZERO_COLOUR)
    assert out[0, 1, :3].tolist() == compare.RAMP[128].tolist()  # half way on the log scale
    assert out[1, 2, :3].tolist() == compare.RAMP[255].tolist()
    assert out[1, 1, :3].tolist() == compare.RAMP[0].tolist()  # below the range: its bottom
    assert compare.heatmap(a[:, :, 0], b[:, :, 0]).shape == (2, 3, 4)
    # The automatic range: from 1e-9 (the floor and the smallest difference) to 1e-4.
    np.testing.assert_array_equal(compare.heatmap(a, b), compare.heatmap(a, b, limits=(1e-9, 1e-4)))


def test_ramp_runs_dark_to_light():
    ramp = compare.RAMP.astype(float)
    luma = ramp @ [0.2126, 0.7152, 0.0722]
    assert (np.diff(luma) > 0).all()
    assert luma[0] < 5 and luma[-1] > 240


def test_zero_and_invalid_colours_are_not_on_the_ramp():
    ramp = {tuple(c) for c in compare.RAMP.tolist()}
    assert compare.ZERO_COLOUR not in ramp and compare.INVALID_COLOUR not in ramp
    assert compare.ZERO_COLOUR != compare.INVALID_COLOUR


@pytest.mark.parametrize("limits", [(0, 1), (1e-3, 1e-3), (1e-3, 1e-6), (float("nan"), 1), (-1, 1)])
def test_heatmap_limits_are_checked(limits):
    with pytest.raises(ValueError, match="lo"):
        compare.heatmap(np.zeros((2, 2)), np.zeros((2, 2)), limits=limits)


@pytest.mark.parametrize("values, expected", [
    ([0.0, 1.5e-8, 3e-6, np.nan], (1e-8, 5e-6)),
    ([2e-7, 2e-7], (2e-7, 5e-7)),  # one value: widened to the next step
    ([1e-6], (1e-6, 2e-6)),
    ([1e-12, 4e-7], (1e-9, 5e-7)),  # the floor
    ([1e-12, 0.0], (1e-9, 1e-8)),  # all below the floor
    ([0.0, np.inf, np.nan], (1e-9, 1e-8)),
    ([0.3, 7.0], (0.2, 10.0)),
])
def test_error_range(values, expected):
    assert compare.error_range(np.array(values)) == expected


def test_error_range_steps_are_exact_decimals():
    lo, hi = compare.error_range(np.array([2.9e-7, 4.1e-5]))
    assert (lo, hi) == (2e-7, 5e-5) and repr(lo) == "2e-07" and repr(hi) == "5e-05"
    assert compare.nice_steps(2e-7, 5e-5) == [2e-7, 5e-7, 1e-6, 2e-6, 5e-6, 1e-5, 2e-5, 5e-5]


def test_log_scale_levels_are_even_in_log():
    lo, hi = 1e-9, 1e-3
    values = lo * (hi / lo) ** (np.arange(256) / 255)  # the centre of each level
    out = compare.error_colours(values[None, :], limits=(lo, hi))
    np.testing.assert_array_equal(out[0, :, :3], compare.RAMP)


# -- where the largest difference is ------------------------------------------------------------


def test_worst_is_the_first_largest_in_raster_order():
    a = np.zeros((4, 5, 3), np.float32)
    b = a.copy()
    b[3, 0, 0] = 0.5
    b[1, 4, 2] = -0.5  # the same |difference|, earlier in raster order, in another channel
    b[2, 2, 1] = 0.25
    m = compare.metrics(a, b)
    assert m.max_abs_error == 0.5 and (m.worst_x, m.worst_y) == (4, 1)
    m = compare.metrics(a[:, :, 0], b[:, :, 0])  # H×W
    assert (m.worst_x, m.worst_y) == (0, 3)


def test_worst_of_identical_images_is_the_first_pixel():
    m = compare.metrics(np.ones((3, 3)), np.ones((3, 3)))
    assert (m.max_abs_error, m.worst_x, m.worst_y) == (0.0, 0, 0)


def test_a_1d_array_is_one_column():
    m = compare.metrics(np.zeros(5), np.array([0.0, 0.0, 0.5, 0.0, 0.5]))
    assert (m.worst_x, m.worst_y) == (0, 2)


def test_nan_makes_the_errors_nan_and_points_at_the_first_nan():
    a = np.zeros((3, 4, 2))
    b = a.copy()
    b[0, 0, 0] = 5.0  # larger than any finite difference, but a NaN wins
    b[2, 1, 1] = np.nan
    a[1, 3, 0] = np.nan
    m = compare.metrics(a, b, tol=0.1)
    assert math.isnan(m.max_abs_error) and math.isnan(m.mean_abs_error)
    assert math.isnan(m.rmse) and math.isnan(m.psnr)
    assert (m.worst_x, m.worst_y) == (3, 1)
    assert m.fraction_over_tolerance == 1 / 24  # NaN is not over the tolerance


def test_an_infinite_difference():
    m = compare.metrics(np.zeros(3), np.array([0.0, np.inf, 1.0]))
    assert m.max_abs_error == m.mean_abs_error == m.rmse == math.inf
    assert m.psnr == -math.inf and m.worst_y == 1
    m = compare.metrics(np.zeros(2), np.array([1e300, 1e300]))  # the squares overflow
    assert m.rmse == math.inf and m.psnr == -math.inf
    # Finite sums whose total overflows.
    parts = [compare.partial(np.zeros(1), np.full(1, 1.2e154), origin=(y, 0)) for y in (0, 1)]
    assert parts[0].sum_squared_error < math.inf
    m = compare.combine(parts)
    assert m.rmse == math.inf and m.psnr == -math.inf and m.max_abs_error == 1.2e154


# -- partials and their combination -------------------------------------------------------------


def _random_cuts(rng, n):
    """Sorted cut points 0 = c0 < c1 < ... < n, at random."""
    inner = rng.choice(np.arange(1, n), size=rng.integers(0, min(n - 1, 6) + 1), replace=False)
    return [0, *sorted(int(c) for c in inner), n]


def _random_tiling(rng, h, w):
    """Rectangles covering h × w exactly once: random bands, each cut at its own columns."""
    ys = _random_cuts(rng, h)
    return [(y0, y1, x0, x1) for y0, y1 in zip(ys, ys[1:])
            for xs in [_random_cuts(rng, w)] for x0, x1 in zip(xs, xs[1:])]


def assert_combined_equals(combined, whole):
    for name in ("max_abs_error", "worst_x", "worst_y", "fraction_over_tolerance", "tolerance",
                 "fraction_pixels_over_tolerance"):
        a, b = getattr(combined, name), getattr(whole, name)
        assert a == b or (math.isnan(a) and math.isnan(b)), name
    for name in ("mean_abs_error", "rmse", "psnr"):
        assert getattr(combined, name) == pytest.approx(getattr(whole, name), rel=1e-12,
                                                        nan_ok=True), name


def _combine_tiles(a, b, tiling, tol, rng):
    parts = [compare.partial(a[y0:y1, x0:x1], b[y0:y1, x0:x1], tol=tol, origin=(y0, x0))
             for y0, y1, x0, x1 in tiling]
    rng.shuffle(parts)  # the order of the partials does not matter
    return compare.combine(parts, tol=tol)


@pytest.mark.parametrize("case", ["noise", "ties", "nan", "identical", "grey"])
def test_any_tiling_combines_to_the_whole_image_metrics(case):
    rng = np.random.default_rng(["noise", "ties", "nan", "identical", "grey"].index(case))
    shape = (23, 31) if case == "grey" else (23, 31, 3)
    a = rng.random(shape, dtype=np.float32)
    b = (a + rng.normal(0, 1e-5, shape)).astype(np.float32)
    if case == "ties":
        a[:] = 0.5
        b[:] = 0.5
        for y, x in [(20, 3), (4, 29), (4, 30), (11, 11)]:
            b[y, x, rng.integers(3)] = 0.75
    elif case == "nan":
        b[17, 2, 0] = np.nan
        b[5, 20, 2] = np.nan
        b[0, 0, 1] = 100.0
    elif case == "identical":
        b = a.copy()
    whole = compare.metrics(a, b, tol=1e-5)
    for _ in range(10):
        tiling = _random_tiling(rng, *shape[:2])
        assert_combined_equals(_combine_tiles(a, b, tiling, 1e-5, rng), whole)
    if case == "ties":
        assert (whole.worst_x, whole.worst_y) == (29, 4)
    if case == "nan":
        assert (whole.worst_x, whole.worst_y) == (20, 5)


def test_partial_known_values():
    a = np.zeros((2, 3, 2))
    b = np.zeros((2, 3, 2))
    b[1, 2] = [0.5, -0.25]
    b[0, 1, 0] = 0.125
    p = compare.partial(a, b, tol=0.2, origin=(10, 100))
    assert (p.max_abs_error, p.worst_x, p.worst_y) == (0.5, 102, 11)
    assert p.sum_abs_error == 0.875 and p.sum_squared_error == 0.25 + 0.0625 + 0.015625
    assert (p.over_tolerance, p.samples, p.tolerance) == (2, 12, 0.2)
    assert (p.pixels_over_tolerance, p.pixels) == (1, 6)  # two samples over, in one pixel
    assert compare.Partial(**json.loads(json.dumps(p.as_dict()))) == p


@pytest.mark.parametrize("case", ["noise", "ties", "nan"])
def test_folding_as_tiles_arrive_gives_the_whole_image_metrics(case):
    # A running verification folds each batch of new tiles into the fold of those before.
    rng = np.random.default_rng(["noise", "ties", "nan"].index(case) + 40)
    a = rng.random((29, 17, 3), dtype=np.float32)
    b = (a + rng.normal(0, 1e-5, a.shape)).astype(np.float32)
    if case == "ties":
        b = a.copy()
        for y, x, c in [(20, 2, 0), (3, 16, 2), (3, 15, 1)]:  # equal largest differences
            a[y, x, c], b[y, x, c] = 0.5, 0.75
    elif case == "nan":
        b[25, 1, 2] = b[8, 9, 0] = np.nan
    whole = compare.metrics(a, b)
    for _ in range(5):
        tiling = _random_tiling(rng, 29, 17)
        parts = [compare.partial(a[y0:y1, x0:x1], b[y0:y1, x0:x1], origin=(y0, x0))
                 for y0, y1, x0, x1 in tiling]
        rng.shuffle(parts)
        folded, start = None, 0
        while start < len(parts):
            stop = start + int(rng.integers(1, 5))
            folded = compare.merge([*([folded] if folded else []), *parts[start:stop]])
            start = stop
        assert_combined_equals(compare.combine([folded]), whole)
        assert folded.samples == a.size and folded.pixels == 29 * 17
    if case == "ties":  # the first in raster order
        assert (whole.worst_y, whole.worst_x) == (3, 15)


def test_combine_refuses_mismatches():
    p = compare.partial(np.zeros(2), np.ones(2), tol=0.1)
    with pytest.raises(ValueError, match="at least one"):
        compare.combine([], tol=0.1)
    with pytest.raises(ValueError, match=r"tol=0.1, not the tol=1e-05"):
        compare.combine([p])
    with pytest.raises(TypeError, match="Partial"):
        compare.combine([p.as_dict()], tol=0.1)


def test_row_blocks_change_nothing(monkeypatch, rng):
    a = rng.random((37, 11, 4), dtype=np.float32)
    b = (a + rng.normal(0, 1e-4, a.shape)).astype(np.float32)
    b[30, 5, 3] = 0.9  # in a later block
    b[9, 1, 0] = a[9, 1, 0] + (b[30, 5, 3] - a[30, 5, 3])
    whole = compare.metrics(a, b)
    picture = compare.heatmap(a, b)
    error = np.abs(a.astype(np.float64) - b).max(axis=2)
    limits = compare.error_range(error)
    for samples in (1, 44, 45, 100):  # one row is 44 samples
        monkeypatch.setattr(compare, "_BLOCK_SAMPLES", samples)
        assert_combined_equals(compare.metrics(a, b), whole)
        np.testing.assert_array_equal(compare.heatmap(a, b), picture)
        assert compare.error_range(error) == limits
        np.testing.assert_array_equal(compare.error_colours(error), picture)


def test_error_colours():
    error = np.array([[0.0, 1e-7, 1e-5, 1e-3, np.nan, np.inf, -np.inf, -0.0]])
    out = compare.error_colours(error, limits=(1e-7, 1e-3))
    assert out.shape == (1, 8, 4) and out.dtype == np.uint8
    zero, invalid = list(compare.ZERO_COLOUR), list(compare.INVALID_COLOUR)
    assert out[0, :, :3].tolist() == [zero, *compare.RAMP[[0, 128, 255]].tolist(),
                                      invalid, invalid, invalid, zero]
    assert (out[:, :, 3] == 255).all()
    with pytest.raises(ValueError, match="H×W"):
        compare.error_colours(np.zeros((2, 2, 1)))
    with pytest.raises(ValueError, match="lo"):
        compare.error_colours(np.zeros((2, 2)), limits=(1, 0.5))
