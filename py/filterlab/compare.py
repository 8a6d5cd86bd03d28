"""Error metrics and an error heatmap, for comparing the GPU result with the reference.

The metrics of an image can also be gathered tile by tile: :func:`partial` reduces one tile
to sufficient statistics, and :func:`combine` turns the partials of any tiling into the
:class:`Metrics` of the whole image. Whole images are processed in row blocks, so no
function here needs float64 copies of a whole image.

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
"""

import dataclasses
import math

import numpy as np

from ._checks import real

__all__ = ["Metrics", "Partial", "metrics", "partial", "combine", "heatmap", "error_heatmap",
           "RAMP", "DEFAULT_TOLERANCE", "DEFAULT_GAIN", "MIN_GAIN", "MAX_GAIN"]

#: The tolerance a comparison uses unless told otherwise: GPU and CPU agree to this.
DEFAULT_TOLERANCE = 1e-5
#: The heatmap's gain unless told otherwise, and its smallest and largest value.
DEFAULT_GAIN = 100.0
MIN_GAIN = 1.0
MAX_GAIN = 1000.0

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
    """

    max_abs_error: float
    worst_x: int
    worst_y: int
    mean_abs_error: float
    rmse: float
    psnr: float
    fraction_over_tolerance: float
    tolerance: float

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
    """

    max_abs_error: float
    worst_x: int
    worst_y: int
    sum_abs_error: float
    sum_squared_error: float
    over_tolerance: int
    samples: int
    tolerance: float

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
    whole = _merge(partials, tol)
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


def _gain(gain):
    gain = real("gain", gain)
    if not (MIN_GAIN <= gain <= MAX_GAIN):
        raise ValueError(f"gain must be between {MIN_GAIN:g} and {MAX_GAIN:g}, got {gain:g}")
    return gain


def _paint(error, gain, out):
    """Write the RGBA colours of a float64 error map into `out`."""
    error = np.nan_to_num(error, nan=1.0, posinf=1.0)
    level = np.rint(np.clip(error * gain, 0.0, 1.0) * 255.0).astype(np.intp)
    out[:, :, :3] = RAMP[level]
    out[:, :, 3] = 255


def heatmap(a, b, *, gain=DEFAULT_GAIN):
    """Colour-coded absolute difference, for display.

    Parameters
    ----------
    a, b : array_like
        Images of the same shape, H×W or H×W×C.
    gain : float, optional
        Multiplier applied before mapping, 1..1000: with ``gain=100`` a difference of
        0.01 reaches the top of the ramp.

    Returns
    -------
    ndarray of uint8, shape (H, W, 4)
        RGBA: ``|a - b|`` (the largest over channels, in float64) × gain, clipped to
        [0, 1] and mapped through :data:`RAMP`; alpha is 255. A NaN or infinite difference
        shows at full scale. This is :func:`error_heatmap` of that error map.

    Examples
    --------
    >>> import numpy as np
    >>> heatmap(np.zeros((1, 2)), np.array([[0.0, 1.0]]))[0].tolist()
    [[0, 0, 4, 255], [252, 253, 191, 255]]
    """
    gain = _gain(gain)
    if np.ndim(a) not in (2, 3):
        raise ValueError(f"images must be H×W or H×W×C, got shape {np.shape(a)}")
    a, b = _pair(a, b)
    out = np.empty(a.shape[:2] + (4,), dtype=np.uint8)
    for rows in _row_blocks(a):
        _paint(_pixel_max(_abs_diff(a[rows], b[rows])), gain, out[rows])
    return out


def error_heatmap(error, *, gain=DEFAULT_GAIN):
    """Colour an error map, as :func:`heatmap` colours the difference of two images.

    For heatmaps assembled from tiles (:attr:`filterlab.verify.TileReport.error`).

    Parameters
    ----------
    error : array_like, shape (H, W)
        Absolute differences, e.g. the largest over channels at each pixel.
    gain : float, optional
        As in :func:`heatmap`.

    Returns
    -------
    ndarray of uint8, shape (H, W, 4)
        The same colours :func:`heatmap` gives for these differences. (A float32 error map
        holds each difference rounded to float32, which can move a pixel to the next ramp
        level when the difference lies within a rounding step of a level's boundary.)

    Examples
    --------
    >>> import numpy as np
    >>> error_heatmap(np.array([[0.0, 0.02]]), gain=50)[0, :, :3].tolist()
    [[0, 0, 4], [252, 253, 191]]
    """
    gain = _gain(gain)
    error = np.asarray(error)
    if error.ndim != 2 or error.size == 0:
        raise ValueError(f"error must be a non-empty H×W array, got shape {error.shape}")
    out = np.empty(error.shape + (4,), dtype=np.uint8)
    for rows in _row_blocks(error[:, :, None]):
        _paint(np.asarray(error[rows], dtype=np.float64), gain, out[rows])
    return out
