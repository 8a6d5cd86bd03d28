"""The sample images the page offers: what each one is, that they stay small, that the
generated one is what scripts/make_samples.py makes, and that the README says where each
comes from and under which licence."""

import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest
from filterlab import imageio

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "public" / "samples"
_spec = importlib.util.spec_from_file_location("make_samples", ROOT / "scripts" / "make_samples.py")
make_samples = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_samples)


def _decoded(name):
    return imageio.decode((SAMPLES / f"{name}.png").read_bytes())


@pytest.mark.parametrize("name, size, channels, bits", [
    ("photo", (384, 256), 3, 8), ("16bit", (256, 256), 1, 16), ("rgba", (360, 240), 4, 8)])
def test_each_sample_is_what_the_page_says(name, size, channels, bits):
    decoded = _decoded(name)
    assert (decoded.width, decoded.height, decoded.channels, decoded.info.bit_depth) == (*size, channels, bits)
    assert decoded.width * decoded.height <= 512 * 512
    html = (ROOT / "index.html").read_text()
    assert f'data-testid="sample-{name}" data-sample="{name}"' in html
    assert f"{size[0]}×{size[1]}" in re.search(rf'data-sample="{name}"\s+title="([^"]+)"', html).group(1)


def test_the_16_bit_sample_uses_more_than_8_bits():
    native = _decoded("16bit").native
    assert native.dtype == np.uint16
    assert (native % 257 != 0).mean() > 0.9  # not 8-bit levels scaled up (k × 257)
    np.testing.assert_array_equal(native, make_samples.zone_plate())  # as the script makes it


def test_the_rgba_sample_has_clear_and_partly_clear_pixels():
    alpha = _decoded("rgba").native[:, :, 3]
    assert alpha.min() == 0 and alpha.max() == 255 and ((alpha > 0) & (alpha < 255)).any()


def test_the_readme_gives_each_samples_source_and_licence():
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## Sample images\n", 1)[1].split("\n## ", 1)[0]
    for name in ("photo.png", "16bit.png", "rgba.png"):
        assert f"`{name}`" in section
    assert section.count("CC0") >= 2 and make_samples.SKIMAGE.replace("==", " ") in section
