"""Kernel builders, fixed kernels and separability.

Kernels are 2-D float arrays applied by *correlation* (as :func:`scipy.ndimage.correlate`)
unless a function says otherwise: the output at ``(y, x)`` is
``sum(kernel[dy, dx] * image[y + dy - r, x + dx - r])``. Axis 0 is y (rows, downwards),
axis 1 is x (columns, to the right).

The derivative kernels follow scipy.ndimage's unnormalised convention. ``SOBEL_X`` is
``outer([1, 2, 1], [-1, 0, 1])``: it differentiates along axis 1 (x) and smooths along
axis 0, and is positive where intensity increases to the right. ``*_Y`` is the transpose.

Examples
--------
>>> SOBEL_X.tolist()
[[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]
>>> col, row = separate(SOBEL_X)
>>> bool(np.allclose(np.outer(col, row), SOBEL_X))
True
"""

import fractions
import math

import numpy as np

from ._checks import real, show

__all__ = [
    "KernelError",
    "MAX_SIZE",
    "MAX_VALUE",
    "SEPARABLE_TOL",
    "SOBEL_X",
    "SOBEL_Y",
    "SCHARR_X",
    "SCHARR_Y",
    "PREWITT_X",
    "PREWITT_Y",
    "LAPLACE_4",
    "LAPLACE_8",
    "EMBOSS",
    "EDGE",
    "DERIVATIVE_FACTORS",
    "gaussian_radius",
    "gaussian_1d",
    "gaussian",
    "box_1d",
    "box",
    "identity",
    "sharpen",
    "sobel",
    "scharr",
    "prewitt",
    "laplacian",
    "emboss",
    "validate",
    "separate",
    "analyse",
    "value_text",
]

#: Largest kernel side accepted by :func:`validate` (and by the GPU engine).
MAX_SIZE = 31

#: Largest magnitude of a kernel value accepted by :func:`validate`. The GPU computes in
#: float32 (largest value about 3.4e38): one convolution of values in [0, 1] by a 31×31 kernel
#: within ±1e6 stays within ±961 × 1e6 ≈ ±1e9, so sums neither overflow nor lose the image's
#: scale, and four such extreme steps in a row still stay within float32's range. Values
#: beyond it (``1e39`` is infinite in float32, ``3e38`` overflows on the first sum) would only
#: give infinities and NaN in the result and in its comparison with the reference.
MAX_VALUE = 1e6

#: Relative tolerance under which a kernel counts as rank 1 and runs as two 1-D passes, on the
#: CPU and on the GPU alike. It is far below float32 resolution, so the two-pass result is the
#: 2-D result to rounding.
SEPARABLE_TOL = 1e-12


class KernelError(ValueError):
    """A kernel is malformed: not square, even or too large, or a value not finite or out of
    range."""


def _frozen(values):
    array = np.array(values, dtype=np.float64)
    array.setflags(write=False)
    return array


_DERIVATIVE = (-1.0, 0.0, 1.0)

#: The 1-D factors of each derivative operator: ``(smoothing, derivative)``.
#: The X kernel is ``outer(smoothing, derivative)``, the Y kernel its transpose.
DERIVATIVE_FACTORS = {
    "sobel": ((1.0, 2.0, 1.0), _DERIVATIVE),
    "scharr": ((3.0, 10.0, 3.0), _DERIVATIVE),
    "prewitt": ((1.0, 1.0, 1.0), _DERIVATIVE),
}

SOBEL_X = _frozen(np.outer(*DERIVATIVE_FACTORS["sobel"]))
SOBEL_Y = _frozen(SOBEL_X.T)
SCHARR_X = _frozen(np.outer(*DERIVATIVE_FACTORS["scharr"]))
SCHARR_Y = _frozen(SCHARR_X.T)
PREWITT_X = _frozen(np.outer(*DERIVATIVE_FACTORS["prewitt"]))
PREWITT_Y = _frozen(PREWITT_X.T)

#: 4-neighbour Laplacian, the stencil of :func:`scipy.ndimage.laplace` in 2-D.
LAPLACE_4 = _frozen([[0, 1, 0], [1, -4, 1], [0, 1, 0]])
#: 8-neighbour Laplacian.
LAPLACE_8 = _frozen([[1, 1, 1], [1, -8, 1], [1, 1, 1]])
#: Emboss: light from the top left. Sums to 1, so flat areas keep their value.
EMBOSS = _frozen([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]])
#: Edge detector: the negated 8-neighbour Laplacian. Sums to 0.
EDGE = _frozen(-LAPLACE_8)


def _check_positive(name, value):
    value = real(name, value, error=KernelError)
    if value <= 0:
        raise KernelError(f"{name} must be a positive finite number, got {value:g}")
    return value


def _check_odd_size(size, largest=None):
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)):
        raise KernelError(f"size must be an integer, got {show(size)}")
    size = int(size)
    if size < 1 or size % 2 == 0:
        raise KernelError(f"size must be a positive odd integer, got {show(size)}")
    if largest is not None and size > largest:
        raise KernelError(f"size must be at most {largest}, got {show(size)}")
    return size


def gaussian_radius(sigma, truncate=4.0):
    """The radius of a Gaussian kernel: ``int(truncate * sigma + 0.5)``, as in scipy.ndimage.

    Examples
    --------
    >>> gaussian_radius(3.0), gaussian_radius(16.0, 6.0)
    (12, 96)
    """
    return int(_check_positive("truncate", truncate) * _check_positive("sigma", sigma) + 0.5)


def gaussian_1d(sigma, *, truncate=4.0, order=0):
    """1-D Gaussian or its second derivative, exactly as :func:`scipy.ndimage.gaussian_filter1d`
    builds them.

    Parameters
    ----------
    sigma : float
        Standard deviation in pixels, > 0.
    truncate : float, optional
        Cut the kernel at this many standard deviations; the radius is
        :func:`gaussian_radius`.
    order : {0, 2}, optional
        0 gives the normalised Gaussian ``phi``; 2 its second derivative,
        ``(x**2 / sigma**4 - 1 / sigma**2) * phi``, as scipy computes it from the normalised
        ``phi``. Both are symmetric, so correlation and convolution agree.

    Returns
    -------
    ndarray of float64, shape (2 * radius + 1,)
        Weights; they sum to 1 for order 0.

    Examples
    --------
    >>> w = gaussian_1d(1.0, truncate=2.0)
    >>> w.shape, round(float(w.sum()), 12)
    ((5,), 1.0)
    >>> float(gaussian_1d(1.0, order=2)[4]) < 0  # the centre of a second derivative
    True
    """
    if order not in (0, 2) or isinstance(order, bool):
        raise KernelError(f"order must be 0 or 2, got {show(order)}")
    sigma = _check_positive("sigma", sigma)
    radius = gaussian_radius(sigma, truncate)
    x = np.arange(-radius, radius + 1)
    phi = np.exp(-0.5 / (sigma * sigma) * x**2)
    phi = phi / phi.sum()
    if order == 0:
        return phi
    sigma2 = sigma * sigma
    return (x * x / (sigma2 * sigma2) - 1.0 / sigma2) * phi


def gaussian(sigma, *, truncate=4.0):
    """Normalised 2-D Gaussian: the outer product of :func:`gaussian_1d` with itself.

    Examples
    --------
    >>> gaussian(0.5).shape
    (5, 5)
    """
    w = gaussian_1d(sigma, truncate=truncate)
    return np.outer(w, w)


def box_1d(size):
    """1-D mean filter of odd `size`: ``size`` weights of ``1 / size``.

    Examples
    --------
    >>> box_1d(3).tolist() == [1 / 3] * 3
    True
    """
    size = _check_odd_size(size)
    return np.full(size, 1.0 / size)


def box(size):
    """2-D mean filter of odd `size`: weights ``1 / size**2``.

    Examples
    --------
    >>> float(box(3).sum())
    1.0
    """
    w = box_1d(size)
    return np.outer(w, w)


def identity(size=3):
    """Kernel of odd `size` with a single 1 in the centre.

    Examples
    --------
    >>> identity(3).tolist()
    [[0.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]]
    """
    size = _check_odd_size(size)
    kernel = np.zeros((size, size))
    kernel[size // 2, size // 2] = 1.0
    return kernel


def sharpen(amount=1.0):
    """3×3 sharpening kernel: ``identity - amount * LAPLACE_4``.

    It sums to 1, so flat areas are unchanged. ``amount=1`` gives the classic
    ``[[0, -1, 0], [-1, 5, -1], [0, -1, 0]]``.

    Examples
    --------
    >>> sharpen(1.0).tolist()
    [[0.0, -1.0, 0.0], [-1.0, 5.0, -1.0], [0.0, -1.0, 0.0]]
    """
    return identity(3) - real("amount", amount, error=KernelError) * LAPLACE_4


def _derivative(operator, direction):
    if direction not in ("x", "y"):
        raise KernelError(f"direction must be 'x' or 'y', got {show(direction)}")
    kernel = np.outer(*DERIVATIVE_FACTORS[operator])
    return kernel if direction == "x" else kernel.T.copy()


def sobel(direction="x"):
    """Sobel kernel; ``"x"`` is :data:`SOBEL_X`, ``"y"`` is :data:`SOBEL_Y`.

    Examples
    --------
    >>> sobel("y")[0].tolist()
    [-1.0, -2.0, -1.0]
    """
    return _derivative("sobel", direction)


def scharr(direction="x"):
    """Scharr kernel (smoothing ``[3, 10, 3]``, unnormalised).

    Examples
    --------
    >>> scharr("x")[1].tolist()
    [-10.0, 0.0, 10.0]
    """
    return _derivative("scharr", direction)


def prewitt(direction="x"):
    """Prewitt kernel (smoothing ``[1, 1, 1]``, unnormalised).

    Examples
    --------
    >>> prewitt("x")[0].tolist()
    [-1.0, 0.0, 1.0]
    """
    return _derivative("prewitt", direction)


def laplacian(neighbours=4):
    """Discrete Laplacian over 4 or 8 neighbours (:data:`LAPLACE_4`, :data:`LAPLACE_8`).

    Examples
    --------
    >>> float(laplacian(8)[1, 1])
    -8.0
    """
    if isinstance(neighbours, bool) or neighbours not in (4, 8):
        raise KernelError(f"neighbours must be 4 or 8, got {show(neighbours)}")
    return (LAPLACE_4 if neighbours == 4 else LAPLACE_8).copy()


def emboss():
    """The :data:`EMBOSS` kernel, as a writable copy.

    Examples
    --------
    >>> float(emboss().sum())
    1.0
    """
    return EMBOSS.copy()


def validate(kernel):
    """Check that `kernel` is usable and return it as a float64 array.

    A kernel must be a square 2-D array with an odd side between 1 and :data:`MAX_SIZE`,
    whose values are finite numbers within ±:data:`MAX_VALUE`. The shape is checked before
    any value, so a huge or deeply nested input costs no more than a valid one.

    Parameters
    ----------
    kernel : array_like
        Nested lists or an array.

    Returns
    -------
    ndarray of float64, shape (k, k)
        A new array.

    Raises
    ------
    KernelError
        With a message that says what is wrong and, for a bad value, where it is (rows and
        columns count from 1).

    Examples
    --------
    >>> validate([[1, 2, 1]]).shape
    Traceback (most recent call last):
    ...
    filterlab.kernels.KernelError: kernel must be square, got 1×3
    >>> validate([[0, 0, 0], [0, float("nan"), 0], [0, 0, 0]])
    Traceback (most recent call last):
    ...
    filterlab.kernels.KernelError: kernel row 2, column 2 must be a finite number; NaN is not allowed
    >>> validate([[0.5]]).dtype
    dtype('float64')
    """
    if isinstance(kernel, np.ndarray):
        if kernel.dtype == bool or not (
            np.issubdtype(kernel.dtype, np.number) and not np.iscomplexobj(kernel)
        ):
            raise KernelError("kernel values must be real numbers")
        if kernel.ndim != 2:
            raise KernelError(f"kernel must be a 2-D array, got {kernel.ndim} dimension(s)")
        _check_shape(*kernel.shape)
        array = np.array(kernel, dtype=np.float64)
        bad = ~(np.abs(array) <= MAX_VALUE)  # NaN, infinity or out of range
        if bad.any():
            row, column = (int(i) for i in np.argwhere(bad)[0])
            _check_value(row, column, kernel[row, column].item())
        return array
    rows = _rows(kernel)
    for row, values in enumerate(rows):
        for column, value in enumerate(values):
            _check_value(row, column, value)
    return np.array(rows, dtype=np.float64)


def _check_shape(height, width):
    if height != width:
        raise KernelError(f"kernel must be square, got {height}×{width}")
    if height % 2 == 0:
        raise KernelError(f"kernel size must be odd, got {height}×{width}")
    if height > MAX_SIZE:
        raise KernelError(
            f"kernel size must be at most {MAX_SIZE}×{MAX_SIZE}, got {height}×{width}"
        )


def _check_value(row, column, value):
    """Check one kernel value; `row` and `column` count from 0, the message from 1."""
    name = f"kernel row {row + 1}, column {column + 1}"
    value = real(name, value, error=KernelError)
    if abs(value) > MAX_VALUE:
        raise KernelError(
            f"{name} must be between {-MAX_VALUE:g} and {MAX_VALUE:g}, got {show(value)}"
        )


def _rows(kernel):
    """The rows of a kernel given as nested sequences, shape checked, values not yet.

    Only lengths are looked at before the shape is known to be at most MAX_SIZE square, so
    the work is bounded whatever the input; nothing deeper than a row is visited.
    """
    if not isinstance(kernel, (list, tuple)) or len(kernel) == 0:
        raise KernelError("kernel must be a non-empty list of rows")
    rows = []
    for row in kernel[: MAX_SIZE + 1]:
        if isinstance(row, np.ndarray) and row.ndim == 1:
            row = row.tolist()
        if not isinstance(row, (list, tuple)):
            raise KernelError("kernel must be a list of rows (a 2-D array)")
        if rows and len(row) != len(rows[0]):
            raise KernelError(
                f"kernel rows must all have the same length, got {len(rows[0])} and {len(row)}"
            )
        rows.append(row)
    if len(rows[0]) == 0:
        raise KernelError("kernel rows must not be empty")
    _check_shape(len(kernel), len(rows[0]))
    return rows


def separate(kernel, *, tol=SEPARABLE_TOL):
    """Split a rank-1 kernel into a column and a row vector.

    The singular value decomposition gives the best rank-1 approximation
    ``outer(column, row)``; the kernel counts as separable when that approximation is
    within ``tol * max(abs(kernel))`` of every entry.

    Parameters
    ----------
    kernel : array_like, shape (k, k)
        Kernel as accepted by :func:`validate`.
    tol : float, optional
        Relative tolerance of the rank-1 test.

    Returns
    -------
    (column, row) : tuple of ndarray of float64, or None
        ``column`` has length k (axis 0, y) and ``row`` length k (axis 1, x), so that
        ``np.outer(column, row)`` reproduces the kernel. The signs are chosen so that the
        row's largest-magnitude entry is positive. ``None`` when the kernel is not rank 1.

    Examples
    --------
    >>> column, row = separate(box(3))
    >>> bool(np.allclose(np.outer(column, row), box(3)))
    True
    >>> separate(LAPLACE_4) is None
    True
    """
    k = validate(kernel)
    scale = float(np.abs(k).max())
    size = k.shape[0]
    if scale == 0.0:
        return np.zeros(size), np.zeros(size)
    u, s, vt = np.linalg.svd(k)
    root = math.sqrt(s[0])
    column = u[:, 0] * root
    row = vt[0] * root
    if row[np.argmax(np.abs(row))] < 0:
        column, row = -column, -row
    if np.abs(np.outer(column, row) - k).max() <= tol * scale:
        return column, row
    return None


def analyse(kernel, *, tol=SEPARABLE_TOL):
    """What the kernel editor says about a kernel: its numerical rank, its singular values,
    and how it runs.

    Parameters
    ----------
    kernel : array_like, shape (k, k)
        Kernel as accepted by :func:`validate`.
    tol : float, optional
        Relative tolerance, as for :func:`separate`.

    Returns
    -------
    dict
        ``singular_values``: descending, as floats. ``rank``: the smallest ``r`` whose
        truncated singular value decomposition reproduces every entry within
        ``tol * max(abs(kernel))``; a kernel counts as rank 1 exactly when :func:`separate`
        splits it (0 for the zero kernel). ``separable``: whether it runs as two 1-D passes
        (:func:`separate` splits it). ``taps``: the taps of each pass, ``k`` when separable,
        else ``k * k`` for the one 2-D pass. ``sum``: the sum of the weights.

    Examples
    --------
    >>> facts = analyse(box(3))
    >>> facts["rank"], facts["separable"], facts["taps"]
    (1, True, 3)
    >>> [round(s, 12) for s in facts["singular_values"]]
    [0.333333333333, 0.0, 0.0]
    >>> analyse(LAPLACE_4)["rank"], analyse(LAPLACE_4)["taps"]
    (2, 9)
    """
    k = validate(kernel)
    size = k.shape[0]
    singular = np.linalg.svd(k, compute_uv=False)
    separable = separate(k, tol=tol) is not None
    scale = float(np.abs(k).max())
    if scale == 0.0:
        rank = 0
    elif separable:
        rank = 1
    else:
        u, s, vt = np.linalg.svd(k)
        rank = next(r for r in range(2, size + 1)
                    if np.abs((u[:, :r] * s[:r]) @ vt[:r] - k).max() <= tol * scale)
    return {
        "singular_values": [float(v) for v in singular],
        "rank": rank,
        "separable": separable,
        "taps": size if separable else size * size,
        "sum": float(k.sum()),
    }


def value_text(value, *, max_denominator=10_000):
    """A kernel value as the kernel editor writes it: the shorter of its decimal form and an
    exact fraction (one that gives back the same float), the decimal form on a tie.

    Examples
    --------
    >>> [value_text(v) for v in (1 / 9, -2 / 16, 0.5, 5.0, 0.1, 0.3333, -0.0)]
    ['1/9', '-1/8', '0.5', '5', '0.1', '0.3333', '0']
    """
    value = float(value) + 0.0  # -0.0 becomes 0.0
    decimal = repr(value)
    if decimal.endswith(".0"):
        decimal = decimal[:-2]
    if not math.isfinite(value):
        return decimal
    exact = fractions.Fraction(value).limit_denominator(max_denominator)
    if exact.denominator == 1 or float(exact) != value:
        return decimal
    fraction = f"{exact.numerator}/{exact.denominator}"
    return fraction if len(fraction) < len(decimal) else decimal
