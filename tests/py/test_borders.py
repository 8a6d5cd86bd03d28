import numpy as np
import pytest
from filterlab import borders

# numpy.pad names for the scipy.ndimage modes.
NUMPY_PAD = {"reflect": "symmetric", "mirror": "reflect", "nearest": "edge", "wrap": "wrap"}


@pytest.mark.parametrize("mode", list(NUMPY_PAD))
@pytest.mark.parametrize("n", [1, 2, 3, 4, 7])
@pytest.mark.parametrize("pad", [0, 1, 3, 8, 23])
def test_index_matches_numpy_pad(mode, n, pad):
    values = np.arange(n) * 10 + 5
    if mode == "mirror" and n == 1:
        expected = np.full(n + 2 * pad, values[0])  # scipy reads the one pixel
    else:
        expected = np.pad(values, pad, mode=NUMPY_PAD[mode])
    got = values[borders.index(np.arange(-pad, n + pad), n, mode)]
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("n", [1, 2, 5])
def test_constant_marks_outside_with_minus_one(n):
    got = borders.index(np.arange(-40, n + 40), n, "constant")
    expected = np.concatenate([np.full(40, -1), np.arange(n), np.full(40, -1)])
    np.testing.assert_array_equal(got, expected)


def test_mirror_single_pixel_is_zero():
    assert borders.index([-1000, -1, 0, 1, 999], 1, "mirror").tolist() == [0] * 5


def test_documented_patterns():
    i = np.arange(-4, 8)
    assert borders.index(i, 4, "reflect").tolist() == [3, 2, 1, 0, 0, 1, 2, 3, 3, 2, 1, 0]
    assert borders.index(i, 4, "mirror").tolist() == [2, 3, 2, 1, 0, 1, 2, 3, 2, 1, 0, 1]
    assert borders.index(i, 4, "nearest").tolist() == [0, 0, 0, 0, 0, 1, 2, 3, 3, 3, 3, 3]
    assert borders.index(i, 4, "wrap").tolist() == [0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3]


@pytest.mark.parametrize("mode", borders.MODES)
def test_far_coordinates_and_scalars(mode):
    n = 5
    got = borders.index(np.array([-(10**9), 10**9]), n, mode)
    assert got.dtype == np.intp
    assert ((got >= -1) & (got < n)).all()
    scalar = borders.index(2, n, mode)
    assert scalar.shape == () and int(scalar) == 2


@pytest.mark.parametrize("mode", ["reflect", "mirror"])
def test_reflections_are_periodic(mode):
    n = 6
    period = 2 * n if mode == "reflect" else 2 * n - 2
    i = np.arange(-50, 50)
    np.testing.assert_array_equal(
        borders.index(i, n, mode), borders.index(i + 7 * period, n, mode)
    )


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="unknown border mode 'edge'"):
        borders.index([0], 3, "edge")
    with pytest.raises(ValueError, match="at least 1"):
        borders.index([0], 0, "wrap")
    assert borders.MODES == ("reflect", "mirror", "nearest", "wrap", "constant")
