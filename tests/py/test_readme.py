"""The README's table of limits states the limits the code enforces."""

import math
import re
from pathlib import Path

from filterlab import chain, imageio, kernels

ROOT = Path(__file__).resolve().parents[2]


def _limits_table():
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## Limits\n", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1:3] for line in section.splitlines() if line.startswith("| ")]
    return {what.strip(): limit.strip() for what, limit in rows[1:]}  # after the header row


def test_limits_table_matches_the_code():
    files = (ROOT / "app" / "files.js").read_text()
    factors = re.search(r"MAX_FILE_BYTES = ([\d\s*]+);", files).group(1).split("*")
    max_file_mib = math.prod(int(factor) for factor in factors) / 2**20
    mp = {channels: f"{limit / 1e6:g} MP" for channels, limit in imageio.MAX_PIXELS.items()}
    assert _limits_table() == {
        "greyscale image": mp[1],
        "greyscale image with alpha": mp[2],
        "RGB image": mp[3],
        "RGBA image": mp[4],
        "file dropped on the page": f"{max_file_mib:g} MiB",
        "steps in a chain": str(chain.MAX_STEPS),
        "chain JSON": f"{chain.MAX_JSON_BYTES / 1e6:g} MB",
        "nesting of lists and objects in a chain": str(chain.MAX_DEPTH),
        "kernel": f"{kernels.MAX_SIZE} × {kernels.MAX_SIZE}",
        "kernel values": f"±{kernels.MAX_VALUE:,.0f}",
        "chain link (`#chain=`)": f"{chain.MAX_URL_LENGTH} characters",
        "kernel ÷ divisor": f"±{kernels.MAX_VALUE:,.0f}",
    }


def test_memory_model_in_the_readme():
    text = (ROOT / "README.md").read_text()
    assert f"within {imageio.IMAGE_MEMORY / 2**30:g} GiB" in text
    assert "C × (s + 4) + 4 bytes a pixel" in text
