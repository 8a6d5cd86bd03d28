"""The functions the JavaScript workers call, and the only place values cross that boundary.

Two kinds of worker import this module, each running its own Pyodide. Each serves one method
table, and the page calls the methods by these names, with arguments named as the Python
parameters are (``app/bridge.js`` writes the message schema down):

* :data:`GPU_METHODS`, served by the GPU worker. It decodes the image and keeps its samples at
  native depth, runs chains on the GPU and presents them, and hands out what verification
  needs: the tiles, and the GPU's output tile by tile.
* :data:`REFERENCE_METHODS`, served by each worker of the reference pool. Each decodes the
  image itself (samples at native depth), then computes the NumPy reference one tile at a
  time from the source pixels the tile needs and compares it with the GPU's tile
  (:mod:`filterlab.verify`).

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
* Defaults (the comparison tolerance, the heatmap's colours and range rule, the
  auto-contrast percentiles) and every message a user reads are set in Python. Errors a user
  can act on (a bad chain, a corrupt image, a GPU that ran out of memory) keep their
  messages; any other exception is a bug, and the page is told so in plain words
  (:func:`_boundary`), with the details in the console.
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

from . import catalog, display, imageio, kernels, script, verify
from . import chain as chains
from . import compare as _compare
from .gpu import plan as planning
from .gpu import shaders
from .gpu.device import GPUDevice, GPUError, GPUUnavailableError
from .gpu.engine import DEFAULT_UPLOAD, Engine, check_upload

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
    runs = 0                           # the GPU worker's run counter (ids for late timings)
    tiles_checked = 0                  # a reference worker's count of check_tile calls
    image_id = None                    # which image a reference worker holds


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
    """A chain's validated steps; reference workers see the same chain for every tile, and
    get the same object back (filterlab.verify keeps the last chain's stencils)."""
    return tuple(chains.validate(chain))


# -- the GPU worker -----------------------------------------------------------------------------


@_boundary
def ops() -> Any:
    """The catalog, as the UI and ``window.filterlab.ops()`` see it."""
    return _js(catalog.describe())


@_boundary
def defaults() -> Any:
    """The defaults the page shows before the user changes them, and the facts of the
    heatmap's colour rule (:func:`filterlab.compare.error_colours`), which the page mirrors."""
    return _js(_public({
        "tolerance": _compare.DEFAULT_TOLERANCE,
        "ramp": _compare.RAMP.tolist(),
        "zero_colour": list(_compare.ZERO_COLOUR),
        "invalid_colour": list(_compare.INVALID_COLOUR),
        "error_floor": _compare.ERROR_FLOOR,
        "nice_mantissas": list(_compare.NICE_MANTISSAS),
        "percentiles": list(display.PERCENTILES),
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
        # Compiling the pipelines every run may need starts right after start-up, off its path.
        asyncio.get_running_loop().call_soon(_state.engine.prepare)
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

    Its samples stay at native depth, here and on the GPU. Returns the image facts, the
    original's histograms and auto-contrast stretch (``summary``,
    :meth:`filterlab.display.Summary.as_dict`, with ``scale``, the native full scale) and the
    original for display: ``frame`` (an ImageBitmap drawn by the GPU) or ``display`` (RGBA8),
    with the upload's ``timings``.
    """
    try:
        expect = None if _state.engine is None else _state.engine.expect
        decoded = imageio.decode(_bytes_of(data), on_header=expect)  # upload mapped meanwhile
    except MemoryError:
        raise MemoryError("The browser ran out of memory decoding this image; try a smaller one.") from None
    _state.native = decoded.native
    _state.job = None
    h, w, _ = decoded.native.shape
    bands = display.sample_rows(h, w)
    sample = np.concatenate([imageio.to_float(decoded.native[y0:y1]) for y0, y1 in bands])
    summary = display.summarise(sample, sampled=len(bands) > 1).as_dict()
    summary["scale"] = float(imageio.SCALE[decoded.native.dtype])  # native units, for labels
    out = {"info": _public(_info(decoded)), "summary": _public(summary)}
    del sample
    if _state.engine is not None:
        _state.engine.load(decoded.native)
    out.update(await _show_original())
    return _js(out)


async def _show_original(stretch=display.IDENTITY) -> dict:
    """The original for display: an ImageBitmap drawn by the GPU, or RGBA8; with the GPU, the
    upload's ``timings`` too."""
    out = {}
    if _state.engine is not None:
        result = await _state.engine.run([], present=True, stretch=stretch)
        upload = {key: result.timings[key] for key in ("upload_ms", "upload_write_ms") if key in result.timings}
        out = {**_shown(result), "timings": _public(upload)}
    if "frame" not in out and "display" not in out:
        out["display"] = _typed(_rgba8(_state.native, stretch), js.Uint8ClampedArray)
    return out


@_boundary
async def original(stretch=None) -> Any:
    """The current image's original for display again, its colour stretched by `stretch`
    (``[black, white]``, :mod:`filterlab.display`; none shows it as it is): ``frame`` or
    ``display`` as :func:`load` returns them."""
    _require_image()
    return _js(await _show_original(_stretch(stretch)))


def _stretch(stretch) -> tuple:
    """A display stretch from the page (a JS array or None), checked."""
    if stretch is None:
        return display.IDENTITY
    values = tuple(float(v) for v in (stretch.to_py() if hasattr(stretch, "to_py") else stretch))
    display.uniforms(values)  # refuses anything but finite black < white
    return values


def _rgba8(native: np.ndarray, stretch=display.IDENTITY, rows: int = 256) -> np.ndarray:
    """The display form of native samples (:func:`filterlab.display.to_rgba8`), converted a
    band of rows at a time so that no whole-image float copy is made."""
    h, w, _ = native.shape
    out = np.empty((h, w, 4), np.uint8)
    for y in range(0, h, rows):
        out[y:y + rows] = display.to_rgba8(imageio.to_float(native[y:y + rows]), stretch)
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
async def run(chain: str, pixels: bool = False, stages: bool = False, present: bool = True,
              stretch=None) -> Any:
    """Run a chain (JSON text) on the current image on the GPU.

    Returns ``{run, width, height, channels, timings, adapter, events, clock}``, plus ``frame`` (an
    ImageBitmap) or ``display`` (RGBA8) when presented, ``pixels`` (the final H×W×C result as a
    Float32Array) when asked, and ``stages`` (each enabled step's output) with ``stages``.
    Nothing is read back unless asked: a presented frame goes to the screen from the GPU.
    ``stretch`` (``[black, white]``) stretches the presented colour for display only
    (:mod:`filterlab.display`).

    A run that only presents on the canvas returns as soon as its work is submitted; its
    ``timings`` then say ``pending: true``, and the worker posts the complete timings when the
    GPU is done, as the event ``{event: "timings", run, timings}``. ``clock`` holds when the
    call started and returned (:func:`_clock`); ``timings.hostMs`` the host's steps before the
    GPU starts, in ms from the engine's start.
    """
    started = _clock()
    steps = chains.validate(chain)  # bad parameters never reach the GPU
    h, w, c = _require_image().shape
    _state.runs += 1
    run_id = _state.runs

    def late(timings):
        event = {"event": "timings", "run": run_id, "timings": _public(timings)}
        js.self.postMessage(_js(event))

    result = await _run_engine(steps, readback=pixels, stages=stages, present=present, timings=late,
                               stretch=_stretch(stretch))
    out = {
        "run": run_id, "width": w, "height": h, "channels": c,
        "timings": _public(result.timings),
        "adapter": _public(_state.gpu.info.as_dict()),
        "events": _drain_events(),
        **_shown(result),
    }
    if result.output is not None:
        out["pixels"] = _typed(result.output)
    if stages:
        out["stages"] = [_typed(stage) for stage in result.stages]
    out["clock"] = {"started": started, "returned": _clock()}
    return _js(out)


def _clock() -> float:
    """Milliseconds since the epoch, on the clock every page and worker shares
    (``performance.timeOrigin + performance.now()``): where a run's time goes between them."""
    return float(js.performance.timeOrigin + js.performance.now())


def _drain_events() -> list[dict]:
    events, _state.events[:] = list(_state.events), []
    return events


# Verifying every stage keeps each enabled step's output on the GPU beside the source's working
# copy; beyond this many bytes, "auto" verifies the result alone.
_STAGE_BYTES = 2 << 30


def _stages_note(enabled: int, h: int, w: int) -> str:
    """Why ``stages="auto"`` verifies the result alone ("" when it verifies every stage)."""
    if enabled < 2:
        return ""
    needed = (enabled + 1) * h * w * planning.WORKING_BYTES
    if needed <= _STAGE_BYTES:
        return ""
    return (f"Each step's own check is off for this image: keeping all {enabled} steps' "
            f"results on the GPU would take {needed / 2**30:.1f} GiB (the limit is "
            f"{_STAGE_BYTES / 2**30:.0f} GiB). The final result is still checked.")


@_boundary
async def verify_start(chain: str, stages=False, workers: int = 1, view=None,
                       summary: bool = False, contrast: bool = False, shown=None) -> Any:
    """Start verifying a chain on the current image: run it on the GPU once more, keeping
    every output there, and cut the image into tiles for `workers` reference workers.

    `stages` is True (compare every enabled step's output), False (the result only) or
    ``"auto"`` (every step's when there are several and keeping them all fits in
    :data:`_STAGE_BYTES`). `view` is the enabled step whose output the page shows (an index;
    None or the last one: the result); it needs every stage. With `summary`, the viewed
    output's histograms and auto-contrast stretch are computed from the GPU's output; with
    `contrast` as well, that stretch is returned for the tiles' previews and, when the
    result is viewed and `shown` (the stretch on screen) differs, the result is presented
    again with it. A summary without `contrast` is left to :func:`verify_summary`, which the
    page calls once every tile is read (``summaryLater``): no verdict but the final one waits
    for it.

    Returns ``{job, tiles, width, height, channels, outputs, gpu, stages, stagesNote, view,
    summaryLater}`` and, as asked, ``summary``, ``stretch`` and ``frame`` or ``display``. ``tiles`` are
    ``[y0, y1, x0, x1, first]`` in verification order (the first verdict's tiles first),
    ``outputs`` how many outputs each tile compares (every enabled step with stages, else 1),
    ``gpu`` whether GPU outputs come with the tiles (without a GPU, the pool computes the
    reference alone).
    """
    steps = chains.validate(chain)
    native = _require_image()
    h, w, c = native.shape
    engine = _state.engine
    enabled = sum(step.enabled for step in steps)
    note = ""
    if stages == "auto":  # without a GPU there are no steps' outputs to compare
        note = _stages_note(enabled, h, w)
        stages = enabled > 1 and not note and engine is not None
    stages = bool(stages)
    view = None if view is None or not stages or not 0 <= int(view) < enabled - 1 else int(view)
    keep = "stages" if stages else "result"
    out = {}
    if engine is not None:
        if not engine.keep_last(steps, stages=stages):
            await _run_engine(steps, present=False, keep=keep)
        if summary and contrast:
            found = await _summarise_output(_viewed(engine, view), h, w, c)
            out["summary"] = _public(found.as_dict())
            out["stretch"] = list(found.stretch)
            if view is None and _stretch(shown) != found.stretch:
                out.update(_shown(await _run_engine(steps, present=True, keep=keep,
                                                    stretch=found.stretch)))
    # The first verdict's tiles along the edges are only as deep as the border rules reach.
    tiles = verify.tiles(h, w, size=verify.tile_size(h, w, max(1, int(workers))),
                         edge=verify.edge_depth(steps))
    _state.job = {"id": _state.next_job, "steps": steps, "tiles": tiles,
                  "runs": engine.runs if engine else 0, "view": view}
    _state.next_job += 1
    return _js({
        **out, "job": _state.job["id"], "width": w, "height": h, "channels": c,
        "gpu": engine is not None, "outputs": enabled if stages else 1, "stages": stages,
        "stagesNote": note, "view": view,
        "summaryLater": bool(summary and not contrast and engine is not None),
        "tiles": [[t.y0, t.y1, t.x0, t.x1, t.first] for t in tiles],
    })


def _current_job(job: int) -> dict:
    """Verification `job`, or UserError when a newer run or verification replaced it."""
    current = _state.job
    engine = _state.engine
    if current is None or current["id"] != job or (engine is not None and engine.runs != current["runs"]):
        raise UserError("That verification was superseded by a newer run.")
    return current


def _viewed(engine, view):
    """The kept output in view (the result when `view` is None), as ``(buffers, bands)``."""
    buffers, bands = engine.kept
    return [buffers[-1 if view is None else view]], bands


@_boundary
async def verify_summary(job: int) -> Any:
    """``{summary}``: the histograms of verification `job`'s output in view, from the GPU's
    output (the summary :func:`verify_start` left for later)."""
    current = _current_job(job)
    if _state.engine is None:
        raise UserError("There is no GPU output to summarise.")
    h, w, c = _require_image().shape
    found = await _summarise_output(_viewed(_state.engine, current["view"]), h, w, c)
    return _js({"summary": _public(found.as_dict())})


async def _summarise_output(outputs, h: int, w: int, c: int) -> display.Summary:
    """The summary of a GPU output (``(buffers, bands)`` with one buffer), from the rows
    :func:`filterlab.display.sample_rows` picks."""
    bands = display.sample_rows(h, w)
    regions = [(y0, y1, 0, w) for y0, y1 in bands]
    read = await _state.engine.read_regions(regions, outputs=outputs)
    sample = np.concatenate([_received(values, (y1 - y0, w, c))
                             for (y0, y1), [values] in zip(bands, read)])
    return display.summarise(sample, sampled=len(bands) > 1)


@_boundary
async def verify_read(job: int, tiles) -> Any:
    """The GPU's outputs for some tiles of verification `job`: ``{tiles, read}``, per tile
    ``{index, gpu}``, the outputs as float32 H×W×C arrays (none without a GPU), and how the
    read went (``Engine.last_read``). The reference workers hold the source image themselves
    (:func:`reference_load`)."""
    current = _current_job(job)
    engine = _state.engine
    indices = [int(i) for i in tiles]
    picked = [current["tiles"][i] for i in indices]
    gpu = await engine.read_regions([(t.y0, t.y1, t.x0, t.x1) for t in picked]) if engine else None
    return _js({"tiles": [{"index": index, "gpu": gpu[n] if gpu is not None else []}
                          for n, index in enumerate(indices)],
                "read": _public(engine.last_read) if engine else None})


def _gather(native: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``native[np.ix_(rows, cols)]``, as a slice where the indices are one run (most tiles)."""
    def run(index):
        return slice(int(index[0]), int(index[-1]) + 1) if index[-1] - index[0] + 1 == len(index) else index

    r, c = run(rows), run(cols)
    if isinstance(r, slice) and isinstance(c, slice):
        return native[r, c]
    return native[np.ix_(rows, cols)]


@_boundary
def combine(partials, tol: float = _compare.DEFAULT_TOLERANCE, fold: bool = False) -> Any:
    """The metrics of the tiles verified so far, from their partial records. With ``fold``,
    ``{metrics, partial}``: the metrics and the records folded into one
    (:func:`filterlab.compare.merge`), to pass again in place of those records."""
    records = [_compare.Partial(**record) for record in partials.to_py()]
    if not fold:
        return _js(_public(_compare.combine(records, tol=tol).as_dict()))
    whole = _compare.merge(records, tol=tol)
    return _js({"metrics": _public(_compare.combine([whole], tol=tol).as_dict()),
                "partial": whole.as_dict()})


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
    """Test and diagnostics hooks: ``stats``, ``destroy-device``, ``band-rows``, ``entries``,
    ``upload``, ``upload-cold`` and ``pipelines``.

    ``band-rows`` forces the engine to process images in bands of that many rows (empty
    restores automatic banding), so tests can check banded results against unbanded ones.
    ``entries`` takes ``"shader.entry:other,..."`` and makes the engine use entry point
    ``other`` wherever it would use ``shader.entry`` (benchmarking variants); the item
    ``unfused`` keeps the separate unpack pass, and ``name=value`` items set planning options
    (``filterlab.gpu.plan.OPTIONS``, e.g. ``separable=twopass``), except ``upload=method``,
    which sets how images are uploaded (``filterlab.gpu.engine.UPLOAD_METHODS``). ``upload``
    uploads the current image again by the method given (by default the engine's), and returns
    its time and whether the GPU then holds exactly the decoded bytes; ``upload-cold`` does so
    into new buffers, as for the first image (these two return a coroutine, which the worker
    awaits: ``debug`` itself stays synchronous, so that ``fatal`` stops Python while the call
    is on the stack, where the worker sees it). ``pipelines`` is ``auto``, ``general`` or
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
            "staging_bytes": res.writer_bytes if res else 0,  # the uploads' kept staging buffer
            "staging_early_maps": res.early_maps if res else 0,  # uploads it was mapped ahead for
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
        options = dict(item.split("=", 1) for item in items if "=" in item)
        upload = options.pop("upload", DEFAULT_UPLOAD)
        try:
            planning.check_options(options)
            check_upload(upload)
        except ValueError as exc:
            raise UserError(str(exc)) from None
        engine.fuse = "unfused" not in items
        pairs = [item.split(":", 1) for item in items if item != "unfused" and "=" not in item]
        engine.entries = {tuple(key.split(".")): value for key, value in pairs}
        engine.options = options
        engine.upload = upload
        return _js({"entries": argument})
    if action in ("upload", "upload-cold"):
        try:
            method = check_upload(argument or engine.upload)
        except ValueError as exc:
            raise UserError(str(exc)) from None
        return _reupload(engine, method, cold=action == "upload-cold")
    if action == "pipelines":
        if argument not in ("auto", "general", "specialised"):
            raise UserError(f"pipelines must be auto, general or specialised, got {argument!r}")
        engine.pipelines = argument
        return _js({"pipelines": argument})
    if action == "destroy-device":
        _state.gpu.destroy()
        return _js({"destroyed": True})
    raise UserError(f"unknown debug action {action!r}")


@_boundary
async def _reupload(engine, method: str, *, cold: bool) -> Any:
    """``debug('upload')``: upload the current image again by `method` and check it."""
    return _js(_public(await engine.reupload(method, cold=cold)))


def _fatal() -> None:
    """Overflow the wasm stack in C (json's scanner), which Pyodide cannot survive: the page's
    recovery from a dead worker is tested with this."""
    sys.setrecursionlimit(10**7)
    json.loads("[" * 10**6 + "]" * 10**6)


# -- the reference pool -------------------------------------------------------------------------


@_boundary
def reference_load(data, image: int) -> Any:
    """Decode the current image in a reference worker, which then takes tiles of it.

    Each reference worker keeps the samples at native depth (never a float image), and cuts
    out the source pixels each of its tiles needs. `image` names the image, so the page can
    tell which workers hold the current one. Returns ``{image, width, height, channels}``.
    """
    decoded = imageio.decode(_bytes_of(data))
    _state.native = decoded.native
    _state.image_id = int(image)
    h, w, c = decoded.native.shape
    return _js({"image": _state.image_id, "width": w, "height": h, "channels": c})


@_boundary
def check_tile(chain: str, image: int, tile, gpu, tol: float = _compare.DEFAULT_TOLERANCE,
               stages: bool = False, pixels: bool = False, view=None, stretch=None) -> Any:
    """Compute the reference for one tile of image `image` and compare it with the GPU's
    outputs for it.

    `tile` is ``[y0, y1, x0, x1, first]``; `gpu` holds the GPU's outputs for the tile
    (:func:`verify_read`; empty without a GPU). `view` is the compared output the page shows
    (an index; None: the last), `stretch` its display stretch (``[black, white]``,
    :mod:`filterlab.display`).

    Returns ``{partials, error, preview, referenceMs, ms}``: partial metrics per output
    (opaque records for :func:`combine`), the viewed output's error map (float32 h×w, max |Δ|
    over channels), the reference's display tile (RGBA8) of it, the time the reference took
    and the whole call's; ``gpuPreview``, the GPU's display tile of the viewed output, when
    that is not the last; and with `pixels` the reference tile itself (float32 h×w×C).
    """
    t0 = time.perf_counter()
    native = _require_image()
    if _state.image_id != int(image):
        raise UserError("This worker holds another image; the tile goes to another worker.")
    _state.tiles_checked += 1
    steps = _steps(chain)
    height, width, channels = native.shape
    y0, y1, x0, x1, first = tile.to_py()
    area = verify.Tile(int(y0), int(y1), int(x0), int(x1), bool(first))
    rows, cols = verify.source_region(steps, area, height, width)
    block = _gather(native, rows, cols)
    shape = (area.y1 - area.y0, area.x1 - area.x0, channels)
    outputs = [_received(array, shape) for array in gpu]
    shown = _stretch(stretch)
    t_reference = time.perf_counter()
    references = verify.reference_tile(steps, area, height, width, block, rows, cols,
                                       stages=bool(stages and outputs))
    reference_ms = (time.perf_counter() - t_reference) * 1e3
    view = -1 if view is None or not outputs else int(view)
    out: dict = {"partials": []}
    if outputs:
        report = verify.compare_tile(area, references, outputs, tol=tol, view=view)
        out["partials"] = [dataclasses.asdict(p) for p in report.partials]
        out["error"] = _typed(report.error)
        if view not in (-1, len(outputs) - 1):
            out["gpuPreview"] = _typed(display.to_rgba8(outputs[view], shown), js.Uint8ClampedArray)
    out["preview"] = _typed(display.to_rgba8(references[view], shown), js.Uint8ClampedArray)
    if pixels:
        out["pixels"] = _typed(references[-1])
    out["referenceMs"] = reference_ms
    out["ms"] = (time.perf_counter() - t0) * 1e3
    return _js(out)


@_boundary
def reference_debug(action: str) -> Any:
    """Diagnostics of a reference worker: ``fatal`` kills its Python on purpose, to test that
    the page replaces the worker."""
    if action == "fatal":
        _fatal()
    raise UserError(f"unknown debug action {action!r}")


@_boundary
async def inspect_pixel(chain: str, x: int, y: int, stage=None) -> Any:
    """The values at one pixel of the current image, for the page's pixel inspector.

    `stage` is an enabled step's index (None: the chain's result). The GPU's value is read
    from the output the last run left on the GPU; this never runs the chain, so it cannot
    disturb a verification in progress. The reference's value is
    :func:`filterlab.verify.reference_tile` of the 1×1 tile, exact and cheap.

    Returns ``{x, y, stage, scale, original, gpu, cpu, delta}``: ``scale`` is the native
    full scale (255, 65535, or 1 for float images); ``original``, ``gpu``, ``cpu`` and
    ``delta`` (``|gpu - cpu|``) each ``{native, float}``: per channel, the value in native
    units (value × scale) and as a working float. ``gpu`` and ``delta`` are None without a
    GPU, or while the GPU holds no output of this chain (and stage) to read.
    """
    steps = _steps(chain)
    native = _require_image()
    h, w, c = native.shape
    x, y = int(x), int(y)
    if not (0 <= x < w and 0 <= y < h):
        raise UserError(f"({x}, {y}) is outside the {w}×{h} image.")
    enabled = sum(step.enabled for step in steps)
    stage = None if stage is None or not 0 <= int(stage) < enabled - 1 else int(stage)
    tile = verify.Tile(y, y + 1, x, x + 1)
    rows, cols = verify.source_region(steps, tile, h, w)
    references = verify.reference_tile(steps, tile, h, w, _gather(native, rows, cols), rows, cols,
                                       stages=stage is not None)
    cpu = references[-1 if stage is None else stage].reshape(c).astype(np.float64)
    gpu = None
    engine = _state.engine
    outputs = engine.outputs(steps, stages=stage is not None) if engine is not None else None
    if outputs is not None:
        buffers, bands = outputs
        viewed = ([buffers[-1 if stage is None else stage]], bands)
        [[values]] = await engine.read_regions([(y, y + 1, x, x + 1)], outputs=viewed)
        gpu = _received(values, (c,)).astype(np.float64)
    scale = float(imageio.SCALE[native.dtype])
    source = native[y, x].astype(np.float64)
    working = imageio.to_float(native[y:y + 1, x:x + 1]).reshape(c).astype(np.float64)

    def pair(values):
        return None if values is None else {"native": (values * scale).tolist(), "float": values.tolist()}

    return _js({
        "x": x, "y": y, "stage": stage, "scale": scale,
        "original": {"native": source.tolist(), "float": working.tolist()},
        "gpu": pair(gpu), "cpu": pair(cpu),
        "delta": None if gpu is None else pair(np.abs(gpu - cpu)),
    })


@_boundary
def stats() -> Any:
    """A reference worker's counters: tiles checked, and its wasm memory in bytes (its peak,
    since wasm memory never shrinks)."""
    return _js(_public({"tiles_checked": _state.tiles_checked, "wasm_memory": _memory()}))


#: The methods each kind of worker serves, by the names the page calls them.
GPU_METHODS = {"ops": ops, "defaults": defaults, "to_url": to_url, "from_url": from_url,
               "init": init, "load": load, "original": original, "run": run,
               "verify_start": verify_start, "verify_read": verify_read,
               "verify_summary": verify_summary, "combine": combine,
               "inspect": inspect_pixel, "export": export, "encode": encode, "debug": debug,
               "chain_json": chain_json, "read_chain": read_chain, "python_script": python_script,
               "kernel_facts": kernel_facts}
REFERENCE_METHODS = {"load": reference_load, "check_tile": check_tile, "stats": stats,
                     "debug": reference_debug}
