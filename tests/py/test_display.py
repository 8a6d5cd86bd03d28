"""The viewer's display aids: histograms, the auto-contrast stretch and its 8-bit form."""

import numpy as np
import pytest
from filterlab import display, imageio


def test_percentiles_match_numpy_within_a_fine_bin(rng):
    values = rng.normal(0.5, 0.2, size=(64, 48, 4)).astype(np.float32)
    s = display.summarise(values)
    colour = values[:, :, :3].ravel()
    expected = np.percentile(colour, display.PERCENTILES)
    step = (s.hi - s.lo) / (display.BINS * 64)
    np.testing.assert_allclose(s.stretch, expected, atol=2 * step)
    assert (s.lo, s.hi) == (float(values.min()), float(values.max()))
    assert s.counts.shape == (4, display.BINS) and (s.counts.sum(axis=1) == 64 * 48).all()
    assert (s.pixels, s.sampled, s.non_finite) == (64 * 48, False, 0)


def test_histogram_counts_equal_numpy_histogram(rng):
    values = rng.random((30, 20, 3), dtype=np.float32)
    s = display.summarise(values)
    for c in range(3):
        expected, _ = np.histogram(values[:, :, c], bins=display.BINS, range=(s.lo, s.hi))
        # Bins are cut at the same places up to rounding of values on a bin edge.
        assert np.abs(s.counts[c] - expected).sum() <= 2


def test_alpha_is_counted_but_not_stretched():
    values = np.zeros((10, 10, 4), np.float32)
    values[:, :, :3] = np.linspace(0.4, 0.6, 100).reshape(10, 10, 1)
    values[:, :, 3] = 1.0  # alpha would widen the colour range if it counted
    s = display.summarise(values)
    assert s.hi == 1.0 and 0.4 <= s.stretch[0] < s.stretch[1] <= 0.6 + 1e-4


def test_non_finite_samples_are_left_out():
    values = np.full((4, 4, 1), 0.5, np.float32)
    values[0, 0] = np.nan
    values[1, 1] = np.inf
    values[2, 2] = 0.25
    s = display.summarise(values)
    assert s.non_finite == 2 and (s.lo, s.hi) == (0.25, 0.5) and s.counts.sum() == 14


def test_a_constant_image_is_shown_as_it_is():
    s = display.summarise(np.full((3, 3, 3), 0.7, np.float32))
    assert s.stretch == display.IDENTITY
    assert s.lo < 0.7 < s.hi and s.counts.sum() == 27
    assert display.summarise(np.full((2, 2, 1), np.nan, np.float32)).stretch == display.IDENTITY


def test_a_narrow_16_bit_image_is_stretched_to_its_own_range(rng):
    native = rng.integers(291, 695, size=(40, 40, 3), dtype=np.uint16)
    s = display.summarise(imageio.to_float(native))
    assert s.stretch[0] == pytest.approx(np.percentile(native, 0.5) / 65535, abs=2e-6)
    assert s.stretch[1] == pytest.approx(np.percentile(native, 99.5) / 65535, abs=2e-6)
    shown = display.to_rgba8(imageio.to_float(native), s.stretch)
    assert imageio.to_rgba8(imageio.to_float(native))[..., :3].max() <= 3  # black without it
    assert shown[..., :3].min() == 0 and shown[..., :3].max() == 255


def test_to_rgba8_stretches_colour_in_float32_like_the_shaders():
    values = np.array([[[0.2, 0.5, 0.8, 0.3]]], np.float32)
    stretch = (0.2, 0.8)
    u = display.uniforms(stretch)
    colour = (values[..., :3] - np.float32(u["lo"])) * np.float32(u["scale"])
    expected = imageio.to_rgba8(np.concatenate([colour, values[..., 3:]], axis=2))
    np.testing.assert_array_equal(display.to_rgba8(values, stretch), expected)
    assert display.to_rgba8(values, stretch)[0, 0].tolist() == [0, 128, 255, 77]
    np.testing.assert_array_equal(display.to_rgba8(values), imageio.to_rgba8(values))
    grey = np.array([[0.5]], np.float32)  # H×W: one grey channel
    assert display.to_rgba8(grey, (0.25, 0.75))[0, 0].tolist() == [128, 128, 128, 255]
    assert values[0, 0, 0] == np.float32(0.2)  # the input is not changed


@pytest.mark.parametrize("stretch", [(0.5, 0.5), (1.0, 0.0), (float("nan"), 1.0), (0.0, float("inf"))])
def test_a_bad_stretch_is_refused(stretch):
    with pytest.raises(ValueError, match="black < white"):
        display.uniforms(stretch)


@pytest.mark.parametrize("height, width", [(1, 1), (1000, 1000), (1025, 1024), (5000, 3000), (3, 2_000_000)])
def test_sample_rows_stay_within_the_budget_and_spread_over_the_image(height, width):
    bands = display.sample_rows(height, width)
    rows = sum(y1 - y0 for y0, y1 in bands)
    assert rows * width <= max(display.SAMPLE_PIXELS, width)
    assert all(0 <= y0 < y1 <= height for y0, y1 in bands)
    assert all(a[1] <= b[0] for a, b in zip(bands, bands[1:]))  # in order, not overlapping
    if height * width <= display.SAMPLE_PIXELS:
        assert bands == [(0, height)]
    else:
        assert bands[0][0] < height / len(bands) and bands[-1][1] > height - height / len(bands)
