"""The reference's tile engine: every filter is a stencil evaluated on padded float64 tiles.

A :class:`Stencil` says how far an operation reads around each output pixel (``ry`` rows and
``rx`` columns on each side), which border rule supplies pixels beyond the image, and how to
compute an output tile from a padded input tile. :func:`apply` runs a stencil over a whole
image in cache-sized tiles. Every output pixel is computed from its own window by the same
sequence of floating-point operations whatever the tile around it, so any tiling of the image
gives bit-identical results: the tiles here, and the verification tiles built on this module.

Arithmetic is float64 inside a tile; results are rounded to float32 once per operation.

Regions
-------
A chain of stencils can also be evaluated on part of an image only, exactly. A region is a
Cartesian product of a sorted set of image rows and a sorted set of image columns; the sets
need not be contiguous (a ``wrap`` border, or a radius larger than the image, reads strips
from the far side). :func:`regions` works backwards from the pixels wanted: the last stencil
produces them, and each earlier one produces what the next reads through the border rule at
the *image's* edges. :func:`run_regions` then evaluates forwards, each stencil on exactly
its region, with the same gathering and the same compute as :func:`run`, so every value is
the one the whole-image evaluation gives, bit for bit.

Examples
--------
>>> import numpy as np
>>> from filterlab import reference
>>> blur = reference.box_blur.stencil(3, mode="wrap")
>>> [(r.tolist(), c.tolist()) for r, c in regions([blur], [0, 1], [4], 6, 8)]
[([0, 1, 2, 5], [3, 4, 5]), ([0, 1], [4])]
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np

from . import borders
from .imageio import as_image

__all__ = ["Stencil", "apply", "run", "regions", "run_regions", "split", "join", "TILE_ROWS",
           "TILE_COLS"]

# Output tile size. A padded float64 tile of 192 x 64 x 3 plus its temporaries stays within a
# typical L2 cache, which is what makes the tap loops fast; tall, narrow tiles keep the
# vertical pass's reads short.
TILE_ROWS = 192
TILE_COLS = 64


@dataclasses.dataclass(frozen=True)
class Stencil:
    """A neighbourhood operation on the colour channels of an image.

    Attributes
    ----------
    ry, rx : int
        Rows and columns read above and below, left and right of each output pixel.
    mode : str
        Border mode (:data:`filterlab.borders.MODES`).
    cval : float
        Value read outside the image when ``mode == "constant"``.
    compute : callable
        ``compute(block) -> tile``: `block` is a float64 (h + 2 ry) × (w + 2 rx) × c input
        tile, padded by the border rule; the result is the float64 h × w × c output tile.
    """

    ry: int
    rx: int
    mode: str
    cval: float
    compute: Callable[[np.ndarray], np.ndarray]


def _axis_source(start, stop, index):
    """A slice when `index[start:stop]` is a contiguous run of valid indices, else the
    indices (clamped to 0) and a mask of the positions that read the constant border."""
    part = index[start:stop]
    first = int(part[0])
    if first >= 0 and int(part[-1]) - first == len(part) - 1 and (
        len(part) < 2 or bool(np.all(np.diff(part) == 1))
    ):
        return slice(first, first + len(part)), None
    return np.maximum(part, 0), part < 0


def _runs(coords):
    """Split sorted unique integers into runs of consecutive values.

    Returns (first position, stop position, first value) arrays, one entry per run.
    """
    breaks = np.flatnonzero(np.diff(coords) != 1) + 1
    starts = np.concatenate([[0], breaks])
    stops = np.concatenate([breaks, [len(coords)]])
    return starts, stops, coords[starts]


def _axis_plan(coords, n, r, mode, source):
    """How each run of output coordinates reads along one axis.

    `coords` are the sorted image coordinates to produce (None: all of ``range(n)``) and
    `source` the sorted image coordinates the input holds (None: all of ``range(n)``). One
    ``(start, stop, index)`` per run: output positions ``start:stop``, and for the padded
    coordinates ``coords[start] - r`` to ``coords[stop - 1] + r`` the positions in the
    input to read, -1 where the constant border supplies the value.
    """
    if coords is None:
        coords = np.arange(n)
    plan = []
    for start, stop, first in zip(*_runs(np.asarray(coords, dtype=np.intp))):
        start, stop, first = int(start), int(stop), int(first)
        index = borders.index(np.arange(first - r, first + stop - start + r), n, mode)
        if source is not None:
            inside = index >= 0
            index[inside] = np.searchsorted(source, index[inside])
        plan.append((start, stop, index))
    return plan


def _run(values, stencil, row_plan, col_plan, out):
    """Evaluate `stencil` from `values` into `out` by the axis plans, in cache-sized tiles."""
    ry, rx, cval = stencil.ry, stencil.rx, stencil.cval
    for row_start, row_stop, row_index in row_plan:
        for y0 in range(row_start, row_stop, TILE_ROWS):
            y1 = min(row_stop, y0 + TILE_ROWS)
            rows, rows_out = _axis_source(y0 - row_start, y1 - row_start + 2 * ry, row_index)
            band = values[rows]
            if rows_out is not None and rows_out.any():
                band = band.astype(np.float64)
                band[rows_out] = cval
            for col_start, col_stop, col_index in col_plan:
                for x0 in range(col_start, col_stop, TILE_COLS):
                    x1 = min(col_stop, x0 + TILE_COLS)
                    cols, cols_out = _axis_source(
                        x0 - col_start, x1 - col_start + 2 * rx, col_index
                    )
                    block = np.array(band[:, cols], dtype=np.float64)
                    if cols_out is not None and cols_out.any():
                        block[:, cols_out] = cval
                    out[y0:y1, x0:x1] = stencil.compute(block)
    return out


def run(colour, stencil, out=None):
    """Run `stencil` over a float32 H×W×c image of colour channels; return float32 H×W×c."""
    h, w, _ = colour.shape
    if out is None:
        out = np.empty(colour.shape, dtype=np.float32)
    row_plan = _axis_plan(None, h, stencil.ry, stencil.mode, None)
    col_plan = _axis_plan(None, w, stencil.rx, stencil.mode, None)
    return _run(colour, stencil, row_plan, col_plan, out)


def _reads(coords, n, r, mode):
    """The sorted valid indices a stencil of radius `r` reads along an axis of length `n`
    to produce the sorted unique coordinates `coords` (the constant border reads none)."""
    if r == 0:
        return coords
    starts, stops, firsts = _runs(coords)
    lows = firsts - r
    highs = firsts + (stops - starts) + r  # exclusive
    # Merge windows that touch or overlap: lows and highs are both increasing.
    keep = np.concatenate([[True], lows[1:] > highs[:-1]])
    lows = lows[keep]
    highs = np.concatenate([highs[np.flatnonzero(keep)[1:] - 1], highs[-1:]])
    spans = np.concatenate([np.arange(low, high) for low, high in zip(lows, highs)])
    index = borders.index(spans, n, mode)
    return np.unique(index[index >= 0])


def regions(stencils, rows, cols, height, width):
    """The region each stencil of a chain must produce for the last to give ``rows × cols``.

    Parameters
    ----------
    stencils : sequence of Stencil
        The chain, applied first to last to a `height` × `width` image.
    rows, cols : array_like of int
        Image rows and columns wanted from the last stencil, at least one of each (any
        order; repeats are ignored).
    height, width : int
        The image's size: the border rules apply at its edges.

    Returns
    -------
    list of (ndarray, ndarray)
        ``len(stencils) + 1`` pairs of sorted unique row and column indices (intp):
        ``stencils[k]`` reads region ``k`` and produces region ``k + 1``. Region 0 is the
        source pixels the chain reads; the last is ``rows × cols``. Each region contains
        the next, since every window holds its own centre.
    """
    rows = np.unique(np.asarray(rows, dtype=np.intp))
    cols = np.unique(np.asarray(cols, dtype=np.intp))
    out = [(rows, cols)]
    for stencil in reversed(stencils):
        rows = _reads(rows, height, stencil.ry, stencil.mode)
        cols = _reads(cols, width, stencil.rx, stencil.mode)
        out.append((rows, cols))
    return out[::-1]


def run_regions(colour, stencils, areas, height, width):
    """Evaluate a chain of stencils region by region, exactly as :func:`run` would.

    Parameters
    ----------
    colour : ndarray of float32, shape (len(rows), len(cols), c)
        The source's colour channels on ``areas[0] == (rows, cols)``, which must hold at
        least the first region :func:`regions` gives (a larger source is fine).
    stencils : sequence of Stencil
        The chain.
    areas : list of (ndarray, ndarray)
        The regions, as :func:`regions` returns them (with entry 0 the source's).
    height, width : int
        The image's size.

    Yields
    ------
    ndarray of float32
        The output of each stencil in turn on its region ``areas[k + 1]``: equal, bit for
        bit, to :func:`run` over the whole image restricted to that region. Each array is
        the next stencil's input; the previous one is let go.
    """
    values = colour
    del colour  # once the first output exists, the source can go (if the caller let it go)
    for stencil, (source_rows, source_cols), (rows, cols) in zip(stencils, areas, areas[1:]):
        row_plan = _axis_plan(rows, height, stencil.ry, stencil.mode, source_rows)
        col_plan = _axis_plan(cols, width, stencil.rx, stencil.mode, source_cols)
        out = np.empty((len(rows), len(cols), values.shape[2]), dtype=np.float32)
        values = _run(values, stencil, row_plan, col_plan, out)
        yield values


def split(image):
    """Check an image and split it: (colour float32 H×W×c, alpha float32 H×W or None, was_2d).

    Both parts are new arrays. Alpha is the last channel when there are 2 or 4; it is carried
    through untouched.
    """
    array, was_2d = as_image(image)
    c = array.shape[2]
    colour = np.array(array[:, :, : c - 1] if c in (2, 4) else array, dtype=np.float32)
    alpha = np.array(array[:, :, c - 1], dtype=np.float32) if c in (2, 4) else None
    return colour, alpha, was_2d


def join(colour, alpha, was_2d):
    """The inverse of :func:`split`."""
    if alpha is not None:
        colour = np.concatenate([colour, alpha[:, :, None]], axis=2)
    return colour[:, :, 0] if was_2d else colour


def apply(image, stencil):
    """Apply `stencil` to an image (see :mod:`filterlab.imageio`); float32, same shape."""
    colour, alpha, was_2d = split(image)
    return join(run(colour, stencil), alpha, was_2d)
