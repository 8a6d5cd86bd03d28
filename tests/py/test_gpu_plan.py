"""GPU planning under CPython: every catalog operation has a plan, every planned pass fits its
shader, banding and halo rows follow the border rule."""

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
    if "RADIUS" in constants and p.weights is not None:
        assert len(p.weights) in (2 * constants["RADIUS"] + 1, (2 * constants["RADIUS"] + 1) ** 2)
    if p.halo:
        assert shaders.reads_neighbours(p.shader) and p.border is not None


@pytest.mark.parametrize("mode", borders.MODES)
@pytest.mark.parametrize("name, example", EXAMPLES, ids=EXAMPLE_IDS)
def test_every_example_plans_into_valid_passes(name, example, mode):
    steps = chain.validate([{"op": name, "params": {**example, "mode": mode, "cval": 0.3}}])
    for limits in (plan.MIN_LIMITS, {**plan.MIN_LIMITS, "maxComputeWorkgroupStorageSize": 32768}):
        p = plan.plan_chain(steps, GEOMETRY, limits=limits, readback=True, display=True)
        for step in p.passes:
            _check_pass(step, p.limits)
        assert p.readback == "result" and "display" in p.reads


def test_largest_kernels_fit_the_smallest_device():
    for op in catalog.OPS.values():
        for params in plan._corners(op):
            steps = [chain.Step(op.name, params)]
            for step in plan.plan_chain(steps, GEOMETRY, limits=plan.MIN_LIMITS).passes:
                _check_pass(step, plan.MIN_LIMITS)


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


def test_the_radius_decides_the_vertical_entry_point_by_workgroup_memory():
    def vertical(sigma, storage):
        steps = chain.validate([{"op": "gaussian_blur", "params": {"sigma": sigma}}])
        limits = {**plan.MIN_LIMITS, "maxComputeWorkgroupStorageSize": storage}
        return plan.plan_chain(steps, GEOMETRY, limits=limits).passes[-1].entry

    assert vertical(3.0, 16384) == "along_y"      # radius 12
    assert vertical(6.0, 16384) == "along_y_direct"  # radius 24 needs more than 16 KiB
    assert vertical(6.0, 32768) == "along_y"


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


def test_the_first_row_pass_unpacks_the_upload_unless_the_unpacked_image_is_read_again():
    blur = chain.validate([{"op": "gaussian_blur"}])
    fused = plan.plan_chain(blur, GEOMETRY, limits=plan.MIN_LIMITS)
    assert fused.passes[0].entry == "along_x_packed" and fused.passes[0].inputs == {"packed": "upload"}
    unfused = plan.plan_chain(blur, GEOMETRY, limits=plan.MIN_LIMITS, fuse=False)
    assert unfused.passes[0].shader == "unpack"
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
