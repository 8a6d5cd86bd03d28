"""Interactive use: the slider path is GPU-only, verification runs in the reference pool tile
by tile, progressively and cancellably, and nothing a user gives during start-up is lost."""

from __future__ import annotations

import json

import numpy as np
import pytest
from filterlab import chain as chains
from filterlab import compare, imageio, verify

from pages import png_bytes, random_image, run_api, settled_stats

TIMEOUT_MS = 120_000
IMAGE = random_image(37, 53, 4, seed=61)
CHAIN = [
    {"op": "gaussian_blur", "params": {"sigma": 2.0, "mode": "wrap"}},
    {"op": "edges", "params": {"operator": "sobel", "mode": "constant", "cval": 0.3}},
]


def _reference(image_uint8, chain):
    """The whole-image reference under CPython, for the same decoded pixels."""
    return chains.apply(imageio.to_float(image_uint8), chain)


def test_tiled_verification_equals_the_whole_image_metrics(app):
    result = run_api(app, png_bytes(IMAGE), CHAIN, pixels="gpu")
    assert result["verification"]["tiles"] >= 1
    reference = _reference(IMAGE, CHAIN)
    whole = compare.metrics(result["pixels"], reference)
    got = result["metrics"]
    # Element by element the tiled reference is the whole-image one (tests/py/test_verify.py);
    # here CPython's NumPy stands in for Pyodide's, so allow float32 rounding.
    assert got["maxAbsError"] == pytest.approx(whole.max_abs_error, abs=2e-6)
    assert got["maxAbsError"] <= 1e-5 * max(1.0, float(np.abs(reference).max()))
    cpu = run_api(app, png_bytes(IMAGE), CHAIN, pixels="cpu")["pixels"]
    np.testing.assert_allclose(cpu, reference, rtol=1e-6, atol=1e-6)


PROGRESS_JS = """async ([bytes, chain]) => {
    const events = [];
    const r = await window.filterlab.run({ image: new Uint8Array(bytes), chain,
        onProgress: (p) => events.push({ fraction: p.fraction, first: p.first, done: p.done,
                                         max: p.metrics ? p.metrics.maxAbsError : null }) });
    return { events, final: r.metrics.maxAbsError, tiles: r.verification.tiles };
}"""


def test_progress_arrives_in_order_and_ends_at_100_percent(app):
    big = random_image(150, 170, 3, seed=62)
    out = app.evaluate(PROGRESS_JS, [list(png_bytes(big)), CHAIN])
    events = out["events"]
    assert events, "no progress was reported"
    fractions = [e["fraction"] for e in events]
    assert fractions == sorted(fractions)
    assert fractions[-1] == 1
    assert [e["done"] for e in events] == sorted(e["done"] for e in events)
    assert events[-1]["done"] == out["tiles"]
    # once the first verdict is in, it stays in, and the last metrics are the result's
    firsts = [e["first"] for e in events]
    assert firsts == sorted(firsts) and firsts[-1]
    assert events[-1]["max"] == out["final"]


def test_the_first_verdicts_tiles_are_read_at_once_and_the_largest_checked_first(app):
    # The first verdict waits for its slowest tile: all its tiles come in the first read, and
    # the pool takes the largest (the interior sample) before the edges' strips and corners.
    big = random_image(150, 170, 3, seed=62)
    app.evaluate(PROGRESS_JS, [list(png_bytes(big)), CHAIN])
    done = app.evaluate("() => window.filterlab.debug('verification')")
    steps = chains.validate(CHAIN)
    order = verify.tiles(150, 170, size=verify.tile_size(150, 170, done["workers"]),
                         edge=verify.edge_depth(steps))
    first = [n for n, tile in enumerate(order) if tile.first]
    reads = [call for call in done["marks"]["calls"] if call[0] == "read"]
    assert reads[0][3] >= len(first)
    area = {n: (t.y1 - t.y0) * (t.x1 - t.x0) for n, t in enumerate(order)}
    sent = {index: at for index, at, *_ in done["marks"]["checks"] if index in first}
    assert sorted(sent) == first
    # a tile sent strictly before another is at least as large (tiles sent together may tie)
    assert all(area[a] >= area[b] for a in sent for b in sent if sent[a] < sent[b])


def _slide(page, testid, value):
    page.evaluate(
        """([id, v]) => { const s = document.querySelector(`[data-testid=${id}]`);
                          s.value = v; s.dispatchEvent(new Event('input', { bubbles: true })); }""",
        [testid, str(value)])


def _load_and_add_gaussian(page, tmp_path, image=IMAGE):
    path = tmp_path / "image.png"
    path.write_bytes(png_bytes(image))
    page.get_by_test_id("file-input").set_input_files(str(path))
    page.get_by_test_id("add-op").select_option("gaussian_blur")
    page.get_by_test_id("add-step").click()
    _wait_final(page)


def _wait_final(page):
    """Wait until the metrics on show are final and current (not marked out of date)."""
    page.wait_for_function("""() => { const m = document.querySelector('[data-testid=metrics]');
                                     return m.dataset.verdict === 'final' && m.dataset.stale === 'false'; }""",
                           timeout=TIMEOUT_MS)


def test_a_slider_move_cancels_verification_and_the_metrics_belong_to_the_final_value(open_app, tmp_path):
    page = open_app()
    _load_and_add_gaussian(page, tmp_path, random_image(120, 140, 3, seed=63))
    before = page.evaluate("() => window.filterlab.debug('pool')")
    for value in (1.5, 2.5, 3.5, 4.5, 5.5, 6.5):
        _slide(page, "param-1-sigma", value)
        page.wait_for_timeout(40)
    _wait_final(page)
    after = page.evaluate("() => window.filterlab.debug('pool')")
    checked = sum(w["tilesChecked"] for w in after["workers"]) - sum(w["tilesChecked"] for w in before["workers"])
    # the metrics on show belong to the value the slider shows
    verified = json.loads(page.locator("[data-testid=metrics]").get_attribute("data-chain"))
    assert verified[1]["params"]["sigma"] == 6.5
    assert page.get_by_test_id("param-1-sigma").input_value() == "6.5"
    assert float(page.get_by_test_id("metric-max-abs-error").inner_text()) <= 1e-5
    fresh = run_api(page, None, verified)
    tiles = fresh["verification"]["tiles"]
    # six inputs 40 ms apart, each idle too briefly to start a verification: only the last one ran
    assert checked <= 2 * tiles
    assert page.locator("[data-testid=metrics]").get_attribute("data-stale") == "false"


def test_the_slider_path_compiles_nothing_while_the_user_waits(open_app, tmp_path):
    page = open_app()
    _load_and_add_gaussian(page, tmp_path)
    before = settled_stats(page)
    for value in (2.6, 3.7, 4.8, 5.9):  # radii 10, 15, 19, 24: each new to this page
        frames = int(page.get_by_test_id("canvas-gpu").get_attribute("data-frames"))
        _slide(page, "param-1-sigma", value)
        page.wait_for_function(
            f"() => Number(document.querySelector('[data-testid=canvas-gpu]').dataset.frames) > {frames}",
            timeout=TIMEOUT_MS)
    _wait_final(page)
    after = page.evaluate("() => window.filterlab.debug('stats')")
    assert after["blockingCompiles"] == before["blockingCompiles"]
    assert float(page.get_by_test_id("metric-max-abs-error").inner_text()) <= 1e-5


@pytest.mark.parametrize("pipelines", ["general", "specialised"])
def test_general_and_specialised_pipelines_agree_with_the_reference(app, pipelines):
    app.evaluate("(p) => window.filterlab.debug('pipelines', p)", pipelines)
    try:
        image = png_bytes(random_image(29, 41, 4, seed=64))
        for chain in (
            [{"op": "gaussian_blur", "params": {"sigma": 3.3, "mode": "mirror"}}],
            [{"op": "box_blur", "params": {"size": 9, "mode": "constant", "cval": 0.7}}],
            [{"op": "convolve", "params": {"kernel": np.round(np.random.default_rng(5).normal(size=(7, 7)), 2).tolist(),
                                           "mode": "wrap"}}],
            [{"op": "unsharp_mask", "params": {"sigma": 2.2, "amount": 1.5}}],
        ):
            assert run_api(app, image, chain)["metrics"]["maxAbsError"] <= 1e-5
    finally:
        app.evaluate("() => window.filterlab.debug('pipelines', 'auto')")


def test_stale_results_are_marked_and_a_failed_gpu_run_clears_its_view(open_app, tmp_path):
    page = open_app()
    _load_and_add_gaussian(page, tmp_path)
    figure = page.locator("figure:has([data-testid=canvas-cpu])")
    assert figure.get_attribute("data-stale") == "false"
    # An input marks the CPU side out of date at once, until its verification replaces it.
    page.evaluate("""() => { const s = document.querySelector('[data-testid=param-1-sigma]');
                             s.value = 3; s.dispatchEvent(new Event('input', { bubbles: true }));
                             window.__staleSeen = document.querySelector('figure:has([data-testid=canvas-cpu])').dataset.stale; }""")
    assert page.evaluate("() => window.__staleSeen") == "true"
    assert "out of date" in page.evaluate(
        "() => getComputedStyle(document.querySelector('figure.stale figcaption'), '::after').content")
    _wait_final(page)
    assert figure.get_attribute("data-stale") == "false"
    # A GPU failure (an invalid kernel cell) clears the GPU view and its metrics.
    cell = page.get_by_test_id("kernel-0-1-1")
    cell.fill("nan")
    cell.dispatch_event("change")
    page.wait_for_function("() => document.querySelector('[data-testid=status]').classList.contains('error')")
    assert page.get_by_test_id("metric-max-abs-error").inner_text() == "–"
    assert page.evaluate("""() => { const c = document.querySelector('[data-testid=canvas-gpu]');
        const ctx = c.dataset.context === '2d' ? c.getContext('2d') : null;
        return ctx ? Math.max(...ctx.getImageData(0, 0, c.width, c.height).data) : 0; }""") == 0
    message = page.get_by_test_id("status").inner_text()
    assert "Error" not in message.split(":")[0] and "Traceback" not in message


def test_band_rows_forced_after_loading_works(app):
    image = png_bytes(random_image(33, 27, 3, seed=65))
    run_api(app, image, CHAIN)
    app.evaluate("() => window.filterlab.debug('band-rows', 8)")
    try:
        banded = run_api(app, None, CHAIN)  # same image, now in bands
        assert banded["timings"]["bands"] == 5
        assert banded["metrics"]["maxAbsError"] <= 1e-5 * 16
    finally:
        app.evaluate("() => window.filterlab.debug('band-rows', '')")


LEAK_JS = """async () => {
    const s = document.querySelector('[data-testid=param-1-sigma]');
    for (let i = 0; i < 200; i++) {
        s.value = (0.5 + (i % 9) * 0.4).toFixed(1);
        s.dispatchEvent(new Event('input', { bubbles: true }));
        await new Promise((r) => setTimeout(r, 5));
    }
}"""


def test_no_proxy_or_buffer_leaks_after_200_slider_moves(open_app, tmp_path):
    page = open_app()
    _load_and_add_gaussian(page, tmp_path, random_image(40, 48, 3, seed=66))
    page.evaluate(LEAK_JS)  # fills the bounded caches: a pipeline per radius
    _wait_final(page)
    baseline = settled_stats(page)
    pool = page.evaluate("() => window.filterlab.debug('pool')")
    page.evaluate(LEAK_JS)
    _wait_final(page)
    after = settled_stats(page)
    assert after["liveBuffers"] == baseline["liveBuffers"]
    assert after["jsRefs"] - after["cached"] == baseline["jsRefs"] - baseline["cached"]
    checked = sum(w["tilesChecked"] for w in page.evaluate("() => window.filterlab.debug('pool')")["workers"])
    tiles = run_api(page, None, [{"op": "gaussian_blur", "params": {"sigma": 1.0}}])["verification"]["tiles"]
    # 200 inputs 5 ms apart: superseded verifications never started, so about one ran
    assert checked - sum(w["tilesChecked"] for w in pool["workers"]) <= 3 * tiles
    assert not page.errors


def _open_early(browser, server_url):
    context = browser.new_context()
    page = context.new_page()
    page.goto(server_url, wait_until="domcontentloaded")
    return context, page


def test_a_file_chosen_during_start_up_is_processed_once(browser, server_url, tmp_path):
    context, page = _open_early(browser, server_url)
    try:
        path = tmp_path / "early.png"
        path.write_bytes(png_bytes(random_image(21, 19, 3, seed=67)))
        assert not page.evaluate("() => window.filterlab && document.querySelector('[data-testid=status]').dataset.gpu")
        page.get_by_test_id("file-input").set_input_files(str(path))
        page.evaluate("() => window.filterlab.ready")
        _wait_final(page)
        assert page.get_by_test_id("image-info").get_attribute("data-loads") == "1"
        assert page.evaluate("() => document.querySelector('[data-testid=canvas-gpu]').width") == 19
    finally:
        context.close()


def test_a_drop_during_start_up_is_processed_once_and_never_navigates(browser, server_url):
    context, page = _open_early(browser, server_url)
    try:
        prevented = page.evaluate(
            """(bytes) => {
                const file = new File([new Uint8Array(bytes)], 'dropped.png', { type: 'image/png' });
                const dt = new DataTransfer();
                dt.items.add(file);
                const zone = document.querySelector('[data-testid=drop-zone]');
                const over = new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true });
                const drop = new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true });
                zone.dispatchEvent(over);
                zone.dispatchEvent(drop);
                return [over.defaultPrevented, drop.defaultPrevented];
            }""",
            list(png_bytes(random_image(17, 23, 4, seed=68))),
        )
        assert prevented == [True, True]
        page.evaluate("() => window.filterlab.ready")
        _wait_final(page)
        assert page.get_by_test_id("image-info").get_attribute("data-loads") == "1"
        assert page.url.startswith("http://127.0.0.1")
    finally:
        context.close()
