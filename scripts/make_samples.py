#!/usr/bin/env python3
"""Make the sample images the page offers (public/samples/), reproducibly.

* ``photo.png``: "Coffee cup" by Rachel Michetti (CC0), from scikit-image's data folder,
  scaled to 384×256, 8-bit RGB.
* ``rgba.png``: "Chelsea the cat" by Stéfan van der Walt (CC0), from the same folder, scaled
  to 360×240 and cut out by a soft-edged ellipse: RGBA, with fully and partly transparent
  pixels.
* ``16bit.png``: generated here: a 256×256 16-bit greyscale zone plate (rings whose
  frequency rises to the Nyquist limit at the edges) over a shallow ramp that would band at
  8 bits.

The scikit-image wheel is the version pinned below, fetched once with ``pip download`` into
the cache (``$FILTERLAB_CACHE`` or ``~/.cache/filterlab``) and checked against its sha256;
only the two photographs are read from it. The outputs are committed, so building the app
needs none of this; run it again only to remake them.

Usage: ``python3 scripts/make_samples.py [--cache DIR]`` (needs NumPy and Pillow).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "public" / "samples"
sys.path.insert(0, str(ROOT / "py"))
from filterlab import imageio  # noqa: E402  (the app's own 16-bit PNG writer)

SKIMAGE = "scikit-image==0.25.2"
WHEEL = "scikit_image-0.25.2-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
WHEEL_SHA256 = "24cc986e1f4187a12aa319f777b36008764e856e5013666a4a83f8df083c2641"
PIP_PLATFORM = ["--platform", "manylinux2014_x86_64", "--python-version", "3.11",
                "--implementation", "cp", "--only-binary=:all:", "--no-deps"]


def _wheel(cache: Path) -> Path:
    path = cache / WHEEL
    if not path.is_file():
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
                        *PIP_PLATFORM, "-d", str(cache), SKIMAGE], check=True)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != WHEEL_SHA256:
        raise SystemExit(f"{path.name}: sha256 {digest}, expected {WHEEL_SHA256}")
    return path


def _photo(wheel: zipfile.ZipFile, name: str) -> Image.Image:
    with Image.open(io.BytesIO(wheel.read(f"skimage/data/{name}"))) as image:
        return image.convert("RGB")


def photo(wheel) -> Image.Image:
    return _photo(wheel, "coffee.png").resize((384, 256), Image.Resampling.LANCZOS)


def cut_out(wheel) -> Image.Image:
    cat = np.asarray(_photo(wheel, "chelsea.png").resize((360, 240), Image.Resampling.LANCZOS))
    y, x = np.mgrid[0:240, 0:360]
    distance = np.hypot((x - 180) / 165, (y - 120) / 112)  # 1 on the ellipse
    alpha = np.clip((1.0 - distance) * 9.0, 0.0, 1.0)  # a soft edge about 18 px wide
    return Image.fromarray(np.dstack([cat, np.rint(alpha * 255).astype(np.uint8)]))


def zone_plate(size: int = 256) -> np.ndarray:
    """uint16 size × size: a zone plate in [0.1, 0.9], above a 32-row ramp from 0.45 to 0.55."""
    y, x = np.mgrid[0:size, 0:size] - (size - 1) / 2
    values = 0.5 + 0.4 * np.cos(np.pi * (x * x + y * y) / size)
    values[-32:] = np.linspace(0.45, 0.55, size)[None, :]
    return np.rint(values * 65535).astype(np.uint16)[:, :, None]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path,
                        default=Path(os.environ.get("FILTERLAB_CACHE", Path.home() / ".cache" / "filterlab")))
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(_wheel(args.cache)) as wheel:
        photo(wheel).save(OUT / "photo.png", optimize=True)
        cut_out(wheel).save(OUT / "rgba.png", optimize=True)
    (OUT / "16bit.png").write_bytes(imageio.encode_samples(zone_plate()))
    for path in sorted(OUT.glob("*.png")):
        print(f"{path.relative_to(ROOT)}: {path.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
