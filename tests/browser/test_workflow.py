"""Editing and workflow in the page: the exported Python script and chain JSON against the GPU
and the command line, the kernel editor, undo and redo, samples, what survives a reload, and
accessible names."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from filterlab import chain as chains
from filterlab import compare, imageio
from playwright.sync_api import expect

from pages import png_bytes, random_image, run_api, wait_verified

PACKAGE = Path(__file__).resolve().parents[2] / "py"
TIMEOUT_MS = 120_000
# The machine running the suite may be busy: page updates that follow a click get 20 s.
expect.set_options(timeout=20_000)

#: A custom 5×5 kernel, a Gaussian with wrap, Sobel magnitude with a constant border of 0.3.
THREE_STEPS = [
    {"op": "convolve", "params": {"kernel": [[1, -2, 0.5, 3, 1], [0, 1, -1, 2, 0.5], [2, 0, 4, -1, 1],
                                             [-1, 1, 0, 1, 2], [0.5, 2, 1, 0, -3]], "divisor": 8}},
    {"op": "gaussian_blur", "params": {"sigma": 2.0, "mode": "wrap"}},
    {"op": "edges", "params": {"operator": "sobel", "output": "magnitude", "mode": "constant",
                               "cval": 0.3}},
]


def page_chain(page):
    return page.evaluate("() => window.filterlab.chain()")


def load_file(page, path, data):
    path.write_bytes(data)
    page.get_by_test_id("file-input").set_input_files(str(path))
    return wait_verified(page, TIMEOUT_MS)


def import_chain(page, chain):
    """Load a chain through the "Load JSON" dialog, as pasted text."""
    page.get_by_test_id("chain-import").click()
    page.get_by_test_id("chain-import-text").fill(json.dumps(chain))
    page.get_by_test_id("chain-import-apply").click()
    expect(page.get_by_test_id("import-dialog")).not_to_be_visible()


def download(page, testid, target):
    with page.expect_download() as info:
        page.get_by_test_id(testid).click()
    info.value.save_as(str(target))
    return target


def run(*args, cwd):
    done = subprocess.run([sys.executable, *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return done


@pytest.fixture(scope="module")
def exporting(browser, server_url, tmp_path_factory):
    """A page with a generated image and the three-step chain, and a folder for files."""
    folder = tmp_path_factory.mktemp("exports")
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    page.goto(server_url)
    page.wait_for_function("() => window.filterlab !== undefined", timeout=30_000)
    page.evaluate("() => window.filterlab.ready")
    source = png_bytes(random_image(36, 44, 3, seed=71))
    load_file(page, folder / "in.png", source)
    import_chain(page, THREE_STEPS)
    assert wait_verified(page, TIMEOUT_MS) <= 1e-5 * 16
    yield page, folder
    context.close()


def test_the_exported_script_reproduces_the_gpu_result(exporting):
    page, folder = exporting
    script = download(page, "export-python", folder / "chain.py")
    gpu = run_api(page, None, page_chain(page), pixels="gpu", compare=False)["pixels"]
    # -I: the script runs with nothing of Filter Lab on its path.
    run("-I", script, "in.png", "out.npy", cwd=folder)
    floats = np.load(folder / "out.npy")
    assert floats.shape == gpu.shape and floats.dtype == np.float32
    assert np.abs(floats - gpu).max() <= 1e-5
    run("-I", script, "in.png", "out.png", cwd=folder)
    app_png = imageio.decode(download(page, "export-8", folder / "app.png").read_bytes()).native
    script_png = imageio.decode((folder / "out.png").read_bytes()).native
    assert script_png.dtype == np.uint8
    assert np.abs(script_png.astype(int) - app_png.astype(int)).max() <= 1


def test_chain_json_from_the_page_is_the_cli_format_and_round_trips(exporting):
    page, folder = exporting
    shown = page_chain(page)
    saved = download(page, "chain-export", folder / "chain.json")
    assert chains.from_json(saved.read_text()) == chains.validate(THREE_STEPS) == chains.validate(shown)
    env = {"PYTHONPATH": str(PACKAGE), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-m", "filterlab", "apply", "--chain", "chain.json", "in.png",
                           "cli.png"], cwd=folder, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    cli = imageio.decode((folder / "cli.png").read_bytes()).native
    app_png = imageio.decode(download(page, "export-8", folder / "app8.png").read_bytes()).native
    assert np.abs(cli.astype(int) - app_png.astype(int)).max() <= 1
    # The saved file loads back as the same chain.
    page.get_by_test_id("chain-import").click()
    page.get_by_test_id("chain-import-file").set_input_files(str(saved))
    expect(page.get_by_test_id("import-dialog")).not_to_be_visible()
    assert chains.validate(page_chain(page)) == chains.validate(THREE_STEPS)


def test_a_bad_chain_file_is_refused_in_the_dialog_with_the_validators_words(exporting):
    page, _ = exporting
    before = page_chain(page)
    page.get_by_test_id("chain-import").click()
    page.get_by_test_id("chain-import-text").fill('[{"op": "gaussian_blur", "params": {"sigma": 99}}]')
    page.get_by_test_id("chain-import-apply").click()
    expect(page.get_by_test_id("chain-import-error")).to_have_text(
        "step 1 (gaussian_blur): sigma must be between 0.1 and 16, got 99")
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("import-dialog")).not_to_be_visible()
    assert page_chain(page) == before


def _cell(page, r, c, step=0):
    return page.get_by_test_id(f"kernel-{step}-{r}-{c}")


def _type(page, r, c, text):
    cell = _cell(page, r, c)
    cell.fill(text)
    cell.press("Tab")


def _kernel(page):
    return page_chain(page)[0]["params"]["kernel"]


def test_kernel_editor(open_app):
    page = open_app()
    # 1/9 in every cell of a 3×3 is the box preset, value for value.
    for r in range(3):
        for c in range(3):
            _type(page, r, c, "1/9")
    typed = _kernel(page)
    page.get_by_test_id("preset-0-box_blur").click()
    assert typed == _kernel(page) == [[1 / 9] * 3] * 3
    expect(_cell(page, 1, 1)).to_have_value("1/9")  # presets show exact fractions
    separability = page.get_by_test_id("kernel-0-separability")
    expect(separability).to_contain_text("Rank 1")
    expect(separability).to_contain_text("two 1-D passes of 3 taps")
    # Resizing pads around the centre and crops back: 3 → 5 → 3 restores every value.
    size = page.get_by_test_id("kernel-0-size")
    size.select_option("5")
    assert _kernel(page)[2][1:4] == [1 / 9] * 3 and _kernel(page)[0] == [0] * 5
    expect(separability).to_contain_text("two 1-D passes of 5 taps")  # a rank-1 5×5
    size.select_option("3")
    assert _kernel(page) == typed
    # Every odd size up to 31; a 31×31 grid scrolls inside the panel.
    assert page.locator("[data-testid=kernel-0-size] option").all_inner_texts()[-1] == "31×31"
    size.select_option("31")
    scroll = page.locator(".kernel-scroll")
    assert page.evaluate("(e) => e.scrollWidth > e.clientWidth", scroll.element_handle())
    assert page.evaluate("(e) => e.getBoundingClientRect().right <= e.closest('.panel').getBoundingClientRect().right",
                         page.get_by_test_id("step-0-remove").element_handle())
    size.select_option("3")
    # Expressions, and a rank-2 kernel runs as one 2-D pass.
    _type(page, 0, 0, "-2/16")
    _type(page, 1, 1, "0.5*3")
    assert _kernel(page)[0][0] == -0.125 and _kernel(page)[1][1] == 1.5
    expect(separability).to_contain_text("one 2-D pass of 9 taps")
    # A bad cell is marked, and why is said next to the grid.
    _type(page, 2, 2, "1/0")
    expect(_cell(page, 2, 2)).to_have_class(re.compile(r"\binvalid\b"))
    expect(page.get_by_test_id("kernel-0-error")).to_have_text("Row 3, column 3: division by zero.")
    page.get_by_test_id("add-step").click()  # the chain is drawn again: the mark stays
    expect(_cell(page, 2, 2)).to_have_class(re.compile(r"\binvalid\b"))
    expect(page.get_by_test_id("kernel-0-error")).to_have_text("Row 3, column 3: division by zero.")
    page.get_by_test_id("step-1-remove").click()
    _type(page, 2, 2, "(1+2)/3")
    expect(page.get_by_test_id("kernel-0-error")).to_be_hidden()
    assert _kernel(page)[2][2] == 1
    # Normalise sets the divisor to the sum of the weights.
    for r, row in enumerate(["1 2 1", "2 4 2", "1 2 1"]):
        for c, text in enumerate(row.split()):
            _type(page, r, c, text)
    page.get_by_test_id("kernel-0-normalise").click()
    expect(page.get_by_test_id("param-0-divisor-number")).to_have_value("16")
    assert page_chain(page)[0]["params"]["divisor"] == 16
    expect(page.get_by_test_id("kernel-0-normalise")).to_be_focused()
    assert not page.errors


def test_undo_and_redo_restore_the_exact_chain(open_app):
    page = open_app()
    undo, redo = page.get_by_test_id("undo"), page.get_by_test_id("redo")
    expect(undo).to_be_disabled()
    states = [page_chain(page)]
    page.get_by_test_id("preset-0-emboss").click()
    states.append(page_chain(page))
    _type(page, 0, 0, "1/3")
    states.append(page_chain(page))
    page.get_by_test_id("add-op").select_option("box_blur")
    page.get_by_test_id("add-step").click()
    states.append(page_chain(page))
    page.get_by_test_id("step-1-up").click()
    states.append(page_chain(page))
    page.get_by_test_id("step-0-duplicate").click()
    states.append(page_chain(page))
    page.get_by_test_id("step-2-remove").click()
    states.append(page_chain(page))
    assert len({json.dumps(s) for s in states}) == len(states)
    assert [step["op"] for step in states[-1]] == ["box_blur", "box_blur"]
    # Back through every state, by button and by keyboard, then forward again.
    for expected in reversed(states[:-1]):
        undo.click() if len(expected) % 2 else page.keyboard.press("Control+z")
        assert page_chain(page) == expected
    expect(undo).to_be_disabled()
    for expected in states[1:]:
        redo.click() if len(expected) % 2 else page.keyboard.press("Control+Shift+z")
        assert page_chain(page) == expected
    expect(redo).to_be_disabled()
    # A new edit after an undo drops what could have been redone.
    undo.click()
    page.get_by_test_id("step-0-enabled").uncheck()
    expect(redo).to_be_disabled()
    undo.click()
    assert page_chain(page) == states[-2]
    # Loading a chain is an edit too.
    import_chain(page, [{"op": "laplace"}])
    assert [step["op"] for step in page_chain(page)] == ["laplace"]
    undo.click()
    assert page_chain(page) == states[-2]


def test_steps_reorder_by_drag_and_keep_focus_on_the_control_used(open_app):
    page = open_app()
    for op in ("gaussian_blur", "edges"):
        page.get_by_test_id("add-op").select_option(op)
        page.get_by_test_id("add-step").click()
    page.set_viewport_size({"width": 1280, "height": 1600})  # every step in view: no scrolling mid-drag
    page.locator("[data-testid=step-2] .grip").drag_to(page.get_by_test_id("step-0"),
                                                        target_position={"x": 20, "y": 5})
    assert [step["op"] for step in page_chain(page)] == ["edges", "convolve", "gaussian_blur"]
    # Enter on a button and Space on a checkbox leave focus on that control, wherever it moves.
    page.get_by_test_id("step-1-up").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("step-0-down")).to_be_focused()  # first now: "up" is disabled
    page.get_by_test_id("step-1-down").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("step-2-down")).to_be_disabled()
    expect(page.get_by_test_id("step-2-up")).to_be_focused()
    page.get_by_test_id("step-0-enabled").focus()
    page.keyboard.press("Space")
    expect(page.get_by_test_id("step-0-enabled")).to_be_focused()
    expect(page.get_by_test_id("step-0-enabled")).not_to_be_checked()
    page.get_by_test_id("step-1-duplicate").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("step-1-duplicate")).to_be_focused()
    assert len(page_chain(page)) == 4


def test_parameters_that_do_not_apply_are_hidden(open_app):
    page = open_app()
    value = page.get_by_test_id("param-0-cval")
    expect(value).to_be_hidden()
    page.get_by_test_id("param-0-mode").select_option("constant")
    expect(value).to_be_visible()
    page.get_by_test_id("param-0-mode").select_option("wrap")
    expect(value).to_be_hidden()


@pytest.mark.parametrize("name, channels, depth", [("photo", 3, 8), ("16bit", 1, 16), ("rgba", 4, 8)])
def test_each_sample_loads_and_verifies(open_app, name, channels, depth):
    page = open_app()
    expect(page.get_by_test_id("empty-state")).to_be_visible()
    expect(page.get_by_test_id("export-8")).to_be_disabled()
    page.get_by_test_id(f"sample-{name}").click()
    error = wait_verified(page, TIMEOUT_MS)
    # The verdict (PASS) is every difference within the default tolerance.
    assert error <= compare.DEFAULT_TOLERANCE
    info = page.get_by_test_id("image-info").inner_text()
    assert f"{depth}-bit" in info and (channels != 4 or "alpha" in info)
    expect(page.get_by_test_id("empty-state")).to_be_hidden()
    expect(page.get_by_test_id("export-8")).to_be_enabled()
    expect(page.get_by_test_id("canvas-original")).to_have_accessible_name(
        re.compile(rf"^Original image: {info.split(' · ')[0]}, "))
    expect(page.get_by_test_id("canvas-heatmap")).to_have_accessible_name(
        re.compile(r"^Error heatmap: brighter where the GPU and CPU results differ more"))
    assert page.evaluate("async () => (await window.filterlab.run({ compare: false })).channels") == channels
    assert not page.errors


def test_the_image_and_chain_survive_a_reload_until_cleared(open_app, tmp_path):
    page = open_app()
    source = random_image(20, 30, 4, seed=72)
    load_file(page, tmp_path / "mine.png", png_bytes(source))
    page.get_by_test_id("add-op").select_option("laplace")
    page.get_by_test_id("add-step").click()
    page.get_by_test_id("param-1-neighbours").select_option("8")
    chain = page_chain(page)
    page.wait_for_timeout(600)  # the chain is saved once edits pause
    page.goto(page.url.split("#")[0])  # no chain in the address: it comes from storage
    page.wait_for_function("() => window.filterlab !== undefined")
    page.evaluate("() => window.filterlab.ready")
    wait_verified(page, TIMEOUT_MS)
    assert page_chain(page) == chain
    assert page.get_by_test_id("image-info").inner_text().startswith("30×20")
    original = page.evaluate("""() => { const c = document.querySelector('[data-testid=canvas-original]');
        const ctx = c.getContext('2d'); return ctx ? Array.from(ctx.getImageData(0, 0, c.width, c.height).data) : null; }""")
    if original is not None:  # a 2-D canvas (readback presentation) can be compared pixel for pixel
        np.testing.assert_array_equal(np.asarray(original, np.uint8).reshape(20, 30, 4)[..., :3][source[..., 3] == 255],
                                      source[..., :3][source[..., 3] == 255])
    page.get_by_test_id("clear-saved").click()
    expect(page.get_by_test_id("status")).to_contain_text("Forgot the saved image and chain")
    page.goto(page.url.split("#")[0])
    page.evaluate("() => window.filterlab.ready")
    page.wait_for_timeout(300)
    assert page.evaluate("() => document.body.dataset.image") == "none"
    assert [step["op"] for step in page_chain(page)] == ["convolve"]


def test_controls_are_named_and_the_page_explains_itself(open_app):
    page = open_app()
    page.get_by_test_id("add-op").select_option("gaussian_blur")
    page.get_by_test_id("add-step").click()
    for role in ("button", "checkbox"):
        controls = page.get_by_role(role).all()
        assert controls
        for control in controls:
            # A name with a word in it: not "↑", "✕" or an empty string.
            expect(control).to_have_accessible_name(re.compile(r"[A-Za-z]{2}"))
    expect(page.get_by_test_id("step-1-up")).to_have_accessible_name("Move step 2, Gaussian blur, up")
    expect(page.get_by_test_id("step-1-remove")).to_have_accessible_name("Remove step 2, Gaussian blur")
    expect(page.get_by_test_id("step-1-enabled")).to_have_accessible_name("Enable step 2, Gaussian blur")
    assert page.get_by_test_id("metrics").get_attribute("aria-live") == "polite"
    for name in ("original", "gpu", "cpu", "heatmap"):  # hidden until an image is open
        canvas = page.get_by_test_id(f"canvas-{name}")
        assert canvas.get_attribute("role") == "img"
        assert re.search(r"\w+ \w+: no\w* ", canvas.get_attribute("aria-label"))
    # Phases are marked once done, the device only with an adapter.
    expect(page.get_by_test_id("phases").locator("[data-phase=device]")).to_have_class(re.compile(r"\bdone\b"))
    # "?" opens the shortcuts; Escape closes them.
    page.locator("body").press("?")
    expect(page.get_by_test_id("help")).to_be_visible()
    expect(page.get_by_test_id("help")).to_contain_text("Undo the last chain edit")
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("help")).not_to_be_visible()
    # The drop zone opens the file chooser from the keyboard without scrolling the page.
    page.set_viewport_size({"width": 900, "height": 300})
    page.get_by_test_id("drop-zone").focus()
    expect(page.get_by_test_id("drop-zone")).to_be_focused()  # after the dialog gave focus back
    before = page.evaluate("() => [window.scrollY, document.querySelector('.panel').scrollTop]")
    # The chooser opens from a click on the file input made while the key press's user
    # activation lasts; headless Chromium's own chooser event is not reliable under load.
    page.evaluate("""() => {
      window.chooserClicks = [];
      document.querySelector("[data-testid=file-input]").addEventListener("click",
        () => window.chooserClicks.push(navigator.userActivation.isActive));
    }""")
    page.keyboard.press("Space")
    assert page.evaluate("() => window.chooserClicks") == [True]
    assert page.evaluate("() => [window.scrollY, document.querySelector('.panel').scrollTop]") == before
    # Export waits for an image; the Python script needs only the chain.
    expect(page.get_by_test_id("export-16")).to_be_disabled()
    expect(page.get_by_test_id("export-python")).to_be_enabled()


def test_copy_link_and_back_and_forward_between_chains(open_app):
    page = open_app()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.wait_for_function("() => location.hash.startsWith('#chain=')")  # the first chain too
    first = page_chain(page)
    page.get_by_test_id("add-op").select_option("box_blur")
    page.get_by_test_id("add-step").click()
    second = page_chain(page)
    page.get_by_test_id("copy-link").click()
    expect(page.get_by_test_id("status")).to_contain_text("Link copied")
    link = page.evaluate("() => navigator.clipboard.readText()")
    token = link.split("#chain=", 1)[1]
    assert chains.from_url(token) == chains.validate(second)
    # Back and Forward move between chains and stay in the app.
    page.wait_for_function(f"() => location.hash === '#chain={token}'")
    page.go_back()
    page.wait_for_function("(n) => window.filterlab.chain().length === n", arg=len(first))
    assert page_chain(page) == first
    page.go_forward()
    page.wait_for_function("(n) => window.filterlab.chain().length === n", arg=len(second))
    assert page_chain(page) == second
