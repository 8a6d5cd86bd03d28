"""The shader manifest against the WGSL files, and the facts the host reads from them."""

import re
from pathlib import Path

import pytest
from filterlab import borders, reference
from filterlab.gpu import plan, shaders

SHADER_DIR = Path(__file__).resolve().parents[2] / "shaders"
_COMPUTE = re.compile(r"@compute\s+@workgroup_size\(([^)]*)\)\s*fn\s+(\w+)")


def test_every_shader_file_has_a_manifest_row_and_its_preludes_exist():
    files = {path.stem for path in SHADER_DIR.glob("*.wgsl")}
    assert files == set(shaders.SHADERS)
    libs = {path.stem for path in (SHADER_DIR / "lib").glob("*.wgsl")}
    for row in shaders.SHADERS.values():
        assert set(row.preludes) <= libs


@pytest.mark.parametrize("name", list(shaders.SHADERS))
def test_manifest_entry_points_match_the_shader(name):
    text = (SHADER_DIR / f"{name}.wgsl").read_text()
    declared = {fn: [s.strip() for s in size.split(",")] for size, fn in _COMPUTE.findall(text)}
    entries = shaders.SHADERS[name].entries
    assert set(declared) == set(entries)
    for entry, size in entries.items():
        assert declared[entry] == ["WG_X", "WG_Y"][: len(size)], entry


@pytest.mark.parametrize("name", list(shaders.SHADERS))
def test_every_shader_has_params_and_its_bindings_are_distinct(name):
    info = shaders.info(name)
    assert [f.name for f in info.fields[:2]] == ["width", "height"]
    assert info.bindings["params"] == 0
    assert len(set(info.bindings.values())) == len(info.bindings)


def test_uniform_layout_follows_wgsl_alignment():
    info = shaders.info("edges")
    offsets = {f.name: f.offset for f in info.fields}
    # output at 16, three u32 of padding, then a vec4 aligned to 16
    assert offsets == {"width": 0, "height": 4, "mode": 8, "cval": 12, "output": 16,
                       "_pad0": 20, "_pad1": 24, "_pad2": 28, "taps": 32}
    assert info.size == 48
    packed = info.pack({"width": 7, "height": 5, "mode": 3, "cval": 0.5, "output": 2,
                        "taps": (1, 2, 1, 0)})
    assert packed[:4] == (7).to_bytes(4, "little") and packed[16:20] == (2).to_bytes(4, "little")


def test_packing_names_every_field():
    info = shaders.info("laplace")
    with pytest.raises(KeyError, match="neighbours"):
        info.pack({"width": 1, "height": 1, "mode": 0, "cval": 0.0})
    with pytest.raises(KeyError, match="radius"):
        info.pack({"width": 1, "height": 1, "mode": 0, "cval": 0.0, "neighbours": 4, "radius": 2})


def test_enumeration_codes_match_python():
    modes = shaders.enum("MODE")
    assert set(modes) == set(borders.MODES)
    assert set(shaders.enum("OUTPUT")) == set(reference.EDGE_OUTPUTS)
    assert set(shaders.enum("FORMAT")) == set(plan.UPLOAD_FORMATS.values())
    for prefix in ("MODE", "OUTPUT", "FORMAT"):
        codes = shaders.enum(prefix).values()
        assert len(set(codes)) == len(codes)


def test_entry_points_use_the_functions_they_call_not_names_they_share():
    info = shaders.info("convolve")
    # correlate_tile's parameter `rows` is also an entry point's name: only calls count
    assert "rows" in info.calls["correlate_tile"] and "rows" not in info.callees["correlate_tile"]
    assert "accumulate" in info.callees["correlate_tile"]
    assert shaders.workgroup_bytes("convolve", "blocked", {"WG_X": 64, "TILE_W": 32, "TILE_H": 16,
                                                          "RADIUS": 2}) == (16 + 4) * (32 + 5) * 16


def test_workgroup_memory_counts_what_an_entry_point_uses():
    # along_y stages (WG_Y + 2r) × WG_X pixels of 16 bytes; the taps are uniform (lib/taps.wgsl)
    assert shaders.workgroup_bytes("separable", "along_y", {"RADIUS": 3}) == (16 + 6) * 16 * 16
    # edges_convolve stages its window only through helper functions (lib/window.wgsl)
    assert shaders.workgroup_bytes("edges_convolve", "main", {"TILE_W": 64, "TILE_H": 32,
                                                             "RADIUS": 2}) == (32 + 4) * (64 + 5) * 16
    assert shaders.workgroup_bytes("separable", "along_y_direct", {"RADIUS": 3}) == 0
    assert shaders.workgroup_bytes("laplace", "main", {}) == 0


def test_dispatch_covers_the_image():
    assert shaders.dispatch_size("separable", "along_y", 33, 17) == (3, 2)
    assert shaders.dispatch_size("separable", "along_x", 129, 5) == (2, 5)
    block = shaders.constant("BLOCK")
    assert shaders.dispatch_size("separable", "along_y_rows", 129, 2 * block + 1) == (2, 3)
    tile = {"WG_X": 64, "TILE_W": 32, "TILE_H": 16}
    assert shaders.dispatch_size("separable_tile", "tile", 33, 17, tile) == (2, 2)
    assert shaders.dispatch_size("separable_tile", "tile", 33, 17, {**tile, "TILE_W": 64}) == (1, 2)


@pytest.mark.parametrize("name", list(shaders.SHADERS))
def test_tiled_entry_points_cover_what_their_overrides_say(name):
    row = shaders.SHADERS[name]
    for entry, cover in row.tiles.items():
        assert entry in row.entries
        text = (SHADER_DIR / f"{name}.wgsl").read_text()
        for expression in cover:  # every name is an override or a library constant
            for word in re.findall(r"[A-Za-z_]\w*", expression):
                assert f"override {word}" in text or word in shaders._library(), (entry, word)
    if row.max_radius is not None:  # the general pipeline is the entry itself, with a tile
        assert all(row.general[entry] == entry for entry in row.tiles)


@pytest.mark.parametrize("name", list(shaders.SHADERS))
def test_shaders_that_read_weights_bind_them_as_lib_taps_says(name):
    text = shaders.source(name)
    if "tap(" not in text.replace("fn tap(", ""):
        assert "weights" not in shaders.info(name).bindings
        return
    assert "taps" in shaders.SHADERS[name].preludes
    assert "@binding(3) var<uniform> weights: array<vec4<f32>, MAX_TAPS>;" in text
    assert "var<workgroup> taps" not in text
