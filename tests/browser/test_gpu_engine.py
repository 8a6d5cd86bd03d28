"""The GPU engine's promises beyond accuracy: per-stage readback, recovery from a lost
device, no leaked buffers or proxies, and bad parameters stopped before any GPU work."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Error as PlaywrightError

from pages import png_bytes, random_image, run_api, settled_stats

TOL = 1e-5
IMAGE = png_bytes(random_image(31, 40, 3, seed=21))
CHAIN = [
    {"op": "gaussian_blur", "params": {"sigma": 1.3, "mode": "mirror"}},
    {"op": "edges", "params": {"operator": "sobel", "output": "x"}},
    {"op": "box_blur", "params": {"size": 5}, "enabled": False},
    {"op": "unsharp_mask", "params": {"sigma": 0.9, "amount": 0.7, "mode": "nearest"}},
]


def _stats(page):
    return page.evaluate("() => window.filterlab.debug('stats')")


def test_per_stage_readback_matches_the_reference_of_each_prefix(app):
    stages = app.evaluate(
        """async ([bytes, chain]) => {
            const r = await window.filterlab.run({ image: new Uint8Array(bytes), chain, stages: true });
            return r.stages.map((s) => Array.from(s));
        }""",
        [list(IMAGE), CHAIN],
    )
    enabled = [step for step in CHAIN if step.get("enabled", True)]
    assert len(stages) == len(enabled)
    for k, stage in enumerate(stages):
        prefix = [s for s in CHAIN[: CHAIN.index(enabled[k]) + 1]]
        cpu = run_api(app, IMAGE, prefix, pixels="cpu", compare=False)["pixels"]
        gpu = np.asarray(stage, np.float32).reshape(cpu.shape)
        assert np.abs(gpu - cpu).max() <= TOL * max(1.0, float(np.abs(cpu).max())), f"stage {k + 1}"


def test_a_destroyed_device_is_replaced_and_the_next_run_is_right(open_app):
    page = open_app()
    first = run_api(page, IMAGE, CHAIN)
    assert first["metrics"]["maxAbsError"] <= TOL
    assert page.evaluate("() => window.filterlab.debug('destroy-device')")["destroyed"]
    again = run_api(page, IMAGE, CHAIN)
    assert again["gpu"]["available"]
    assert again["metrics"]["maxAbsError"] <= TOL
    assert _stats(page)["deviceLosses"] == 1
    # The loss is reported to the user, who lost nothing.
    page.wait_for_function("() => document.querySelector('[data-testid=notice]').textContent.includes('device was lost')")
    third = run_api(page, IMAGE, [{"op": "laplace", "params": {}}])
    assert third["metrics"]["maxAbsError"] <= TOL


LOOP_JS = """async ([bytes, chain]) => {
    const image = new Uint8Array(bytes);
    await window.filterlab.run({ image, chain });
    for (let i = 0; i < 100; i++) {
        const step = { ...chain[0], params: { ...chain[0].params, sigma: 0.5 + (i % 7) * 0.25 } };
        await window.filterlab.run({ chain: [step, ...chain.slice(1)], compare: i % 10 === 0 });
    }
}"""


def test_repeated_runs_leak_no_buffers_and_no_proxies(app):
    # The first 100 runs fill the buffer pool and the pipeline cache; the next 100 must not
    # hold one buffer or one JS reference more. The cache itself may still gain a few
    # specialised pipelines (neighbouring radii compiled in the background, dropped from the
    # compile queue the first time round) and their bind groups, each one JS reference: those
    # are counted apart.
    app.evaluate(LOOP_JS, [list(IMAGE), CHAIN])
    baseline = settled_stats(app)
    app.evaluate(LOOP_JS, [list(IMAGE), CHAIN])
    after = settled_stats(app)
    assert after["liveBuffers"] == baseline["liveBuffers"]
    assert after["jsRefs"] - after["cached"] == baseline["jsRefs"] - baseline["cached"]
    assert baseline["pipelines"] <= after["pipelines"] <= baseline["pipelines"] + 16


def test_a_new_image_size_releases_the_old_buffers(app):
    run_api(app, png_bytes(random_image(64, 64, 4, seed=1)), CHAIN)
    big = _stats(app)["liveBuffers"]
    run_api(app, png_bytes(random_image(8, 9, 4, seed=2)), CHAIN)
    assert _stats(app)["liveBuffers"] == big


@pytest.mark.parametrize(
    ("chain", "message"),
    [
        ([{"op": "gaussian_blur", "params": {"sigma": 40}}], "sigma must be between 0.1 and 16"),
        ([{"op": "convolve", "params": {"kernel": [[1, 2], [3, 4]]}}], "odd"),
        ([{"op": "convolve", "params": {"kernel": [[0, 0, 0], [0, None, 0], [0, 0, 0]]}}], "kernel"),
        ([{"op": "emboss_all_the_things", "params": {}}], "unknown operation"),
        ([{"op": "box_blur", "params": {"size": 4}}], "size"),
    ],
)
def test_bad_parameters_are_rejected_before_any_gpu_work(app, chain, message):
    run_api(app, IMAGE, CHAIN)
    work = ("liveBuffers", "pipelines", "blockingCompiles")
    before = settled_stats(app)
    with pytest.raises(PlaywrightError) as info:
        run_api(app, IMAGE, chain)
    text = str(info.value)
    assert message.lower() in text.lower()
    assert "Traceback" not in text
    after = settled_stats(app)
    assert {k: after[k] for k in work} == {k: before[k] for k in work}, (before, after)
    assert after["jsRefs"] <= before["jsRefs"]  # a value the last run held may be released since


def _encoded(array, fmt="PNG", **options):
    out = io.BytesIO()
    Image.fromarray(array).save(out, format=fmt, **options)
    return out.getvalue()


@pytest.mark.parametrize(
    "kind",
    ["gray16", "la8", "palette", "tiff-float"],
)
def test_every_upload_format_matches_the_reference(app, kind):
    rng = np.random.default_rng(41)
    if kind == "gray16":
        data = _encoded(rng.integers(0, 65536, size=(23, 19)).astype(np.uint16))
    elif kind == "la8":
        data = _encoded(rng.integers(0, 256, size=(23, 19, 2)).astype(np.uint8))
    elif kind == "palette":
        image = Image.fromarray(rng.integers(0, 256, size=(23, 19, 3)).astype(np.uint8)).quantize(16)
        out = io.BytesIO()
        image.save(out, format="PNG")
        data = out.getvalue()
    else:
        data = _encoded(rng.random((23, 19)).astype(np.float32), "TIFF")
    result = run_api(app, data, CHAIN, pixels="gpu")
    assert result["metrics"]["maxAbsError"] <= TOL


# chunks of about 1 KiB: several on these small images
UPLOADS = ["write", "chunks:0.001", "mapped", "staging", "bitmap"]


@pytest.mark.parametrize("method", UPLOADS)
def test_every_upload_method_gives_the_gpu_the_exact_samples(app, method):
    rng = np.random.default_rng(43)
    rgba = rng.integers(0, 256, size=(19, 64, 4), dtype=np.uint8)  # rows of 256 bytes
    rgba[0, :, 3] = 0    # premultiplying would lose these colours
    rgba[1, :, 3] = 255
    rgba[2, :, 3] = 1
    gray16 = _encoded(rng.integers(0, 65536, size=(7, 9)).astype(np.uint16))
    floats = _encoded(rng.random((5, 11)).astype(np.float32), "TIFF")
    bitmap = method == "bitmap"
    cases = [(png_bytes(rgba), method), (png_bytes(rgba[:, :63]), "write" if bitmap else method),
             (png_bytes(rgba[..., :3]), "write" if bitmap else method),
             (gray16, "write" if bitmap else method), (floats, "write" if bitmap else method)]
    for data, used in cases:
        run_api(app, data, [], compare=False)
        for action in ("upload", "upload-cold"):
            check = app.evaluate("([a, m]) => window.filterlab.debug(a, m)", [action, method])
            assert check["exact"] and check["method"] == used, (action, used, check)
    # and a chain uploaded this way matches the reference
    app.evaluate("(m) => window.filterlab.debug('entries', 'upload=' + m)", method)
    try:
        result = run_api(app, png_bytes(rgba[::-1]), CHAIN)  # a new image: uploaded as it loads
    finally:
        app.evaluate("() => window.filterlab.debug('entries', '')")
    assert result["metrics"]["maxAbsError"] <= TOL


def test_the_staging_buffer_is_kept_for_images_no_larger_than_the_last(app):
    """Uploads go through one MAP_WRITE buffer kept from image to image: an image no larger
    than it (and not more than four times smaller) reuses it, another replaces it; each
    upload still gives the GPU exactly the decoded samples, and no buffer is left behind."""
    rng = np.random.default_rng(44)
    kept = []
    for h, w in ((48, 64), (32, 32), (16, 16), (64, 64), (47, 63)):
        image = png_bytes(rng.integers(0, 256, size=(h, w, 4), dtype=np.uint8))
        run_api(app, image, [], compare=False)
        # the first upload starts from no staging buffer, whatever earlier tests left
        action = "upload-cold" if not kept else "upload"
        check = app.evaluate("(a) => window.filterlab.debug(a)", action)
        assert check["exact"] and check["method"] == "staging", check
        kept.append(_stats(app)["stagingBytes"])
    # 12,288 bytes serve 4,096 (within 4×); 1,024 bytes get their own buffer, and 16,384 bytes
    # theirs, which 11,844 bytes then reuse
    assert kept == [12288, 12288, 1024, 16384, 16384]
    before = _stats(app)["liveBuffers"]
    app.evaluate("() => window.filterlab.debug('upload-cold')")  # drops every buffer, then uploads
    assert _stats(app)["stagingBytes"] == 47 * 63 * 4
    run_api(app, image, [], compare=False)
    assert _stats(app)["liveBuffers"] == before


def test_a_new_image_s_staging_buffer_is_mapped_while_it_decodes(app):
    """Once an image's header is read, its upload's staging buffer is made and mapped while
    the pixels decode, and the upload takes that mapping: the GPU still gets exactly the
    decoded samples. A file that fails after its header leaves the mapped buffer for the next
    image of its size, and no buffer behind."""
    rng = np.random.default_rng(45)

    def image(h, w, c):
        return png_bytes(rng.integers(0, 256, size=(h, w, c), dtype=np.uint8))

    def load(data):
        result = run_api(app, data, CHAIN)
        assert result["metrics"]["maxAbsError"] <= TOL
        return _stats(app)

    load(image(33, 29, 4))
    app.evaluate("() => window.filterlab.debug('upload-cold')")  # a staging buffer of its size
    before = _stats(app)
    assert before["stagingBytes"] == 33 * 29 * 4
    after = load(image(61, 45, 3))  # more than that buffer holds
    assert after["stagingBytes"] == (61 * 45 * 3 + 3) // 4 * 4
    assert after["stagingEarlyMaps"] == before["stagingEarlyMaps"] + 1

    broken = image(70, 50, 4)
    with pytest.raises(PlaywrightError, match="truncated or corrupt"):
        run_api(app, broken[: len(broken) // 2], CHAIN)  # its header is whole
    failed = _stats(app)
    assert failed["stagingBytes"] == 70 * 50 * 4  # made and mapped before the pixels failed
    assert failed["liveBuffers"] == after["liveBuffers"]
    # the image still loaded is unchanged and still right
    assert run_api(app, None, CHAIN)["metrics"]["maxAbsError"] <= TOL

    again = load(image(70, 50, 4))  # its upload takes the mapping the broken file started
    assert again["stagingBytes"] == 70 * 50 * 4
    assert again["stagingEarlyMaps"] == failed["stagingEarlyMaps"] + 1
    assert again["liveBuffers"] == after["liveBuffers"]
    check = app.evaluate("() => window.filterlab.debug('upload', 'staging')")
    assert check["exact"] and check["method"] == "staging", check


def test_unknown_upload_methods_and_options_are_refused(app):
    for action, argument in (("upload", "teleport"), ("upload", "chunks:-1"), ("entries", "upload=mapped:2"),
                             ("entries", "separable=threepass")):
        with pytest.raises(PlaywrightError, match="unknown"):
            app.evaluate("([a, b]) => window.filterlab.debug(a, b)", [action, argument])


SHARPEN_5X5 = (2 * np.eye(5)[2][:, None] * np.eye(5)[2] - 1 / 25).tolist()
# Random 7×7 weights scaled to an absolute sum of 1, so that no step amplifies the rounding of
# the steps before it beyond the tolerance (the gradient after it would, by up to 8×).
_RANDOM_7X7 = np.random.default_rng(9).normal(size=(7, 7))
VARIANT_CHAIN = [  # fused and two-pass blurs, a blocked correlation, a gradient and a correlation
    {"op": "gaussian_blur", "params": {"sigma": 3.0, "mode": "mirror"}},
    {"op": "box_blur", "params": {"size": 5, "mode": "constant", "cval": 0.3}},
    {"op": "gaussian_blur", "params": {"sigma": 9.0, "mode": "wrap"}},
    {"op": "convolve", "params": {"kernel": np.round(_RANDOM_7X7 / np.abs(_RANDOM_7X7).sum(), 4).tolist(),
                                  "mode": "nearest"}},
    {"op": "edges", "params": {"operator": "sobel", "mode": "reflect"}},
    {"op": "convolve", "params": {"kernel": SHARPEN_5X5, "mode": "constant", "cval": 0.2}},
    {"op": "unsharp_mask", "params": {"sigma": 1.1, "amount": 0.6}},
]
# What the benchmark page compares (docs/benchmarks.md); each must stay exact.
VARIANTS = {
    "": ["1:gaussian_blur (unpacking)", "5:edges", "6:convolve"],
    "separable=twopass": ["1:gaussian_blur x (unpacking)", "1:gaussian_blur y"],
    "pairs=fused": ["1:gaussian_blur (unpacking)", "5:edges + 6:convolve"],
    "separable=twopass,separable.along_y_rows:along_y": ["1:gaussian_blur y"],
    "separable=twopass,separable.along_y_rows:along_y_direct": ["1:gaussian_blur y"],
    "convolve.tiled:blocked": ["5:edges", "6:convolve"],
    "unfused": ["unpack", "1:gaussian_blur"],
    "separable=twopass,unfused": ["unpack", "1:gaussian_blur x", "1:gaussian_blur y"],
}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_every_benchmark_variant_matches_the_reference(app, variant):
    image = png_bytes(random_image(37, 70, 4, seed=31))
    app.evaluate("(v) => window.filterlab.debug('entries', v)", variant)
    try:
        gpu = run_api(app, image, VARIANT_CHAIN, pixels="gpu")
    finally:
        app.evaluate("() => window.filterlab.debug('entries', '')")
    labels = [p["label"] for p in gpu["timings"]["passes"]]
    assert set(VARIANTS[variant]) <= set(labels), labels
    cpu = run_api(app, image, VARIANT_CHAIN, pixels="cpu", compare=False)["pixels"]
    assert np.abs(gpu["pixels"] - cpu).max() <= TOL * max(1.0, float(np.abs(cpu).max()))


BAND_CHAIN = [  # the first pass unpacks as it reads; halos then grow and shrink: 2, 1, 12, 4, 1...
    {"op": "box_blur", "params": {"size": 5, "mode": "mirror"}},
    {"op": "laplace", "params": {"neighbours": 4, "mode": "wrap"}},
    {"op": "gaussian_blur", "params": {"sigma": 3.0, "mode": "wrap"}},
    {"op": "convolve", "params": {"kernel": np.round(np.random.default_rng(3).normal(size=(9, 9)), 2).tolist(),
                                  "mode": "constant", "cval": 0.4}},
    {"op": "edges", "params": {"operator": "scharr", "mode": "mirror"}},
    {"op": "unsharp_mask", "params": {"sigma": 1.0, "amount": 0.8, "mode": "nearest"}},
    {"op": "laplace", "params": {"neighbours": 8, "mode": "reflect"}},
    {"op": "box_blur", "params": {"size": 5, "mode": "constant", "cval": 0.9}},
    {"op": "convolve", "params": {"kernel": [[1, 2, 1], [2, 4, 2], [1, 2, 1]], "mode": "wrap"}},
    # one pass unbanded, two passes banded
    {"op": "edges", "params": {"operator": "prewitt", "output": "y", "mode": "wrap"}},
    {"op": "convolve", "params": {"kernel": SHARPEN_5X5, "mode": "mirror"}},
]


@pytest.mark.parametrize("band_rows", [1, 7, 16])
def test_forced_bands_give_the_same_result_as_one_band(app, band_rows):
    image = png_bytes(random_image(45, 33, 4, seed=8))
    whole = run_api(app, image, BAND_CHAIN, pixels="gpu", stages=True)
    assert whole["timings"]["bands"] == 1
    app.evaluate("(rows) => window.filterlab.debug('band-rows', rows)", band_rows)
    try:
        banded = run_api(app, image, BAND_CHAIN, pixels="gpu", stages=True)
    finally:
        app.evaluate("() => window.filterlab.debug('band-rows', '')")
    assert banded["timings"]["bands"] == -(-45 // band_rows)
    np.testing.assert_array_equal(banded["pixels"], whole["pixels"])
    tol = TOL * max(1.0, float(np.abs(whole["pixels"]).max()))
    assert banded["metrics"]["maxAbsError"] <= tol
