"""The GPU engine against the NumPy reference, in the real worker path: every example of every
operation in the catalog × every border mode × awkward sizes × 1, 3 and 4 channels, plus
chains.

The whole grid for one image runs inside the page (one evaluate call), so the test measures
the engine, not the test harness. The page's own comparison is the oracle's verdict; the
reference itself is checked against scipy.ndimage and OpenCV in tests/py."""

from __future__ import annotations

import numpy as np
import pytest
from filterlab import borders, catalog

from pages import png_bytes, random_image, run_api

SIZES = [(1, 1), (13, 17), (48, 64), (67, 130)]  # (height, width); none a multiple of 16
CHANNELS = [1, 3, 4]
TOL = 1e-5

_rng = np.random.default_rng(7)
NON_SEPARABLE_5X5 = np.round(_rng.normal(size=(5, 5)), 3).tolist()
SHARPEN_5X5 = (2 * np.eye(5)[2][:, None] * np.eye(5)[2] - 1 / 25).tolist()  # the benchmark's

GRID_JS = """async ([bytes, cases]) => {
    const out = [];
    let image = new Uint8Array(bytes);
    for (const chain of cases) {
        const r = await window.filterlab.run({ image, chain, compare: true });
        image = undefined;  // loaded once; later cases reuse it
        out.push(r.metrics.maxAbsError);
    }
    return out;
}"""


@pytest.mark.parametrize("channels", CHANNELS)
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("op", list(catalog.OPS))
def test_every_example_in_every_border_mode_matches_the_reference(app, op, size, channels):
    """Each catalog operation's examples cover its GPU code paths (tiled and row-staged 2-D
    kernels, separable kernels, radii beyond the tiled vertical pass); each runs in every
    border mode with a non-zero constant."""
    image = png_bytes(random_image(*size, channels, seed=size[0] * 10 + channels))
    cases, names = [], []
    for i, example in enumerate(catalog.OPS[op].examples):
        for mode in borders.MODES:
            cases.append([{"op": op, "params": {**example, "mode": mode, "cval": 0.25}}])
            names.append(f"{op} example {i} {mode}")
    errors = app.evaluate(GRID_JS, [list(image), cases])
    worst = {name: err for name, err in zip(names, errors) if not err <= TOL}
    assert not worst, f"GPU differs from the reference by more than {TOL}: {worst}"


CHAINS = [
    [{"op": "gaussian_blur", "params": {"sigma": 1.0}},
     {"op": "gaussian_blur", "params": {"sigma": 2.0, "mode": "wrap"}},
     {"op": "edges", "params": {"operator": "sobel"}}],
    [{"op": "edges", "params": {"operator": "scharr", "mode": "nearest"}},
     {"op": "unsharp_mask", "params": {"sigma": 1.5, "amount": 2.0}},
     {"op": "box_blur", "params": {"size": 3, "mode": "constant", "cval": 0.5}},
     {"op": "laplace", "params": {"neighbours": 8, "mode": "mirror"}}],
    [{"op": "convolve", "params": {"kernel": NON_SEPARABLE_5X5, "mode": "reflect"}},
     {"op": "gaussian_blur", "params": {"sigma": 0.8}, "enabled": False},
     {"op": "box_blur", "params": {"size": 7}},
     {"op": "unsharp_mask", "params": {"sigma": 0.7, "amount": 0.5, "mode": "wrap"}},
     {"op": "edges", "params": {"operator": "prewitt", "output": "x"}}],
]


@pytest.mark.parametrize("variant", ["", "separable=twopass"])
def test_separable_filters_in_one_pass_or_two_match_the_reference(app, variant):
    """By default radii up to the fused pass's largest run in one pass, and larger ones as two
    passes; with separable=twopass every radius runs as two passes. A first step reads the
    upload (radius 2, 12, 28, 30 and 32 here); a blur after another step reads float32 (radius
    8, 10, 12, 16 and 24: each of the planner's blocks and windows for that entry point,
    plan.WINDOW_TILES). Every border mode, images smaller and larger than the tiles (so tiles
    inside the image take the fused pass's path without the border rule)."""
    largest = 32  # shaders.SHADERS["separable_tile"].max_radius, checked under CPython

    def blur(sigma, mode):
        return [{"op": "gaussian_blur", "params": {"sigma": sigma, "mode": mode, "cval": 0.25}}]

    cases = []
    for mode in borders.MODES:
        cases += [blur(sigma, mode) for sigma in (3.0, largest / 4, (largest + 4) / 4)]
        cases.append([{"op": "box_blur", "params": {"size": 5, "mode": mode, "cval": 0.25}}])
        box = {"op": "box_blur", "params": {"size": 3, "mode": "nearest"}}
        cases += [[box, *blur(sigma, mode)] for sigma in (2.0, 2.5, 3.0, 4.0, 6.0)]
    # radii 28 and 30, on an image wider than their tiles' windows and taller than their
    # columns' reach
    large = [blur(sigma, mode) for mode in borders.MODES for sigma in (7.0, 7.5)]
    app.evaluate("(v) => window.filterlab.debug('entries', v)", variant)
    try:
        for height, width, chains in [(13, 17, cases), (67, 130, cases), (150, 420, large)]:
            image = png_bytes(random_image(height, width, 4, seed=width))
            errors = app.evaluate(GRID_JS, [list(image), chains])
            worst = {str(c[0]["params"]): e for c, e in zip(chains, errors) if not e <= TOL}
            assert not worst, f"{height}×{width}: {worst}"
    finally:
        app.evaluate("() => window.filterlab.debug('entries', '')")


@pytest.mark.parametrize("sizes", [[(13, 17), (1, 1)], [(67, 130), (40, 300)]], ids=["small", "tiles"])
def test_a_gradient_and_the_correlation_after_it_match_the_reference_across_borders(app, sizes):
    """The GPU runs these two steps as one pass (edges_convolve.wgsl), each with its own
    border rule: every rule with itself and with another, on images smaller and larger than
    its tiles."""
    cases = []
    for i, edge_mode in enumerate(borders.MODES):
        for mode in (edge_mode, borders.MODES[(i + 2) % len(borders.MODES)]):
            edges = {"operator": ("sobel", "scharr", "prewitt")[i % 3], "output": ("magnitude", "x", "y")[i % 3],
                     "mode": edge_mode, "cval": 0.6}
            kernel = SHARPEN_5X5 if len(cases) % 2 else NON_SEPARABLE_5X5
            cases.append([{"op": "edges", "params": edges},
                          {"op": "convolve", "params": {"kernel": kernel, "mode": mode, "cval": 0.25}}])
    # a correlation with a divisor and an offset: the fused pass, then the offset pass
    embossing = next(e for e in catalog.OPS["convolve"].examples if e.get("offset"))
    cases.append([{"op": "edges", "params": {"operator": "sobel", "mode": "nearest"}},
                  {"op": "convolve", "params": {**embossing, "mode": "wrap"}}])
    for height, width in sizes:
        image = png_bytes(random_image(height, width, 4, seed=height))
        errors = app.evaluate(GRID_JS, [list(image), cases])
        worst = {f"{c[0]['params']['mode']}/{c[1]['params']['mode']}": e
                 for c, e in zip(cases, errors) if not e <= TOL * _magnitude(c)}
        assert not worst, f"{height}×{width}: {worst}"


def _magnitude(chain):
    """A bound on the result of a gradient then a correlation of an image in [0, 1]: the
    tolerance scales with it, as one float32 rounding step does (test_chains_match...)."""
    gradient = {"sobel": 4, "scharr": 16, "prewitt": 3}[chain[0]["params"]["operator"]] * 2 ** 0.5
    return max(1.0, gradient * float(np.abs(chain[1]["params"]["kernel"]).sum()))


@pytest.mark.parametrize("chain", CHAINS, ids=["blur-blur-sobel", "edge-unsharp-box-laplace", "five-steps"])
def test_chains_match_the_reference(app, chain):
    image = png_bytes(random_image(37, 45, 4, seed=11))
    gpu = run_api(app, image, chain, pixels="gpu")
    cpu = run_api(app, image, chain, pixels="cpu", compare=False)
    # Chains of edge detectors and sharpeners reach values in the hundreds, where one float32
    # rounding step alone is ~1e-5: the tolerance scales with the result's magnitude.
    tol = TOL * max(1.0, float(np.abs(cpu["pixels"]).max()))
    assert gpu["metrics"]["maxAbsError"] <= tol
    # The pixels handed out agree too, and alpha is carried through untouched.
    assert np.abs(gpu["pixels"] - cpu["pixels"]).max() <= tol
    source_alpha = random_image(37, 45, 4, seed=11)[..., 3] / np.float32(255)
    np.testing.assert_allclose(gpu["pixels"][..., 3], source_alpha, atol=1e-6)
