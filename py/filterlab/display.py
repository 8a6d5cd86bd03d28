"""What the viewer shows besides the pixels: the auto-contrast stretch and the histograms.

Nothing here changes a value that is exported or compared. The stretch applies only where
values become 8-bit for the screen: ``present.wgsl`` and ``display.wgsl`` on the GPU (as the
uniforms :func:`uniforms` gives) and :func:`to_rgba8` for the reference's tiles. Histograms
are counted from a copy.

*Auto contrast* maps the :data:`PERCENTILES` of an image's colour samples (alpha excluded,
all colour channels together, so hues keep their balance) to black and white. Each image has
its own: the original from its samples, the result from the GPU's output, and the reference
is shown with the result's stretch, so that GPU and CPU stay comparable pixel for pixel.

Large images are summarised from a sample: :data:`SAMPLE_PIXELS` pixels at most, in evenly
spaced bands of whole rows (:func:`sample_rows`).

Examples
--------
>>> import numpy as np
>>> values = np.linspace(0.25, 0.75, 1001, dtype=np.float32).reshape(1001, 1, 1)
>>> s = summarise(values)
>>> s.lo, s.hi, int(s.counts.sum())
(0.25, 0.75, 1001)
>>> [round(v, 4) for v in s.stretch]
[0.2525, 0.7475]
>>> to_rgba8(values[[0, 500, 1000]], s.stretch)[:, 0, 0].tolist()
[0, 128, 255]
"""

import dataclasses
import math

import numpy as np

from . import imageio

__all__ = ["Summary", "PERCENTILES", "BINS", "SAMPLE_PIXELS", "IDENTITY", "summarise",
           "sample_rows", "uniforms", "to_rgba8", "colour_channels"]

#: The percentiles of the colour samples that auto contrast maps to black and to white.
PERCENTILES = (0.5, 99.5)
#: Bins of the histograms the viewer draws.
BINS = 256
#: Finer bins per drawn bin, for the percentiles: the range in 16384 steps.
_FINE = 64
#: At most this many pixels (512²) are summarised; larger images are sampled in bands of rows.
#: Ample for percentiles and a histogram's shape, and quick enough not to hold up a slider.
SAMPLE_PIXELS = 1 << 18
#: Bands of rows a sample is taken in.
_BANDS = 16
#: The stretch that changes nothing: values in [0, 1] shown as they are.
IDENTITY = (0.0, 1.0)


@dataclasses.dataclass(frozen=True)
class Summary:
    """Histograms and the auto-contrast stretch of an image (or of a sample of its rows).

    Attributes
    ----------
    lo, hi : float
        The histograms' range: the smallest and largest finite sample (widened by half an
        8-bit level each way when they are equal).
    counts : ndarray of int64, shape (C, BINS)
        Per channel, the finite samples in each of :data:`BINS` equal bins from `lo` to
        `hi` (the last bin includes `hi`).
    stretch : (float, float)
        ``(black, white)``: the :data:`PERCENTILES` of the colour samples, or
        :data:`IDENTITY` when they are equal or every sample is.
    pixels : int
        Pixels counted.
    sampled : bool
        Whether the pixels are a sample of the image's rows.
    non_finite : int
        Samples left out because they are NaN or infinite.
    """

    lo: float
    hi: float
    counts: np.ndarray
    stretch: tuple
    pixels: int
    sampled: bool
    non_finite: int

    def as_dict(self):
        """A JSON-ready dict; ``counts`` as nested lists."""
        return {"lo": self.lo, "hi": self.hi, "counts": self.counts.tolist(),
                "stretch": list(self.stretch), "pixels": self.pixels, "sampled": self.sampled,
                "non_finite": self.non_finite, "channels": len(self.counts)}


def colour_channels(channels):
    """The channels auto contrast stretches: all but alpha (the last of 2 or 4).

    >>> colour_channels(4), colour_channels(1)
    (slice(0, 3, None), slice(0, 1, None))
    """
    return slice(0, 1) if channels <= 2 else slice(0, 3)


def sample_rows(height, width, *, budget=SAMPLE_PIXELS):
    """The rows a summary of a ``height × width`` image counts.

    Returns
    -------
    list of (int, int)
        Half-open row ranges: the whole image when it has at most `budget` pixels, else
        :data:`_BANDS` evenly spaced bands (fewer when rows are wider than the budget allows)
        of at most `budget` pixels in all.

    Examples
    --------
    >>> sample_rows(100, 100, budget=10_000)
    [(0, 100)]
    >>> sample_rows(1000, 100, budget=800)  # 8 rows of 1000, each the middle of its eighth
    [(62, 63), (187, 188), (312, 313), (437, 438), (562, 563), (687, 688), (812, 813), (937, 938)]
    """
    if height * width <= budget:
        return [(0, height)]
    rows = max(1, budget // width)
    bands = min(_BANDS, rows)
    size = rows // bands
    starts = [int((2 * i + 1) * height // (2 * bands)) - size // 2 for i in range(bands)]
    return [(y0, y0 + size) for y0 in starts]


def _fine_counts(flat, lo, hi):
    """Per channel counts of the finite values of ``flat`` (N × C) in BINS × _FINE bins."""
    n = BINS * _FINE
    scale = n / (hi - lo)
    out = np.zeros((flat.shape[1], n), np.int64)
    for c in range(flat.shape[1]):
        column = flat[:, c]
        values = column[np.isfinite(column)].astype(np.float64)
        index = np.minimum(((values - lo) * scale).astype(np.intp), n - 1)
        out[c] = np.bincount(index, minlength=n)
    return out


def _percentiles(counts, lo, hi):
    """The :data:`PERCENTILES` of the values counted in equal bins from lo to hi, values
    taken as spread evenly within their bin."""
    total = int(counts.sum())
    if total == 0:
        return IDENTITY
    cumulative = np.cumsum(counts)
    width = (hi - lo) / counts.size
    found = []
    for p in PERCENTILES:
        target = p / 100 * total
        k = int(np.searchsorted(cumulative, target, side="left"))
        before = int(cumulative[k - 1]) if k else 0
        found.append(lo + (k + (target - before) / int(counts[k])) * width)
    return tuple(found) if found[1] > found[0] else IDENTITY


def summarise(values, *, sampled=False):
    """Histograms and the auto-contrast stretch of some pixels.

    Parameters
    ----------
    values : array_like
        H×W×C float values (working values, see :mod:`filterlab.imageio`).
    sampled : bool, optional
        Whether `values` are a sample of a larger image (recorded in the summary).

    Returns
    -------
    Summary
    """
    values = np.asarray(values, dtype=np.float32)
    flat = values.reshape(-1, values.shape[-1] if values.ndim == 3 else 1)
    finite = np.isfinite(flat)
    if finite.any():
        lo, hi = float(flat[finite].min()), float(flat[finite].max())
    else:
        lo, hi = IDENTITY
    constant = hi <= lo
    if constant:
        lo, hi = lo - 0.5 / 255, hi + 0.5 / 255
    fine = _fine_counts(flat, lo, hi)
    colour = fine[colour_channels(flat.shape[1])].sum(axis=0)
    stretch = IDENTITY if constant else _percentiles(colour, lo, hi)
    return Summary(lo=lo, hi=hi, counts=fine.reshape(flat.shape[1], BINS, _FINE).sum(axis=2),
                   stretch=stretch, pixels=flat.shape[0], sampled=bool(sampled),
                   non_finite=int(finite.size - np.count_nonzero(finite)))


def uniforms(stretch=IDENTITY):
    """The ``lo`` and ``scale`` uniforms of ``present.wgsl`` and ``display.wgsl``: colour is
    shown as ``(value - lo) * scale``, clamped to [0, 1].

    >>> uniforms(), uniforms((0.25, 0.75))
    ({'lo': 0.0, 'scale': 1.0}, {'lo': 0.25, 'scale': 2.0})
    """
    black, white = _checked(stretch)
    return {"lo": black, "scale": 1.0 / (white - black)}


def _checked(stretch):
    black, white = (float(v) for v in stretch)
    if not (math.isfinite(black) and math.isfinite(white) and white > black):
        raise ValueError(f"a display stretch needs finite black < white, got {stretch!r}")
    return black, white


def to_rgba8(values, stretch=IDENTITY):
    """8-bit RGBA for the screen (:func:`filterlab.imageio.to_rgba8`), the colour channels
    first stretched as the GPU's display shaders do, in float32: ``(value - lo) * scale``.

    Parameters
    ----------
    values : array_like
        H×W×C working values.
    stretch : (float, float), optional
        ``(black, white)``; :data:`IDENTITY` shows values as they are.
    """
    if tuple(stretch) == IDENTITY:
        return imageio.to_rgba8(values)
    u = uniforms(stretch)
    values = np.array(values, dtype=np.float32)
    if values.ndim == 2:
        values = values[:, :, None]
    colour = values[:, :, colour_channels(values.shape[2])]
    colour -= np.float32(u["lo"])
    colour *= np.float32(u["scale"])
    return imageio.to_rgba8(values)
