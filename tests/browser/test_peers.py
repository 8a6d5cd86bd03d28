"""bench.html?mode=peers, as a smoke test: every implementation runs in the page on a small
image, and their outputs agree. On SwiftShader the timings mean nothing, so none is asserted.
Also: the peers stay out of the app's own bundle."""

from __future__ import annotations

import math
import re

from conftest import DIST, START_TIMEOUT_MS
from pages import bench_result

NAMES = {"filterlab", "naive-wgsl", "tfjs-webgpu", "opencv-js-f32", "opencv-js-u8", "numpy-pyodide"}
GPU = {"filterlab", "naive-wgsl", "tfjs-webgpu"}


def test_peers_page_runs_every_implementation_and_they_agree(browser, server_url):
    result = bench_result(browser, f"{server_url}bench.html?mode=peers&size=64&runs=1", START_TIMEOUT_MS)

    assert result["mode"] == "peers"
    assert (result["size"], result["sigma"], result["radius"]) == (64, 3, 12)
    assert result["adapter"]["vendor"]
    assert result["input_max_abs_diff"] <= 1e-6  # the peers and the app filter the same samples
    assert result["reference"] == "numpy-pyodide"
    rows = {row["name"]: row for row in result["implementations"]}
    assert set(rows) == NAMES
    for name, row in rows.items():
        assert math.isfinite(row["wall_ms"]) and row["wall_ms"] >= 0, row
        if name in GPU:
            assert math.isfinite(row["gpu_ms"]) and math.isfinite(row["sustained_gpu_ms"]), row
            assert row["gpu_clock"] in ("timestamp", "wall"), row
        else:
            assert row["gpu_ms"] is None, row
        assert row["agrees"] is True, row
        assert row["maxAbsDiff"] <= row["tolerance"], row
    assert rows["tfjs-webgpu"]["compared_region"].startswith("interior")  # zero padding
    assert rows["opencv-js-f32"]["compared_region"] == "all"  # BORDER_REFLECT is scipy's reflect
    assert rows["filterlab"]["tolerance"] == 1e-4
    assert rows["numpy-pyodide"]["workers"] >= 1


def _reachable(page: str, assets: dict) -> set[str]:
    """The asset files a built page can load: any asset named in the page, or in a script it
    can load (static and dynamic imports, workers, preload lists), transitively."""
    named = lambda text: {name for name in assets if name in text}  # noqa: E731
    reachable: set[str] = set()
    todo = named((DIST / page).read_text())
    while todo:
        name = todo.pop()
        reachable.add(name)
        if name.endswith(".js"):
            todo |= named(assets[name].read_text(errors="replace")) - reachable
    return reachable


def test_peers_stay_out_of_the_app_bundle():
    """Nothing index.html can load holds TensorFlow.js, OpenCV.js or the peers page's code."""
    assets = {p.name: p for p in (DIST / "assets").iterdir()}
    # TF.js's kernel names, opencv.js's loader, the peers page's own code
    markers = re.compile(rb"DepthwiseConv2dNative|root\.cv = factory|GaussianBlur|naive-wgsl")
    peer_files = {name for name, path in assets.items() if markers.search(path.read_bytes())}
    assert any(name.startswith("opencv") for name in peer_files)
    assert any(name.startswith("peers-tfjs") for name in peer_files)
    assert peer_files <= _reachable("bench.html", assets)  # the walk finds them where they are
    app = _reachable("index.html", assets)
    assert any(name.startswith("main-") for name in app)
    assert not app & peer_files, app & peer_files
