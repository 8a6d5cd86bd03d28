#!/usr/bin/env python3
"""Fetch Pillow's own test images, an outside corpus for the decoder tests.

Pillow's source distribution ships about 1,100 files under ``Tests/images/``: every format
and mode Pillow reads, and the crash, out-of-memory, timeout and decompression-bomb cases
its fuzzers found. ``tests/py/test_corpus.py`` runs every one through Filter Lab's decoder
and command line, and ``tests/browser/test_corpus.py`` a representative subset through the
page.

The version is the ``pillow==`` pin of ``requirements-test.txt``. The script

1. downloads that version's sdist once into the cache (``$FILTERLAB_CACHE`` or
   ``~/.cache/filterlab``) with ``pip download --no-binary :all: --no-deps``;
2. checks its sha256 against :data:`SDIST_SHA256` (a version without a recorded digest stops
   with a message saying where to find it);
3. extracts only ``Tests/images/`` into ``<cache>/pillow-<version>-corpus/``, regular files
   and folders only, and marks the folder complete.

It is idempotent: a second run finds the marked folder and does nothing. Standard library
and pip only.

Usage: ``python3 scripts/fetch_pillow_corpus.py [--cache DIR]``; it prints the corpus folder.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "requirements-test.txt"
#: sha256 of each Pillow sdist this script may use, as PyPI lists them.
SDIST_SHA256 = {
    "11.3.0": "3828ee7586cd0b2091b6209e5ad53e20d0649bbe87164a459d0676e035e8f523",
}
MEMBERS = "Tests/images/"
COMPLETE = ".complete"


class FetchError(RuntimeError):
    """The corpus cannot be fetched; the message says why and what to do."""


def _log(message: str) -> None:
    print(f"corpus: {message}", file=sys.stderr, flush=True)


def pillow_version(requirements: Path = REQUIREMENTS) -> str:
    """The version pinned by ``pillow==`` in the requirements file."""
    match = re.search(r"^pillow==([\w.]+)\s*$", requirements.read_text(), re.M | re.I)
    if not match:
        raise FetchError(f"{requirements} has no 'pillow==<version>' line")
    return match.group(1)


def default_cache() -> Path:
    return Path(os.environ.get("FILTERLAB_CACHE", Path.home() / ".cache" / "filterlab"))


def corpus_dir(cache: Path | None = None, version: str | None = None) -> Path:
    """Where the corpus lives: ``<cache>/pillow-<version>-corpus/Tests/images``."""
    cache = default_cache() if cache is None else cache
    version = pillow_version() if version is None else version
    return cache / f"pillow-{version}-corpus" / MEMBERS.rstrip("/")


def is_complete(cache: Path | None = None, version: str | None = None) -> bool:
    return (corpus_dir(cache, version).parents[1] / COMPLETE).is_file()


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _sdist(cache: Path, version: str) -> Path:
    """The sdist in the cache, downloaded and checked if it is not there yet."""
    expected = SDIST_SHA256.get(version)
    if expected is None:
        raise FetchError(
            f"no sha256 recorded for pillow {version}: add the digest of "
            f"pillow-{version}.tar.gz from https://pypi.org/project/pillow/{version}/#files "
            "to SDIST_SHA256 in scripts/fetch_pillow_corpus.py"
        )
    target = cache / f"pillow-{version}.tar.gz"
    if not target.is_file():
        cache.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=cache) as tmp:
            command = [sys.executable, "-m", "pip", "download", "--quiet",
                       "--disable-pip-version-check", "--no-binary", ":all:", "--no-deps",
                       "--dest", tmp, f"pillow=={version}"]
            _log(f"downloading the pillow {version} sdist from PyPI")
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise FetchError(f"pip download pillow=={version} failed:\n{done.stderr.strip()}")
            downloaded = next(Path(tmp).glob("*.tar.gz"), None)
            if downloaded is None:
                raise FetchError(f"pip download pillow=={version} gave no .tar.gz")
            downloaded.replace(target)
    actual = _sha256(target)
    if actual != expected:
        target.unlink()
        raise FetchError(
            f"sha256 mismatch for {target.name}:\n  expected {expected}\n  got      {actual}\n"
            "The file was deleted; run again to download it afresh."
        )
    return target


def _extract(sdist: Path, destination: Path, version: str) -> int:
    """Extract ``Tests/images/`` of the sdist into `destination`; return the file count."""
    prefix = f"pillow-{version}/{MEMBERS}"
    count = 0
    with tarfile.open(sdist) as archive:
        for member in archive:
            if not member.name.startswith(prefix) or ".." in Path(member.name).parts:
                continue
            relative = Path(member.name[len(f"pillow-{version}/"):])
            if member.isdir():
                (destination / relative).mkdir(parents=True, exist_ok=True)
            elif member.isfile():
                (destination / relative).parent.mkdir(parents=True, exist_ok=True)
                with archive.extractfile(member) as src, (destination / relative).open("wb") as dst:
                    shutil.copyfileobj(src, dst)
                count += 1
    return count


def fetch(cache: Path | None = None, version: str | None = None) -> Path:
    """Make sure the corpus is in the cache; return its folder."""
    cache = default_cache() if cache is None else cache
    version = pillow_version() if version is None else version
    images = corpus_dir(cache, version)
    root = images.parents[1]
    if is_complete(cache, version):
        return images
    sdist = _sdist(cache, version)
    partial = Path(tempfile.mkdtemp(dir=cache, prefix=".corpus-"))
    try:
        count = _extract(sdist, partial, version)
        if count == 0:
            raise FetchError(f"{sdist.name} holds no files under {MEMBERS}")
        (partial / COMPLETE).write_text(f"{count}\n")
        if root.exists():  # an earlier, interrupted extraction
            shutil.rmtree(root)
        partial.rename(root)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    _log(f"{count} files from pillow-{version}.tar.gz")
    return images


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, default=None,
                        help="cache folder (default: $FILTERLAB_CACHE or ~/.cache/filterlab)")
    args = parser.parse_args(argv)
    try:
        images = fetch(args.cache)
    except (FetchError, OSError, tarfile.TarError) as exc:
        print(f"corpus: error: {exc}", file=sys.stderr)
        return 1
    print(images)
    return 0


if __name__ == "__main__":
    sys.exit(main())
