import io
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from filterlab import catalog, chain, imageio
from filterlab.cli import _held_stderr, main
from PIL import Image

PY_DIR = Path(__file__).resolve().parents[2] / "py"

CHAIN = [
    {"op": "gaussian_blur", "params": {"sigma": 1.5}},
    {"op": "unsharp_mask", "params": {"amount": 0.5}, "enabled": False},
    {"op": "edges", "params": {"operator": "scharr"}},
]


@pytest.fixture
def files(tmp_path):
    pixels = np.random.default_rng(0).random((20, 24, 4), dtype=np.float32)
    source = tmp_path / "in.png"
    source.write_bytes(imageio.encode_png(pixels))
    chain_file = tmp_path / "chain.json"
    chain_file.write_text(json.dumps(CHAIN))
    return tmp_path, source, chain_file


def run(argv, capsys):
    status = main(argv)
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize("bits", [8, 16])
def test_apply_matches_reference(files, capsys, bits):
    tmp, source, chain_file = files
    out_file = tmp / "out.png"
    status, out, err = run(
        ["apply", "--chain", str(chain_file), "--bits", str(bits), str(source), str(out_file)],
        capsys,
    )
    assert (status, err) == (0, "")
    decoded = imageio.decode(source.read_bytes()).array
    expected = imageio.quantise(chain.apply(decoded, CHAIN), bits)
    written = imageio.decode(out_file.read_bytes())
    assert written.info.bit_depth == bits and written.channels == 4
    if bits == 8:
        np.testing.assert_array_equal(np.rint(written.array * 255), expected)
    else:
        import cv2

        read = cv2.imdecode(np.frombuffer(out_file.read_bytes(), np.uint8), cv2.IMREAD_UNCHANGED)
        np.testing.assert_array_equal(read[:, :, [2, 1, 0, 3]], expected)


def test_ops_listing(capsys):
    status, out, err = run(["ops"], capsys)
    assert status == 0 and err == ""
    for name in catalog.OPS:
        assert f"\n{name}: " in "\n" + out
    assert "sigma      float 0.1..16 step 0.1 px (default 2.0)" in out


def test_ops_json(capsys):
    status, out, _ = run(["ops", "--json"], capsys)
    assert status == 0
    assert json.loads(out) == catalog.describe()


def _error(argv, capsys):
    status, out, err = run(argv, capsys)
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("filterlab: error: ")
    assert "Traceback" not in err
    return err.strip()


def test_bad_chain_json(files, capsys):
    tmp, source, chain_file = files
    chain_file.write_text("[{")
    err = _error(["apply", "--chain", str(chain_file), str(source), str(tmp / "o.png")], capsys)
    assert "chain is not valid JSON" in err


@pytest.mark.parametrize(
    "steps, message",
    [
        ([{"op": "sharpen"}], "step 1: unknown operation 'sharpen'"),
        ([{"op": "gaussian_blur", "params": {"sigma": 40}}],
         "step 1 (gaussian_blur): sigma must be between 0.1 and 16, got 40"),
    ],
)
def test_invalid_chain(files, capsys, steps, message):
    tmp, source, chain_file = files
    chain_file.write_text(json.dumps(steps))
    err = _error(["apply", "--chain", str(chain_file), str(source), str(tmp / "o.png")], capsys)
    assert err.startswith(f"filterlab: error: {chain_file}: {message}")


def test_corrupt_image(files, capsys):
    tmp, source, chain_file = files
    source.write_bytes(source.read_bytes()[:60])
    err = _error(["apply", "--chain", str(chain_file), str(source), str(tmp / "o.png")], capsys)
    assert "The file is truncated or corrupt" in err
    assert not (tmp / "o.png").exists()


def test_missing_files(files, capsys):
    tmp, source, chain_file = files
    err = _error(["apply", "--chain", str(tmp / "none.json"), str(source), "o.png"], capsys)
    assert "chain file not found" in err
    err = _error(["apply", "--chain", str(chain_file), str(tmp / "none.png"), "o.png"], capsys)
    assert "input image not found" in err


def test_usage_errors(capsys):
    assert "required" in _error([], capsys)
    assert "--bits" in _error(["apply", "--bits", "12", "--chain", "c", "a", "b"], capsys)
    assert "unrecognized" in _error(["ops", "--yaml"], capsys)


def test_module_entry_point(files):
    tmp, source, chain_file = files
    env = {**os.environ, "PYTHONPATH": str(PY_DIR)}
    ok = subprocess.run(
        [sys.executable, "-m", "filterlab", "apply", "--chain", str(chain_file), str(source),
         str(tmp / "out.png")],
        capture_output=True, text=True, env=env, check=False,
    )
    assert ok.returncode == 0, ok.stderr
    assert (tmp / "out.png").read_bytes().startswith(b"\x89PNG")
    chain_file.write_text('[{"op": "nope"}]')
    bad = subprocess.run(
        [sys.executable, "-m", "filterlab", "apply", "--chain", str(chain_file), str(source),
         str(tmp / "out.png")],
        capture_output=True, text=True, env=env, check=False,
    )
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert bad.stderr.count("\n") == 1 and "unknown operation 'nope'" in bad.stderr


# -- one line on standard error, whatever the C libraries print -----------------------------


def _tiff(pixels, **options):
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="TIFF", **options)
    return buffer.getvalue()


def _noisy_tiffs():
    """Broken TIFFs whose decoding makes libtiff write to file descriptor 2."""
    pixels = np.random.default_rng(3).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    garbage = bytearray(_tiff(pixels, compression="tiff_adobe_deflate"))
    with Image.open(io.BytesIO(bytes(garbage))) as image:
        start = image.tag_v2[273][0]
    garbage[start : start + 50] = bytes(50)  # the zlib stream's header is gone
    webp = io.BytesIO()
    Image.fromarray(pixels[:8, :8]).save(webp, format="WEBP", lossless=True)
    # A WebP-compressed TIFF: this libtiff has no WebP codec, and says so on stderr.
    return {"deflate": bytes(garbage), "webp": imageio._tiny_tiff(50001, webp.getvalue(), 3)}


def _module(argv, env_path=PY_DIR, **options):
    env = {**os.environ, "PYTHONPATH": str(env_path)}
    return subprocess.run([sys.executable, *argv], capture_output=True, text=True, env=env,
                          check=False, timeout=60, **options)


@pytest.mark.parametrize(
    "name, message",
    [("deflate", "The file is truncated or corrupt: its image data could not be decoded."),
     ("webp", "This TIFF uses WebP compression, which this installation's TIFF library cannot "
              "decode")],
)
def test_native_library_output_is_held_back(files, name, message):
    tmp, _, chain_file = files
    source = tmp / f"{name}.tif"
    source.write_bytes(_noisy_tiffs()[name])
    # Decoding the file directly does make libtiff write to stderr...
    direct = _module(["-c", "import sys; from filterlab import imageio\n"
                            "try: imageio.decode(open(sys.argv[1], 'rb').read())\n"
                            "except imageio.ImageDecodeError: pass", str(source)])
    assert direct.returncode == 0 and direct.stderr.strip(), "the test file is not noisy"
    # ...but the command line says one thing, once.
    cli = _module(["-m", "filterlab", "apply", "--chain", str(chain_file), str(source),
                   str(tmp / "out.png")])
    assert cli.returncode == 2
    assert cli.stderr.count("\n") == 1 and cli.stderr.startswith("filterlab: error: "), cli.stderr
    assert cli.stderr.startswith(f"filterlab: error: {source}: {message}")
    assert not (tmp / "out.png").exists()


def test_held_output_is_dropped_after_a_result_or_a_refusal(capfd):
    with _held_stderr():
        os.write(2, b"libtiff: a warning about a tag\n")
        warnings.warn("Corrupt EXIF data", UserWarning)
    with pytest.raises(imageio.ImageDecodeError):
        with _held_stderr():
            os.write(2, b"ZIPDecode: Decoding error\n")
            raise imageio.ImageDecodeError("The file is truncated or corrupt: ...")
    print("after", file=sys.stderr)
    assert capfd.readouterr().err == "after\n"


def test_held_output_is_written_out_before_an_unexpected_error(capfd):
    with pytest.raises(RuntimeError, match="a bug"):
        with _held_stderr():
            os.write(2, b"libtiff: what went wrong\n")
            warnings.warn("something odd", UserWarning)
            raise RuntimeError("a bug")
    err = capfd.readouterr().err
    assert err.startswith("libtiff: what went wrong\n")
    assert "UserWarning: something odd" in err
