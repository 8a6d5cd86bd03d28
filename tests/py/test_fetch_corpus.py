"""Fetching Pillow's test images: the pinned version, the digest check, extraction of
Tests/images/ only, and a second run that does nothing."""

from __future__ import annotations

import hashlib
import io
import tarfile

import pytest
from corpus import fetcher

VERSION = "0.0.1"


def _sdist(path, files):
    with tarfile.open(path, "w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(f"pillow-{VERSION}/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def cache(tmp_path, monkeypatch):
    files = {"Tests/images/a.png": b"png", "Tests/images/sub/b.tif": b"tif",
             "Tests/test_a.py": b"code", "src/PIL/Image.py": b"code"}
    digest = _sdist(tmp_path / f"pillow-{VERSION}.tar.gz", files)
    monkeypatch.setitem(fetcher.SDIST_SHA256, VERSION, digest)
    return tmp_path


def test_the_version_is_the_requirements_pin():
    assert fetcher.pillow_version() == "11.3.0"
    assert fetcher.pillow_version() in fetcher.SDIST_SHA256


def test_extracts_only_the_images_once(cache, monkeypatch):
    images = fetcher.fetch(cache, VERSION)
    assert images == fetcher.corpus_dir(cache, VERSION)
    assert sorted(p.relative_to(images).as_posix() for p in images.rglob("*") if p.is_file()) == [
        "a.png", "sub/b.tif"]
    assert fetcher.is_complete(cache, VERSION)
    # A second run neither downloads nor extracts: the folder is marked complete.
    monkeypatch.setattr(fetcher, "_sdist", lambda *args: pytest.fail("fetched again"))
    assert fetcher.fetch(cache, VERSION) == images


def test_a_wrong_digest_stops_and_deletes_the_file(cache, monkeypatch, capsys):
    monkeypatch.setitem(fetcher.SDIST_SHA256, VERSION, "0" * 64)
    monkeypatch.setattr(fetcher, "pillow_version", lambda: VERSION)
    assert fetcher.main(["--cache", str(cache)]) == 1
    err = capsys.readouterr().err
    assert f"sha256 mismatch for pillow-{VERSION}.tar.gz" in err
    assert not (cache / f"pillow-{VERSION}.tar.gz").exists()
    assert not fetcher.is_complete(cache, VERSION)


def test_a_version_without_a_digest_says_where_to_find_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(fetcher, "pillow_version", lambda: "99.0.0")
    assert fetcher.main(["--cache", str(tmp_path)]) == 1
    assert "https://pypi.org/project/pillow/99.0.0/#files" in capsys.readouterr().err
