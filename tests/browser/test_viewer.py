"""The viewer, driven with real pointer and keyboard input: the split divider, synced zoom and
pan, the pixel inspector, the verdict and its tolerance, per-step verdicts, the error map's
colour rule (the same in JavaScript as in Python), display-only auto contrast, and the narrow
layout and accessible names."""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pytest
from filterlab import compare
from PIL import Image

from pages import png_bytes, random_image, run_api

TIMEOUT_MS = 120_000
FINAL = """() => { const m = document.querySelector('[data-testid=metrics]');
    return m.dataset.verdict === 'final' && m.dataset.stale === 'false'; }"""


def _wait_final(page):
    page.wait_for_function(FINAL, timeout=TIMEOUT_MS)


def _load(page, tmp_path, image, name="image.png"):
    path = tmp_path / name
    path.write_bytes(image if isinstance(image, bytes) else png_bytes(image))
    page.get_by_test_id("file-input").set_input_files(str(path))
    _wait_final(page)


def _add(page, op):
    page.get_by_test_id("add-op").select_option(op)
    page.get_by_test_id("add-step").click()


def _inspected(page):
    raw = page.get_by_test_id("inspector").get_attribute("data-values")
    return json.loads(raw) if raw else None


def _pixel_centre(page, testid, x, y):
    """Where the centre of image pixel (x, y) is on screen in the panel of canvas `testid`."""
    # Measured once the layout has settled (two frames alike): a panel that was resized, as when
    # the toolbar gains a line, is fitted again on the next frame.
    return page.evaluate(
        """async ([id, x, y]) => {
            const canvas = document.querySelector(`[data-testid=${id}]`);
            const frame = () => new Promise((resolve) => requestAnimationFrame(resolve));
            const measure = () => {
                const r = canvas.parentElement.getBoundingClientRect();  // the transformed layer
                const w = canvas.width, h = canvas.height;
                return [r.left + (x + 0.5) * r.width / w, r.top + (y + 0.5) * r.height / h];
            };
            let last = null;
            for (let i = 0; i < 20; i++) {
                await frame();
                const now = measure();
                if (last && now[0] === last[0] && now[1] === last[1]) return now;
                last = now;
            }
            return last;
        }""", [testid, x, y])


def _zoom(page):
    return page.get_by_test_id("zoom-level").inner_text()


def test_the_split_divider_follows_a_drag_and_the_keyboard(open_app, tmp_path):
    page = open_app()
    _load(page, tmp_path, random_image(48, 64, 3, seed=20))
    page.get_by_test_id("view-mode").select_option("split")
    divider = page.get_by_test_id("split-divider")
    assert divider.is_visible()
    box = divider.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    before = float(divider.get_attribute("data-position"))
    probe = x - 60  # left of the divider: the left panel (the original) shows there
    owner = "(p) => document.elementFromPoint(p[0], p[1]).closest('figure').dataset.view"
    assert page.evaluate(owner, [probe, y]) == "original"
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x - 120, y, steps=6)
    page.mouse.up()
    after = float(divider.get_attribute("data-position"))
    assert after < before - 0.05
    assert divider.bounding_box()["x"] < box["x"] - 100  # the boundary moved with the pointer
    assert page.evaluate(owner, [probe, y]) == "gpu"  # the right panel now shows there
    divider.focus()
    page.keyboard.press("ArrowRight")
    assert float(divider.get_attribute("data-position")) > after
    # Any two views: CPU against the error map.
    page.get_by_test_id("split-left").select_option("cpu")
    page.get_by_test_id("split-right").select_option("error")
    assert page.locator("figure:has([data-testid=canvas-cpu])").is_visible()
    assert page.locator("figure:has([data-testid=canvas-heatmap])").is_visible()
    assert not page.locator("figure:has([data-testid=canvas-original])").is_visible()
    assert not page.errors


def test_wheel_zoom_to_800_percent_then_the_inspector_reads_the_pixel_in_every_panel(open_app, tmp_path):
    page = open_app()
    image = random_image(32, 40, 3, seed=21)
    _load(page, tmp_path, image)
    # The chain doubles each value: a 3×3 kernel with a centre of 2, so every value is known.
    page.get_by_test_id("preset-0-identity").click()
    cell = page.get_by_test_id("kernel-0-1-1")
    cell.fill("2")
    cell.dispatch_event("change")
    _wait_final(page)
    page.locator("figure:has([data-testid=canvas-gpu]) .viewport").focus()  # out of the kernel cell
    page.keyboard.press("1")
    assert _zoom(page) == "100%"
    x, y = 23, 17
    page.mouse.move(*_pixel_centre(page, "canvas-gpu", x, y))
    for _ in range(12):  # a wheel notch is a quarter of a doubling: 2 ** (12 / 4) = 8
        page.mouse.wheel(0, -100)
    page.wait_for_function("() => document.querySelector('[data-testid=zoom-level]').textContent === '800%'")
    for testid in ("canvas-original", "canvas-gpu", "canvas-cpu", "canvas-heatmap"):
        # The pixel stayed under the pointer in the GPU panel, and is at the same place in each.
        page.mouse.move(*_pixel_centre(page, testid, x, y))
        page.wait_for_function(
            "([x, y]) => { const v = document.querySelector('[data-testid=inspector]');"
            " return v.dataset.state === 'ready' && v.dataset.x === String(x) && v.dataset.y === String(y); }",
            arg=[x, y])
        values = _inspected(page)
        expected = image[y, x].astype(float)
        assert values["channels"] == ["R", "G", "B"] and values["scale"] == 255
        assert values["original"]["native"] == expected.tolist()
        np.testing.assert_allclose(values["original"]["float"], expected / 255, rtol=1e-6)
        for key in ("gpu", "cpu"):
            np.testing.assert_allclose(values[key]["native"], 2 * expected, rtol=1e-6)
            np.testing.assert_allclose(values[key]["float"], 2 * expected / 255, rtol=1e-6)
        # The GPU rounds in float32 (within an ulp or two of 2·v/255); |Δ| is their difference.
        gpu, cpu = np.array(values["gpu"]["float"]), np.array(values["cpu"]["float"])
        assert values["delta"]["float"] == np.abs(gpu - cpu).tolist() and max(values["delta"]["float"]) < 1e-6
    # Pixels are sharp past 100 %, and a drag pans every panel alike.
    assert page.evaluate("() => getComputedStyle(document.querySelector('[data-testid=canvas-cpu]')).imageRendering") == "pixelated"
    start = _pixel_centre(page, "canvas-original", x, y)
    page.mouse.move(*_pixel_centre(page, "canvas-cpu", x, y))
    page.mouse.down()
    page.mouse.move(*_pixel_centre(page, "canvas-cpu", x - 2, y - 1), steps=4)
    page.mouse.up()
    moved = _pixel_centre(page, "canvas-original", x, y)
    # Dragged two pixels left and one up at 800 %: the image followed by 16 and 8 CSS pixels.
    assert moved[0] - start[0] == pytest.approx(-16, abs=1) and moved[1] - start[1] == pytest.approx(-8, abs=1)
    for key, scale in (("-", "400%"), ("+", "800%"), ("1", "100%")):
        page.keyboard.press(key)
        assert _zoom(page) == scale
    page.keyboard.press("0")  # fit: the panel is far larger than 40 × 32
    assert float(page.get_by_test_id("zoom-level").get_attribute("data-scale")) > 1
    assert not page.errors


def test_the_verdict_fails_under_a_tiny_tolerance_and_finds_the_worst_pixel(open_app, tmp_path):
    page = open_app()
    _load(page, tmp_path, random_image(40, 48, 3, seed=22))
    _add(page, "gaussian_blur")
    _wait_final(page)
    verdict = page.get_by_test_id("verdict")
    assert verdict.inner_text().startswith("PASS") and verdict.get_attribute("data-verdict") == "pass"
    tolerance = page.get_by_test_id("tolerance")
    assert float(tolerance.input_value()) == 1e-5
    tolerance.fill("1e-9")
    tolerance.press("Enter")
    page.wait_for_function(
        "() => document.querySelector('[data-testid=verdict]').textContent.startsWith('FAIL')", timeout=TIMEOUT_MS)
    _wait_final(page)
    fraction = float(page.get_by_test_id("fraction-over-tolerance").get_attribute("data-value"))
    assert 0 < fraction <= 1
    verified = json.loads(page.get_by_test_id("metrics").get_attribute("data-chain"))
    metrics = run_api(page, None, verified, tol=1e-9)["metrics"]
    assert metrics["fractionPixelsOverTolerance"] == fraction
    worst = page.get_by_test_id("worst-pixel")
    x, y = int(worst.get_attribute("data-x")), int(worst.get_attribute("data-y"))
    assert (x, y) == (metrics["worstX"], metrics["worstY"])
    worst.click()
    inspector = page.get_by_test_id("inspector")
    page.wait_for_function(
        "() => document.querySelector('[data-testid=inspector]').dataset.pinned === 'true'")
    assert (int(inspector.get_attribute("data-x")), int(inspector.get_attribute("data-y"))) == (x, y)
    assert float(page.get_by_test_id("zoom-level").get_attribute("data-scale")) >= 8
    page.wait_for_function("() => document.querySelector('[data-testid=inspector]').dataset.state === 'ready'")
    assert max(_inspected(page)["delta"]["float"]) == metrics["maxAbsError"]
    assert not page.errors


def test_each_step_shows_its_own_verdict_equal_to_the_api_stage_metrics(open_app, tmp_path):
    page = open_app()
    # Specialised pipelines only, so the page's run and the API's run compute alike.
    page.evaluate("() => window.filterlab.debug('pipelines', 'specialised')")
    _load(page, tmp_path, random_image(36, 44, 3, seed=23))
    _add(page, "gaussian_blur")
    _add(page, "edges")
    _wait_final(page)
    chain = json.loads(page.get_by_test_id("metrics").get_attribute("data-chain"))
    assert len(chain) == 3
    api = run_api(page, None, chain, stages=True)
    assert len(api["stageMetrics"]) == 3
    for i, m in enumerate(api["stageMetrics"]):
        node = page.get_by_test_id(f"step-{i}-verdict")
        assert float(node.get_attribute("data-max-abs-error")) == m["maxAbsError"]
        assert node.inner_text().startswith("PASS")
    assert api["stageMetrics"][-1] == api["metrics"]
    # Selecting a step shows that step's output: the inspector reads the step's values.
    page.get_by_test_id("step-1-view").click()
    assert page.get_by_test_id("step-1-view").get_attribute("aria-pressed") == "true"
    _wait_final(page)
    assert page.get_by_test_id("canvas-gpu-stage").is_visible()
    x, y = 30, 9
    page.mouse.click(*_pixel_centre(page, "canvas-cpu", x, y))
    page.wait_for_function(
        "() => { const v = document.querySelector('[data-testid=inspector]');"
        " return v.dataset.state === 'ready' && v.dataset.pinned === 'true'; }")
    values = _inspected(page)
    assert (values["x"], values["y"], values["stage"]) == (x, y, 1)
    np.testing.assert_array_equal(np.float32(values["gpu"]["float"]), api["stages"][1][(y * 44 + x) * 3:][:3])
    page.get_by_test_id("view-result").click()
    _wait_final(page)
    assert page.get_by_test_id("canvas-gpu-stage").is_hidden()
    page.evaluate("() => window.filterlab.debug('pipelines', 'auto')")
    assert not page.errors


def _error_values(rng, lo, hi):
    log = rng.uniform(np.log10(lo) - 1, np.log10(hi) + 1, 2000)
    values = (10.0 ** log).astype(np.float32).astype(np.float64).tolist()
    return values + [0.0, -0.0, lo, hi, np.nextafter(lo, 0), np.nextafter(hi, 0), float("nan"),
                     float("inf"), -float("inf")]


COLOURS_JS = """([values, limits]) => {
    const errors = Float64Array.from(values, (v) => v === null ? NaN : v === 'inf' ? Infinity : v === '-inf' ? -Infinity : v);
    const rule = window.filterlab.heatmap;
    return { colours: Array.from(limits ? rule.colours(errors, limits) : rule.colours(errors)), range: rule.range(errors) };
}"""


def _to_js(values):
    return [None if math.isnan(v) else "inf" if v == math.inf else "-inf" if v == -math.inf else v for v in values]


@pytest.mark.parametrize("limits", [None, (1e-9, 5e-6), (2e-7, 1e-3), (3.3e-8, 4.1e-4)])
def test_the_error_colours_are_the_same_in_javascript_and_python(app, limits):
    rng = np.random.default_rng(24)
    values = _error_values(rng, *(limits or (1e-8, 2e-5)))
    out = app.evaluate(COLOURS_JS, [_to_js(values), list(limits) if limits else None])
    errors = np.array(values)[None, :]
    expected = compare.error_colours(errors, limits=limits)
    np.testing.assert_array_equal(np.array(out["colours"], np.uint8).reshape(expected.shape), expected)
    assert tuple(out["range"]) == compare.error_range(errors)


@pytest.mark.parametrize("values", [[0.0], [1e-12, 0.0], [3e-7], [2.5e-8, 7e-5, float("nan")], [0.3, 12.0]])
def test_the_automatic_range_is_the_same_in_javascript_and_python(app, values):
    out = app.evaluate(COLOURS_JS, [_to_js(values), None])
    assert tuple(out["range"]) == compare.error_range(np.array(values))


def _png16(values):
    out = io.BytesIO()
    Image.fromarray(values.astype(np.uint16)).save(out, format="PNG")
    return out.getvalue()


def _canvas_max(page, testid):
    return page.evaluate(
        """(id) => { const c = document.querySelector(`[data-testid=${id}]`);
                     const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                     let m = 0; for (let i = 0; i < d.length; i += 4) m = Math.max(m, d[i], d[i + 1], d[i + 2]);
                     return m; }""", testid)


def test_auto_contrast_stretches_what_is_shown_and_nothing_else(open_app, tmp_path):
    page = open_app()
    narrow = np.random.default_rng(25).integers(291, 695, size=(30, 34))  # 16-bit, a sliver of the range
    _load(page, tmp_path, _png16(narrow))
    page.get_by_test_id("preset-0-box_blur").click()
    _wait_final(page)
    metric = page.get_by_test_id("metric-max-abs-error").inner_text()
    with page.expect_download() as before:
        page.get_by_test_id("export-16").click()
    # Canvases the GPU worker draws by readback (as under SwiftShader) can be read here; the
    # reference's canvas always can.
    readable = [t for t in ("canvas-original", "canvas-gpu", "canvas-cpu")
                if page.get_by_test_id(t).get_attribute("data-context") in (None, "2d")]
    assert "canvas-cpu" in readable
    assert all(_canvas_max(page, testid) <= 3 for testid in readable)  # black
    frames = int(page.get_by_test_id("canvas-original").get_attribute("data-frames"))
    page.get_by_test_id("auto-contrast").check()
    page.wait_for_function(
        f"() => Number(document.querySelector('[data-testid=canvas-original]').dataset.frames) > {frames}")
    _wait_final(page)
    assert all(_canvas_max(page, testid) >= 250 for testid in readable)
    # Compared and exported values are the same as without it.
    assert page.get_by_test_id("metric-max-abs-error").inner_text() == metric
    with page.expect_download() as after:
        page.get_by_test_id("export-16").click()
    assert open(after.value.path(), "rb").read() == open(before.value.path(), "rb").read()
    assert page.get_by_test_id("histogram").get_attribute("data-scale") == "log"
    page.get_by_test_id("histogram-scale").select_option("linear")
    assert page.get_by_test_id("histogram").get_attribute("data-scale") == "linear"
    assert not page.errors


def test_the_result_histogram_follows_each_verification(open_app, tmp_path):
    # Without auto contrast the result's histogram comes after the first tiles (verify_summary),
    # so the first verdict never waits for it; it must still arrive, for each new setting.
    page = open_app()
    image = np.zeros((40, 48), np.uint8)
    image[:, 24:] = 255  # two values: the blurred result has values in between
    _load(page, tmp_path, image)
    chart = page.get_by_test_id("histogram-result")
    page.get_by_test_id("preset-0-box_blur").click()
    _wait_final(page)
    assert chart.evaluate("c => c.closest('figure').dataset.empty") == "false"
    label = chart.get_attribute("aria-label")
    assert label.startswith("Result histogram of ") and " from 0 to 1" in label
    # The next verification starts it afresh and fills it again.
    sent = page.evaluate("() => window.filterlab.debug('last-run').sent")
    _add(page, "gaussian_blur")
    page.wait_for_function("(sent) => window.filterlab.debug('last-run').sent !== sent", arg=sent)
    _wait_final(page)
    assert chart.evaluate("c => c.closest('figure').dataset.empty") == "false"
    assert not page.errors


def test_timings_compare_the_gpu_with_the_cpu_reference(open_app, tmp_path):
    page = open_app()
    _load(page, tmp_path, random_image(32, 32, 3, seed=26))
    gpu = float(page.get_by_test_id("timing-GPU").inner_text().split()[0])
    cpu = float(page.get_by_test_id("timing-CPU").inner_text().split()[0])
    speedup = float(page.get_by_test_id("speedup").get_attribute("data-value"))
    assert speedup == pytest.approx(cpu / gpu, rel=1e-3)
    label = page.get_by_test_id("timings").inner_text()
    assert "GPU (timestamps)" in label or "GPU (wall clock)" in label


def _interactive(page):
    """Every control a user can operate, shown or not: (selector, shown)."""
    return page.evaluate("""() => [...document.querySelectorAll(
        'button, input, select, textarea, summary, a[href], [tabindex]:not([tabindex="-1"])')]
        .map((node, i) => { node.dataset.probe = String(i);
            return [`[data-probe="${i}"]`, node.getClientRects().length > 0 && !node.closest('[hidden]')]; })""")


def test_at_400_px_nothing_overflows_and_every_control_can_be_reached(open_app, tmp_path):
    page = open_app()
    page.set_viewport_size({"width": 400, "height": 800})
    _load(page, tmp_path, random_image(40, 60, 3, seed=27))
    _add(page, "gaussian_blur")
    _wait_final(page)
    for mode in ("grid", "split"):
        page.get_by_test_id("view-mode").select_option(mode)
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 400
        for selector, shown in _interactive(page):
            if not shown:
                continue
            node = page.locator(selector)
            node.scroll_into_view_if_needed()
            box = node.bounding_box()
            assert box and box["width"] > 0 and box["x"] >= 0 and box["x"] + box["width"] <= 400, selector
            # Nothing covers it: a pointer reaches it (or its label) at its middle, or a quarter
            # in from either side (a split panel shows on one side of the divider).
            reached = node.evaluate("""(n) => { const r = n.getBoundingClientRect();
                return [0.5, 0.25, 0.75].some((f) => {
                    const hit = document.elementFromPoint(r.left + r.width * f, r.top + r.height / 2);
                    return n.contains(hit) || hit === n.closest('label') || hit?.contains(n); }); }""")
            assert reached, node.evaluate("(n) => n.outerHTML.slice(0, 200)")
    assert page.get_by_test_id("step-1-remove").is_visible()
    assert not page.errors


INTERACTIVE_ROLES = {"button", "checkbox", "combobox", "textbox", "spinbutton", "slider", "link",
                     "radio", "switch", "tab", "listbox", "menuitem", "searchbox"}


def test_every_control_has_an_accessible_name(open_app, tmp_path):
    page = open_app()
    _load(page, tmp_path, random_image(20, 24, 3, seed=28))
    _add(page, "edges")
    _wait_final(page)
    for mode in ("grid", "split"):
        page.get_by_test_id("view-mode").select_option(mode)
        cdp = page.context.new_cdp_session(page)
        nodes = cdp.send("Accessibility.getFullAXTree")["nodes"]
        controls = [n for n in nodes if not n.get("ignored") and n.get("role", {}).get("value") in INTERACTIVE_ROLES]
        assert len(controls) > 30
        nameless = [(n["role"]["value"], n.get("backendDOMNodeId")) for n in controls
                    if not (n.get("name", {}).get("value") or "").strip()]
        assert not nameless
        # Focusable non-controls (the panels, the divider) are named too.
        for testid in ("split-divider",):
            assert page.get_by_test_id(testid).get_attribute("aria-label")
    for name in ("Zoom in (+)", "Zoom out (−)", "Fit the image (0)"):
        assert page.get_by_role("button", name=name).count() == 1
    assert page.get_by_role("checkbox", name="Auto contrast").count() == 1
    assert page.get_by_role("spinbutton", name="Tolerance").count() == 1
    assert page.get_by_role("status").filter(has_text="PASS").count() == 1  # the verdict, announced


def test_focus_stays_on_a_steps_control_after_moving_or_switching_it(open_app, tmp_path):
    page = open_app()
    _load(page, tmp_path, random_image(16, 16, 3, seed=29))
    _add(page, "gaussian_blur")
    _add(page, "edges")
    focused = "() => document.activeElement?.dataset.testid"
    page.get_by_test_id("step-2-up").focus()
    page.keyboard.press("Enter")  # edges moves from 3rd to 2nd
    assert page.evaluate(focused) == "step-1-up"
    assert "Edges" in page.get_by_test_id("step-1").inner_text()
    page.keyboard.press("Enter")  # and to the top, where "up" is disabled: "down" takes focus
    assert page.evaluate(focused) == "step-0-down"
    page.get_by_test_id("step-1-enabled").focus()
    page.keyboard.press("Space")
    assert page.evaluate(focused) == "step-1-enabled"
    assert not page.get_by_test_id("step-1-enabled").is_checked()
    page.get_by_test_id("step-2-remove").focus()
    page.keyboard.press("Enter")  # the last step goes: focus moves to the step above it
    assert page.evaluate(focused) in ("step-1-remove",)
