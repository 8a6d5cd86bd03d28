"""GPU planning under CPython: every catalog operation has a plan, every planned pass fits its
shader, banding and halo rows follow the border rule."""

import itertools
import re

import numpy as np
import pytest
from filterlab import borders, catalog, chain, kernels
from filterlab.gpu import plan, shaders
from oracles import EXAMPLE_IDS, EXAMPLES

GEOMETRY = plan.Geometry(40, 30, 3, "unorm8")


def test_every_operation_has_exactly_one_plan():
    assert plan.registered() == set(catalog.OPS)


def _check_pass(p, limits):
    info = shaders.info(p.shader)
    info.pack({"width": 1, "height": 1, **p.uniforms})  # every field given, none unknown
    bound = {"params", *p.inputs, p.output[0]} | ({"weights"} if p.weights is not None else set())
    assert bound <= set(info.bindings), (p.label, bound - set(info.bindings))
    constants = p.pipeline_constants
    assert shaders.workgroup_bytes(p.shader, p.entry, constants) <= limits["maxComputeWorkgroupStorageSize"]
    if p.weights is not None:  # the uniform array the shader binds holds them (lib/taps.wgsl)
        assert p.weights.size <= shaders.constant("MAX_TAPS")
    if "RADIUS" in constants and p.weights is not None:
        k = 2 * constants["RADIUS"] + 1
        assert len(p.weights) in (k, 2 * k, k * k)  # 1-D, row and column, 2-D
    if "TILE_W" in constants:
        _check_tile(p.shader, constants)
    if "RADIUS" in p.constants:  # the constants the entry point takes for this radius and device
        assert p.constants == plan.entry_constants(p.shader, p.entry, p.constants["RADIUS"], limits)
    if p.halo:
        assert shaders.reads_neighbours(p.shader) and p.border is not None


def _check_tile(shader, constants):
    block = shaders.constant("BLOCK")
    if shaders.SHADERS[shader].window_tiles:  # phase 2 gives each block of the tile an invocation
        rows, cols = constants["ROWS"], constants["COLS"]
        assert 1 <= rows <= block and 1 <= cols <= block  # the shader's arrays hold BLOCK
        assert constants["TILE_H"] == rows and constants["TILE_W"] % cols == 0
        assert constants["TILE_W"] % 2 == 0  # so that the window's row stride, pitch(), is odd
        assert constants["TILE_W"] <= constants["WG_X"]
    else:
        assert constants["TILE_W"] * constants["TILE_H"] == block * constants["WG_X"]


LIMITS = [plan.MIN_LIMITS, {**plan.MIN_LIMITS, "maxComputeWorkgroupStorageSize": 32768},
          {**plan.MIN_LIMITS, "maxComputeWorkgroupStorageSize": 49152}]


@pytest.mark.parametrize("mode", borders.MODES)
@pytest.mark.parametrize("name, example", EXAMPLES, ids=EXAMPLE_IDS)
def test_every_example_plans_into_valid_passes(name, example, mode):
    steps = chain.validate([{"op": name, "params": {**example, "mode": mode, "cval": 0.3}}])
    for limits in LIMITS:
        for options in ({}, {"separable": "twopass"}):
            for banded in (False, True):
                p = plan.plan_chain(steps, GEOMETRY, limits=limits, readback=True, display=True,
                                    banded=banded, options=options)
                for step in p.passes:
                    _check_pass(step, p.limits)
                    if banded:  # the upload has no halo rows
                        assert step.halo == 0 or "packed" not in step.inputs
                assert p.readback == "result" and "display" in p.reads


def test_largest_kernels_fit_the_smallest_device():
    for op in catalog.OPS.values():
        for params in plan._corners(op):
            steps = [chain.Step(op.name, params)]
            for step in plan.plan_chain(steps, GEOMETRY, limits=plan.MIN_LIMITS).passes:
                _check_pass(step, plan.MIN_LIMITS)


def test_a_pass_with_more_weights_than_a_tap_shader_holds_is_refused():
    most = shaders.constant("MAX_TAPS")
    p = plan.Plan(GEOMETRY, plan.MIN_LIMITS)
    p.add("fits", "separable", "along_x", inputs={"src": "work0"}, output=("dst", "work1"),
          constants={"RADIUS": 1}, weights=np.ones(most, np.float32))
    with pytest.raises(ValueError, match=f"{most + 1} weights; a tap shader holds at most {most}"):
        p.add("too many", "separable", "along_x", inputs={"src": "work0"}, output=("dst", "work1"),
              constants={"RADIUS": 1}, weights=np.ones(most + 1, np.float32))


def test_max_halo_bounds_every_parameter_in_range():
    assert plan.max_halo() == kernels.gaussian_radius(16.0, 6.0)  # the widest Gaussian
    rng = np.random.default_rng(5)
    for op in catalog.OPS.values():
        for _ in range(40):
            params = {}
            for param in op.params:
                if param.kind == "float":
                    params[param.name] = float(rng.uniform(param.min, param.max))
                elif param.kind == "int":
                    params[param.name] = int(param.min + param.step * rng.integers(0, (param.max - param.min) // param.step + 1))
                elif param.kind == "choice":
                    params[param.name] = param.choices[rng.integers(len(param.choices))]
                else:
                    size = 2 * int(rng.integers(0, 16)) + 1
                    params[param.name] = rng.normal(size=(size, size)).tolist()
            passes = plan.plan_chain([chain.Step(op.name, params)], GEOMETRY, limits=plan.MIN_LIMITS).passes
            assert max(p.halo for p in passes) <= plan.max_halo()


def test_separable_filters_run_as_two_passes_or_in_one_up_to_the_tiles_radius():
    def passes(sigma, truncate=4.0, **options):
        steps = chain.validate([{"op": "gaussian_blur", "params": {"sigma": sigma, "truncate": truncate}}])
        return [(p.shader, p.entry) for p in plan.plan_chain(steps, GEOMETRY, limits=plan.MIN_LIMITS,
                                                             fuse=False, **options).passes[1:]]

    largest = shaders.SHADERS["separable_tile"].max_radius
    assert largest == 32  # test_gpu_accuracy's two-pass cases go just beyond it
    assert plan.general_radius("separable_tile") == largest
    two = [("separable", "along_x"), ("separable", "along_y_rows")]
    assert passes(3.0) == [("separable_tile", "tile")]  # the default, radius 12
    assert passes(largest / 4) == [("separable_tile", "tile")]
    assert passes(largest / 4 + 0.2) == two  # one more than the tile serves
    assert passes(16.0, truncate=6.0) == two  # radius 96
    twopass = {"separable": "twopass"}
    assert passes(3.0, options=twopass) == two  # at every radius
    assert passes(16.0, truncate=6.0, options=twopass) == two
    with pytest.raises(ValueError, match="planning option"):
        passes(3.0, options={"separable": "threepass"})


def test_a_variant_entry_that_does_not_fit_falls_back():
    steps = chain.validate([{"op": "gaussian_blur", "params": {"sigma": 8.0}}])  # radius 32
    swap = {("separable", "along_y_rows"): "along_y"}
    p = plan.plan_chain(steps, GEOMETRY, limits=plan.MIN_LIMITS, entries=swap,
                        options={"separable": "twopass"})
    assert p.passes[-1].entry == "along_y_direct"  # along_y's tile of radius 32 needs 44 KiB
    roomy = {**plan.MIN_LIMITS, "maxComputeWorkgroupStorageSize": 49152}
    p = plan.plan_chain(steps, GEOMETRY, limits=roomy, entries=swap, options={"separable": "twopass"})
    assert p.passes[-1].entry == "along_y"


@pytest.mark.parametrize("storage", [16384, 32768, 49152, 65536])
def test_tile_shapes_follow_the_devices_workgroup_memory(storage):
    limits = {**plan.MIN_LIMITS, "maxComputeWorkgroupStorageSize": storage}
    block = shaders.constant("BLOCK")
    shape = plan.tile_shape("separable_tile", "tile", limits)
    constants = {**shape, "RADIUS": shaders.SHADERS["separable_tile"].max_radius}
    assert shaders.workgroup_bytes("separable_tile", "tile", constants) <= storage
    _check_tile("separable_tile", shape)
    # more memory never gives a narrower tile
    if storage > 16384:
        smaller = plan.tile_shape("separable_tile", "tile", {**limits, "maxComputeWorkgroupStorageSize": storage // 2})
        assert smaller["TILE_W"] <= shape["TILE_W"]


@pytest.mark.parametrize("entry", ["tile", "tile_packed"])
@pytest.mark.parametrize("radius", range(33))
def test_one_pass_blur_tiles_are_windows_one_round_wide(radius, entry):
    limits = {**plan.MIN_LIMITS, "maxComputeWorkgroupStorageSize": 49152}
    shape = plan.tile_shape("separable_tile", entry, limits, radius)
    window = shape["TILE_W"] + 2 * radius
    # every invocation sums one window column, and no wider tile would still fit one round
    assert window <= shape["WG_X"] < window + shape["COLS"]
    # the block and workgroup the sweep chose for this entry point and radius
    block, width = next((b, w) for r, b, w in plan.WINDOW_TILES[entry] if radius <= r)
    assert (shape["ROWS"], shape["COLS"], shape["WG_X"]) == (block, block, width)
    if entry == "tile_packed":  # reading the 8-bit upload, 4-row blocks won at every radius
        assert block == 4


def test_general_pipelines_are_those_the_passes_fall_back_to():
    for storage in (16384, 32768, 49152):
        limits = {**plan.MIN_LIMITS, "maxComputeWorkgroupStorageSize": storage}
        prepared = {(s, e, tuple(sorted(c.items()))) for s, e, c in plan.general_pipelines(limits)}
        for op, options in itertools.product(catalog.OPS.values(), ({}, {"separable": "tile", "pairs": "fused"})):
            for params in plan._corners(op):
                steps = [chain.Step(op.name, params)]
                for p in plan.plan_chain(steps, GEOMETRY, limits=limits, options=options).passes:
                    general = p.general(limits)
                    if general is not None:
                        entry, constants = general
                        assert (p.shader, entry, tuple(sorted(constants.items()))) in prepared, p.label
                        assert shaders.workgroup_bytes(p.shader, entry, constants) <= storage
                        for entry, constants in plan.neighbours(p, limits):
                            assert shaders.workgroup_bytes(p.shader, entry, constants) <= storage


def test_chains_ping_pong_and_release_scratch_buffers():
    steps = chain.validate([{"op": "unsharp_mask"}, {"op": "edges"}, {"op": "gaussian_blur"}])
    p = plan.plan_chain(steps, GEOMETRY, limits=plan.MIN_LIMITS, stages=True)
    working = {name for name in p.written() if name.startswith("work")}
    assert len(working) == 3  # input, output and one scratch buffer serve the whole chain
    assert p.stages == ["stage0", "stage1", "stage2"]
    written = {"upload"}
    for step in p.passes:
        assert step.output[1] not in step.inputs.values()  # no pass reads what it writes
        assert set(step.inputs.values()) <= written        # every input was written before
        written.add(step.output[1])


@pytest.mark.parametrize("sigma", [0.3, 3.0, 6.0, 7.0, 7.5, 8.0])  # radii 1, 12, 24, 28, 30, 32
def test_the_one_pass_blur_reads_the_upload_itself_at_every_radius(sigma):
    blur = chain.validate([{"op": "gaussian_blur", "params": {"sigma": sigma}}])
    roomy = {**plan.MIN_LIMITS, "maxComputeWorkgroupStorageSize": 49152}
    p = plan.plan_chain(blur, GEOMETRY, limits=roomy)
    assert p.passes[-1].constants["RADIUS"] == kernels.gaussian_radius(sigma)
    assert [(p.shader, p.entry) for p in p.passes] == [("separable_tile", "tile_packed")]


def test_the_first_row_pass_unpacks_the_upload_unless_the_unpacked_image_is_read_again():
    blur = chain.validate([{"op": "gaussian_blur"}])
    fused = plan.plan_chain(blur, GEOMETRY, limits=plan.MIN_LIMITS)  # the default
    assert [p.entry for p in fused.passes] == ["tile_packed"]
    assert fused.passes[0].inputs == {"packed": "upload"}
    twopass = {"separable": "twopass"}
    two = plan.plan_chain(blur, GEOMETRY, limits=plan.MIN_LIMITS, options=twopass)
    assert two.passes[0].entry == "along_x_packed" and two.passes[0].inputs == {"packed": "upload"}
    unfused = plan.plan_chain(blur, GEOMETRY, limits=plan.MIN_LIMITS, fuse=False)
    assert unfused.passes[0].shader == "unpack"
    # banded, a pass reaching other rows cannot read the upload, which has no halo rows
    banded = plan.plan_chain(blur, GEOMETRY, limits=plan.MIN_LIMITS, banded=True)
    assert [(p.shader, p.entry) for p in banded.passes] == [("unpack", "main"), ("separable_tile", "tile")]
    assert banded.passes[1].halo > 0
    banded = plan.plan_chain(blur, GEOMETRY, limits=plan.MIN_LIMITS, banded=True, options=twopass)
    assert banded.passes[0].entry == "along_x_packed" and banded.passes[0].halo == 0
    # unsharp masking reads its input again after the blur: the unpacked image must exist
    sharp = plan.plan_chain(chain.validate([{"op": "unsharp_mask"}]), GEOMETRY, limits=plan.MIN_LIMITS)
    assert sharp.passes[0].shader == "unpack"


def test_bands():
    limits = {**plan.MIN_LIMITS, "maxStorageBufferBindingSize": 100 * 16 * 300, "maxBufferSize": 1 << 30}
    assert plan.bands(100, 300, limits) == [(0, 300)]
    split = plan.bands(100, 301, limits)
    assert split[0] == (0, 300 - 2 * plan.max_halo()) and split[-1][1] == 301
    assert all(b[0] == a[1] for a, b in zip(split, split[1:]))
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="positive whole number"):
            plan.bands(10, 10, plan.MIN_LIMITS, rows=bad)


@pytest.mark.parametrize("mode", borders.MODES)
@pytest.mark.parametrize("halo, band_rows, height", [(1, 4, 10), (3, 2, 5), (12, 7, 9), (0, 3, 3)])
def test_halo_copies_rebuild_the_border_rule(mode, halo, band_rows, height):
    bands = plan.bands(1, height, plan.MIN_LIMITS, rows=band_rows)
    for band in bands:
        rows = []
        for source_band, row, start, count in plan.halo_copies(band, halo, height, mode, band_rows):
            assert start == len(rows)
            rows += [-1] * count if source_band < 0 else list(range(source_band * band_rows + row,
                                                                     source_band * band_rows + row + count))
            if source_band >= 0:
                assert row + count <= band_rows
        expected = borders.index(np.arange(band[0] - halo, band[1] + halo), height, mode)
        assert rows == expected.tolist()


SHARPEN_5X5 = (2 * kernels.identity(5) - kernels.box(5)).tolist()  # rank 2: one 2-D pass


def _pair(**options):
    steps = chain.validate([{"op": "gaussian_blur"}, {"op": "edges", "params": {"mode": "wrap"}},
                            {"op": "convolve", "params": {"kernel": SHARPEN_5X5, "cval": 0.5,
                                                          "mode": "constant"}}])
    return plan.plan_chain(steps, GEOMETRY, limits=plan.MIN_LIMITS, **options)


def test_a_gradient_and_the_correlation_after_it_can_run_as_one_pass():
    fused = _pair(options={"pairs": "fused"})
    assert [(p.shader, p.entry) for p in fused.passes] == [("separable_tile", "tile_packed"),
                                                             ("edges_convolve", "main")]
    pair = fused.passes[1]
    assert pair.inputs == {"src": fused.passes[0].output[1]} and pair.halo == 1 + 2
    assert pair.uniforms["mode"] == shaders.enum("MODE")["constant"] and pair.uniforms["cval"] == 0.5
    assert pair.uniforms["edge_mode"] == shaders.enum("MODE")["wrap"]
    assert len(pair.weights) == 25
    separate = [(p.shader, p.entry) for p in _pair().passes[1:]]  # the default
    assert separate == [("edges", "main"), ("convolve", "tiled")]
    # not when the gradient image is wanted, or bands would need two border rules in one halo
    for options in ({"stages": True}, {"keep": True}, {"banded": True}):
        passes = _pair(options={"pairs": "fused"}, **options).passes
        assert "edges_convolve" not in {p.shader for p in passes}, options


def test_only_small_correlations_join_a_gradient():
    largest = shaders.SHADERS["edges_convolve"].max_radius
    for radius, joined in ((largest, True), (largest + 1, False)):
        kernel = np.zeros((2 * radius + 1, 2 * radius + 1))
        kernel[0, 0] = kernel[-1, -1] = 1  # rank 2
        steps = chain.validate([{"op": "edges"}, {"op": "convolve", "params": {"kernel": kernel.tolist()}}])
        passes = plan.plan_chain(steps, GEOMETRY, limits=plan.MIN_LIMITS, options={"pairs": "fused"}).passes
        assert (passes[-1].shader == "edges_convolve") == joined
        passes = plan.plan_chain(steps, GEOMETRY, limits=plan.MIN_LIMITS).passes
        assert passes[-1].shader == "convolve"  # the default: two passes


# What each pass computes, in elementary steps: fused passes do several.
_ELEMENTS = {("unpack", "main"): ("unpack",), ("separable", "along_x_packed"): ("unpack", "x"),
             ("separable_tile", "tile"): ("x", "y"), ("separable_tile", "tile_packed"): ("unpack", "x", "y"),
             ("edges_convolve", "main"): ("edges", "convolve")}


def _meaning(p):
    """Each buffer's value at the end of the plan, as a term: (element, step, input). A pass
    may only read buffers written before it, and never the one it writes."""
    values = {"upload": "upload"}
    for q in p.passes:
        assert q.output[1] not in q.inputs.values(), q.label
        inputs = {name: values[buffer] for name, buffer in q.inputs.items()}
        value = inputs.popitem()[1] if len(inputs) == 1 else tuple(sorted(inputs.items()))
        steps = [int(n) for n in re.findall(r"(\d+):", q.label)] or [0]
        elements = _ELEMENTS.get((q.shader, q.entry))
        if elements is None:
            elements = ("x",) if q.entry.startswith("along_x") else ("y",) if q.entry.startswith("along_y") else (q.shader,)
        for element in elements:
            step = 0 if element == "unpack" else steps[0] if element != "convolve" else steps[-1]
            value = (element, step, value)
        values[q.output[1]] = value
    return values


def _random_chain(rng):
    names = list(catalog.OPS)
    steps = []
    for _ in range(int(rng.integers(1, 6))):
        op = names[rng.integers(len(names))] if rng.random() < 0.6 else ("edges", "convolve")[rng.integers(2)]
        examples = catalog.OPS[op].examples
        params = dict(examples[rng.integers(len(examples))])
        params["mode"] = borders.MODES[rng.integers(len(borders.MODES))]
        if op == "convolve" and rng.random() < 0.5:
            params["kernel"] = SHARPEN_5X5
        steps.append({"op": op, "params": params, "enabled": bool(rng.random() < 0.9)})
    return chain.validate(steps)


@pytest.mark.parametrize("seed", range(40))
def test_fusion_keeps_what_every_kept_buffer_holds(seed):
    rng = np.random.default_rng(seed)
    steps = _random_chain(rng)
    for limits in LIMITS:
        for extra in ({}, {"stages": True}, {"keep": True}, {"banded": True}):
            plain = plan.plan_chain(steps, GEOMETRY, limits=limits, fuse=False, readback=True,
                                    options={"separable": "twopass", "pairs": "separate"}, **extra)
            want = _meaning(plain)
            for options in ({}, {"separable": "tile", "pairs": "fused"}):
                fused = plan.plan_chain(steps, GEOMETRY, limits=limits, readback=True, display=True,
                                        options=options, **extra)
                got = _meaning(fused)
                assert got[fused.result] == want[plain.result]
                assert [got[b] for b in fused.kept] == [want[b] for b in plain.kept]
                assert [got[b] for b in fused.stages] == [want[b] for b in plain.stages]
                assert got[fused.readback] == want[plain.readback]
