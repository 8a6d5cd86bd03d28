"""Error metrics and an error heatmap, for comparing the GPU result with the reference.

The metrics of an image can also be gathered tile by tile: :func:`partial` reduces one tile
to sufficient statistics, and :func:`combine` turns the partials of any tiling into the
:class:`Metrics` of the whole image. Whole images are processed in row blocks, so no
function here needs float64 copies of a whole image.

The heatmap shows ``|Δ|`` on a logarithmic colour scale, because the differences between a
GPU and a float64 reference are tiny (1e-8 to 1e-5) and span decades. :func:`error_colours`
is the one definition of its colours; the page colours error tiles with the same rule
(``app/ui/errormap.js``), and a browser test checks that the two agree.

Examples
--------
>>> import numpy as np
>>> a = np.zeros((2, 2, 3), np.float32)
>>> b = a.copy(); b[0, 1, 1] = 0.5
>>> m = metrics(a, b)
>>> m.max_abs_error, (m.worst_x, m.worst_y), m.fraction_over_tolerance
(0.5, (1, 0), 0.08333333333333333)
>>> top, bottom = partial(a[:1], b[:1]), partial(a[1:], b[1:], origin=(1, 0))
>>> combine([top, bottom]) == m
True
>>> heatmap(a, b).shape
(2, 2, 4)
>>> error_range(np.array([3e-7, 0.0, 4e-6]))
(2e-07, 5e-06)
"""

import dataclasses
import math

import numpy as np

from ._checks import real

__all__ = ["Metrics", "Partial", "metrics", "partial", "combine", "merge", "heatmap", "error_colours", "error_range", "error_edges", "nice_steps", "RAMP", "ZERO_COLOUR",
           "INVALID_COLOUR", "ERROR_FLOOR", "NICE_MANTISSAS", "DEFAULT_TOLERANCE"]

#: The tolerance a comparison uses unless told otherwise: GPU and CPU agree to this.
DEFAULT_TOLERANCE = 1e-5
#: The smallest difference the automatic heatmap range reaches down to.
ERROR_FLOOR = 1e-9
#: The automatic heatmap range ends on these mantissas of powers of ten (1e-7, 2e-7, 5e-7...).
NICE_MANTISSAS = (1, 2, 5)
#: The heatmap colour of an exact zero difference: a neutral grey, outside the ramp.
ZERO_COLOUR = (128, 128, 128)
#: The heatmap colour of a NaN or infinite difference: cyan, outside the ramp.
INVALID_COLOUR = (0, 255, 255)

# Samples per row block when a whole image is reduced: each float64 temporary is 8 MiB.
_BLOCK_SAMPLES = 1 << 20

# Colour ramp anchors (position, red, green, blue): black through purple, red and orange
# to pale yellow, brightening steadily so that larger errors always look lighter.
_RAMP_ANCHORS = (
    (0.00, 0, 0, 4),
    (0.20, 60, 9, 102),
    (0.40, 140, 41, 129),
    (0.60, 222, 73, 104),
    (0.80, 254, 159, 109),
    (1.00, 252, 253, 191),
)


def _build_ramp():
    anchors = np.array(_RAMP_ANCHORS, dtype=np.float64)
    positions = np.linspace(0.0, 1.0, 256)
    channels = [np.interp(positions, anchors[:, 0], anchors[:, c]) for c in (1, 2, 3)]
    ramp = np.rint(np.stack(channels, axis=1)).astype(np.uint8)
    ramp.setflags(write=False)
    return ramp


#: The heatmap's 256-entry RGB colour ramp (uint8), from no error to full scale.
RAMP = _build_ramp()


@dataclasses.dataclass(frozen=True)
class Metrics:
    """Differences between two images.

    Attributes
    ----------
    max_abs_error : float
        Largest absolute difference.
    worst_x, worst_y : int
        Where it is: the column and row of the first pixel in raster order whose largest
        difference over its channels equals `max_abs_error`. When a difference is NaN, the
        first pixel with a NaN difference.
    mean_abs_error : float
        Mean absolute difference.
    rmse : float
        Root mean square difference.
    psnr : float
        Peak signal-to-noise ratio in dB for a data range of 1.0; ``math.inf`` when the
        images are identical, ``-math.inf`` when a difference is infinite.
    fraction_over_tolerance : float
        Fraction of samples (pixels × channels) whose difference exceeds `tolerance`.
    tolerance : float
        The tolerance used.
    fraction_pixels_over_tolerance : float
        Fraction of pixels with a channel whose difference exceeds `tolerance`.
    """

    max_abs_error: float
    worst_x: int
    worst_y: int
    mean_abs_error: float
    rmse: float
    psnr: float
    fraction_over_tolerance: float
    tolerance: float
    fraction_pixels_over_tolerance: float

    def as_dict(self):
        """The fields as a JSON-ready dict: floats (``psnr`` may be ``math.inf``, and the
        errors NaN) and the two int coordinates."""
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Partial:
    """The sufficient statistics of the differences in one tile, from :func:`partial`.

    :func:`combine` turns the partials of the tiles of an image into its :class:`Metrics`.

    Attributes
    ----------
    max_abs_error : float
        Largest absolute difference in the tile (NaN when any is NaN).
    worst_x, worst_y : int
        Its place in image coordinates, as :attr:`Metrics.worst_x` and
        :attr:`Metrics.worst_y` define it within the tile.
    sum_abs_error, sum_squared_error : float
        Sums over the tile's samples of ``|a - b|`` and ``(a - b)**2``, in float64.
    over_tolerance : int
        Number of samples whose difference exceeds `tolerance` (NaN does not).
    samples : int
        Number of samples (pixels × channels).
    tolerance : float
        The tolerance used.
    pixels_over_tolerance : int
        Number of pixels with a sample whose difference exceeds `tolerance`.
    pixels : int
        Number of pixels.
    """

    max_abs_error: float
    worst_x: int
    worst_y: int
    sum_abs_error: float
    sum_squared_error: float
    over_tolerance: int
    samples: int
    tolerance: float
    pixels_over_tolerance: int
    pixels: int

    def as_dict(self):
        """The fields as a dict of floats and ints (``Partial(**d)`` rebuilds it)."""
        return dataclasses.asdict(self)


def _tolerance(tol):
    tol = real("tol", tol)
    if tol < 0:
        raise ValueError(f"tol must be a finite number >= 0, got {tol:g}")
    return tol


def _pair(a, b):
    """Check two images and view them as (H, W, C) without copying where possible.

    Axis 0 is y, axis 1 is x (one column when there is none); further axes are channels.
    """
    a = np.asarray(a)
    b = np.asarray(b)
    if a.shape != b.shape:
        raise ValueError(f"images must have the same shape, got {a.shape} and {b.shape}")
    if a.size == 0:
        raise ValueError("images must not be empty")
    shape = (a.shape + (1, 1))[:2] + (-1,)
    return a.reshape(shape), b.reshape(shape)


def _row_blocks(image):
    """Slices of up to :data:`_BLOCK_SAMPLES` samples (at least one row) of an (H, W, C) image."""
    h, w, c = image.shape
    step = max(1, _BLOCK_SAMPLES // (w * c))
    return [slice(y0, min(h, y0 + step)) for y0 in range(0, h, step)]


def _abs_diff(a, b):
    """``|a - b|`` in float64 (a new array); ``inf - inf`` gives NaN without a warning."""
    with np.errstate(over="ignore", invalid="ignore"):
        diff = np.subtract(a, b, dtype=np.float64)
    return np.abs(diff, out=diff)


def _pixel_max(diff):
    """The largest value over the channels of an (h, w, C) array, at each pixel.

    Elementwise maxima of the channel planes: the same values (NaN propagates) as
    ``diff.max(axis=2)``, several times faster than a reduction over a short last axis.
    """
    out = diff[:, :, 0].copy()
    for k in range(1, diff.shape[2]):
        np.maximum(out, diff[:, :, k], out=out)
    return out


def _fsum(values):
    """The correctly rounded sum of non-negative floats; ``inf`` when it overflows."""
    try:
        return math.fsum(values)
    except OverflowError:
        return math.inf


def _merge(parts, tol):
    """One Partial from several, of disjoint pieces of an image."""
    with_nan = [p for p in parts if math.isnan(p.max_abs_error)]
    if with_nan:
        top, candidates = math.nan, with_nan
    else:
        top = max(p.max_abs_error for p in parts)
        candidates = [p for p in parts if p.max_abs_error == top]
    worst = min(candidates, key=lambda p: (p.worst_y, p.worst_x))
    return Partial(
        max_abs_error=top,
        worst_x=worst.worst_x,
        worst_y=worst.worst_y,
        sum_abs_error=_fsum([p.sum_abs_error for p in parts]),
        sum_squared_error=_fsum([p.sum_squared_error for p in parts]),
        over_tolerance=sum(p.over_tolerance for p in parts),
        samples=sum(p.samples for p in parts),
        tolerance=tol,
        pixels_over_tolerance=sum(p.pixels_over_tolerance for p in parts),
        pixels=sum(p.pixels for p in parts),
    )


def partial(a, b, *, tol=DEFAULT_TOLERANCE, origin=(0, 0), error=None):
    """Reduce the differences of one tile to the statistics :func:`combine` needs.

    Parameters
    ----------
    a, b : array_like
        The tile of the two images, of the same shape: h×w or h×w×C (as in :func:`metrics`).
    tol : float, optional
        Threshold for :attr:`Partial.over_tolerance`.
    origin : (int, int), optional
        Image coordinates ``(y0, x0)`` of the tile's first pixel, so that
        :attr:`Partial.worst_x` and :attr:`Partial.worst_y` are image coordinates.
    error : ndarray, optional
        An (h, w) array that receives the tile's error map: the largest ``|a - b|`` over
        the channels at each pixel, from the same differences.

    Returns
    -------
    Partial
        Computed in float64, a row block at a time: no float64 copy of the whole tile.

    Examples
    --------
    >>> import numpy as np
    >>> p = partial(np.zeros((2, 2)), np.array([[0.0, 0.5], [0.25, 0.5]]), origin=(10, 20))
    >>> p.max_abs_error, p.worst_x, p.worst_y, p.sum_abs_error, p.samples
    (0.5, 21, 10, 1.25, 4)
    """
    tol = _tolerance(tol)
    y0, x0 = (int(v) for v in origin)
    a, b = _pair(a, b)
    w = a.shape[1]
    parts = []
    for rows in _row_blocks(a):
        diff = _abs_diff(a[rows], b[rows])
        pixels = _pixel_max(diff)
        if error is not None:
            error.reshape(a.shape[:2])[rows] = pixels
        at = int(np.argmax(pixels))  # the first maximum, or the first NaN
        y, x = divmod(at, w)
        over = int(np.count_nonzero(diff > tol))
        over_pixels = int(np.count_nonzero(pixels > tol))  # a pixel is over when its largest is
        with np.errstate(over="ignore"):  # a sum or a square may overflow: inf is the answer
            sum_abs = float(diff.sum())
            diff *= diff
            sum_squared = float(diff.sum())
        parts.append(Partial(
            max_abs_error=float(pixels.flat[at]),
            worst_x=x0 + x,
            worst_y=y0 + rows.start + y,
            sum_abs_error=sum_abs,
            sum_squared_error=sum_squared,
            over_tolerance=over,
            samples=diff.size,
            tolerance=tol,
            pixels_over_tolerance=over_pixels,
            pixels=pixels.size,
        ))
    return _merge(parts, tol)


def _psnr(mse):
    """PSNR in dB for a data range of 1: ``inf`` for no error, ``-inf`` for an infinite one."""
    if mse == 0.0:
        return math.inf
    if mse == math.inf:
        return -math.inf
    return 10.0 * math.log10(1.0 / mse)


def combine(partials, *, tol=DEFAULT_TOLERANCE):
    """The metrics of a whole image from the partials of its tiles.

    Parameters
    ----------
    partials : iterable of Partial
        One per tile, from :func:`partial` with image-coordinate origins; the tiles must
        cover the image exactly once, in any shapes and any order.
    tol : float, optional
        The tolerance the partials were computed with (checked).

    Returns
    -------
    Metrics
        Equal to :func:`metrics` of the whole images: ``max_abs_error``, ``worst_x``,
        ``worst_y`` and ``fraction_over_tolerance`` exactly; ``mean_abs_error``, ``rmse``
        and ``psnr`` up to the order of summation (the tiles' float64 sums are added with
        :func:`math.fsum`; they agree to a relative 1e-12). A NaN difference anywhere makes
        ``max_abs_error``, ``mean_abs_error``, ``rmse`` and ``psnr`` NaN, and the worst
        place is the first NaN in raster order.

    Examples
    --------
    >>> import numpy as np
    >>> a, b = np.zeros((3, 4)), np.eye(3, 4)
    >>> parts = [partial(a[:, :2], b[:, :2]), partial(a[:, 2:], b[:, 2:], origin=(0, 2))]
    >>> m = combine(parts)
    >>> m.mean_abs_error, (m.worst_x, m.worst_y)
    (0.25, (0, 0))
    """
    return _metrics_of(merge(partials, tol=tol))


def merge(partials, *, tol=DEFAULT_TOLERANCE):
    """One :class:`Partial` for the union of disjoint tiles: partials folded together, so that
    a running verification can combine only the tiles that came in since the last fold.

    Folding is exact for every field but the two float64 sums, which each fold rounds once
    (:func:`combine` of the original partials rounds them once in all).

    Examples
    --------
    >>> import numpy as np
    >>> a, b = np.zeros((2, 3)), np.arange(6.0).reshape(2, 3)
    >>> parts = [partial(a[:, :1], b[:, :1]), partial(a[:, 1:], b[:, 1:], origin=(0, 1))]
    >>> folded = merge(parts)
    >>> (folded.max_abs_error, folded.worst_x, folded.worst_y, folded.samples)
    (5.0, 2, 1, 6)
    >>> combine([folded]) == combine(parts)
    True
    """
    tol = _tolerance(tol)
    partials = list(partials)
    if not partials:
        raise ValueError("combine needs at least one partial")
    for p in partials:
        if not isinstance(p, Partial):
            raise TypeError(f"partials must be Partial objects, got {type(p).__name__}")
        if p.tolerance != tol:
            raise ValueError(
                f"a partial was computed with tol={p.tolerance:g}, not the tol={tol:g} given"
            )
    return _merge(partials, tol)


def _metrics_of(whole):
    """The :class:`Metrics` of a whole image from its one :class:`Partial`."""
    tol = whole.tolerance
    mse = whole.sum_squared_error / whole.samples
    return Metrics(
        max_abs_error=whole.max_abs_error,
        worst_x=whole.worst_x,
        worst_y=whole.worst_y,
        mean_abs_error=whole.sum_abs_error / whole.samples,
        rmse=math.sqrt(mse),
        psnr=_psnr(mse),
        fraction_over_tolerance=whole.over_tolerance / whole.samples,
        tolerance=tol,
        fraction_pixels_over_tolerance=whole.pixels_over_tolerance / whole.pixels,
    )


def metrics(a, b, *, tol=DEFAULT_TOLERANCE):
    """Compare two images sample by sample.

    Parameters
    ----------
    a, b : array_like
        Images of the same shape: H×W or H×W×C (axis 0 is y and axis 1 is x; a 1-D array
        is one column, further axes count as channels).
    tol : float, optional
        Threshold for :attr:`Metrics.fraction_over_tolerance`.

    Returns
    -------
    Metrics
        Computed in float64, a row block at a time. A NaN in either image makes
        ``max_abs_error``, ``mean_abs_error``, ``rmse`` and ``psnr`` NaN.

    Examples
    --------
    >>> import numpy as np
    >>> metrics(np.zeros(4), np.zeros(4)).psnr
    inf
    >>> round(metrics(np.zeros(4), np.full(4, 0.1)).psnr, 6)
    20.0
    """
    whole = partial(a, b, tol=tol)
    return combine([whole], tol=whole.tolerance)


def _nice(value, direction):
    """The nearest of ``m × 10**n`` (m in :data:`NICE_MANTISSAS`) at or below (direction -1)
    or at or above (+1) a positive finite `value`. Candidates are parsed from decimal text,
    so they are the same floats in every language."""
    exponent = math.floor(math.log10(value))
    candidates = sorted(float(f"{m}e{n}") for n in range(exponent - 1, exponent + 2)
                        for m in NICE_MANTISSAS)
    if direction < 0:
        return max(c for c in candidates if c <= value)
    return min(c for c in candidates if c >= value)


def nice_steps(lo, hi):
    """The values ``m × 10**n`` (m in :data:`NICE_MANTISSAS`) from `lo` to `hi`: the ticks of
    the heatmap's legend.

    Examples
    --------
    >>> nice_steps(2e-7, 5e-6)
    [2e-07, 5e-07, 1e-06, 2e-06, 5e-06]
    """
    lo, hi = _limits((lo, hi))
    first, last = math.floor(math.log10(lo)) - 1, math.ceil(math.log10(hi)) + 1
    steps = (float(f"{m}e{n}") for n in range(first, last + 1) for m in NICE_MANTISSAS)
    return [v for v in steps if lo <= v <= hi]


def error_range(error):
    """The heatmap's automatic range for an error map.

    From the smallest positive difference, but not below :data:`ERROR_FLOOR`, to the
    largest finite one, each widened to the next value ``m × 10**n`` with m in
    :data:`NICE_MANTISSAS` (so that the range changes seldom while tiles arrive, and the
    legend reads in round numbers). Zeros, NaN and infinities do not count; when no
    difference is positive and finite, or all lie below the floor, the range is one decade
    above the floor.

    Parameters
    ----------
    error : array_like
        Absolute differences.

    Returns
    -------
    (float, float)
        ``(lo, hi)`` with ``0 < lo < hi``.

    Examples
    --------
    >>> import numpy as np
    >>> error_range(np.array([0.0, 1.5e-8, 3e-6, np.nan]))
    (1e-08, 5e-06)
    >>> error_range(np.zeros(3))
    (1e-09, 1e-08)
    """
    error = np.asarray(error)
    error = error.reshape((error.shape + (1, 1))[:2] + (-1,))
    return _auto_limits(_extremes(np.asarray(error[rows], dtype=np.float64))
                        for rows in _row_blocks(error))


def _extremes(block):
    """The smallest and largest positive finite value of a block (``(inf, 0)`` if none)."""
    positive = block[(block > 0) & np.isfinite(block)]
    return (float(positive.min()), float(positive.max())) if positive.size else (math.inf, 0.0)


def _auto_limits(extremes):
    """:func:`error_range` from the :func:`_extremes` of the blocks of an error map."""
    extremes = list(extremes)
    smallest = min(lo for lo, _ in extremes)
    largest = max(hi for _, hi in extremes)
    if largest <= ERROR_FLOOR:
        return ERROR_FLOOR, ERROR_FLOOR * 10
    lo = max(ERROR_FLOOR, _nice(smallest, -1))
    hi = _nice(largest, +1)
    return lo, (hi if hi > lo else _nice(lo * 1.5, +1))


def _limits(limits):
    lo, hi = (real(name, v) for name, v in zip(("lo", "hi"), limits))
    if not 0 < lo < hi:
        raise ValueError(f"the heatmap range must satisfy 0 < lo < hi, got ({lo:g}, {hi:g})")
    return lo, hi


def error_edges(lo, hi):
    """The 255 boundaries between the ramp's 256 levels on a log scale from `lo` to `hi`.

    ``edges[j] = lo * (hi / lo) ** ((j + 0.5) / 255)``: level ``k`` covers differences from
    ``edges[k - 1]`` up to, not including, ``edges[k]``. The page computes the same
    expression with JavaScript's ``**``.

    Examples
    --------
    >>> edges = error_edges(1e-9, 1e-6)
    >>> len(edges), bool(edges[0] > 1e-9), bool(edges[-1] < 1e-6)
    (255, True, True)
    """
    lo, hi = _limits((lo, hi))
    return lo * (hi / lo) ** ((np.arange(255) + 0.5) / 255)


def _paint(error, edges, out):
    """Write the RGBA colours of a float64 error map into `out`."""
    level = np.searchsorted(edges, error, side="right")
    out[:, :, :3] = RAMP[np.minimum(level, 255)]
    out[:, :, :3][error <= 0] = ZERO_COLOUR
    out[:, :, :3][~np.isfinite(error)] = INVALID_COLOUR
    out[:, :, 3] = 255


def error_colours(error, *, limits=None):
    """Colour an error map on a logarithmic scale: the heatmap.

    Parameters
    ----------
    error : array_like, shape (H, W)
        Absolute differences, e.g. the largest over channels at each pixel
        (:attr:`filterlab.verify.TileReport.error`).
    limits : (float, float), optional
        The range ``(lo, hi)``, ``0 < lo < hi``; by default :func:`error_range` of `error`.

    Returns
    -------
    ndarray of uint8, shape (H, W, 4)
        RGBA, alpha 255. A difference ``e`` is coloured:

        * :data:`ZERO_COLOUR` when ``e <= 0`` (an exact match);
        * :data:`INVALID_COLOUR` when it is NaN or infinite;
        * otherwise ``RAMP[k]``, ``k`` the number of :func:`error_edges` at or below ``e``:
          level 0 up to ``lo`` (and below it), level 255 from ``hi`` up, and in between
          evenly spaced in ``log(e)``.

    Examples
    --------
    >>> import numpy as np
    >>> out = error_colours(np.array([[0.0, 1e-9, 1e-7, 1e-5, np.nan]]), limits=(1e-9, 1e-5))
    >>> out[0, :, :3].tolist()
    [[128, 128, 128], [0, 0, 4], [180, 57, 117], [252, 253, 191], [0, 255, 255]]
    """
    error = np.asarray(error)
    if error.ndim != 2 or error.size == 0:
        raise ValueError(f"error must be a non-empty H×W array, got shape {error.shape}")
    edges = error_edges(*(error_range(error) if limits is None else limits))
    out = np.empty(error.shape + (4,), dtype=np.uint8)
    for rows in _row_blocks(error[:, :, None]):
        _paint(np.asarray(error[rows], dtype=np.float64), edges, out[rows])
    return out


def heatmap(a, b, *, limits=None):
    """Colour-coded absolute difference of two images, for display.

    Parameters
    ----------
    a, b : array_like
        Images of the same shape, H×W or H×W×C.
    limits : (float, float), optional
        As in :func:`error_colours`.

    Returns
    -------
    ndarray of uint8, shape (H, W, 4)
        :func:`error_colours` of ``|a - b|``, the largest over channels at each pixel,
        computed in float64.

    Examples
    --------
    >>> import numpy as np
    >>> heatmap(np.zeros((1, 2)), np.array([[0.0, 1.0]]), limits=(0.1, 1.0))[0].tolist()
    [[128, 128, 128, 255], [252, 253, 191, 255]]
    """
    if np.ndim(a) not in (2, 3):
        raise ValueError(f"images must be H×W or H×W×C, got shape {np.shape(a)}")
    a, b = _pair(a, b)
    blocks = _row_blocks(a)
    if limits is None:  # a first pass for the range: no whole-image float64 error map
        limits = _auto_limits(_extremes(_pixel_max(_abs_diff(a[rows], b[rows]))) for rows in blocks)
    edges = error_edges(*limits)
    out = np.empty(a.shape[:2] + (4,), dtype=np.uint8)
    for rows in blocks:
        _paint(_pixel_max(_abs_diff(a[rows], b[rows])), edges, out[rows])
    return out
