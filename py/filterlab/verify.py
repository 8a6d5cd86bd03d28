"""Tiled verification: the reference chain for one tile at a time, and its comparison.

A pool of workers checks a GPU result tile by tile. :func:`tile_size` and :func:`tiles` cut
the image into square tiles, in the order they are verified: the tiles where bugs live
(corners, edges) and an interior sample first, then the rest. For each tile the worker that
holds the image sends the source pixels :func:`source_region` names and the GPU's output for
the tile; :func:`check_tile` computes the reference for the tile with :func:`reference_tile`,
compares, and returns :class:`filterlab.compare.Partial` statistics, which
:func:`filterlab.compare.combine` turns into the metrics of the whole image.

No worker holds the whole image: a tile's reference reads only the source pixels its chain
reaches, which is the tile grown by the sum of the chain's radii, plus strips from the far
side of the image where a ``wrap`` border or a radius larger than the image reaches across
(:func:`filterlab._tiles.regions`). The reference of a tile is bit for bit the reference of
the whole image (:func:`filterlab.chain.apply`) at the tile's pixels.

Examples
--------
>>> import numpy as np
>>> from filterlab import chain, imageio
>>> native = np.arange(6 * 7 * 3, dtype=np.uint8).reshape(6, 7, 3)
>>> steps = chain.validate([{"op": "box_blur", "params": {"size": 3, "mode": "wrap"}}])
>>> whole = chain.apply(imageio.to_float(native), steps)
>>> tiled = np.empty_like(whole)
>>> for tile in tiles(6, 7, size=4):
...     rows, cols = source_region(steps, tile, 6, 7)
...     block = native[np.ix_(rows, cols)]
...     [out] = reference_tile(steps, tile, 6, 7, block, rows, cols)
...     tiled[tile.y0:tile.y1, tile.x0:tile.x1] = out
>>> np.array_equal(tiled, whole)
True
"""

import dataclasses
import math

import numpy as np

from . import _tiles, chain, compare, imageio
from ._checks import show
from .catalog import OPS

__all__ = [
    "Tile",
    "TileReport",
    "tile_size",
    "tiles",
    "edge_depth",
    "source_region",
    "reference_tile",
    "check_tile",
    "compare_tile",
    "MIN_TILE",
    "MAX_TILE",
    "TILE_STEP",
    "TILES_PER_WORKER",
    "FIRST_SAMPLE",
]

#: Smallest and largest side :func:`tile_size` gives, and the multiple it gives.
MIN_TILE = 32
MAX_TILE = 256
TILE_STEP = 16
#: Tiles per worker :func:`tile_size` aims for, so that work stays balanced to the end.
TILES_PER_WORKER = 6
#: Fraction of the image's pixels the first verdict's interior sample covers at least.
FIRST_SAMPLE = 0.02


@dataclasses.dataclass(frozen=True)
class Tile:
    """A rectangle of the image, rows ``y0:y1`` and columns ``x0:x1``.

    Attributes
    ----------
    y0, y1, x0, x1 : int
        Bounds, half-open, in image coordinates.
    first : bool
        Whether the tile belongs to the first verdict (see :func:`tiles`).
    """

    y0: int
    y1: int
    x0: int
    x1: int
    first: bool = False

    @property
    def shape(self):
        """``(rows, columns)``."""
        return (self.y1 - self.y0, self.x1 - self.x0)

    def as_dict(self):
        """The fields as a JSON-ready dict (``Tile(**d)`` rebuilds it)."""
        return dataclasses.asdict(self)


@dataclasses.dataclass
class TileReport:
    """What :func:`check_tile` finds for one tile.

    Attributes
    ----------
    partials : list of filterlab.compare.Partial
        One per compared output, in the order of the GPU outputs given: each enabled step's,
        or the final output's only.
    error : ndarray of float32, shape (h, w)
        The largest absolute difference over channels at each pixel of the viewed output,
        the final one unless another is asked for (for :func:`filterlab.compare.error_colours`).
    reference : ndarray of float32, shape (h, w, C)
        The reference's viewed output on the tile.
    """

    partials: list
    error: np.ndarray
    reference: np.ndarray


def _count(name, value, minimum=1):
    """`value` as an int of at least `minimum`, or ValueError."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer, got {show(value)}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {int(value)}")
    return int(value)


def tile_size(height, width, workers):
    """A side length for square verification tiles.

    The largest multiple of :data:`TILE_STEP` in [:data:`MIN_TILE`, :data:`MAX_TILE`] that
    cuts the image into at least :data:`TILES_PER_WORKER` tiles per worker, or
    :data:`MIN_TILE` when none does: small images give fewer tiles, large ones more.

    Parameters
    ----------
    height, width : int
        The image's size.
    workers : int
        Number of workers verifying in parallel.

    Returns
    -------
    int

    Examples
    --------
    >>> tile_size(1080, 1920, 4), tile_size(100, 100, 8), tile_size(8000, 8000, 4)
    (256, 32, 256)
    >>> tile_size(600, 800, 8)  # 6 × 8 tiles for 8 workers
    112
    """
    height = _count("height", height)
    width = _count("width", width)
    workers = _count("workers", workers)
    wanted = TILES_PER_WORKER * workers
    for size in range(MAX_TILE, MIN_TILE, -TILE_STEP):  # the tile count grows as size shrinks
        if -(-height // size) * -(-width // size) >= wanted:
            return size
    return MIN_TILE


def _spread(count, wanted):
    """`wanted` of ``range(count)``, evenly spread (each the middle of an equal share)."""
    return [(2 * m + 1) * count // (2 * wanted) for m in range(wanted)]


def _bands(length, size, edge):
    """Cut [0, length) into bands: `edge` wide at both ends when it fits, `size` between."""
    if edge is None or edge >= size or length <= 2 * edge + size:
        return [(start, min(length, start + size)) for start in range(0, length, size)]
    inner = [(start, min(length - edge, start + size)) for start in range(edge, length - edge, size)]
    return [(0, edge), *inner, (length - edge, length)]


def tiles(height, width, *, size, edge=None):
    """Cut an image into tiles, in verification order.

    Parameters
    ----------
    height, width : int
        The image's size.
    size : int
        The tiles' side (:func:`tile_size`); tiles at the right and bottom edges are cut
        at the image's border.
    edge : int, optional
        Make the tiles along the image's edges this deep (:func:`edge_depth`), so that the
        first verdict covers the pixels whose windows meet the border rules without
        covering much else. By default every tile is `size` deep.

    Returns
    -------
    list of Tile
        Every pixel in exactly one tile. First, with ``first=True``, the tiles where bugs
        live: the four corner tiles (top left, top right, bottom left, bottom right), then
        every other tile touching an image edge in raster order, then a sample of interior
        tiles on an evenly spaced grid (in raster order) covering at least
        :data:`FIRST_SAMPLE` of the image's pixels, when there are interior tiles. Then
        every remaining tile, ``first=False``, in raster order.

    Examples
    --------
    >>> [(t.y0, t.x0, t.first) for t in tiles(5, 8, size=4)]
    [(0, 0, True), (0, 4, True), (4, 0, True), (4, 4, True)]
    >>> import numpy as np
    >>> order = tiles(40, 40, size=8)  # a 5 × 5 grid: where each tile comes in the order
    >>> rank = np.zeros((5, 5), int)
    >>> for n, tile in enumerate(order):
    ...     rank[tile.y0 // 8, tile.x0 // 8] = n
    >>> print(rank)
    [[ 0  4  5  6  1]
     [ 7 17 18 19  8]
     [ 9 20 16 21 10]
     [11 22 23 24 12]
     [ 2 13 14 15  3]]
    >>> sum(tile.first for tile in order)  # corners, edges and one interior tile
    17
    >>> framed = tiles(100, 100, size=32, edge=8)  # a frame of 8-pixel tiles, 32² inside
    >>> sorted({t.y1 - t.y0 for t in framed if t.y0 == 0}), framed[0]
    ([8], Tile(y0=0, y1=8, x0=0, x1=8, first=True))
    """
    height = _count("height", height)
    width = _count("width", width)
    size = _count("size", size)
    if edge is not None:
        edge = _count("edge", edge)
    rows, cols = _bands(height, size, edge), _bands(width, size, edge)
    ny, nx = len(rows), len(cols)
    corners = [(0, 0), (0, nx - 1), (ny - 1, 0), (ny - 1, nx - 1)]
    first = list(dict.fromkeys(corners))
    cells = [(i, j) for i in range(ny) for j in range(nx)]
    first += [(i, j) for i, j in cells
              if (i in (0, ny - 1) or j in (0, nx - 1)) and (i, j) not in corners]
    inner_y, inner_x = ny - 2, nx - 2
    if inner_y > 0 and inner_x > 0:
        wanted = min(inner_y * inner_x, math.ceil(FIRST_SAMPLE * height * width / size**2))
        # An evenly spaced grid of ky × kx >= wanted interior tiles, close to the image's shape.
        ky = min(inner_y, math.ceil(math.sqrt(wanted * inner_y / inner_x)))
        kx = min(inner_x, -(-wanted // ky))
        ky = min(inner_y, -(-wanted // kx))
        first += [(1 + i, 1 + j) for i in _spread(inner_y, ky) for j in _spread(inner_x, kx)]
    chosen = set(first)
    order = [(cell, True) for cell in first]
    order += [(cell, False) for cell in cells if cell not in chosen]
    return [Tile(*rows[i], *cols[j], flag) for (i, j), flag in order]


def edge_depth(steps, *, step=TILE_STEP):
    """How deep the pixels reach whose reference reads the border rules: the chain's total
    radius along either axis, rounded up to `step` (at least `step`).

    Examples
    --------
    >>> edge_depth([{"op": "gaussian_blur", "params": {"sigma": 3.0}}, {"op": "laplace"}])
    16
    """
    stencils = _stencils(steps)
    reach = max(sum(s.ry for s in stencils), sum(s.rx for s in stencils), 1)
    return -(-reach // step) * step


_last_stencils = (None, None)  # (steps, their stencils): a verification asks for one chain per tile


def _stencils(steps):
    """The stencils of a chain's enabled steps (the last chain's are kept: callers pass the
    same steps object for every tile of an image)."""
    global _last_stencils
    if _last_stencils[0] is steps:
        return _last_stencils[1]
    stencils = [OPS[step.op].stencil(step.params) for step in chain.validate(steps) if step.enabled]
    _last_stencils = (steps, stencils)
    return stencils


def _regions(stencils, tile, height, width):
    """Check the tile against the image; the regions of the chain that produce it."""
    height = _count("height", height)
    width = _count("width", width)
    if not isinstance(tile, Tile):
        raise TypeError(f"tile must be a Tile, got {type(tile).__name__}")
    for name in ("y0", "y1", "x0", "x1"):
        _count(f"tile.{name}", getattr(tile, name), 0)
    if not (tile.y0 < tile.y1 <= height and tile.x0 < tile.x1 <= width):
        raise ValueError(f"tile {tile} is empty or not inside a {height}×{width} image")
    rows = np.arange(tile.y0, tile.y1)
    cols = np.arange(tile.x0, tile.x1)
    return _tiles.regions(stencils, rows, cols, height, width)


def source_region(steps, tile, height, width):
    """The source rows and columns a tile's reference reads.

    Parameters
    ----------
    steps : list of filterlab.chain.Step
        The chain (anything :func:`filterlab.chain.validate` accepts); disabled steps are
        skipped.
    tile : Tile
        A tile of the image.
    height, width : int
        The image's size.

    Returns
    -------
    rows, cols : ndarray of intp
        Sorted unique indices: the tile needs ``native[np.ix_(rows, cols)]``. The border
        rules apply at the image's edges, so with ``wrap``, or a radius larger than the
        image, the sets reach across to the far side and need not be contiguous.

    Examples
    --------
    >>> steps = [{"op": "laplace", "params": {"mode": "wrap"}}]
    >>> rows, cols = source_region(steps, Tile(0, 2, 4, 6), 10, 10)
    >>> rows.tolist(), cols.tolist()
    ([0, 1, 2, 9], [3, 4, 5, 6])
    """
    return _regions(_stencils(steps), tile, height, width)[0]


def _source_axis(name, given, needed, n):
    given = np.asarray(given)
    if given.ndim != 1 or not (given.size == 0 or np.issubdtype(given.dtype, np.integer)):
        raise ValueError(f"{name} must be a 1-D array of integer indices")
    given = given.astype(np.intp, copy=False)
    if given.size and (given[0] < 0 or given[-1] >= n or np.any(np.diff(given) <= 0)):
        raise ValueError(f"{name} must be increasing indices in [0, {n})")
    at = np.searchsorted(given, needed)
    if np.any(at >= given.size) or np.any(given[np.minimum(at, given.size - 1)] != needed):
        raise ValueError(f"{name} do not hold every source index the tile needs "
                         "(see source_region)")
    return given


def _outputs(stencils, tile, height, width, block, rows, cols, stages):
    """The reference tile(s) for checked arguments."""
    areas = _regions(stencils, tile, height, width)
    rows = _source_axis("rows", rows, areas[0][0], height)
    cols = _source_axis("cols", cols, areas[0][1], width)
    block = np.asarray(block)
    if block.shape[:2] != (rows.size, cols.size):
        raise ValueError(f"block must have {rows.size} rows and {cols.size} columns "
                         f"(one per index), got shape {block.shape}")
    colour, alpha, was_2d = _tiles.split(imageio.to_float(block))
    areas[0] = (rows, cols)
    h, w = tile.shape

    def at_tile(values, area):
        y = int(np.searchsorted(area[0], tile.y0))
        x = int(np.searchsorted(area[1], tile.x0))
        return values[y : y + h, x : x + w]

    alpha = None if alpha is None else np.array(at_tile(alpha, areas[0]))
    if not stencils:
        return [_tiles.join(np.array(at_tile(colour, areas[0])), alpha, was_2d)]
    chained = _tiles.run_regions(colour, stencils, areas, height, width)
    del colour  # let the source go once the first step's output exists
    outputs = []
    for k, values in enumerate(chained):
        if stages or k == len(stencils) - 1:
            outputs.append(_tiles.join(np.array(at_tile(values, areas[k + 1])), alpha, was_2d))
    return outputs


def reference_tile(steps, tile, height, width, block, rows, cols, *, stages=False):
    """The reference chain's output on one tile, from the source pixels it reads.

    Parameters
    ----------
    steps, tile, height, width
        As in :func:`source_region`.
    block : ndarray of uint8, uint16 or float32, shape (len(rows), len(cols), C)
        The source at native depth, ``native[np.ix_(rows, cols)]`` (see
        :mod:`filterlab.imageio`).
    rows, cols : array_like of int
        The block's image rows and columns, increasing: at least those of
        :func:`source_region` (more are allowed and ignored).
    stages : bool, optional
        Return every enabled step's output, not only the last.

    Returns
    -------
    list of ndarray of float32, shape (h, w, C)
        The output of every enabled step in order when `stages`, else ``[final output]``;
        ``[the source tile as float32]`` when no step is enabled. Alpha (the last channel
        when C is 2 or 4) is the source's. Bit for bit equal to
        ``chain.apply(imageio.to_float(native), steps)`` at the tile (for stages, to
        ``chain.apply`` of each prefix of the enabled steps).

    Raises
    ------
    ValueError
        When the tile is not inside the image, or `rows`, `cols` or `block` do not hold the
        source pixels the tile needs.

    Examples
    --------
    >>> import numpy as np
    >>> native = np.zeros((5, 5, 1), np.uint8); native[2, 2] = 255
    >>> steps = [{"op": "laplace", "params": {"mode": "constant"}}]
    >>> tile = Tile(1, 3, 1, 3)
    >>> rows, cols = source_region(steps, tile, 5, 5)
    >>> block = native[np.ix_(rows, cols)]
    >>> reference_tile(steps, tile, 5, 5, block, rows, cols)[0][:, :, 0].tolist()
    [[0.0, 1.0], [1.0, -4.0]]
    """
    return _outputs(_stencils(steps), tile, height, width, block, rows, cols, bool(stages))


def check_tile(steps, tile, height, width, block, rows, cols, gpu, *,
               tol=compare.DEFAULT_TOLERANCE, stages=False, view=-1):
    """Compare the GPU's output on one tile with the reference.

    Parameters
    ----------
    steps, tile, height, width, block, rows, cols, stages
        As in :func:`reference_tile`.
    gpu : list of array_like, each of shape (h, w, C)
        The GPU's outputs on the tile: every enabled step's when `stages`, else the final
        one only; as many as :func:`reference_tile` returns.
    tol : float, optional
        Tolerance of the comparison (:func:`filterlab.compare.partial`).
    view : int, optional
        Which output the report's error map and reference are of (an index into `gpu`; the
        final one by default).

    Returns
    -------
    TileReport
        The partials (to :func:`filterlab.compare.combine` with those of the other tiles),
        the viewed output's error map and its reference.

    Examples
    --------
    >>> import numpy as np
    >>> native = np.full((4, 4, 3), 128, np.uint8)
    >>> steps = [{"op": "box_blur"}]
    >>> tile = Tile(0, 2, 0, 4)
    >>> rows, cols = source_region(steps, tile, 4, 4)
    >>> gpu = np.full((2, 4, 3), 128 / 255, np.float32); gpu[1, 2, 0] += 0.5
    >>> report = check_tile(steps, tile, 4, 4, native[np.ix_(rows, cols)], rows, cols, [gpu])
    >>> p = report.partials[0]
    >>> p.worst_x, p.worst_y, p.over_tolerance, report.error.shape
    (2, 1, 1, (2, 4))
    """
    references = _outputs(_stencils(steps), tile, height, width, block, rows, cols,
                          bool(stages))
    return compare_tile(tile, references, gpu, tol=tol, view=view)


def compare_tile(tile, references, gpu, *, tol=compare.DEFAULT_TOLERANCE, view=-1):
    """Compare the GPU's outputs on one tile with the reference's (:func:`reference_tile`).

    Parameters
    ----------
    tile : Tile
        The tile.
    references, gpu : list of array_like, each of shape (h, w, C)
        The reference's outputs on the tile and the GPU's, as many of each.
    tol, view
        As in :func:`check_tile`.

    Returns
    -------
    TileReport
        As :func:`check_tile` returns.
    """
    if isinstance(gpu, np.ndarray) or not isinstance(gpu, (list, tuple)):
        raise TypeError("gpu must be a list of arrays, one per compared output")
    if len(gpu) != len(references):
        raise ValueError(f"expected {len(references)} GPU output(s), got {len(gpu)}")
    gpu = [np.asarray(g) for g in gpu]
    for number, (g, r) in enumerate(zip(gpu, references), start=1):
        if g.shape != r.shape:
            raise ValueError(f"GPU output {number} has shape {g.shape}, expected {r.shape}")
    if isinstance(view, bool) or not -len(gpu) <= int(view) < len(gpu):
        raise ValueError(f"view must index one of the {len(gpu)} output(s), got {view!r}")
    origin = (tile.y0, tile.x0)
    view = int(view) % len(gpu)
    error = np.empty(tile.shape, np.float32)  # the viewed output's, filled as its partial is
    partials = [compare.partial(g, r, tol=tol, origin=origin, error=error if k == view else None)
                for k, (g, r) in enumerate(zip(gpu, references))]
    return TileReport(partials=partials, error=error, reference=references[view])
