"""The functions the JavaScript workers call, and the only place values cross that boundary.

Two workers import this module, each running its own Pyodide. Each serves one method table,
and the page calls the methods by these names, with arguments named as the Python
parameters are (``app/bridge.js`` writes the message schema down):

* :data:`GPU_METHODS`, served by the GPU worker: the WebGPU engine;
* :data:`CPU_METHODS`, served by the CPU worker: the NumPy reference and comparison.

Boundary rules:

* Pixels leave Python as new JS typed arrays filled by one ``assign`` from NumPy's buffer
  (never ``to_js`` of a large array); pixels arrive as typed arrays copied by ``assign_to``
  into preallocated NumPy arrays. The JS side transfers every typed array and ImageBitmap in
  a result, so nothing is copied twice.
* Everything else leaves as plain JS objects built by ``to_js(...,
  dict_converter=Object.fromEntries)``, so JavaScript never holds a PyProxy.
* Results follow the page's naming style, camelCase (``uploadMs``, ``maxAbsError``,
  ``bitDepth``): :func:`_public` converts the keys of Filter Lab's own records here, once.
  Chains are user data and cross unchanged.
* Defaults (the comparison tolerance, the heatmap gain) and every message a user reads are
  set in Python; errors a user can act on (ImageDecodeError, ChainError, GPUError, ...) carry
  messages written for the user, and the worker passes their text to the page as is.
"""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import js
import numpy as np
import pyodide_js
from pyodide.ffi import to_js

from . import catalog, imageio
from . import chain as chains
from . import compare as _compare
from .gpu import shaders
from .gpu.device import GPUDevice, GPUUnavailableError
from .gpu.engine import Engine

_NO_IMAGE = "No image is loaded yet: open or drop an image first."
_SHADER_DIR = "/home/pyodide/shaders"


class _State:
    decoded: imageio.Decoded | None = None  # the CPU worker's image
    shape: tuple | None = None              # (H, W, C) of the current image, in both workers
    engine = None                           # filterlab.gpu.engine.Engine (GPU worker)
    gpu = None                              # filterlab.gpu.device.GPUDevice (GPU worker)
    canvas = None                           # the GPU worker's OffscreenCanvas
    gpu_reason = ""
    events: list[dict] = []
    reference: dict | None = None           # the latest reference: {"id", "array", "gpu"}
    next_id = 1


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


def _typed(array: np.ndarray, kind) -> Any:
    """Copy a NumPy array into a new JS typed array (one memcpy), which JS may transfer."""
    flat = np.ascontiguousarray(array).reshape(-1)
    out = kind.new(flat.size)
    out.assign(flat)
    return out


def _received(pixels, shape: tuple) -> np.ndarray:
    """Copy a Float32Array of an H×W×C image of `shape` into a new NumPy array."""
    array = np.empty(shape, np.float32)
    if int(pixels.length) != array.size:
        raise ValueError(f"Expected {array.size} values for the current image, got {int(pixels.length)}.")
    pixels.assign_to(array.reshape(-1))
    return array


def _bytes_of(data) -> bytes:
    return data.to_bytes() if hasattr(data, "to_bytes") else bytes(data)


def _decode(data) -> imageio.Decoded:
    try:
        return imageio.decode(_bytes_of(data))
    except MemoryError:
        raise MemoryError("The browser ran out of memory decoding this image; try a smaller one.") from None


def _info(decoded: imageio.Decoded) -> dict:
    return {"width": decoded.width, "height": decoded.height, "channels": decoded.channels,
            **decoded.info.as_dict()}


# -- both workers -------------------------------------------------------------------------------


def ops() -> Any:
    """The catalog, as the UI and ``window.filterlab.ops()`` see it."""
    return _js(catalog.describe())


def defaults() -> Any:
    """The defaults the page shows before the user changes them."""
    return _js(_public({
        "tolerance": _compare.DEFAULT_TOLERANCE,
        "gain": _compare.DEFAULT_GAIN,
        "gain_range": [_compare.MIN_GAIN, _compare.MAX_GAIN],
    }))


def to_url(chain: str) -> str:
    """A compact URL-safe token for a chain (JSON text), for the page's address."""
    return chains.to_url(chains.validate(chain))


def from_url(token: str) -> Any:
    """The chain a :func:`to_url` token holds, validated; ChainError if damaged."""
    return _js([step.as_dict() for step in chains.from_url(token)])


# -- CPU worker ---------------------------------------------------------------------------------


def load(data, preview: bool = True) -> Any:
    """Decode an encoded file (a Uint8Array) and make it the current image.

    Returns the image facts and, with ``preview``, the original as RGBA8 for display.
    """
    decoded = _decode(data)
    _state.decoded = decoded
    _state.shape = decoded.native.shape
    _state.reference = None
    result = {"info": _public(_info(decoded))}
    if preview:
        result["preview"] = _typed(imageio.to_rgba8(decoded.array), js.Uint8ClampedArray)
    return _js(result)


def reference(chain: str, pixels: bool = False, preview: bool = True) -> Any:
    """Run a chain (JSON text) on the current image with the NumPy reference.

    Returns ``{id, width, height, channels}``, plus ``preview`` (RGBA8) and ``pixels`` (the
    H×W×C float32 result) when asked. ``id`` names this result for :func:`compare`.
    """
    steps = chains.validate(chain)
    if _state.decoded is None:
        raise ValueError(_NO_IMAGE)
    decoded = _state.decoded
    try:
        result = chains.apply(decoded.array, steps)
    except MemoryError:
        raise MemoryError(
            f"The browser ran out of memory running the CPU reference on this "
            f"{decoded.width}×{decoded.height} image; the GPU result is unaffected."
        ) from None
    _state.reference = {"id": _state.next_id, "array": result, "gpu": None}
    _state.next_id += 1
    h, w, c = result.shape
    out: dict = {"id": _state.reference["id"], "width": w, "height": h, "channels": c}
    if preview:
        out["preview"] = _typed(imageio.to_rgba8(result), js.Uint8ClampedArray)
    if pixels:
        out["pixels"] = _typed(result, js.Float32Array)
    return _js(out)


def _reference(id: int) -> dict:
    ref = _state.reference
    if ref is None or ref["id"] != id:
        raise LookupError("That CPU reference has been replaced by a newer one.")
    return ref


def compare(id: int, pixels, tol: float = _compare.DEFAULT_TOLERANCE,
            gain: float = _compare.DEFAULT_GAIN) -> Any:
    """Compare GPU pixels (a Float32Array, H×W×C) with reference `id`.

    Returns the metrics and the error heatmap (RGBA8).
    """
    ref = _reference(id)
    gpu = _received(pixels, ref["array"].shape)
    ref["gpu"] = gpu
    metrics = _compare.metrics(gpu, ref["array"], tol=tol)
    h, w, _ = gpu.shape
    return _js({
        "metrics": _public(metrics.as_dict()),
        "heatmap": _typed(_compare.heatmap(gpu, ref["array"], gain=gain), js.Uint8ClampedArray),
        "width": w, "height": h,
    })


def heatmap(id: int, gain: float = _compare.DEFAULT_GAIN) -> Any:
    """The error heatmap of the comparison with reference `id`, at another gain (no re-run)."""
    ref = _reference(id)
    if ref["gpu"] is None:
        raise LookupError("That reference has not been compared yet.")
    h, w, _ = ref["gpu"].shape
    return _js({
        "heatmap": _typed(_compare.heatmap(ref["gpu"], ref["array"], gain=gain), js.Uint8ClampedArray),
        "width": w, "height": h,
    })


def encode(pixels, bits: int = 8) -> Any:
    """Encode result pixels (a Float32Array, H×W×C of the current image) as a PNG file.

    Values are clipped to [0, 1] and rounded as :func:`filterlab.imageio.encode_png`
    documents; ``bits`` is 8 or 16.
    """
    if _state.shape is None:
        raise ValueError(_NO_IMAGE)
    png = imageio.encode_png(_received(pixels, _state.shape), bits=bits)
    return _typed(np.frombuffer(png, np.uint8), js.Uint8Array)


# -- GPU worker ---------------------------------------------------------------------------------


async def init(allowed: bool = True) -> Any:
    """Create the GPU device and the canvas results are drawn on.

    Returns ``{available, adapter, reason, present, presentNote}``; never raises: without a
    GPU the CPU path still works.
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
    except Exception as exc:  # no GPU path, whatever the cause: the CPU path still works
        _state.gpu = _state.engine = None
        reason = str(exc) if isinstance(exc, GPUUnavailableError) else f"WebGPU could not start ({exc})."
        _state.gpu_reason = reason
        return _js({"available": False, "reason": reason, "adapter": None})
    return _js(_public({"available": True, "reason": "", "adapter": _state.gpu.info.as_dict(),
                        "present": present, "present_note": _state.engine.presenter.note}))


def gpu_load(data) -> Any:
    """Decode an encoded file and hand its pixels, at native depth, to the GPU engine."""
    decoded = _decode(data)
    if _state.engine is not None:
        _state.engine.load(decoded.native)
    _state.shape = decoded.native.shape
    return _js({"info": _public(_info(decoded))})


async def run(chain: str, pixels: bool = False, stages: bool = False, present: bool = True) -> Any:
    """Run a chain (JSON text) on the current image on the GPU.

    Returns ``{width, height, channels, timings, adapter, events}``, plus ``frame`` (an
    ImageBitmap) or ``display`` (RGBA8) when presented, ``pixels`` (the final H×W×C result as a
    Float32Array) when asked, and ``stages`` (each enabled step's output) with ``stages``.
    A run that fails because the device was lost is retried once on a new device.
    """
    steps = chains.validate(chain)  # bad parameters never reach the GPU
    if _state.shape is None:
        raise ValueError(_NO_IMAGE)
    if _state.engine is None:
        raise RuntimeError(_state.gpu_reason or "The GPU is not available.")
    options = {"readback": pixels, "stages": stages, "present": present}
    try:
        result = await _state.engine.run(steps, **options)
    except Exception:
        await asyncio.sleep(0.05)  # let a pending device.lost callback land first
        if not _state.gpu.lost_since_acquire():
            raise
        result = await _state.engine.run(steps, **options)
    h, w, c = _state.shape
    out = {
        "width": w, "height": h, "channels": c,
        "timings": _public(result.timings),
        "adapter": _public(_state.gpu.info.as_dict()),
        "events": _drain_events(),
    }
    if result.output is not None:
        out["pixels"] = _typed(result.output, js.Float32Array)
    if result.display is not None:
        out["display"] = _typed(result.display, js.Uint8ClampedArray)
    if result.frame is not None:
        out["frame"] = result.frame
    if stages:
        out["stages"] = [_typed(stage, js.Float32Array) for stage in result.stages]
    return _js(out)


def _drain_events() -> list[dict]:
    events, _state.events[:] = list(_state.events), []
    return events


def debug(action: str, argument: str = "") -> Any:
    """Test and diagnostics hooks: ``destroy-device``, ``stats``, ``band-rows`` and ``entries``.

    ``band-rows`` forces the engine to process images in bands of that many rows (empty
    restores automatic banding), so tests can check banded results against unbanded ones.

    ``entries`` takes ``"shader.entry:other,..."`` and makes the engine use entry point
    ``other`` wherever it would use ``shader.entry`` (benchmarking variants); the item
    ``unfused`` keeps the separate unpack pass.
    """
    engine = _state.engine
    if action == "stats":
        gc.collect()  # proxies in reference cycles are released here, not leaked
        return _js(_public({
            "live_buffers": engine.resources.live_buffers if engine else 0,
            "pipelines": engine.resources.pipeline_count if engine else 0,
            "device_losses": _state.gpu.losses if _state.gpu else 0,
            # JS values Python holds references to (JsProxies): a leak shows up as growth here.
            "js_refs": int(pyodide_js._module._hiwire_num_refs()),
        }))
    if engine is None:
        raise RuntimeError(_state.gpu_reason or "The GPU is not available.")
    if action == "band-rows":
        engine.band_rows = int(argument) if argument else None
        return _js(_public({"band_rows": engine.band_rows}))
    if action == "entries":
        items = [item for item in argument.split(",") if item]
        engine.fuse = "unfused" not in items
        pairs = [item.split(":") for item in items if item != "unfused"]
        engine.entries = {tuple(key.split(".")): value for key, value in pairs}
        return _js({"entries": argument})
    if action == "destroy-device":
        _state.gpu.destroy()
        return _js({"destroyed": True})
    raise ValueError(f"unknown debug action {action!r}")


#: The methods each worker serves, by the names the page calls them.
CPU_METHODS = {"ops": ops, "defaults": defaults, "to_url": to_url, "from_url": from_url,
               "load": load, "reference": reference, "compare": compare, "heatmap": heatmap,
               "encode": encode}
GPU_METHODS = {"ops": ops, "init": init, "load": gpu_load, "run": run, "debug": debug}
