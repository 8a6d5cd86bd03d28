"""The reference's tile engine: every filter is a stencil evaluated on padded float64 tiles.

A :class:`Stencil` says how far an operation reads around each output pixel (``ry`` rows and
``rx`` columns on each side), which border rule supplies pixels beyond the image, and how to
compute an output tile from a padded input tile. :func:`apply` runs a stencil over a whole
image in cache-sized tiles. Every output pixel is computed from its own window by the same
sequence of floating-point operations whatever the tile around it, so any tiling of the image
gives bit-identical results: the tiles here, and the verification tiles built on this module.

Arithmetic is float64 inside a tile; results are rounded to float32 once per operation.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np

from . import borders
from .imageio import as_image

__all__ = ["Stencil", "apply", "run", "split", "join", "TILE_ROWS", "TILE_COLS"]

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


def run(colour, stencil, out=None):
    """Run `stencil` over a float32 H×W×c image of colour channels; return float32 H×W×c."""
    h, w, _ = colour.shape
    ry, rx, mode, cval = stencil.ry, stencil.rx, stencil.mode, stencil.cval
    if out is None:
        out = np.empty(colour.shape, dtype=np.float32)
    row_index = borders.index(np.arange(-ry, h + ry), h, mode)
    col_index = borders.index(np.arange(-rx, w + rx), w, mode)
    for y0 in range(0, h, TILE_ROWS):
        y1 = min(h, y0 + TILE_ROWS)
        rows, rows_out = _axis_source(y0, y1 + 2 * ry, row_index)
        band = colour[rows]
        if rows_out is not None and rows_out.any():
            band = band.astype(np.float64)
            band[rows_out] = cval
        for x0 in range(0, w, TILE_COLS):
            x1 = min(w, x0 + TILE_COLS)
            cols, cols_out = _axis_source(x0, x1 + 2 * rx, col_index)
            block = np.array(band[:, cols], dtype=np.float64)
            if cols_out is not None and cols_out.any():
                block[:, cols_out] = cval
            out[y0:y1, x0:x1] = stencil.compute(block)
    return out


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
