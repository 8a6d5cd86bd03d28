"""Tiled verification: tiles, source regions, and tile references equal to the whole image's.

The oracle for a tile's reference is the whole-image reference chain (chain.apply), which the
oracle tests check against scipy.ndimage and OpenCV: every tile, reassembled, must equal it
bit for bit.
"""

import math

import numpy as np
import pytest
from filterlab import catalog, chain, compare, imageio, verify
from filterlab.borders import MODES
from filterlab.verify import Tile
from oracles import EXAMPLE_IDS, EXAMPLES

#: Every border mode, the constant one with a non-zero value.
BORDERS = [(mode, 0.3 if mode == "constant" else 0.0) for mode in MODES]
DTYPES = (np.uint8, np.uint16, np.float32)


def native_image(shape, channels, dtype, seed=0):
    """A reproducible native-depth H×W×C image over the dtype's whole range."""
    rng = np.random.default_rng([seed, *shape, channels])
    if np.dtype(dtype) == np.float32:
        return rng.random((*shape, channels), dtype=np.float32)
    return rng.integers(0, np.iinfo(dtype).max, (*shape, channels), dtype=dtype, endpoint=True)


def step(name, example, mode, cval, enabled=True):
    return {"op": name, "params": {**example, "mode": mode, "cval": cval}, "enabled": enabled}


def whole(native, steps, *, stages=False):
    """The whole-image reference: the final output, or each prefix of the enabled steps."""
    image = imageio.to_float(native)
    enabled = [s for s in chain.validate(steps) if s.enabled]
    if not stages or not enabled:
        return [chain.apply(image, steps)]
    return [chain.apply(image, enabled[:k]) for k in range(1, len(enabled) + 1)]


def tiled(native, steps, size, *, stages=False, edge=None):
    """Every tile's reference from only the source pixels it names, reassembled."""
    h, w, c = native.shape
    out = None
    for tile in verify.tiles(h, w, size=size, edge=edge):
        rows, cols = verify.source_region(steps, tile, h, w)
        block = native[np.ix_(rows, cols)]
        parts = verify.reference_tile(steps, tile, h, w, block, rows, cols, stages=stages)
        if out is None:
            out = [np.full((h, w, c), np.nan, np.float32) for _ in parts]
        assert len(parts) == len(out)
        for image, part in zip(out, parts):
            assert part.dtype == np.float32 and part.shape == tile.shape + (c,)
            image[tile.y0 : tile.y1, tile.x0 : tile.x1] = part
    return out


def assert_tiled_equals_whole(native, steps, size, *, stages=False):
    expected = whole(native, steps, stages=stages)
    actual = tiled(native, steps, size, stages=stages)
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected):
        np.testing.assert_array_equal(a, e)


# -- bit for bit: every catalog example, every border ---------------------------------------------

def _example_cases():
    """Each example in each border mode, cycling through the native dtypes and channel counts
    (every combination of the two comes up for every operation with 3 or more examples)."""
    cases = []
    for n, ((name, example), example_id) in enumerate(zip(EXAMPLES, EXAMPLE_IDS)):
        for m, (mode, cval) in enumerate(BORDERS):
            k = n * len(BORDERS) + m
            dtype, channels = DTYPES[k % 3], 1 + k % 4
            case_id = f"{example_id}-{mode}-{np.dtype(dtype).name}-c{channels}"
            cases.append(pytest.param(name, example, mode, cval, dtype, channels, id=case_id))
    return cases


@pytest.mark.parametrize("name, example, mode, cval, dtype, channels", _example_cases())
def test_every_example_tiled_equals_whole(name, example, mode, cval, dtype, channels):
    # 13 × 17 in 4 px tiles: edge tiles of 1 px, interior tiles away from every edge.
    native = native_image((13, 17), channels, dtype)
    assert_tiled_equals_whole(native, [step(name, example, mode, cval)], 4)


THIN = [(1, 1), (1, 11), (11, 1)]


@pytest.mark.parametrize("j", range(len(THIN)), ids=["1x1", "1xN", "Nx1"])
@pytest.mark.parametrize("i", range(len(EXAMPLES)), ids=EXAMPLE_IDS)
def test_thin_images(i, j):
    # Each example on each thin shape, cycling through the border modes and dtypes.
    name, example = EXAMPLES[i]
    k = len(THIN) * i + j
    mode, cval = BORDERS[k % len(BORDERS)]
    native = native_image(THIN[j], 3, DTYPES[k % 3])
    assert_tiled_equals_whole(native, [step(name, example, mode, cval)], 3)


@pytest.mark.parametrize("size", [1, 2, 3])
@pytest.mark.parametrize("mode, cval", BORDERS, ids=MODES)
def test_tiles_smaller_than_the_radius(mode, cval, size):
    steps = [step("gaussian_blur", {"sigma": 6.0}, mode, cval)]
    [validated] = chain.validate(steps)
    assert catalog.OPS["gaussian_blur"].stencil(validated.params).ry == 24
    native = native_image((7, 9), 4, np.uint8)
    assert_tiled_equals_whole(native, steps, size)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_native_dtypes_and_channels(dtype, channels):
    steps = [step("unsharp_mask", {"sigma": 1.2, "amount": 1.5}, "wrap", 0.0),
             step("edges", {"operator": "sobel"}, "constant", 0.3)]
    native = native_image((10, 9), channels, dtype)
    assert_tiled_equals_whole(native, steps, 4, stages=True)


_KERNEL_11X11, _KERNEL_RANK_1 = (catalog.OPS["convolve"].examples[i]["kernel"] for i in (1, 2))

CHAINS = {
    # Wrap, then constant, then reflections, small and large radii.
    "mixed": [step("gaussian_blur", {"sigma": 3.0}, "wrap", 0.0),
              step("laplace", {"neighbours": 8}, "constant", 0.3),
              step("box_blur", {"size": 5}, "reflect", 0.0),
              step("unsharp_mask", {"sigma": 1.2, "amount": 1.5}, "mirror", 0.0)],
    # Radii larger than the image in periodic and clamped modes, a non-separable 11 × 11
    # kernel, and a disabled step.
    "wide": [step("box_blur", {"size": 63}, "wrap", 0.0),
             step("log", {"sigma": 1.0}, "constant", 0.7, enabled=False),
             step("convolve", {"kernel": _KERNEL_11X11}, "nearest", 0.0),
             step("gaussian_blur", {"sigma": 6.0}, "constant", 0.3)],
    # A rank-1 kernel whose weights do not sum to 1, a signed derivative across the wrap,
    # then a Laplacian of Gaussian.
    "edges": [step("convolve", {"kernel": _KERNEL_RANK_1}, "constant", 0.0),
              step("edges", {"operator": "scharr", "output": "x"}, "wrap", 0.0),
              step("log", {"sigma": 2.5}, "reflect", 0.0)],
}


@pytest.mark.parametrize("size", [1, 5, 8])
@pytest.mark.parametrize("name", list(CHAINS))
def test_chains_and_their_stages(name, size):
    shape = (6, 7) if size == 1 else (23, 29)
    native = native_image(shape, 4, np.uint16, seed=size)
    assert_tiled_equals_whole(native, CHAINS[name], size, stages=True)


@pytest.mark.parametrize("stages", [False, True])
def test_no_enabled_step_gives_the_source(stages):
    native = native_image((5, 6), 2, np.uint8)
    steps = [step("box_blur", {"size": 3}, "wrap", 0.0, enabled=False)]
    tile = Tile(1, 3, 2, 6)
    rows, cols = verify.source_region(steps, tile, 5, 6)
    assert rows.tolist() == [1, 2] and cols.tolist() == [2, 3, 4, 5]
    out = verify.reference_tile(steps, tile, 5, 6, native[np.ix_(rows, cols)], rows, cols,
                                stages=stages)
    assert len(out) == 1
    np.testing.assert_array_equal(out[0], imageio.to_float(native)[1:3, 2:6])
    assert_tiled_equals_whole(native, steps, 4, stages=stages)
    assert_tiled_equals_whole(native, [], 4, stages=stages)


def test_a_larger_source_block_gives_the_same_tile():
    native = native_image((12, 12), 3, np.float32)
    steps = CHAINS["mixed"]
    tile = Tile(4, 8, 0, 4)
    rows, cols = verify.source_region(steps, tile, 12, 12)
    needed = verify.reference_tile(steps, tile, 12, 12, native[np.ix_(rows, cols)], rows, cols)
    everything = verify.reference_tile(steps, tile, 12, 12, native, np.arange(12), np.arange(12))
    np.testing.assert_array_equal(needed[0], everything[0])


# -- source regions -------------------------------------------------------------------------------


def _region(steps, tile, h, w):
    rows, cols = verify.source_region(steps, tile, h, w)
    assert rows.dtype == np.intp and cols.dtype == np.intp
    return rows.tolist(), cols.tolist()


def test_a_3x3_stencil_on_an_interior_tile_reads_one_pixel_around():
    steps = [{"op": "laplace"}]
    assert _region(steps, Tile(4, 8, 5, 9), 20, 20) == (list(range(3, 9)), list(range(4, 10)))


def test_radii_add_up_along_a_chain():
    steps = [{"op": "box_blur", "params": {"size": 5}}, {"op": "laplace"},
             {"op": "gaussian_blur", "enabled": False}]
    assert _region(steps, Tile(10, 12, 20, 21), 40, 40) == (list(range(7, 15)), list(range(17, 24)))


def test_wrap_at_the_left_edge_reads_the_right_edge():
    steps = [{"op": "laplace", "params": {"mode": "wrap"}}]
    assert _region(steps, Tile(0, 4, 0, 4), 10, 12) == ([0, 1, 2, 3, 4, 9], [0, 1, 2, 3, 4, 11])


def test_border_modes_at_a_corner():
    tile = Tile(0, 2, 0, 2)
    box = {"op": "box_blur", "params": {"size": 5}}
    expected = {
        "constant": [0, 1, 2, 3],  # outside reads cval, no pixel
        "nearest": [0, 1, 2, 3],
        "reflect": [0, 1, 2, 3],  # -1 -> 0, -2 -> 1
        "mirror": [0, 1, 2, 3],  # -1 -> 1, -2 -> 2
        "wrap": [0, 1, 2, 3, 8, 9],
    }
    for mode, rows in expected.items():
        steps = [{**box, "params": {**box["params"], "mode": mode}}]
        assert _region(steps, tile, 10, 10) == (rows, rows), mode


def test_radius_beyond_the_image_reads_all_of_it():
    steps = [{"op": "box_blur", "params": {"size": 63, "mode": "reflect"}}]
    assert _region(steps, Tile(2, 3, 0, 1), 5, 40) == (list(range(5)), list(range(32)))
    steps = [{"op": "box_blur", "params": {"size": 63, "mode": "constant"}}]
    assert _region(steps, Tile(2, 3, 0, 1), 5, 40) == (list(range(5)), list(range(32)))


def test_a_wide_wrap_reads_strips_from_both_sides():
    steps = [{"op": "gaussian_blur", "params": {"sigma": 1.0, "mode": "wrap"}}]  # radius 4
    rows, cols = _region(steps, Tile(0, 2, 30, 40), 100, 100)
    assert rows == [0, 1, 2, 3, 4, 5] + list(range(96, 100))
    assert cols == list(range(26, 44))


def test_bad_arguments_are_refused():
    native = native_image((8, 8), 3, np.uint8)
    steps = [{"op": "laplace"}]
    tile = Tile(2, 4, 2, 4)
    rows, cols = verify.source_region(steps, tile, 8, 8)
    block = native[np.ix_(rows, cols)]
    with pytest.raises(ValueError, match="rows do not hold every source index"):
        verify.reference_tile(steps, tile, 8, 8, block[1:], rows[1:], cols)
    with pytest.raises(ValueError, match="increasing"):
        verify.reference_tile(steps, tile, 8, 8, block, rows[::-1], cols)
    with pytest.raises(ValueError, match="block must have 4 rows and 4 columns"):
        verify.reference_tile(steps, tile, 8, 8, block[:, :3], rows, cols)
    with pytest.raises(ValueError, match="not inside a 8×8 image"):
        verify.source_region(steps, Tile(6, 9, 0, 2), 8, 8)
    with pytest.raises(ValueError, match="uint8, uint16 or float32"):
        verify.reference_tile(steps, tile, 8, 8, block.astype(np.int32), rows, cols)
    with pytest.raises(chain.ChainError):
        verify.source_region([{"op": "nope"}], tile, 8, 8)
    gpu = np.zeros((2, 2, 3), np.float32)
    with pytest.raises(TypeError, match="list of arrays"):
        verify.check_tile(steps, tile, 8, 8, block, rows, cols, gpu)
    with pytest.raises(ValueError, match="expected 1 GPU output"):
        verify.check_tile(steps, tile, 8, 8, block, rows, cols, [gpu, gpu])
    with pytest.raises(ValueError, match=r"GPU output 1 has shape \(2, 2, 2\)"):
        verify.check_tile(steps, tile, 8, 8, block, rows, cols, [gpu[:, :, :2]])


# -- tiles and their order ------------------------------------------------------------------------

SHAPES = [(1, 1), (1, 100), (100, 1), (31, 33), (64, 64), (65, 47), (200, 333), (1000, 700)]
# Every shape with every size, but for the largest shape in 1 px tiles (700 000 tiles).
TILINGS = [pytest.param(shape, size, id=f"{shape[0]}x{shape[1]}-{size}")
           for shape in SHAPES for size in (1, 7, 16, 32, 256)
           if shape[0] * shape[1] / size**2 < 1e5]


@pytest.mark.parametrize("shape, size", TILINGS)
def test_tiles_cover_every_pixel_once(shape, size):
    h, w = shape
    order = verify.tiles(h, w, size=size)
    count = np.zeros(shape, np.int64)
    for tile in order:
        assert 0 <= tile.y0 < tile.y1 <= h and 0 <= tile.x0 < tile.x1 <= w
        assert tile.y0 % size == 0 and tile.x0 % size == 0
        assert tile.y1 - tile.y0 == min(size, h - tile.y0)
        assert tile.x1 - tile.x0 == min(size, w - tile.x0)
        count[tile.y0 : tile.y1, tile.x0 : tile.x1] += 1
    assert (count == 1).all()
    assert len(order) == math.ceil(h / size) * math.ceil(w / size)


FRAMES = [(shape, size, edge) for shape in [(31, 33), (200, 333), (1000, 700), (5, 400)]
          for size, edge in [(32, 8), (64, 16), (256, 16), (16, 16)]]


@pytest.mark.parametrize("shape, size, edge", FRAMES, ids=lambda v: str(v))
def test_edge_frames_cover_every_pixel_once_and_come_first(shape, size, edge):
    h, w = shape
    order = verify.tiles(h, w, size=size, edge=edge)
    count = np.zeros(shape, np.int64)
    for tile in order:
        count[tile.y0 : tile.y1, tile.x0 : tile.x1] += 1
        assert tile.y1 - tile.y0 <= size and tile.x1 - tile.x0 <= size
        touches = tile.y0 == 0 or tile.x0 == 0 or tile.y1 == h or tile.x1 == w
        assert tile.first or not touches  # every tile on an edge is in the first verdict
        if edge < size and h > 2 * edge + size and (tile.y0 == 0 or tile.y1 == h):
            assert tile.y1 - tile.y0 == edge  # a thin frame along the top and bottom
        if edge < size and w > 2 * edge + size and (tile.x0 == 0 or tile.x1 == w):
            assert tile.x1 - tile.x0 == edge  # and along the sides
    assert (count == 1).all()
    flags = [t.first for t in order]
    assert flags == sorted(flags, reverse=True)
    assert (order[0].y0, order[0].x0) == (0, 0)


def test_a_framed_tiling_gives_the_whole_image_reference():
    native = native_image((40, 45), 3, np.uint8, seed=5)
    steps = [step("gaussian_blur", {"sigma": 1.2}, "wrap", 0.0),
             step("edges", {"operator": "sobel"}, "constant", 0.3)]
    for expected, got in zip(whole(native, steps, stages=True),
                             tiled(native, steps, 16, stages=True, edge=verify.edge_depth(steps))):
        np.testing.assert_array_equal(got, expected)


def test_edge_depth_is_the_chains_reach():
    assert verify.edge_depth([{"op": "laplace"}]) == 16
    steps = [{"op": "gaussian_blur", "params": {"sigma": 6.0}}, {"op": "box_blur", "params": {"size": 9}}]
    assert verify.edge_depth(steps) == 32  # 24 + 4, rounded up to 16
    assert verify.edge_depth([]) == 16


@pytest.mark.parametrize("shape, size", TILINGS)
def test_tile_order(shape, size):
    h, w = shape
    ny, nx = math.ceil(h / size), math.ceil(w / size)
    order = verify.tiles(h, w, size=size)
    cells = [(t.y0 // size, t.x0 // size) for t in order]
    flags = [t.first for t in order]
    n_first = sum(flags)
    assert flags == [True] * n_first + [False] * (len(order) - n_first)
    # The corner tiles first, in the documented order, then the other edge tiles.
    corners = list(dict.fromkeys([(0, 0), (0, nx - 1), (ny - 1, 0), (ny - 1, nx - 1)]))
    assert cells[: len(corners)] == corners
    on_edge = [(i in (0, ny - 1) or j in (0, nx - 1)) for i, j in cells]
    n_edge = sum(on_edge)
    assert n_edge == ny * nx - max(0, ny - 2) * max(0, nx - 2)
    assert all(on_edge[:n_edge]) and not any(on_edge[n_edge:])
    assert n_edge <= n_first
    # The interior sample covers at least 2 % of the pixels, and is spread over the image.
    sample = cells[n_edge:n_first]
    interior = (ny - 2) * (nx - 2) if ny > 2 and nx > 2 else 0
    if interior:
        assert len(sample) * size * size >= verify.FIRST_SAMPLE * h * w or len(sample) == interior
        assert len(sample) <= max(4, 2 * math.ceil(verify.FIRST_SAMPLE * h * w / size**2))
    else:
        assert not sample
    if interior >= 16 and len(sample) >= 4:
        ys = [i for i, _ in sample]
        xs = [j for _, j in sample]
        middle_y, middle_x = (ny - 1) / 2, (nx - 1) / 2
        quadrants = {(i < middle_y, j < middle_x) for i, j in sample}
        assert len(quadrants) == 4, sample
        assert max(ys) - min(ys) >= (ny - 2) / 2 and max(xs) - min(xs) >= (nx - 2) / 2
    # Each group other than the corners is in raster order, and the rest is all the others.
    assert cells[len(corners) : n_edge] == sorted(cells[len(corners) : n_edge])
    assert sample == sorted(sample)
    assert cells[n_first:] == sorted(cells[n_first:])
    assert sorted(cells) == [(i, j) for i in range(ny) for j in range(nx)]


def test_tile_size():
    for h, w in [(480, 640), (1080, 1920), (3000, 4000), (4096, 4096), (8000, 8000), (100, 7000)]:
        for workers in (1, 2, 3, 4, 8, 16):
            size = verify.tile_size(h, w, workers)
            assert size % verify.TILE_STEP == 0
            assert verify.MIN_TILE <= size <= verify.MAX_TILE
            wanted = verify.TILES_PER_WORKER * workers
            if size > verify.MIN_TILE:
                assert len(verify.tiles(h, w, size=size)) >= wanted
            if size < verify.MAX_TILE:  # the next size up gives too few
                assert len(verify.tiles(h, w, size=size + verify.TILE_STEP)) < wanted
    assert verify.tile_size(1, 1, 1) == verify.MIN_TILE
    assert verify.tile_size(100_000, 100_000, 1) == verify.MAX_TILE
    for bad in (0, -1, 1.5, True, "3"):
        with pytest.raises(ValueError, match="workers"):
            verify.tile_size(10, 10, bad)
    with pytest.raises(ValueError, match="size"):
        verify.tiles(10, 10, size=0)


def test_tiles_travel_as_dicts():
    tile = verify.tiles(3, 3, size=2)[0]
    assert Tile(**tile.as_dict()) == tile
    assert tile.as_dict() == {"y0": 0, "y1": 2, "x0": 0, "x1": 2, "first": True}


# -- partial metrics ------------------------------------------------------------------------------


def _check_all(native, steps, gpu, size, *, tol, stages, view=-1):
    h, w, _ = native.shape
    reports = []
    for tile in verify.tiles(h, w, size=size):
        rows, cols = verify.source_region(steps, tile, h, w)
        window = (slice(tile.y0, tile.y1), slice(tile.x0, tile.x1))
        reports.append((tile, verify.check_tile(
            steps, tile, h, w, native[np.ix_(rows, cols)], rows, cols,
            [g[window] for g in gpu], tol=tol, stages=stages, view=view)))
    return reports


def assert_metrics_equal(actual, expected):
    exact = ("max_abs_error", "worst_x", "worst_y", "fraction_over_tolerance", "tolerance",
             "fraction_pixels_over_tolerance")
    for name in exact:
        a, e = getattr(actual, name), getattr(expected, name)
        assert a == e or (math.isnan(a) and math.isnan(e)), name
    for name in ("mean_abs_error", "rmse", "psnr"):
        a, e = getattr(actual, name), getattr(expected, name)
        assert a == pytest.approx(e, rel=1e-12, nan_ok=True), name


def _gpu_like(references, seed, scale=3e-5):
    rng = np.random.default_rng(seed)
    return [(r + rng.normal(0, scale, r.shape)).astype(np.float32) for r in references]


@pytest.mark.parametrize("stages", [False, True])
def test_partials_combine_to_the_whole_image_metrics(stages):
    native = native_image((21, 26), 4, np.uint16)
    steps = CHAINS["mixed"]
    references = whole(native, steps, stages=stages)
    gpu = _gpu_like(references, 1)
    tol = 2e-5
    reports = _check_all(native, steps, gpu, 8, tol=tol, stages=stages)
    assert all(len(report.partials) == len(gpu) for _, report in reports)
    for k, (g, r) in enumerate(zip(gpu, references)):
        combined = compare.combine([report.partials[k] for _, report in reports], tol=tol)
        expected = compare.metrics(g, r, tol=tol)
        assert 0 < expected.fraction_over_tolerance < 1
        assert_metrics_equal(combined, expected)
    error = np.zeros((21, 26), np.float32)
    reference = np.zeros_like(references[-1])
    for tile, report in reports:
        error[tile.y0 : tile.y1, tile.x0 : tile.x1] = report.error
        reference[tile.y0 : tile.y1, tile.x0 : tile.x1] = report.reference
    np.testing.assert_array_equal(reference, references[-1])
    diff = np.abs(gpu[-1].astype(np.float64) - references[-1]).max(axis=2)
    np.testing.assert_array_equal(error, diff.astype(np.float32))
    np.testing.assert_array_equal(compare.error_colours(diff),
                                  compare.heatmap(gpu[-1], references[-1]))


def test_the_error_map_and_reference_of_any_stage():
    native = native_image((19, 23), 3, np.uint8)
    steps = CHAINS["mixed"]
    references = whole(native, steps, stages=True)
    gpu = _gpu_like(references, 2)
    for view in range(len(references)):
        error = np.zeros((19, 23), np.float32)
        reference = np.zeros_like(references[view])
        for tile, report in _check_all(native, steps, gpu, 8, tol=1e-5, stages=True, view=view):
            error[tile.y0 : tile.y1, tile.x0 : tile.x1] = report.error
            reference[tile.y0 : tile.y1, tile.x0 : tile.x1] = report.reference
        np.testing.assert_array_equal(reference, references[view])
        diff = np.abs(gpu[view].astype(np.float64) - references[view]).max(axis=2)
        np.testing.assert_array_equal(error, diff.astype(np.float32))
    with pytest.raises(ValueError, match="view"):
        _check_all(native, steps, gpu, 8, tol=1e-5, stages=True, view=len(references))


def test_partials_with_nan():
    native = native_image((17, 19), 3, np.uint8)
    steps = CHAINS["edges"]
    [reference] = whole(native, steps)
    [gpu] = _gpu_like([reference], 2)
    gpu[12, 3, 1] = np.nan  # a later tile in the order, but the first NaN in raster order
    gpu[15, 0, 2] = np.nan
    gpu[0, 18, 0] += 10.0  # the largest finite difference does not count against a NaN
    reports = _check_all(native, steps, [gpu], 5, tol=1e-5, stages=False)
    combined = compare.combine([report.partials[0] for _, report in reports], tol=1e-5)
    expected = compare.metrics(gpu, reference, tol=1e-5)
    assert math.isnan(combined.max_abs_error) and math.isnan(combined.psnr)
    assert (combined.worst_x, combined.worst_y) == (3, 12)
    assert_metrics_equal(combined, expected)


def test_partials_with_ties_for_the_largest_difference():
    native = np.full((20, 20, 3), 77, np.uint8)  # every pixel's window reads the same values
    steps = [{"op": "box_blur", "params": {"size": 5}}]
    [reference] = whole(native, steps)
    assert np.unique(reference).size == 1
    gpu = reference.copy()
    for y, x, c in [(17, 2, 0), (9, 14, 2), (9, 15, 1), (3, 19, 1)]:  # in four different tiles
        gpu[y, x, c] += 0.25
    reports = _check_all(native, steps, [gpu], 6, tol=1e-5, stages=False)
    combined = compare.combine([report.partials[0] for _, report in reports], tol=1e-5)
    assert (combined.worst_x, combined.worst_y) == (19, 3)
    assert_metrics_equal(combined, compare.metrics(gpu, reference, tol=1e-5))


def test_regions_larger_than_the_engine_tiles():
    # Regions span several of the reference engine's 192 × 64 tiles, in rows and in columns.
    native = native_image((410, 150), 3, np.uint8)
    assert_tiled_equals_whole(native, CHAINS["mixed"], 256)
