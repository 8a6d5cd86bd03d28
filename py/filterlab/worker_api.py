"""The functions the JavaScript workers call, and the only place values cross that boundary.

Two kinds of worker import this module, each running its own Pyodide. Each serves one method
table, and the page calls the methods by these names, with arguments named as the Python
parameters are (``app/bridge.js`` writes the message schema down):

* :data:`GPU_METHODS`, served by the GPU worker. It decodes the image and keeps its samples at
  native depth, runs chains on the GPU and presents them, and hands out what verification
  needs: the GPU's output tile by tile, with the source pixels each tile needs.
* :data:`REFERENCE_METHODS`, served by each worker of the reference pool: the NumPy reference
  for one tile at a time, compared with the GPU's tile (:mod:`filterlab.verify`).

Boundary rules:

* Pixels leave Python as new JS typed arrays filled by one ``assign`` from NumPy's buffer
  (never ``to_js`` of a large array); pixels arrive as typed arrays copied by ``assign_to``
  into preallocated NumPy arrays. The JS side transfers every typed array and ImageBitmap in
  a result, so nothing is copied twice.
* Everything else leaves as plain JS objects built by ``to_js(...,
  dict_converter=Object.fromEntries)``, so JavaScript never holds a PyProxy.
* Results follow the page's naming style, camelCase (``uploadMs``, ``maxAbsError``,
  ``bitDepth``): :func:`_public` converts the keys of Filter Lab's own records here, once.
  Chains are user data and cross unchanged; partial metrics cross as opaque records that only
  Python reads.
* Defaults (the comparison tolerance, the heatmap gain) and every message a user reads are
  set in Python. Errors a user can act on (a bad chain, a corrupt image, a GPU that ran out
  of memory) keep their messages; any other exception is a bug, and the page is told so in
  plain words (:func:`_boundary`), with the details in the console.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import gc
import inspect
import json
import sys
import time
import traceback
from typing import Any

import js
import numpy as np
import pyodide_js
from pyodide.ffi import to_js

from . import catalog, imageio, kernels, script, verify
from . import chain as chains
from . import compare as _compare
from .gpu import shaders
from .gpu.device import GPUDevice, GPUError, GPUUnavailableError
from .gpu.engine import Engine

_NO_IMAGE = "No image is loaded yet: open or drop an image first."
_SHADER_DIR = "/home/pyodide/shaders"
_TYPED = {np.dtype(np.uint8): "Uint8Array", np.dtype(np.uint16): "Uint16Array",
          np.dtype(np.int32): "Int32Array", np.dtype(np.float32): "Float32Array"}


class UserError(ValueError):
    """A problem the user can act on, raised here with a message written for them."""


# Exceptions whose messages are written for users; everything else is reported as a bug.
_USER_ERRORS = (chains.ChainError, imageio.ImageDecodeError, kernels.KernelError, UserError,
                GPUError, GPUUnavailableError, MemoryError)


def _boundary(function):
    """Let user-facing errors through with their messages; turn anything else into one plain
    sentence for the page, and print the traceback to the browser console."""

    def internal(exc):
        js.console.error(f"Filter Lab internal error in {function.__name__}:\n{traceback.format_exc()}")
        return RuntimeError(f"Filter Lab hit an internal error ({type(exc).__name__}) in "
                            f"{function.__name__.replace('_', ' ')}. The details are in the "
                            "browser console; the page keeps working.")

    if inspect.iscoroutinefunction(function):
        @functools.wraps(function)
        async def guarded(*args, **kwargs):
            try:
                return await function(*args, **kwargs)
            except _USER_ERRORS:
                raise
            except Exception as exc:
                raise internal(exc) from None
    else:
        @functools.wraps(function)
        def guarded(*args, **kwargs):
            try:
                return function(*args, **kwargs)
            except _USER_ERRORS:
                raise
            except Exception as exc:
                raise internal(exc) from None
    return guarded


class _State:
    native: np.ndarray | None = None   # the GPU worker's image, at native depth
    engine = None                      # filterlab.gpu.engine.Engine
    gpu = None                         # filterlab.gpu.device.GPUDevice
    canvas = None                      # the GPU worker's OffscreenCanvas
    gpu_reason = ""
    events: list[dict] = []
    job: dict | None = None            # the GPU worker's current verification
    next_job = 1
    tiles_checked = 0                  # a reference worker's count of check_tile calls


_state = _State()


# -- conversion at the boundary -----------------------------------------------------------------


def _js(value: Any) -> Any:
    return to_js(value, dict_converter=js.Object.fromEntries, create_pyproxies=False)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word[:1].upper() + word[1:] for word in rest)


def _public(record: Any) -> Any:
    """A copy of one of Filter Lab's own records with camelCase keys, recursively."""
    if isinstance(record, dict):
        return {_camel(str(k)): _public(v) for k, v in record.items()}
    if isinstance(record, (list, tuple)):
        return [_public(v) for v in record]
    return record


def _typed(array: np.ndarray, kind=None) -> Any:
    """Copy a NumPy array into a new JS typed array (one memcpy), which JS may transfer."""
    flat = np.ascontiguousarray(array).reshape(-1)
    out = getattr(js, _TYPED[flat.dtype]).new(flat.size) if kind is None else kind.new(flat.size)
    out.assign(flat)
    return out


def _received(data, shape: tuple, dtype=np.float32) -> np.ndarray:
    """Copy a JS typed array holding an array of `shape` into a new NumPy array."""
    array = np.empty(shape, dtype)
    if int(data.length) != array.size:
        raise UserError(f"Expected {array.size} values, got {int(data.length)}.")
    data.assign_to(array.reshape(-1))
    return array


def _bytes_of(data) -> bytes:
    return data.to_bytes() if hasattr(data, "to_bytes") else bytes(data)


def _info(decoded: imageio.Decoded) -> dict:
    return {"width": decoded.width, "height": decoded.height, "channels": decoded.channels,
            **decoded.info.as_dict()}


def _require_image() -> np.ndarray:
    if _state.native is None:
        raise UserError(_NO_IMAGE)
    return _state.native


def _memory() -> int:
    """Bytes of this worker's wasm memory (it only grows, so this is also its peak)."""
    return int(pyodide_js._module.HEAP8.length)


@functools.lru_cache(maxsize=4)
def _steps(chain: str) -> tuple:
    """A chain's validated steps; reference workers see the same chain for every tile."""
    return tuple(chains.validate(chain))


# -- the GPU worker -----------------------------------------------------------------------------


@_boundary
def ops() -> Any:
    """The catalog, as the UI and ``window.filterlab.ops()`` see it."""
    return _js(catalog.describe())


@_boundary
def defaults() -> Any:
    """The defaults the page shows before the user changes them, and the heatmap's ramp."""
    return _js(_public({
        "tolerance": _compare.DEFAULT_TOLERANCE,
        "gain": _compare.DEFAULT_GAIN,
        "gain_range": [_compare.MIN_GAIN, _compare.MAX_GAIN],
        "ramp": _compare.RAMP.tolist(),
    }))


@_boundary
def to_url(chain: str) -> str:
    """A compact URL-safe token for a chain (JSON text), for the page's address."""
    return chains.to_url(chains.validate(chain))


@_boundary
def from_url(token: str) -> Any:
    """The chain a :func:`to_url` token holds, validated; ChainError if damaged."""
    return _js([step.as_dict() for step in chains.from_url(token)])


@_boundary
def chain_json(chain: str) -> str:
    """A chain as the command line's ``--chain`` file: validated JSON, every parameter given."""
    return chains.to_json(chain, indent=2)


@_boundary
def read_chain(text: str) -> Any:
    """The chain a JSON file or pasted text holds, validated; ChainError if it is not one."""
    return _js([step.as_dict() for step in chains.from_json(text)])


@_boundary
def python_script(chain: str) -> str:
    """A standalone Python script that applies a chain to an image file
    (:func:`filterlab.script.python_script`)."""
    return script.python_script(chain)


@_boundary
def kernel_facts(kernel) -> Any:
    """What the kernel editor shows about a kernel (:func:`filterlab.kernels.analyse`), and its
    values as the editor writes them (``cells``, :func:`filterlab.kernels.value_text`)."""
    values = kernels.validate(kernel.to_py() if hasattr(kernel, "to_py") else kernel)
    facts = kernels.analyse(values)
    facts["cells"] = [[kernels.value_text(v) for v in row] for row in values]
    return _js(_public(facts))


@_boundary
async def init(allowed: bool = True) -> Any:
    """Create the GPU device and the canvas results are drawn on.

    Returns ``{available, adapter, reason, present, presentNote}``; never raises: without a
    GPU the CPU reference still works.
    """
    shaders.set_shader_dir(_SHADER_DIR)
    if not allowed:
        _state.gpu_reason = "WebGPU is not available in this browser (navigator.gpu is missing)."
        return _js({"available": False, "reason": _state.gpu_reason, "adapter": None})
    _state.gpu = GPUDevice(on_event=_state.events.append)
    _state.canvas = js.OffscreenCanvas.new(1, 1)
    try:
        await _state.gpu.acquire()
        _state.engine = Engine(_state.gpu)
        present = await _state.engine.presenter.attach(_state.canvas)
        _state.engine.prepare()
    except Exception as exc:  # no GPU path, whatever the cause: the CPU path still works
        _state.gpu = _state.engine = None
        reason = str(exc) if isinstance(exc, GPUUnavailableError) else f"WebGPU could not start ({exc})."
        _state.gpu_reason = reason
        return _js({"available": False, "reason": reason, "adapter": None})
    return _js(_public({"available": True, "reason": "", "adapter": _state.gpu.info.as_dict(),
                        "present": present, "present_note": _state.engine.presenter.note}))


@_boundary
async def load(data) -> Any:
    """Decode an encoded file (a Uint8Array) and make it the current image.

    Its samples stay at native depth, here and on the GPU. Returns the image facts and the
    original for display: ``frame`` (an ImageBitmap drawn by the GPU) or ``display`` (RGBA8).
    """
    try:
        decoded = imageio.decode(_bytes_of(data))
    except MemoryError:
        raise MemoryError("The browser ran out of memory decoding this image; try a smaller one.") from None
    _state.native = decoded.native
    _state.job = None
    out = {"info": _public(_info(decoded))}
    if _state.engine is not None:
        _state.engine.load(decoded.native)
        shown = await _state.engine.run([], present=True)
        out.update(_shown(shown))
    if "frame" not in out and "display" not in out:
        out["display"] = _typed(_rgba8(decoded.native), js.Uint8ClampedArray)
    return _js(out)


def _rgba8(native: np.ndarray, rows: int = 256) -> np.ndarray:
    """The display form of native samples (:func:`filterlab.imageio.to_rgba8`), converted a
    band of rows at a time so that no whole-image float copy is made."""
    h, w, _ = native.shape
    out = np.empty((h, w, 4), np.uint8)
    for y in range(0, h, rows):
        out[y:y + rows] = imageio.to_rgba8(imageio.to_float(native[y:y + rows]))
    return out


def _shown(result) -> dict:
    if result.frame is not None:
        return {"frame": result.frame}
    if result.display is not None:
        return {"display": _typed(result.display, js.Uint8ClampedArray)}
    return {}


async def _run_engine(steps, **options):
    """Run on the GPU; a run that fails because the device was lost is retried once."""
    if _state.engine is None:
        raise UserError(_state.gpu_reason or "The GPU is not available.")
    try:
        return await _state.engine.run(steps, **options)
    except Exception:
        await asyncio.sleep(0.05)  # let a pending device.lost callback land first
        if not _state.gpu.lost_since_acquire():
            raise
        return await _state.engine.run(steps, **options)


@_boundary
async def run(chain: str, pixels: bool = False, stages: bool = False, present: bool = True) -> Any:
    """Run a chain (JSON text) on the current image on the GPU.

    Returns ``{width, height, channels, timings, adapter, events}``, plus ``frame`` (an
    ImageBitmap) or ``display`` (RGBA8) when presented, ``pixels`` (the final H×W×C result as a
    Float32Array) when asked, and ``stages`` (each enabled step's output) with ``stages``.
    Nothing is read back unless asked: a presented frame goes to the screen from the GPU.
    """
    steps = chains.validate(chain)  # bad parameters never reach the GPU
    h, w, c = _require_image().shape
    result = await _run_engine(steps, readback=pixels, stages=stages, present=present)
    out = {
        "width": w, "height": h, "channels": c,
        "timings": _public(result.timings),
        "adapter": _public(_state.gpu.info.as_dict()),
        "events": _drain_events(),
        **_shown(result),
    }
    if result.output is not None:
        out["pixels"] = _typed(result.output)
    if stages:
        out["stages"] = [_typed(stage) for stage in result.stages]
    return _js(out)


def _drain_events() -> list[dict]:
    events, _state.events[:] = list(_state.events), []
    return events


@_boundary
async def verify_start(chain: str, stages: bool = False, workers: int = 1) -> Any:
    """Start verifying a chain on the current image: run it on the GPU once more, keeping
    every output there, and cut the image into tiles for `workers` reference workers.

    Returns ``{job, tiles, width, height, channels, outputs, gpu}``: ``tiles`` are
    ``[y0, y1, x0, x1, first]`` in verification order (the first verdict's tiles first),
    ``outputs`` how many outputs each tile compares (every enabled step with `stages`, else 1),
    ``gpu`` whether GPU outputs come with the tiles (without a GPU, the pool computes the
    reference alone).
    """
    steps = chains.validate(chain)
    native = _require_image()
    h, w, c = native.shape
    gpu = _state.engine is not None
    enabled = sum(step.enabled for step in steps)
    if gpu and (stages or not _state.engine.keep_last(steps)):
        await _run_engine(steps, present=False, keep="stages" if stages else "result")
    tiles = verify.tiles(h, w, size=verify.tile_size(h, w, max(1, int(workers))))
    _state.job = {"id": _state.next_job, "steps": steps, "tiles": tiles,
                  "runs": _state.engine.runs if gpu else 0}
    _state.next_job += 1
    return _js({
        "job": _state.job["id"], "width": w, "height": h, "channels": c, "gpu": gpu,
        "outputs": enabled if stages else 1, "stages": bool(stages),
        "tiles": [[t.y0, t.y1, t.x0, t.x1, t.first] for t in tiles],
    })


@_boundary
async def verify_read(job: int, tiles) -> Any:
    """The GPU's output and the source pixels of some tiles of verification `job`.

    Returns one record per tile: ``{index, rows, cols, block, gpu}``: the source row and
    column indices the tile needs, the native source block they select, and the GPU's
    outputs for the tile (float32, H×W×C each).
    """
    current = _state.job
    engine = _state.engine
    if current is None or current["id"] != job or (engine is not None and engine.runs != current["runs"]):
        raise UserError("That verification was superseded by a newer run.")
    native = _require_image()
    h, w, _ = native.shape
    indices = [int(i) for i in tiles]
    picked = [current["tiles"][i] for i in indices]
    gpu = await engine.read_regions([(t.y0, t.y1, t.x0, t.x1) for t in picked]) if engine else None
    out = []
    for n, (index, tile) in enumerate(zip(indices, picked)):
        rows, cols = verify.source_region(current["steps"], tile, h, w)
        out.append({
            "index": index,
            "rows": _typed(rows.astype(np.int32)),
            "cols": _typed(cols.astype(np.int32)),
            "block": _typed(native[np.ix_(rows, cols)]),
            "gpu": gpu[n] if gpu is not None else [],
        })
    return _js(out)


@_boundary
def combine(partials, tol: float = _compare.DEFAULT_TOLERANCE) -> Any:
    """The metrics of the tiles verified so far, from their partial records."""
    records = [_compare.Partial(**record) for record in partials.to_py()]
    return _js(_public(_compare.combine(records, tol=tol).as_dict()))


# Rows of float32 result read back at a time while exporting: the whole image never is.
_EXPORT_BAND_BYTES = 32 << 20


@_boundary
async def export(chain: str, bits: int = 8) -> Any:
    """The GPU's result of a chain (JSON text) on the current image, as a PNG file.

    The result is read back a band of rows at a time and quantised as
    :func:`filterlab.imageio.quantise` documents (clipped to [0, 1], rounded); ``bits`` is 8
    or 16.
    """
    steps = chains.validate(chain)
    h, w, c = _require_image().shape
    if bits not in (8, 16) or isinstance(bits, bool):
        raise UserError(f"bits must be 8 or 16, got {bits!r}")
    if _state.engine is None or not _state.engine.keep_last(steps):
        await _run_engine(steps, present=False, keep="result")
    samples = np.empty((h, w, c), np.uint8 if bits == 8 else np.uint16)
    rows = max(1, _EXPORT_BAND_BYTES // (w * c * 4))
    band = np.empty((rows, w, c), np.float32)
    for y0 in range(0, h, rows):
        y1 = min(h, y0 + rows)
        [[values]] = await _state.engine.read_regions([(y0, y1, 0, w)])
        values.assign_to(band[: y1 - y0].reshape(-1))
        samples[y0:y1] = imageio.quantise(band[: y1 - y0], bits)
    return _typed(np.frombuffer(imageio.encode_samples(samples), np.uint8), js.Uint8Array)


@_boundary
def encode(pixels, bits: int = 8) -> Any:
    """Encode result pixels (a Float32Array, H×W×C of the current image) as a PNG file: the
    export without a GPU, from the reference's pixels.

    Values are clipped to [0, 1] and rounded as :func:`filterlab.imageio.encode_png`
    documents; ``bits`` is 8 or 16.
    """
    shape = _require_image().shape
    png = imageio.encode_png(_received(pixels, shape), bits=bits)
    return _typed(np.frombuffer(png, np.uint8), js.Uint8Array)


@_boundary
def debug(action: str, argument: str = "") -> Any:
    """Test and diagnostics hooks: ``stats``, ``destroy-device``, ``band-rows``, ``entries``
    and ``pipelines``.

    ``band-rows`` forces the engine to process images in bands of that many rows (empty
    restores automatic banding), so tests can check banded results against unbanded ones.
    ``entries`` takes ``"shader.entry:other,..."`` and makes the engine use entry point
    ``other`` wherever it would use ``shader.entry`` (benchmarking variants); the item
    ``unfused`` keeps the separate unpack pass. ``pipelines`` is ``auto``, ``general`` or
    ``specialised``: which pipelines serve a pass with a kernel radius. ``fatal`` kills this
    worker's Python on purpose, to test that the page recovers.
    """
    engine = _state.engine
    if action == "fatal":
        _fatal()
    if action == "stats":
        gc.collect()  # proxies in reference cycles are released here, not leaked
        res = engine.resources if engine else None
        return _js(_public({
            "live_buffers": res.live_buffers if res else 0,
            "pipelines": res.pipeline_count if res else 0,
            "cached": res.cached if res else 0,
            "pending_compiles": res.pending_compiles if res else 0,
            "blocking_compiles": res.blocking_compiles if res else 0,
            "device_losses": _state.gpu.losses if _state.gpu else 0,
            # JS values Python holds references to (JsProxies): a leak shows up as growth here.
            "js_refs": int(pyodide_js._module._hiwire_num_refs()),
            "wasm_memory": _memory(),
        }))
    if engine is None:
        raise UserError(_state.gpu_reason or "The GPU is not available.")
    if action == "band-rows":
        rows = None
        if argument != "":
            try:
                rows = int(argument)
            except ValueError:
                rows = 0
            if rows < 1:
                raise UserError(f"band-rows must be a positive whole number, got {argument!r}")
        engine.band_rows = rows
        return _js(_public({"band_rows": engine.band_rows}))
    if action == "entries":
        items = [item for item in argument.split(",") if item]
        engine.fuse = "unfused" not in items
        pairs = [item.split(":") for item in items if item != "unfused"]
        engine.entries = {tuple(key.split(".")): value for key, value in pairs}
        return _js({"entries": argument})
    if action == "pipelines":
        if argument not in ("auto", "general", "specialised"):
            raise UserError(f"pipelines must be auto, general or specialised, got {argument!r}")
        engine.pipelines = argument
        return _js({"pipelines": argument})
    if action == "destroy-device":
        _state.gpu.destroy()
        return _js({"destroyed": True})
    raise UserError(f"unknown debug action {action!r}")


def _fatal() -> None:
    """Overflow the wasm stack in C (json's scanner), which Pyodide cannot survive: the page's
    recovery from a dead worker is tested with this."""
    sys.setrecursionlimit(10**7)
    json.loads("[" * 10**6 + "]" * 10**6)


# -- the reference pool -------------------------------------------------------------------------


@_boundary
def check_tile(chain: str, height: int, width: int, channels: int, tile, rows, cols, block,
               gpu, tol: float = _compare.DEFAULT_TOLERANCE, stages: bool = False,
               pixels: bool = False) -> Any:
    """Compute the reference for one tile and compare it with the GPU's outputs for it.

    `tile` is ``[y0, y1, x0, x1, first]``; `rows`, `cols` and `block` are what
    :func:`verify_read` sent; `gpu` holds the GPU's outputs for the tile (empty without a GPU).
    Returns ``{partials, error, preview, ms}``: partial metrics per output (opaque records
    for :func:`combine`), the final output's error map (float32 h×w, max |Δ| over channels),
    the reference's display tile (RGBA8), the compute time, and with `pixels` the reference
    tile itself (float32 h×w×C).
    """
    t0 = time.perf_counter()
    _state.tiles_checked += 1
    steps = _steps(chain)
    y0, y1, x0, x1, first = tile.to_py()
    area = verify.Tile(int(y0), int(y1), int(x0), int(x1), bool(first))
    rows = _received(rows, (int(rows.length),), np.int32).astype(np.intp)
    cols = _received(cols, (int(cols.length),), np.int32).astype(np.intp)
    native = _received(block, (len(rows), len(cols), int(channels)), _native_dtype(block))
    shape = (y1 - y0, x1 - x0, int(channels))
    outputs = [_received(array, shape) for array in gpu]
    out: dict = {}
    if outputs:
        report = verify.check_tile(steps, area, int(height), int(width), native, rows, cols,
                                   outputs, tol=tol, stages=stages)
        reference = report.reference
        out["partials"] = [dataclasses.asdict(p) for p in report.partials]
        out["error"] = _typed(report.error)
    else:
        reference = verify.reference_tile(steps, area, int(height), int(width), native, rows, cols)[-1]
        out["partials"] = []
    out["preview"] = _typed(imageio.to_rgba8(reference), js.Uint8ClampedArray)
    if pixels:
        out["pixels"] = _typed(reference)
    out["ms"] = (time.perf_counter() - t0) * 1e3
    return _js(out)


def _native_dtype(block) -> np.dtype:
    name = str(block.constructor.name)
    return {kind: dtype for dtype, kind in _TYPED.items()}[name]


@_boundary
def reference_debug(action: str) -> Any:
    """Diagnostics of a reference worker: ``fatal`` kills its Python on purpose, to test that
    the page replaces the worker."""
    if action == "fatal":
        _fatal()
    raise UserError(f"unknown debug action {action!r}")


@_boundary
def stats() -> Any:
    """A reference worker's counters: tiles checked, and its wasm memory in bytes (its peak,
    since wasm memory never shrinks)."""
    return _js(_public({"tiles_checked": _state.tiles_checked, "wasm_memory": _memory()}))


#: The methods each kind of worker serves, by the names the page calls them.
GPU_METHODS = {"ops": ops, "defaults": defaults, "to_url": to_url, "from_url": from_url,
               "init": init, "load": load, "run": run, "verify_start": verify_start,
               "verify_read": verify_read, "combine": combine, "export": export, "encode": encode,
               "debug": debug, "chain_json": chain_json, "read_chain": read_chain,
               "python_script": python_script, "kernel_facts": kernel_facts}
REFERENCE_METHODS = {"check_tile": check_tile, "stats": stats, "debug": reference_debug}
