"""The exported Python script reproduces the reference chain, reads images by the app's rules
and runs on its own: in-process over every catalog example in every border mode, and as a
program for PNG (8 and 16 bits) and .npy output."""

import ast
import io
import subprocess
import sys
import types
import warnings

import numpy as np
import pytest
from filterlab import _script_runtime as runtime
from filterlab import catalog, chain, imageio, script
from PIL import Image

import corpus
from oracles import BORDER_IDS, BORDERS, EXAMPLE_IDS, EXAMPLES, assert_close, image

#: The chain of the issue: a custom 5×5 kernel, a Gaussian with wrap, Sobel magnitude with a
#: constant border of 0.3.
THREE_STEPS = [
    {"op": "convolve", "params": {"kernel": [[1, -2, 0.5, 3, 1], [0, 1, -1, 2, 0.5], [2, 0, 4, -1, 1],
                                             [-1, 1, 0, 1, 2], [0.5, 2, 1, 0, -3]]}},
    {"op": "gaussian_blur", "params": {"sigma": 2.0, "mode": "wrap"}},
    {"op": "edges", "params": {"operator": "sobel", "output": "magnitude", "mode": "constant",
                               "cval": 0.3}},
]


def exported(chain_):
    """The script for `chain_`, loaded as a module (its command line does not run)."""
    module = types.ModuleType("exported_chain")
    exec(compile(script.python_script(chain_), "chain.py", "exec"), module.__dict__)
    return module


def test_every_operation_has_a_writer():
    assert script.writers() == set(catalog.OPS)


@pytest.mark.parametrize("border", BORDERS, ids=BORDER_IDS)
@pytest.mark.parametrize("name, example", EXAMPLES, ids=EXAMPLE_IDS)
def test_every_example_in_every_border_mode_matches_the_reference(name, example, border):
    mode, cval = border
    steps = [{"op": name, "params": {**example, "mode": mode, "cval": cval}}]
    module = exported(steps)
    for shape, channels in (((17, 13), 4), ((2, 3), 1)):  # alpha carried; radii past the image
        picture = image(shape, channels, seed=7)
        assert_close(module.apply_chain(picture, module.STEPS), chain.apply(picture, steps))


def test_a_chain_of_steps_rounds_to_float32_after_each_as_the_app_does():
    picture = image((24, 20), 3, seed=3)
    module = exported(THREE_STEPS)
    assert_close(module.apply_chain(picture, module.STEPS), chain.apply(picture, THREE_STEPS))


def test_disabled_steps_are_left_out_and_said_so():
    steps = [{"op": "box_blur", "enabled": False}, {"op": "laplace"}]
    text = script.python_script(steps)
    assert "Step 1 is disabled in Filter Lab, so it is not run" in text
    module = exported(steps)
    assert [f.__name__ for f in module.STEPS] == ["step_2"]
    picture = image((9, 8), 3)
    assert_close(module.apply_chain(picture, module.STEPS), chain.apply(picture, steps))


def test_the_script_carries_its_chain_as_cli_json():
    module = exported(THREE_STEPS)
    assert chain.from_json(module.CHAIN_JSON) == chain.validate(THREE_STEPS)


def test_scipy_is_called_where_its_semantics_match_and_numpy_written_where_not():
    def body(steps):
        return script.python_script(steps).split("# -- the chain", 1)[1].replace("\n# ", " ")

    gaussian = body([{"op": "gaussian_blur", "params": {"mode": "constant", "cval": 0.5}}])
    assert "ndimage.gaussian_filter(plane, sigma=2.0, truncate=4.0, mode='constant', cval=0.5)" in gaussian
    sobel = body([{"op": "edges", "params": {"mode": "nearest"}}])
    assert "ndimage.sobel(plane, axis=1, mode='nearest')" in sobel and "separable(" not in sobel
    constant = body([{"op": "edges", "params": {"mode": "constant", "cval": 0.3}}])
    assert "ndimage.sobel" not in constant and "separable(plane, SMOOTH_1, DERIVATIVE_1" in constant
    assert "scipy.ndimage pads each 1-D pass with cval" in constant
    log = body([{"op": "log", "params": {"mode": "constant", "cval": 0.2}}])
    assert "separable(plane, SECOND_1, GAUSSIAN_1" in log and "ndimage.gaussian_laplace" not in log
    rank_one = body([{"op": "convolve", "params": {"kernel": [[1, 2, 1], [2, 4, 2], [1, 2, 1]]}}])
    assert "runs as two 1-D passes of 3 taps" in rank_one
    full = body([{"op": "convolve", "params": {"kernel": [[0, 1, 0], [1, 1, 1], [0, 1, 0]]}}])
    assert "ndimage.convolve(plane, KERNEL_1, mode='reflect')" in full


def test_optional_helpers_are_included_only_when_called():
    def defined(steps):
        tree = ast.parse(script.python_script(steps))
        return {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}

    assert not defined([{"op": "box_blur"}]) & set(script.OPTIONAL_HELPERS)
    assert defined([{"op": "edges", "params": {"operator": "scharr"}}]) >= {"separable"}
    assert defined([{"op": "log", "params": {"mode": "constant", "cval": 1.0}}]) >= {"separable"}


def test_the_script_imports_only_numpy_pillow_scipy_and_the_standard_library():
    tree = ast.parse(script.python_script(THREE_STEPS))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module.split(".")[0])
    assert imported - set(sys.stdlib_module_names) == {"numpy", "PIL", "scipy"}


# -- reading images by the app's rules ---------------------------------------------------------


def _encoded(array, fmt="PNG"):
    out = io.BytesIO()
    Image.fromarray(array).save(out, format=fmt)
    return out.getvalue()


def _files():
    rng = np.random.default_rng(5)
    rgb = rng.integers(0, 256, (6, 7, 3), dtype=np.uint8)
    grey16 = rng.integers(0, 65536, (6, 7), dtype=np.uint16)
    palette = Image.fromarray(rgb).quantize(16)
    keyed = io.BytesIO()
    palette.save(keyed, format="PNG", transparency=3)
    exif = Image.Exif()
    exif[0x0112] = 6
    rotated = io.BytesIO()
    Image.fromarray(rgb).save(rotated, format="PNG", exif=exif)
    floats = io.BytesIO()
    Image.fromarray(rng.normal(0.5, 0.6, (5, 4)).astype(np.float32)).save(floats, format="TIFF")
    cmyk = io.BytesIO()
    Image.fromarray(rgb).convert("CMYK").save(cmyk, format="TIFF")
    return {
        "rgb": _encoded(rgb),
        "rgba": _encoded(rng.integers(0, 256, (5, 4, 4), dtype=np.uint8)),
        "grey": _encoded(rgb[:, :, 0]),
        "grey-alpha": _encoded(rgb[:, :, :2].copy()),
        "grey16": _encoded(grey16),
        "bilevel": _encoded(rgb[:, :, 0] > 128),
        "palette-keyed": keyed.getvalue(),
        "exif-rotated": rotated.getvalue(),
        "float-tiff": floats.getvalue(),
        "cmyk-tiff": cmyk.getvalue(),
        "gif": _encoded(rgb, fmt="GIF"),
        "jpeg": _encoded(rgb, fmt="JPEG"),
    }


@pytest.mark.parametrize("name", list(_files()))
def test_images_are_read_as_the_app_decodes_them(name, tmp_path):
    data = _files()[name]
    path = tmp_path / "in"
    path.write_bytes(data)
    values, depth = runtime.read_image(path)
    decoded = imageio.decode(data)
    np.testing.assert_array_equal(values, decoded.array)
    assert values.dtype == np.float32
    assert depth == (16 if decoded.info.bit_depth > 8 else 8)


def test_pillows_test_images_are_read_as_the_app_decodes_them():
    """Every corpus file the app decodes (up to 4 MP, fuzzer finds left out) reads the same,
    sample for sample; CIE L*a*b* TIFFs, converted by the app itself, are refused."""
    files = corpus.corpus_files()
    if not files:
        pytest.fail(corpus.MISSING)  # make test fetches the corpus first
    root = corpus.corpus_dir()
    compared = refused = 0
    for name in files:
        if corpus._HOSTILE.search(name):
            continue
        try:
            decoded = imageio.decode((root / name).read_bytes(), max_pixels=4_000_000)
        except imageio.ImageDecodeError:
            continue
        if decoded.info.mode == "LAB":
            with pytest.raises(ValueError, match="not supported by this script"):
                runtime.read_image(root / name)
            refused += 1
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow's notes on damaged metadata
            values, _ = runtime.read_image(root / name)
        np.testing.assert_array_equal(values, decoded.array, err_msg=name)
        compared += 1
    assert compared > 600 and refused >= 1


def test_lab_images_are_refused_with_a_message(tmp_path):
    path = tmp_path / "lab.tif"
    Image.new("LAB", (3, 2), (50, 0, 0)).save(path)
    with pytest.raises(ValueError, match="CIE L\\*a\\*b\\* images are not supported"):
        runtime.read_image(path)


# -- as a program --------------------------------------------------------------------------------


def _run(tmp_path, *args):
    path = tmp_path / "chain.py"
    path.write_text(script.python_script(THREE_STEPS))
    # -I: no PYTHONPATH, no user site, not even the script's folder: Filter Lab is out of reach.
    return subprocess.run([sys.executable, "-I", str(path), *map(str, args)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)


def _expected(samples):
    return chain.apply(imageio.to_float(samples), THREE_STEPS)


@pytest.mark.parametrize("channels", [3, 4])
def test_eight_bit_png_in_eight_bit_png_out(tmp_path, channels):
    samples = np.random.default_rng(channels).integers(0, 256, (21, 26, channels), dtype=np.uint8)
    (tmp_path / "in.png").write_bytes(imageio.encode_samples(samples))
    done = _run(tmp_path, "in.png", "out.png")
    assert done.returncode == 0, done.stderr
    out = imageio.decode((tmp_path / "out.png").read_bytes())
    assert out.native.dtype == np.uint8 and out.native.shape == samples.shape
    lsb = np.abs(out.native.astype(int) - imageio.quantise(_expected(samples), 8).astype(int))
    assert lsb.max() <= 1


def test_sixteen_bit_png_in_sixteen_bit_png_out_and_bits_overrides(tmp_path):
    samples = np.random.default_rng(16).integers(0, 65536, (19, 23, 1), dtype=np.uint16)
    (tmp_path / "in.png").write_bytes(imageio.encode_samples(samples))
    expected = _expected(samples)
    assert _run(tmp_path, "in.png", "out16.png").returncode == 0
    out = imageio.decode((tmp_path / "out16.png").read_bytes())
    assert out.info.bit_depth == 16
    assert np.abs(out.native.astype(int) - imageio.quantise(expected, 16).astype(int)).max() <= 1
    assert _run(tmp_path, "in.png", "out8.png", "--bits", "8").returncode == 0
    assert imageio.decode((tmp_path / "out8.png").read_bytes()).info.bit_depth == 8


def test_sixteen_bit_colour_png_is_written_and_read_back(tmp_path):
    values = image((7, 9), 4, seed=11)
    path = tmp_path / "rgba16.png"
    runtime.write_png(path, values, 16)
    import cv2  # Pillow reads 16-bit colour at 8 bits; OpenCV keeps all 16

    read = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)[:, :, [2, 1, 0, 3]]
    np.testing.assert_array_equal(read, imageio.quantise(values, 16))


def test_npy_output_is_the_unclipped_float32_result(tmp_path):
    samples = np.random.default_rng(9).integers(0, 256, (15, 18, 3), dtype=np.uint8)
    (tmp_path / "in.png").write_bytes(imageio.encode_samples(samples))
    assert _run(tmp_path, "in.png", "out.npy").returncode == 0
    result = np.load(tmp_path / "out.npy")
    assert result.dtype == np.float32 and result.shape == samples.shape
    assert result.max() > 1  # edges are not clipped
    assert_close(result, _expected(samples))


@pytest.mark.parametrize("args, message", [
    (["in.png", "out.jpg"], "OUT must end in .png or .npy"),
    (["in.png", "out.npy", "--bits", "16"], "--bits applies to PNG output only"),
    (["missing.png", "out.png"], "cannot read missing.png"),
])
def test_usage_errors_exit_with_status_2_and_one_line(tmp_path, args, message):
    (tmp_path / "in.png").write_bytes(imageio.encode_samples(np.zeros((2, 2, 1), np.uint8)))
    done = _run(tmp_path, *args)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr
