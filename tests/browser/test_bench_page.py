"""bench.html's measuring modes as smoke tests: each runs on a small image and posts its JSON
with the keys docs/benchmarks.md describes. On SwiftShader the timings mean nothing, so none is
asserted; the upload mode's read-back check (``exact``) is."""

from __future__ import annotations

import pytest
from conftest import START_TIMEOUT_MS
from pages import bench_result


def _bench(browser, server_url, query: str) -> dict:
    result = bench_result(browser, f"{server_url}bench.html?{query}", START_TIMEOUT_MS)
    assert result["adapter"]["vendor"]
    return result


def test_bench_mode_measures_every_chain_and_variant(browser, server_url):
    result = _bench(browser, server_url,
                    "mode=bench&size=64&runs=2&warmup_ms=0&chain=gauss8,benchmark,bench8&entries=|separable=twopass"
                    "&spinup_ms=1")
    assert result["mode"] == "bench" and result["size"] == 64 and result["spinup_ms"] == 1
    assert set(result["chains"]) == {"gauss8", "benchmark", "bench8"}
    for chain in result["chains"].values():
        assert set(chain["variants"]) == {"default", "separable=twopass"}
        for variant in chain["variants"].values():
            assert variant["gpu_ms_median"] >= 0
            assert set(variant["kernels"]) == set(variant["passes_ms_median"])
    default = result["chains"]["gauss8"]["variants"]["default"]["kernels"]
    two = result["chains"]["gauss8"]["variants"]["separable=twopass"]["kernels"]
    assert "separable_tile.tile_packed" in default.values()
    assert "separable.along_y_rows" in two.values()
    # the benchmark chain eight times over in one submit: its 24 steps, and its cost per chain
    for variant in result["chains"]["bench8"]["variants"].values():
        assert len(variant["steps_ms_median"]) == 24
        assert variant["gpu_ms_per_chain_median"] == pytest.approx(variant["gpu_ms_median"] / 8)
    assert result["upload_ms_median"] >= 0 and result["readback_ms_median"] >= 0


def test_startup_mode_times_each_phase_of_the_app_and_the_runtime_alone(browser, server_url):
    result = _bench(browser, server_url, "mode=startup&loads=2")
    assert result["mode"] == "startup" and len(result["loads"]) == 2
    for load in result["loads"]:
        phases = load["phases"]
        assert list(phases) == ["worker", "runtime", "filterlab", "device", "ready", "page-ready"]
        times = list(phases.values())
        assert times == sorted(times)
        # the frame's clock starts after the bench page's stopwatch does
        assert phases["page-ready"] <= load["ready_ms"] + 1
    for alone in result["bare"] + result["bare_overlap"]:
        assert 0 <= alone["runtime"] <= alone["packages"] <= alone["imports"] <= alone["ready"]
    for overlapped in result["bare_overlap"]:  # the packages load during start-up: no phase of their own
        assert overlapped["imports"] - overlapped["packages"] <= 1  # two rounded marks in a row
    assert set(result["median_warm"]) == {"app_ready_ms", "bare_ready_ms", "bare_overlap_ready_ms"}


def test_upload_mode_checks_every_method(browser, server_url):
    methods = ["write", "chunks:0.01", "mapped", "staging", "bitmap"]
    result = _bench(browser, server_url, f"mode=upload&size=64&runs=1&methods={'|'.join(methods)}")
    assert result["mode"] == "upload" and result["bytes"] == 64 * 64 * 4
    assert list(result["methods"]) == methods
    for name, row in result["methods"].items():
        assert row["exact"] is True, (name, row)
        assert row["used"] == name, (name, row)  # 64 px rows of RGBA are 256 bytes: bitmap serves
        for key in ("cold_ms_median", "warm_ms_median", "cold_ms_min", "warm_ms_min"):
            assert row[key] >= 0, (name, key, row)


@pytest.mark.parametrize("entries", ["|separable=twopass"])
def test_scale_mode_gives_a_row_per_size_sigma_and_variant(browser, server_url, entries):
    result = _bench(browser, server_url, f"mode=scale&sizes=32,64&sigmas=1,9&runs=1&entries={entries}")
    assert result["mode"] == "scale"
    rows = {(row["size"], row["sigma"], row["variant"]): row for row in result["rows"]}
    assert set(rows) == {(size, sigma, variant) for size in (32, 64) for sigma in ("copy", 1, 9)
                         for variant in ("default", "separable=twopass")}
    for row in rows.values():
        assert row["gpu_ms"] >= 0 and row["kernels"], row
    # σ = 9 is radius 36, beyond the fused pass: two passes in both variants
    assert "separable.along_x_packed" in rows[64, 9, "default"]["kernels"]
    assert "separable_tile.tile_packed" in rows[64, 1, "default"]["kernels"]
    assert "separable.along_x_packed" in rows[64, 1, "separable=twopass"]["kernels"]
