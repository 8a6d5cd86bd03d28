"""Pillow's test images as an outside corpus: where they are, what a plain message is, which
files stand for the rest, and a runner that feeds many files to one Python process at a
time, surviving crashes and hangs.

``scripts/fetch_pillow_corpus.py`` puts the corpus in the cache (``make test`` runs it). Run
as a script, this module is the worker side of :func:`run_bulk`.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import importlib.util
import json
import os
import queue
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location(
    "fetch_pillow_corpus", ROOT / "scripts" / "fetch_pillow_corpus.py"
)
fetcher = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fetcher)

#: The one-step chain the command line and the page apply to every corpus file.
CHAIN = [{"op": "gaussian_blur", "params": {"sigma": 1.0}}]

MISSING = (
    "Pillow's test images are missing: run 'make corpus' "
    "(python3 scripts/fetch_pillow_corpus.py) first"
)

# Names Pillow gives its fuzzer finds and denial-of-service cases.
_HOSTILE = re.compile(r"crash|oom|timeout|bomb|segfault|decompression|_dos|overflow", re.I)

# Text that belongs to programmers, not to a user's message.
_RAW = re.compile(
    r"Traceback|\w+(Error|Exception|Warning)\b|NoneType|ssize_t|subscriptable|index out of "
    r"range|Data Too Large|MAX_TEXT_CHUNK|not configured|decoder error|\bb'|0x[0-9a-f]|errno|"
    r"\bPIL\b|Pillow|libtiff|\(-?\d+\)$|: -?\d+\.$|<\w+"
)


def corpus_dir() -> Path:
    return fetcher.corpus_dir()


def corpus_files() -> list[str]:
    """Every corpus file, as a path relative to :func:`corpus_dir` ([] when it is missing)."""
    if not fetcher.is_complete():
        return []
    root = corpus_dir()
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


def plain_problems(message: str) -> list[str]:
    """What is wrong with `message` as one a user should read; [] when nothing is.

    A plain message is one sentence or two on one line, starting with a capital and ending
    with a full stop, with none of Python's or the codecs' own words in it.
    """
    problems = []
    if not message or "\n" in message.strip():
        problems.append("not a single line")
    elif not (message[0].isupper() and message.rstrip().endswith(".")):
        problems.append("not a sentence")
    raw = _RAW.search(message)
    if raw:
        problems.append(f"raw text {raw.group(0)!r}")
    return problems


def _opened(path: Path):
    """(Pillow format, mode) of a file as Pillow opens it with every plugin, or None."""
    from PIL import Image

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with Image.open(path) as image:
                return image.format, image.mode
        except Exception:
            return None


def browser_subset(files: list[str]) -> list[str]:
    """The files that stand for the corpus in the browser.

    Every crash, out-of-memory, timeout and bomb case (by Pillow's names for them), the
    smallest file of every format family (Pillow's format where Pillow can open the file at
    all, its extension otherwise), and the smallest file of every mode, in a format Filter
    Lab accepts where the corpus has one.
    """
    from filterlab import imageio

    root = corpus_dir()
    accepted = {*imageio.FORMATS, "MPO"}  # Pillow calls some JPEG files MPO
    opened = {name: _opened(root / name) for name in files}
    by_size = sorted(files, key=lambda name: ((root / name).stat().st_size, name))
    families, modes = {}, {}
    for name in by_size:
        family = opened[name][0] if opened[name] else Path(name).suffix.lower() or "(none)"
        families.setdefault(family, name)
    readable = [name for name in by_size if opened[name]]
    for name in sorted(readable, key=lambda name: opened[name][0] not in accepted):  # stable
        modes.setdefault(opened[name][1], name)
    hostile = {name for name in files if _HOSTILE.search(name)}
    return sorted(hostile | set(families.values()) | set(modes.values()))


# -- bulk runs in a separate process --------------------------------------------------------


def run_bulk(mode: str, root: Path, names: list[str], *, timeout: float,
             workers: int = 2) -> dict[str, dict]:
    """Run every file through `mode` ("decode" or "cli") in `workers` parallel processes.

    Returns a result for each name: the worker's record, or ``{"status": "crash"}`` (the
    process died on that file) or ``{"status": "hang"}`` (no answer within `timeout`
    seconds). A new process takes over after either, with the remaining files.
    """
    shares = [names[i::workers] for i in range(workers)]
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        parts = pool.map(lambda share: _run_share(mode, root, share, timeout), shares)
    return {name: result for part in parts for name, result in part.items()}


def _run_share(mode: str, root: Path, names: list[str], timeout: float) -> dict[str, dict]:
    results: dict[str, dict] = {}
    pending = list(names)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "py")}
    while pending:
        with tempfile.TemporaryFile() as errors:
            worker = subprocess.Popen(
                [sys.executable, __file__, mode, str(root)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors, text=True,
                env=env,
            )
            lines: queue.Queue = queue.Queue()
            reader = threading.Thread(target=_read_lines, args=(worker.stdout, lines), daemon=True)
            reader.start()
            with contextlib.suppress(BrokenPipeError):  # a worker that died at once
                worker.stdin.write("".join(name + "\n" for name in pending))
                worker.stdin.close()
            current, done = None, len(results)
            while True:
                try:
                    line = lines.get(timeout=timeout if current else 60)
                except queue.Empty:
                    worker.kill()
                    worker.wait()
                    results[current or pending[0]] = {"status": "hang", "seconds": timeout}
                    break
                if line is None:
                    code = worker.wait()
                    if current is not None or len(results) == done:  # always make progress
                        errors.seek(0)
                        tail = errors.read().decode("utf-8", "replace")[-2000:]
                        results[current or pending[0]] = {"status": "crash", "exit": code,
                                                          "stderr": tail}
                    break
                record = json.loads(line)
                if "start" in record:
                    current = record["start"]
                else:
                    results[record.pop("name")] = record
                    current = None
            pending = [name for name in pending if name not in results]
            reader.join(timeout=5)
    return results


def _read_lines(stream, lines: queue.Queue) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


def _decode(path: Path) -> dict:
    """imageio.decode on one file; also whether the C libraries wrote to stderr meanwhile."""
    from filterlab import imageio

    with _Redirected() as seen:
        try:
            decoded = imageio.decode(path.read_bytes())
            record = {"status": "decoded", "shape": list(decoded.native.shape),
                      "mode": decoded.info.mode}
        except imageio.ImageDecodeError as exc:
            record = {"status": "rejected", "message": str(exc)}
    record["native_output"] = seen.text[1]
    return record


class _Redirected:
    """Send file descriptors 1 and 2 to temporary files for a block; keep what was written."""

    def __enter__(self):
        self.files = [tempfile.TemporaryFile() for _ in (1, 2)]
        self.saved = []
        for fd, file in zip((1, 2), self.files, strict=True):
            getattr(sys, "stdout" if fd == 1 else "stderr").flush()
            self.saved.append(os.dup(fd))
            os.dup2(file.fileno(), fd)
        return self

    def __exit__(self, *exc_info):
        sys.stdout.flush()
        sys.stderr.flush()
        self.text = []
        for fd, saved, file in zip((1, 2), self.saved, self.files, strict=True):
            os.dup2(saved, fd)
            os.close(saved)
            file.seek(0)
            self.text.append(file.read().decode("utf-8", "replace"))
            file.close()


def _cli(path: Path, chain_file: Path, out: Path) -> dict:
    """`python -m filterlab apply` on one file, in this process, seen from outside it."""
    from filterlab import cli

    with _Redirected() as seen:
        code = cli.main(["apply", "--chain", str(chain_file), str(path), str(out)])
    written = out.is_file() and out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    out.unlink(missing_ok=True)
    return {"status": "exit", "code": code, "stdout": seen.text[0], "stderr": seen.text[1],
            "written": written}


def _probe(action: bytes) -> dict:
    if action == b"crash":
        os.kill(os.getpid(), signal.SIGSEGV)
    if action == b"hang":
        time.sleep(3600)
    return {"status": "ok"}


def _serve(mode: str, root: Path) -> None:
    """The worker: names on stdin; a start line and a result line each on stdout."""
    report = sys.stdout
    with tempfile.TemporaryDirectory() as tmp:
        chain_file = Path(tmp) / "chain.json"
        chain_file.write_text(json.dumps(CHAIN))
        for line in sys.stdin:
            name = line.rstrip("\n")
            print(json.dumps({"start": name}), file=report, flush=True)
            started = time.perf_counter()
            try:
                if mode == "decode":
                    record = _decode(root / name)
                elif mode == "cli":
                    record = _cli(root / name, chain_file, Path(tmp) / "out.png")
                else:  # "probe", for testing the runner: files say what to do
                    record = _probe((root / name).read_bytes())
            except BaseException as exc:  # a bug, reported as such by the test
                record = {"status": "error", "message": f"{type(exc).__name__}: {exc}"}
            record.update(name=name, seconds=time.perf_counter() - started)
            print(json.dumps(record), file=report, flush=True)


if __name__ == "__main__":
    _serve(sys.argv[1], Path(sys.argv[2]))
