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

Each filter is defined by a stencil (:class:`filterlab._tiles.Stencil`): how far it reads
around a pixel, its border rule, and how an output tile follows from a padded input tile.
``filter.stencil(...)`` builds it from the filter's parameters (everything after the image);
calling the filter runs it over the image. Arithmetic is float64 inside cache-sized tiles;
results are rounded to float32 once. On float32 input the results agree with scipy.ndimage
to within 1e-6 for outputs of order 1.

Examples
--------
>>> import numpy as np
>>> image = np.zeros((5, 5), np.float32); image[2, 2] = 1
>>> out = correlate(image, [[0, 0, 0], [0, 0, 1], [0, 0, 0]])
>>> out[2, 1]
np.float32(1.0)
"""

import dataclasses
import functools
import inspect

import numpy as np

from . import _tiles, borders, kernels
from ._checks import real
from ._tiles import Stencil

__all__ = [
    "correlate",
    "convolve",
    "gaussian_blur",
    "box_blur",
    "unsharp_mask",
    "edges",
    "laplace",
    "laplacian_of_gaussian",
    "EDGE_OPERATORS",
    "EDGE_OUTPUTS",
]

#: Operators accepted by :func:`edges`.
EDGE_OPERATORS = tuple(kernels.DERIVATIVE_FACTORS)
#: Outputs accepted by :func:`edges`.
EDGE_OUTPUTS = ("magnitude", "x", "y")


def _filter(build):
    """Make a public filter from a stencil builder.

    ``build(*params, **options)`` validates the parameters and returns a :class:`Stencil`. The
    filter is ``filter(image, *params, **options)``, which applies that stencil to the image,
    and ``filter.stencil`` is `build` itself, for code that runs stencils on tiles.
    """

    @functools.wraps(build)
    def apply(image, *args, **kwargs):
        return _tiles.apply(image, build(*args, **kwargs))

    signature = inspect.signature(build)
    image = inspect.Parameter("image", inspect.Parameter.POSITIONAL_OR_KEYWORD)
    apply.__signature__ = signature.replace(parameters=[image, *signature.parameters.values()])
    apply.stencil = build
    return apply


def _stencil(ry, rx, mode, cval, compute):
    return Stencil(int(ry), int(rx), borders.check_mode(mode), real("cval", cval), compute)


# ----------------------------------------------------------------------------------------
# Tap loops on padded float64 blocks
# ----------------------------------------------------------------------------------------


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
    """Rows with `row` (axis 1), then columns with `column` (axis 0), on a padded block."""

    def compute(block):
        return _correlate_1d(_correlate_1d(block, row, 1), column, 0)

    return compute


def _separable(column, row, mode, cval):
    column = np.asarray(column, dtype=np.float64)
    row = np.asarray(row, dtype=np.float64)
    return _stencil(len(column) // 2, len(row) // 2, mode, cval, _separable_pass(column, row))


# ----------------------------------------------------------------------------------------
# Public filters
# ----------------------------------------------------------------------------------------


@_filter
def correlate(kernel, *, mode="reflect", cval=0.0):
    """Correlate each colour channel with a 2-D kernel, like :func:`scipy.ndimage.correlate`.

    Parameters
    ----------
    image : array_like
        H×W or H×W×C image, C in 1..4; alpha (the last channel when C is 2 or 4) is kept.
    kernel : array_like
        Square kernel of odd size 1..31 (see :func:`filterlab.kernels.validate`). Rank-1
        kernels (:func:`filterlab.kernels.separate`) are applied as two 1-D passes.
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
    factors = kernels.separate(k)
    if factors is not None:
        return _separable(*factors, mode, cval)
    r = k.shape[0] // 2
    return _stencil(r, r, mode, cval, lambda block: _correlate_2d(block, k))


@_filter
def convolve(kernel, *, divisor=1.0, offset=0.0, mode="reflect", cval=0.0):
    """Convolve with a 2-D kernel, like :func:`scipy.ndimage.convolve`, then divide by
    `divisor` and add `offset`, as GIMP's convolution matrix does.

    This is :func:`correlate` with ``kernel / divisor`` flipped along both axes. Kernels are
    odd, so the centre stays put (scipy's origin shift only matters for even kernels).

    Parameters
    ----------
    image : array_like
        Image; see :func:`correlate`.
    kernel : array_like
        Square kernel of odd size 1..31.
    divisor : float, optional
        Non-zero; the weights are ``kernel / divisor``, which must be a valid kernel too.
    offset : float, optional
        Added to every result.
    mode, cval
        See :func:`correlate`.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((5, 5), np.float32); image[2, 2] = 1
    >>> out = convolve(image, [[0, 0, 0], [0, 0, 1], [0, 0, 0]])
    >>> out[2, 3]
    np.float32(1.0)
    >>> convolve(image, [[0, 0, 0], [0, 0, 1], [0, 0, 0]], divisor=4, offset=0.5)[2, 3]
    np.float32(0.75)
    """
    divisor = real("divisor", divisor)
    offset = real("offset", offset)
    if divisor == 0:
        raise ValueError("divisor must not be 0")
    k = kernels.validate(np.asarray(kernels.validate(kernel)) / divisor)
    flipped = correlate.stencil(k[::-1, ::-1], mode=mode, cval=cval)
    if offset == 0.0:
        return flipped

    def compute(block):
        out = flipped.compute(block)
        out += offset
        return out

    return dataclasses.replace(flipped, compute=compute)


@_filter
def gaussian_blur(sigma, *, mode="reflect", cval=0.0, truncate=4.0):
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
    return _separable(w, w, mode, cval)


@_filter
def box_blur(size, *, mode="reflect", cval=0.0):
    """Mean over a ``size × size`` window (odd size), like :func:`scipy.ndimage.uniform_filter`.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((3, 3), np.float32); image[1, 1] = 9
    >>> box_blur(image, 3, mode="constant")[1, 1]
    np.float32(1.0)
    """
    w = kernels.box_1d(size)
    return _separable(w, w, mode, cval)


@_filter
def unsharp_mask(sigma, amount, *, mode="reflect", cval=0.0):
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
    amount = real("amount", amount)
    w = kernels.gaussian_1d(sigma, truncate=4.0)
    r = len(w) // 2
    blur = _separable_pass(w, w)

    def compute(block):
        centre = block[r : block.shape[0] - r, r : block.shape[1] - r]
        detail = centre - blur(block)
        detail *= amount
        detail += centre
        return detail

    return _stencil(r, r, mode, cval, compute)


@_filter
def edges(operator="sobel", *, output="magnitude", mode="reflect", cval=0.0):
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

    return _stencil(1, 1, mode, cval, compute)


@_filter
def laplace(*, neighbours=4, mode="reflect", cval=0.0):
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
    return _stencil(1, 1, mode, cval, lambda block: _correlate_2d(block, k))


@_filter
def laplacian_of_gaussian(sigma, *, mode="reflect", cval=0.0):
    """Laplacian of Gaussian, like :func:`scipy.ndimage.gaussian_laplace` over the two image axes.

    The sum of the second derivatives along x and y of a Gaussian blur: each is a separable
    correlation with the second derivative of the Gaussian along one axis and the Gaussian
    along the other (:func:`filterlab.kernels.gaussian_1d` with ``order=2`` and ``order=0``,
    ``truncate=4.0``). The result is signed and not clipped.

    Parameters
    ----------
    image : array_like
        Image; see :func:`correlate`.
    sigma : float
        Standard deviation in pixels, > 0.
    mode, cval
        See :func:`correlate`. A constant border holds `cval` in two dimensions, as in
        :func:`correlate`; scipy pads each 1-D pass with `cval` instead, which agrees only when
        `cval` is 0.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((9, 9), np.float32); image[4, 4] = 1
    >>> float(laplacian_of_gaussian(image, 1.0)[4, 4]) < 0  # a blob's centre is a minimum
    True
    """
    smooth = kernels.gaussian_1d(sigma, truncate=4.0)
    second = kernels.gaussian_1d(sigma, truncate=4.0, order=2)
    r = len(smooth) // 2
    across = _separable_pass(smooth, second)  # second derivative along x
    down = _separable_pass(second, smooth)    # second derivative along y

    def compute(block):
        return across(block) + down(block)

    return _stencil(r, r, mode, cval, compute)
