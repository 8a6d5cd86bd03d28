"""NumPy reference filters: the oracle for the GPU engine.

Every filter takes an image as documented in :mod:`filterlab.imageio` (float32, H×W or
H×W×C with C in 1..4, values nominally in [0, 1]) and returns float32 of the same shape.
Channels are filtered independently. When C is 2 or 4 the last channel is alpha: it is
returned untouched and only the colour channels are filtered. Results are not clipped.

Border handling follows :mod:`filterlab.borders` (the scipy.ndimage modes). Pixels are
read through :func:`filterlab.borders.index`, so kernels larger than the image work in
every mode.

Separable kernels (Gaussian, box, the derivative operators, and any rank-1 kernel given to
:func:`correlate` or :func:`convolve`) run as two 1-D passes:

1. along axis 1 (x, within each row) with the row weights, reading ``cval`` outside;
2. along axis 0 (y, within each column) with the column weights, reading
   ``cval * sum(row weights)`` outside.

Pass 2 sees, outside the image, exactly what pass 1 would have produced from a row of
``cval``, so the two passes equal the full 2-D correlation in every mode, including
``"constant"`` with a non-zero ``cval`` and kernels whose weights do not sum to 1. For the
Gaussian and box filters the weights sum to 1, which is also what scipy.ndimage does
axis by axis.

Arithmetic is float64 inside cache-sized tiles; results are rounded to float32 once. On
float32 input the results agree with scipy.ndimage to within 1e-6 for outputs of order 1.

Examples
--------
>>> import numpy as np
>>> image = np.zeros((5, 5), np.float32); image[2, 2] = 1
>>> out = correlate(image, [[0, 0, 0], [0, 0, 1], [0, 0, 0]])
>>> out[2, 1]
np.float32(1.0)
"""

import math

import numpy as np

from . import borders, kernels

__all__ = [
    "correlate",
    "convolve",
    "gaussian_blur",
    "box_blur",
    "unsharp_mask",
    "edges",
    "laplace",
    "apply_chain",
    "EDGE_OPERATORS",
    "EDGE_OUTPUTS",
]

#: Operators accepted by :func:`edges`.
EDGE_OPERATORS = ("sobel", "scharr", "prewitt")
#: Outputs accepted by :func:`edges`.
EDGE_OUTPUTS = ("magnitude", "x", "y")

# Output tile size. A padded float64 tile of 192 x 64 x 3 plus its temporaries stays
# within a typical L2 cache, which is what makes the tap loops fast; tall, narrow tiles
# keep the vertical pass's reads short.
_TILE_ROWS = 192
_TILE_COLS = 64
# Relative tolerance for treating a user kernel as rank 1: far below float32 resolution,
# so the two-pass result is the 2-D result to rounding.
SEPARABLE_TOL = 1e-12


# ----------------------------------------------------------------------------------------
# Input and output
# ----------------------------------------------------------------------------------------


def _split(image):
    """Return (colour float32 H×W×c, alpha float32 H×W or None, was_2d)."""
    array = np.asarray(image)
    if array.dtype == bool or not (
        np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)
    ):
        raise ValueError(f"image must hold real numbers, got dtype {array.dtype}")
    if array.ndim == 2:
        array = array[:, :, None]
        was_2d = True
    elif array.ndim == 3:
        was_2d = False
    else:
        raise ValueError(f"image must be H×W or H×W×C, got shape {array.shape}")
    h, w, c = array.shape
    if h < 1 or w < 1:
        raise ValueError(f"image must not be empty, got shape {array.shape}")
    if not 1 <= c <= 4:
        raise ValueError(f"image must have 1 to 4 channels, got {c}")
    array = array.astype(np.float32, copy=False)
    if c in (2, 4):
        colour = np.ascontiguousarray(array[:, :, : c - 1])
        alpha = array[:, :, c - 1].copy()
    else:
        colour = np.ascontiguousarray(array)
        alpha = None
    return colour, alpha, was_2d


def _join(colour, alpha, was_2d):
    if alpha is not None:
        colour = np.concatenate([colour, alpha[:, :, None]], axis=2)
    if was_2d:
        colour = colour[:, :, 0]
    return colour


def _check_number(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def _check_cval(cval):
    return _check_number("cval", cval)


# ----------------------------------------------------------------------------------------
# The tile engine
# ----------------------------------------------------------------------------------------


def _axis_source(start, stop, index):
    """A slice when `index[start:stop]` is a contiguous run of valid indices."""
    part = index[start:stop]
    first = int(part[0])
    if first >= 0 and int(part[-1]) - first == len(part) - 1 and (
        len(part) < 2 or bool(np.all(np.diff(part) == 1))
    ):
        return slice(first, first + len(part)), None
    return np.maximum(part, 0), part < 0


def _tiles(colour, ry, rx, mode, cval, compute):
    """Run `compute` on padded float64 tiles and assemble the float32 result.

    `compute(block)` receives a tile padded by `ry` rows and `rx` columns on each side and
    returns the float64 result for the unpadded tile.
    """
    h, w, _ = colour.shape
    out = np.empty(colour.shape, dtype=np.float32)
    row_index = borders.index(np.arange(-ry, h + ry), h, mode)
    col_index = borders.index(np.arange(-rx, w + rx), w, mode)
    for y0 in range(0, h, _TILE_ROWS):
        y1 = min(h, y0 + _TILE_ROWS)
        rows, rows_out = _axis_source(y0, y1 + 2 * ry, row_index)
        band = colour[rows]
        if rows_out is not None and rows_out.any():
            band = band.astype(np.float64)
            band[rows_out] = cval
        for x0 in range(0, w, _TILE_COLS):
            x1 = min(w, x0 + _TILE_COLS)
            cols, cols_out = _axis_source(x0, x1 + 2 * rx, col_index)
            block = np.array(band[:, cols], dtype=np.float64)
            if cols_out is not None and cols_out.any():
                block[:, cols_out] = cval
            out[y0:y1, x0:x1] = compute(block)
    return out


def _correlate_1d(block, weights, axis):
    """Correlate along `axis` without padding: the output is shorter by len(weights) - 1."""
    weights = [float(v) for v in weights]
    k = len(weights)
    n = block.shape[axis] - k + 1

    def tap(j):
        return block[j : j + n] if axis == 0 else block[:, j : j + n]

    shape = list(block.shape)
    shape[axis] = n
    acc = np.zeros(shape, dtype=np.float64)
    tmp = np.empty(shape, dtype=np.float64)
    half = k // 2
    symmetric = weights == weights[::-1]
    antisymmetric = weights == [-v for v in weights[::-1]]
    if symmetric or antisymmetric:
        combine = np.add if symmetric else np.subtract
        if symmetric and weights[half] != 0.0:
            np.multiply(tap(half), weights[half], out=acc)
        for j in range(half):
            if weights[j] != 0.0:
                # For antisymmetric weights w[k-1-j] = -w[j], so the pair is w[j]*(a - b).
                combine(tap(j), tap(k - 1 - j), out=tmp)
                tmp *= weights[j]
                acc += tmp
        return acc
    for j, wj in enumerate(weights):
        if wj != 0.0:
            np.multiply(tap(j), wj, out=tmp)
            acc += tmp
    return acc


def _correlate_2d(block, kernel):
    k = kernel.shape[0]
    ny = block.shape[0] - k + 1
    nx = block.shape[1] - k + 1
    acc = np.zeros((ny, nx, block.shape[2]), dtype=np.float64)
    tmp = np.empty_like(acc)
    for dy in range(k):
        for dx in range(k):
            wv = float(kernel[dy, dx])
            if wv != 0.0:
                np.multiply(block[dy : dy + ny, dx : dx + nx], wv, out=tmp)
                acc += tmp
    return acc


def _separable_pass(column, row):
    def compute(block):
        return _correlate_1d(_correlate_1d(block, row, 1), column, 0)

    return compute


def _run(image, ry, rx, mode, cval, compute):
    borders.check_mode(mode)
    cval = _check_cval(cval)
    colour, alpha, was_2d = _split(image)
    result = _tiles(colour, ry, rx, mode, cval, compute)
    return _join(result, alpha, was_2d)


def _separable(image, column, row, mode, cval):
    column = np.asarray(column, dtype=np.float64)
    row = np.asarray(row, dtype=np.float64)
    return _run(image, len(column) // 2, len(row) // 2, mode, cval, _separable_pass(column, row))


# ----------------------------------------------------------------------------------------
# Public filters
# ----------------------------------------------------------------------------------------


def correlate(image, kernel, *, mode="reflect", cval=0.0):
    """Correlate each colour channel with a 2-D kernel, like :func:`scipy.ndimage.correlate`.

    Parameters
    ----------
    image : array_like
        H×W or H×W×C image, C in 1..4; alpha (the last channel when C is 2 or 4) is kept.
    kernel : array_like
        Square kernel of odd size 1..31 (see :func:`filterlab.kernels.validate`). Rank-1
        kernels are applied as two 1-D passes.
    mode : {"reflect", "mirror", "nearest", "wrap", "constant"}, optional
        Border mode.
    cval : float, optional
        Value outside the image when ``mode="constant"``.

    Returns
    -------
    ndarray of float32
        Same shape as `image`.

    Examples
    --------
    >>> import numpy as np
    >>> out = correlate(np.ones((4, 4), np.float32), np.ones((3, 3)), mode="constant")
    >>> out[0, 0], out[1, 1]
    (np.float32(4.0), np.float32(9.0))
    """
    k = kernels.validate(kernel)
    factors = kernels.separate(k, tol=SEPARABLE_TOL)
    if factors is not None:
        column, row = factors
        return _separable(image, column, row, mode, cval)
    r = k.shape[0] // 2
    return _run(image, r, r, mode, cval, lambda block: _correlate_2d(block, k))


def convolve(image, kernel, *, mode="reflect", cval=0.0):
    """Convolve with a 2-D kernel, like :func:`scipy.ndimage.convolve`.

    This is :func:`correlate` with the kernel flipped along both axes. Kernels are odd,
    so the centre stays put (scipy's origin shift only matters for even kernels).

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((5, 5), np.float32); image[2, 2] = 1
    >>> out = convolve(image, [[0, 0, 0], [0, 0, 1], [0, 0, 0]])
    >>> out[2, 3]
    np.float32(1.0)
    """
    k = kernels.validate(kernel)
    return correlate(image, k[::-1, ::-1], mode=mode, cval=cval)


def gaussian_blur(image, sigma, *, mode="reflect", cval=0.0, truncate=4.0):
    """Gaussian blur, like :func:`scipy.ndimage.gaussian_filter` over the two image axes.

    Parameters
    ----------
    image : array_like
        Image; see :func:`correlate`.
    sigma : float
        Standard deviation in pixels, > 0.
    mode, cval
        See :func:`correlate`.
    truncate : float, optional
        Radius in standard deviations: ``int(truncate * sigma + 0.5)`` pixels.

    Examples
    --------
    >>> import numpy as np
    >>> float(gaussian_blur(np.ones((8, 8), np.float32), 2.0).min())
    1.0
    """
    w = kernels.gaussian_1d(sigma, truncate=truncate)
    return _separable(image, w, w, mode, cval)


def box_blur(image, size, *, mode="reflect", cval=0.0):
    """Mean over a ``size × size`` window (odd size), like :func:`scipy.ndimage.uniform_filter`.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((3, 3), np.float32); image[1, 1] = 9
    >>> box_blur(image, 3, mode="constant")[1, 1]
    np.float32(1.0)
    """
    w = kernels.box_1d(size)
    return _separable(image, w, w, mode, cval)


def unsharp_mask(image, sigma, amount, *, mode="reflect", cval=0.0):
    """Unsharp masking: ``image + amount * (image - gaussian_blur(image, sigma))``.

    The Gaussian uses ``truncate=4.0``. The result is not clipped.

    Parameters
    ----------
    image : array_like
        Image; see :func:`correlate`.
    sigma : float
        Standard deviation of the blur, > 0.
    amount : float
        Strength; 0 returns the image.
    mode, cval
        Border handling of the blur; see :func:`correlate`.

    Examples
    --------
    >>> import numpy as np
    >>> flat = np.full((6, 6), 0.5, np.float32)
    >>> float(unsharp_mask(flat, 1.0, 2.0).max())
    0.5
    """
    amount = _check_number("amount", amount)
    w = kernels.gaussian_1d(sigma, truncate=4.0)
    r = len(w) // 2
    blur = _separable_pass(w, w)

    def compute(block):
        centre = block[r : block.shape[0] - r, r : block.shape[1] - r]
        detail = centre - blur(block)
        detail *= amount
        detail += centre
        return detail

    return _run(image, r, r, mode, cval, compute)


def edges(image, operator="sobel", *, output="magnitude", mode="reflect", cval=0.0):
    """Image gradient by the Sobel, Scharr or Prewitt operator.

    ``"x"`` is the correlation with the operator's X kernel (e.g.
    :data:`filterlab.kernels.SOBEL_X`, positive where intensity increases to the right),
    ``"y"`` with its Y kernel (positive where intensity increases downwards), and
    ``"magnitude"`` is ``hypot(x, y)``. The kernels are unnormalised, as in scipy.ndimage.

    Parameters
    ----------
    image : array_like
        Image; see :func:`correlate`.
    operator : {"sobel", "scharr", "prewitt"}, optional
        Derivative operator.
    output : {"magnitude", "x", "y"}, optional
        Which result to return.
    mode, cval
        See :func:`correlate`.

    Examples
    --------
    >>> import numpy as np
    >>> ramp = np.tile(np.arange(5, dtype=np.float32), (5, 1))
    >>> edges(ramp, output="x")[2, 2], edges(ramp, output="y")[2, 2]
    (np.float32(8.0), np.float32(0.0))
    """
    if operator not in EDGE_OPERATORS:
        raise ValueError(
            f"unknown operator {operator!r}; expected one of: {', '.join(EDGE_OPERATORS)}"
        )
    if output not in EDGE_OUTPUTS:
        raise ValueError(
            f"unknown output {output!r}; expected one of: {', '.join(EDGE_OUTPUTS)}"
        )
    smooth, derivative = kernels.DERIVATIVE_FACTORS[operator]
    along_x = _separable_pass(smooth, derivative)
    along_y = _separable_pass(derivative, smooth)
    if output == "x":
        compute = along_x
    elif output == "y":
        compute = along_y
    else:

        def compute(block):
            return np.hypot(along_x(block), along_y(block))

    return _run(image, 1, 1, mode, cval, compute)


def laplace(image, *, neighbours=4, mode="reflect", cval=0.0):
    """Discrete Laplacian over 4 or 8 neighbours.

    With ``neighbours=4`` this is :func:`scipy.ndimage.laplace` over the two image axes;
    with 8 it is the correlation with :data:`filterlab.kernels.LAPLACE_8`.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((3, 3), np.float32); image[1, 1] = 1
    >>> laplace(image, mode="constant")[1, 1], laplace(image, neighbours=8)[0, 0]
    (np.float32(-4.0), np.float32(1.0))
    """
    k = kernels.laplacian(neighbours)
    return _run(image, 1, 1, mode, cval, lambda block: _correlate_2d(block, k))


def apply_chain(image, chain):
    """Apply a filter chain, step by step, skipping disabled steps.

    Parameters
    ----------
    image : array_like
        Image; see :func:`correlate`.
    chain : list of dict or of Step, or str
        Anything :func:`filterlab.chain.validate` accepts.

    Returns
    -------
    ndarray of float32
        Same shape as `image`; a float32 copy when the chain is empty.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((4, 4, 3), np.float32)
    >>> apply_chain(image, [{"op": "gaussian_blur", "params": {"sigma": 1.0}}]).shape
    (4, 4, 3)
    """
    from . import catalog
    from . import chain as chain_module

    steps = chain_module.validate(chain)
    _split(image)  # check the image before any work
    result = np.array(image, dtype=np.float32)
    for step in steps:
        if step.enabled:
            result = catalog.OPS[step.op].reference(result, **step.params)
    return result
