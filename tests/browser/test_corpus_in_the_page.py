"""Pillow's test images through the page: every crash, out-of-memory, timeout and bomb case,
and the smallest file of every format and mode (``corpus.browser_subset`` picks them from
the corpus that ``make corpus`` fetches).

Each file goes through ``window.filterlab.run`` with a one-step chain. It must give a result,
or a rejection with a plain message, within the time limit; no worker may report a fatal
error; and the page must still process a good PNG afterwards. A page that does not is
reloaded for the next file, so one file that kills a worker fails only its own test.
"""

from __future__ import annotations

import corpus
import pytest
from playwright.sync_api import Error as PlaywrightError

from pages import png_bytes, random_image

SUBSET = corpus.browser_subset(corpus.corpus_files())
NAMES = SUBSET or [None]  # a missing corpus fails, rather than leaving nothing to run
SECONDS = 60
GOOD = png_bytes(random_image(5, 4, 3, seed=11))
# Errors the page reports with a message written for the user.
USER_ERRORS = ("ImageDecodeError", "ChainError", "MemoryError")

_RUN = """async ([bytes, chain, ms]) => {
    let timer;
    const late = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    });
    try {
        const r = await Promise.race([window.filterlab.run({ image: new Uint8Array(bytes), chain }), late]);
        return { width: r.width, height: r.height, channels: r.channels };
    } finally {
        clearTimeout(timer);
    }
}"""


def _run(page, data):
    return page.evaluate(_RUN, [list(data), corpus.CHAIN, SECONDS * 1000])


def _rejection(exc):
    """(kind, message) of a rejected run: "Page.evaluate: Kind: message\\n    at ..."."""
    first = exc.message.split("\n", 1)[0].removeprefix("Page.evaluate: ")
    kind, _, message = first.partition(": ")
    return kind, message


class _Watched:
    """The shared app page, with its workers' console watched, reloaded when it stops working."""

    def __init__(self, page):
        self.page = page
        self.console: list[str] = []
        page.on("worker", self._watch)
        for worker in page.workers:
            self._watch(worker)
        self.broken = False

    def _watch(self, worker):
        worker.on("console", lambda message: self.console.append(message.text))

    def ready(self):
        if self.broken:
            self.page.reload()
            self.page.wait_for_function("() => window.filterlab !== undefined", timeout=30_000)
            self.page.evaluate("() => window.filterlab.ready")
            self.broken = False
        return self.page


@pytest.fixture(scope="module")
def watched(app):
    return _Watched(app)


@pytest.mark.parametrize("name", NAMES, ids=lambda name: name or "corpus-missing")
def test_corpus_file_in_the_page(watched, name):
    if name is None:
        pytest.fail(corpus.MISSING)
    page = watched.ready()
    console, errors = len(watched.console), len(page.errors)
    data = (corpus.corpus_dir() / name).read_bytes()
    problems = []
    try:
        result = _run(page, data)
        if not (result["width"] > 0 and result["height"] > 0 and 1 <= result["channels"] <= 4):
            problems.append(f"odd result {result}")
    except PlaywrightError as exc:
        kind, message = _rejection(exc)
        if kind not in USER_ERRORS:
            problems.append(f"rejected as {kind}: {message}")
        problems += [f"{problem}: {message}" for problem in corpus.plain_problems(message)]
    reported = watched.console[console:] + page.errors[errors:]
    fatal = [f"reported: {text[:300]}" for text in reported if "fatal error" in text.lower()]
    try:
        after = _run(page, GOOD)
        if (after["width"], after["height"]) != (4, 5):
            fatal.append(f"a good PNG gave {after} afterwards")
    except PlaywrightError as exc:
        fatal.append(f"a good PNG failed afterwards: {exc.message.splitlines()[0]}")
    watched.broken = bool(fatal)
    assert problems + fatal == []
