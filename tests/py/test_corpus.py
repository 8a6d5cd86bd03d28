"""Every file of Pillow's own test images (an outside corpus: every format and mode Pillow
reads, and its fuzzers' crash, out-of-memory, timeout and bomb cases) through the decoder and
through the command line.

For each file: a result, or a clean refusal with a plain message, within a time limit; a
crash or a hang of the process is a failure that names the file. The files run in bulk, in
two worker processes that are replaced when one dies (see :func:`corpus.run_bulk`); the
command line's own process is also started for the files whose decoding makes the C
libraries write to standard error, and for one file of each format.

``make corpus`` (part of ``make test``) fetches the corpus into the cache.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import subprocess
import sys
from pathlib import Path

import corpus
import pytest

FILES = corpus.corpus_files()
NAMES = FILES or [None]  # a missing corpus fails, rather than leaving nothing to run
DECODE_SECONDS = 20  # per file; the slowest takes about 0.2 s
CLI_SECONDS = 60  # per file, the one-step chain included; the slowest takes about 5 s


def _id(name):
    return "corpus-missing" if name is None else name


@pytest.fixture(scope="module")
def decodes():
    if not FILES:
        pytest.fail(corpus.MISSING)
    return corpus.run_bulk("decode", corpus.corpus_dir(), FILES, timeout=DECODE_SECONDS)


@pytest.fixture(scope="module")
def cli_runs():
    if not FILES:
        pytest.fail(corpus.MISSING)
    return corpus.run_bulk("cli", corpus.corpus_dir(), FILES, timeout=CLI_SECONDS)


def _failure(result):
    if result["status"] == "crash":
        return f"the process died (exit {result['exit']}):\n{result['stderr']}"
    if result["status"] == "hang":
        return f"no answer within {result['seconds']} s"
    return f"unexpected result: {result}"


@pytest.mark.parametrize("name", NAMES, ids=_id)
def test_decode(decodes, name):
    result = decodes[name]
    assert result["status"] in ("decoded", "rejected"), _failure(result)
    assert result["seconds"] < DECODE_SECONDS
    if result["status"] == "rejected":
        assert corpus.plain_problems(result["message"]) == [], result["message"]


@pytest.mark.parametrize("name", NAMES, ids=_id)
def test_cli(cli_runs, decodes, name):
    result = cli_runs[name]
    assert result["status"] == "exit", _failure(result)
    assert result["seconds"] < CLI_SECONDS
    assert result["stdout"] == ""
    if decodes[name]["status"] == "decoded":
        assert (result["code"], result["stderr"], result["written"]) == (0, "", True)
        return
    prefix = f"filterlab: error: {corpus.corpus_dir() / name}: "
    assert result["code"] == 2 and not result["written"]
    assert result["stderr"].count("\n") == 1 and result["stderr"].startswith(prefix), result
    assert result["stderr"][len(prefix):-1] == decodes[name]["message"]


def _process_sample(decodes):
    """Files for the command line's own process: each one whose decoding makes the C
    libraries write to standard error, and the smallest file of each format it accepts."""
    root = corpus.corpus_dir()
    noisy = {name for name, result in decodes.items() if result.get("native_output")}
    smallest = {}
    for name in sorted(decodes, key=lambda name: (root / name).stat().st_size):
        if decodes[name]["status"] == "decoded":
            smallest.setdefault(Path(name).suffix.lower(), name)
    return sorted(noisy | set(smallest.values()))


def _apply(name, chain_file, out_dir):
    out = out_dir / (name.replace("/", "_") + ".png")
    env = {**os.environ, "PYTHONPATH": str(corpus.ROOT / "py")}
    command = [sys.executable, "-m", "filterlab", "apply", "--chain", str(chain_file),
               str(corpus.corpus_dir() / name), str(out)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, env=env,
                              timeout=CLI_SECONDS, check=False)
    except subprocess.TimeoutExpired:
        return None, "", "", False
    return done.returncode, done.stdout, done.stderr, out.is_file()


def test_cli_in_its_own_process(decodes, tmp_path):
    sample = _process_sample(decodes)
    assert sum(bool(decodes[name].get("native_output")) for name in sample) >= 5  # not vacuous
    chain_file = tmp_path / "chain.json"
    chain_file.write_text(json.dumps(corpus.CHAIN))
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        runs = dict(zip(sample, pool.map(lambda name: _apply(name, chain_file, tmp_path), sample),
                        strict=True))
    failures = []
    for name, (code, out, err, written) in runs.items():
        if decodes[name]["status"] == "decoded":
            expected = (0, "", "", True)
        else:
            line = f"filterlab: error: {corpus.corpus_dir() / name}: {decodes[name]['message']}\n"
            expected = (2, "", line, False)
        if (code, out, err, written) != expected:
            failures.append(f"{name}: exit {code}, stdout {out!r}, stderr {err!r}")
    assert failures == [], "\n".join(failures)


def test_browser_subset_covers_hostile_files_modes_and_formats():
    if not FILES:
        pytest.fail(corpus.MISSING)
    subset = corpus.browser_subset(FILES)
    hostile = [name for name in FILES if name.startswith(("crash-", "oom-", "timeout-"))]
    hostile += ["decompression_bomb.gif", "png_decompression_dos.png", "libtiff_segfault.tif"]
    assert set(hostile) <= set(subset)
    root = corpus.corpus_dir()
    opened = {name: corpus._opened(root / name) for name in FILES}
    for part in (0, 1):  # formats, then modes
        everywhere = {found[part] for found in opened.values() if found}
        assert {opened[name][part] for name in subset if opened[name]} == everywhere
    assert len(subset) < len(FILES) // 5


def test_the_runner_survives_crashes_and_hangs(tmp_path):
    actions = {"a": b"ok", "b": b"crash", "c": b"ok", "d": b"hang", "e": b"ok"}
    for name, action in actions.items():
        (tmp_path / name).write_bytes(action)
    results = corpus.run_bulk("probe", tmp_path, list(actions), timeout=2, workers=1)
    assert {name: result["status"] for name, result in results.items()} == {
        "a": "ok", "b": "crash", "c": "ok", "d": "hang", "e": "ok"}
    assert results["b"]["exit"] == -11  # SIGSEGV
