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
    d = m.as_dict()
    assert list(d) == ["max_abs_error", "mean_abs_error", "rmse", "psnr", "fraction_over_tolerance", "tolerance"]
    assert json.loads(json.dumps(d))["tolerance"] == 0.2


def test_shape_mismatch_and_bad_tol():
    with pytest.raises(ValueError, match=r"same shape, got \(2, 2, 3\) and \(2, 2, 4\)"):
        compare.metrics(np.zeros((2, 2, 3)), np.zeros((2, 2, 4)))
    with pytest.raises(ValueError, match="tol"):
        compare.metrics(np.zeros(2), np.zeros(2), tol=-1)


def test_heatmap():
    a = np.zeros((2, 3, 4), np.float32)
    b = a.copy()
    b[0, 1, 2] = 0.004  # largest channel difference counts
    b[1, 2, 0] = 1.0
    out = compare.heatmap(a, b, gain=100)
    assert out.dtype == np.uint8 and out.shape == (2, 3, 4)
    assert (out[:, :, 3] == 255).all()
    assert out[0, 0, :3].tolist() == compare.RAMP[0].tolist()
    assert out[0, 1, :3].tolist() == compare.RAMP[102].tolist()  # 0.4 of full scale
    assert out[1, 2, :3].tolist() == compare.RAMP[255].tolist()
    assert compare.heatmap(a[:, :, 0], b[:, :, 0]).shape == (2, 3, 4)


def test_ramp_runs_dark_to_light():
    ramp = compare.RAMP.astype(float)
    luma = ramp @ [0.2126, 0.7152, 0.0722]
    assert (np.diff(luma) > 0).all()
    assert luma[0] < 5 and luma[-1] > 240


@pytest.mark.parametrize("gain", [0.5, 1001, float("nan"), True, "10"])
def test_heatmap_gain_range(gain):
    with pytest.raises(ValueError, match="gain"):
        compare.heatmap(np.zeros((2, 2)), np.zeros((2, 2)), gain=gain)


def test_heatmap_accepts_gain_limits():
    compare.heatmap(np.zeros((1, 1)), np.ones((1, 1)), gain=1)
    compare.heatmap(np.zeros((1, 1)), np.ones((1, 1)), gain=1000)
