"""Pyodide provisioning: every wheel is checked against pyodide-lock.json, a mismatch stops
with a clear message, and a second run changes nothing."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("provision_pyodide", ROOT / "scripts" / "provision_pyodide.py")
provision = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(provision)

WHEELS = {"numpy": b"numpy wheel bytes", "pillow": b"pillow wheel bytes"}


@pytest.fixture
def core(tmp_path):
    """A stand-in for node_modules/pyodide: core files and a lock file naming two wheels."""
    core = tmp_path / "core"
    core.mkdir()
    for name in provision.CORE_FILES:
        if name != "pyodide-lock.json":
            (core / name).write_bytes(f"core file {name}".encode())
    packages = {
        name: {"file_name": f"{name}-0-py3-none-any.whl", "sha256": hashlib.sha256(data).hexdigest(), "depends": []}
        for name, data in WHEELS.items()
    }
    lock = {"info": {"version": provision.PYODIDE_VERSION}, "packages": packages}
    (core / "pyodide-lock.json").write_text(json.dumps(lock))
    return core


def _cache(tmp_path, contents):
    cache = tmp_path / "cache"
    cache.mkdir(exist_ok=True)
    for name, data in contents.items():
        (cache / f"{name}-0-py3-none-any.whl").write_bytes(data)
    return cache


def test_provisions_from_the_cache_and_is_idempotent(tmp_path, core):
    cache = _cache(tmp_path, WHEELS)
    dest = tmp_path / "public" / "pyodide"
    assert provision.main(["--dest", str(dest), "--core", str(core), "--cache", str(cache), "--offline"]) == 0
    names = sorted(p.name for p in dest.iterdir())
    assert names == sorted([*provision.CORE_FILES, "numpy-0-py3-none-any.whl", "pillow-0-py3-none-any.whl"])
    before = {p.name: p.stat().st_mtime_ns for p in dest.iterdir()}
    assert provision.main(["--dest", str(dest), "--core", str(core), "--cache", str(cache), "--offline"]) == 0
    assert {p.name: p.stat().st_mtime_ns for p in dest.iterdir()} == before


def test_a_wheel_with_the_wrong_hash_stops_provisioning(tmp_path, core, capsys):
    cache = _cache(tmp_path, {**WHEELS, "pillow": b"tampered"})
    dest = tmp_path / "public" / "pyodide"
    code = provision.main(["--dest", str(dest), "--core", str(core), "--cache", str(cache), "--offline"])
    err = capsys.readouterr().err
    assert code == 1
    assert "sha256 mismatch for pillow-0-py3-none-any.whl" in err
    assert hashlib.sha256(b"tampered").hexdigest() in err
    assert not (dest / "pillow-0-py3-none-any.whl").exists()


def test_a_missing_npm_package_says_what_to_run(tmp_path, capsys):
    code = provision.main(["--dest", str(tmp_path / "d"), "--core", str(tmp_path / "none"),
                           "--cache", str(tmp_path / "c"), "--offline"])
    assert code == 1
    assert "Run 'npm ci' first" in capsys.readouterr().err


def test_the_real_lock_file_pins_the_expected_wheels():
    lock_path = ROOT / "node_modules" / "pyodide" / "pyodide-lock.json"
    if not lock_path.is_file():
        pytest.fail("node_modules/pyodide is missing: make test runs npm ci first")
    wanted = provision.wanted_wheels(json.loads(lock_path.read_text()))
    assert sorted(wanted) == [
        "numpy-2.0.2-cp312-cp312-pyodide_2024_0_wasm32.whl",
        "pillow-10.2.0-cp312-cp312-pyodide_2024_0_wasm32.whl",
    ]
