"""The functions the JavaScript workers call, and the only place values cross that boundary.

Two workers import this module, each running its own Pyodide:

* the GPU worker calls :func:`gpu_init`, :func:`load_image` with ``for_gpu=True`` and
  :func:`gpu_run`;
* the CPU worker calls :func:`load_image`, :func:`reference`, :func:`compare` and
  :func:`heatmap`.

Both may call :func:`ops`; the CPU worker also turns chains into page addresses and back
(:func:`chain_to_url`, :func:`chain_from_url`).

Boundary rules: pixels leave Python as JS typed arrays filled by one ``assign`` from NumPy's
buffer (never ``to_js`` of a large array); everything else leaves as plain JS objects built by
``to_js(..., dict_converter=Object.fromEntries)``, so JavaScript never holds a PyProxy.
Errors a user can act on (ImageDecodeError, ChainError, GPUError, ...) carry messages written
for the user; the worker passes their text to the page as is.
"""

from __future__ import annotations

import asyncio
from typing import Any

import js
import numpy as np
from pyodide.ffi import to_js

from . import catalog, compare as _compare, imageio, reference as _reference
from .chain import from_url, to_url, validate

# The functions the workers look up once at start-up.
ENTRY_POINTS = ("ops", "chain_to_url", "chain_from_url", "load_image",
                "gpu_init", "gpu_run", "gpu_debug", "reference", "compare", "heatmap", "encode_png")


class _State:
    image: imageio.Decoded | None = None   # the CPU worker's image
    shape: tuple | None = None             # (H, W, C) of the current image, in both workers
    engine = None          # filterlab.gpu.engine.Engine, created by gpu_init
    gpu = None             # filterlab.gpu.device.GPUDevice
    gpu_reason = ""
    events: list[dict] = []
    last_reference: np.ndarray | None = None
    last_gpu: np.ndarray | None = None


_state = _State()


def _js(value: Any) -> Any:
    return to_js(value, dict_converter=js.Object.fromEntries, create_pyproxies=False)


def _typed(array: np.ndarray, kind) -> Any:
    """Copy a NumPy array into a new JS typed array (one memcpy), which JS may transfer."""
    flat = np.ascontiguousarray(array).reshape(-1)
    out = kind.new(flat.size)
    out.assign(flat)
    return out


def _info(decoded: imageio.Decoded) -> dict:
    info = decoded.info.as_dict()
    return {
        "width": decoded.width,
        "height": decoded.height,
        "channels": decoded.channels,
        "format": info["format"],
        "mode": info["mode"],
        "bitDepth": info["bit_depth"],
        "hasAlpha": info["has_alpha"],
        "animated": info["animated"],
        "exifOrientation": info["exif_orientation"],
    }


def _bytes_of(data) -> bytes:
    return data.to_bytes() if hasattr(data, "to_bytes") else bytes(data)


def ops() -> Any:
    """The catalog, as the UI and ``window.filterlab.ops()`` see it."""
    return _js(catalog.describe())


def chain_to_url(chain_json: str) -> str:
    """A compact URL-safe token for a chain (for the page's address)."""
    return to_url(validate(chain_json))


def chain_from_url(token: str) -> Any:
    """The chain a :func:`chain_to_url` token holds, validated; ChainError if damaged."""
    return _js([step.as_dict() for step in from_url(token)])


def load_image(data, *, for_gpu: bool = False, preview: bool = True) -> Any:
    """Decode an encoded file (a JS Uint8Array) and make it the current image.

    Returns the image facts and, with ``preview``, the original as RGBA8 for display.
    ``for_gpu`` also hands the pixels to the GPU engine in their native bit depth.
    """
    try:
        decoded = imageio.decode(_bytes_of(data))
    except MemoryError:
        raise MemoryError("The browser ran out of memory decoding this image; try a smaller one.") from None
    _state.last_reference = _state.last_gpu = None
    _state.shape = decoded.array.shape
    result = {"info": _info(decoded)}
    if for_gpu and _state.engine is not None:
        _state.engine.load(_native_pixels(decoded))
        _state.image = None  # the engine keeps the pixels in their native depth; no float copy
    else:
        _state.image = decoded
    if preview:
        result["preview"] = _typed(imageio.to_rgba8(decoded.array), js.Uint8ClampedArray)
    return _js(result)


def _native_pixels(decoded: imageio.Decoded) -> np.ndarray:
    """The decoded image in the smallest type that holds it exactly, for upload."""
    array = decoded.array
    info = decoded.info
    if info.mode in ("I", "F") or info.bit_depth > 16:
        return np.ascontiguousarray(array, dtype=np.float32)
    if info.bit_depth > 8:
        return np.rint(array * 65535.0).astype(np.uint16)
    return np.rint(array * 255.0).astype(np.uint8)


_NO_IMAGE = "No image is loaded yet: open or drop an image first."


def _require_image() -> imageio.Decoded:
    if _state.image is None:
        raise ValueError(_NO_IMAGE)
    return _state.image


# -- GPU worker -------------------------------------------------------------------------------


async def gpu_init(canvas=None, *, allowed: bool = True) -> Any:
    """Create the GPU device. Returns ``{available, adapter, reason}``; never raises."""
    from .gpu.device import GPUDevice, GPUUnavailableError
    from .gpu.engine import Engine
    from .gpu.resources import set_shader_dir

    set_shader_dir("/home/pyodide/shaders")
    if not allowed:
        _state.gpu_reason = "WebGPU is not available in this browser (navigator.gpu is missing)."
        return _js({"available": False, "reason": _state.gpu_reason, "adapter": None})
    _state.gpu = GPUDevice(on_event=_state.events.append)
    try:
        await _state.gpu.acquire()
        _state.engine = Engine(_state.gpu)
        present = await _state.engine.set_canvas(canvas)
    except Exception as exc:  # no GPU path, whatever the cause: the CPU path still works
        _state.gpu = _state.engine = None
        reason = str(exc) if isinstance(exc, GPUUnavailableError) else f"WebGPU could not start ({exc})."
        _state.gpu_reason = reason
        return _js({"available": False, "reason": reason, "adapter": None})
    return _js({"available": True, "reason": "", "adapter": _state.gpu.info.as_dict(),
                "present": present, "presentNote": _state.engine.present_note})


async def gpu_run(chain_json: str, *, pixels: bool = False, per_stage: bool = False,
                  present: bool = True) -> Any:
    """Run a chain on the current image on the GPU.

    Returns ``{width, height, channels, timings, adapter, events}``, plus ``pixels`` (the
    final H×W×C result as a Float32Array) when asked, and ``stages`` with ``per_stage``.
    A run that fails because the device was lost is retried once on a new device.
    """
    steps = validate(chain_json)  # bad parameters never reach the GPU
    if _state.shape is None:
        raise ValueError(_NO_IMAGE)
    if _state.engine is None:
        raise RuntimeError(_state.gpu_reason or "The GPU is not available.")
    options = {"readback": pixels or per_stage, "per_stage": per_stage, "present": present}
    try:
        result = await _state.engine.run(steps, **options)
    except Exception:
        await asyncio.sleep(0.05)  # let a pending device.lost callback land first
        if not _state.gpu.lost_since_acquire():
            raise
        result = await _state.engine.run(steps, **options)
    return _run_result(result, per_stage)


def _run_result(result, per_stage: bool) -> Any:
    h, w, c = _state.shape
    out = {
        "width": w, "height": h, "channels": c,
        "timings": result.timings,
        "adapter": _state.gpu.info.as_dict(),
        "events": _drain_events(),
    }
    if result.output is not None:
        out["pixels"] = _typed(result.output, js.Float32Array)
    if result.display is not None:
        out["display"] = _typed(result.display, js.Uint8ClampedArray)
    if per_stage:
        out["stages"] = [_typed(stage, js.Float32Array) for stage in result.stages]
    return _js(out)


def _drain_events() -> list[dict]:
    events, _state.events[:] = list(_state.events), []
    return events


def gpu_debug(action: str, argument: str = "") -> Any:
    """Test and diagnostics hooks: ``destroy-device``, ``stats``, ``band-rows`` and ``entries``.

    ``band-rows`` forces the engine to process images in bands of that many rows (empty
    restores automatic banding), so tests can check banded results against unbanded ones.

    ``entries`` takes ``"shader.entry:other,..."`` and makes the engine use entry point
    ``other`` wherever it would use ``shader.entry`` (benchmarking variants); the item
    ``unfused`` keeps the separate unpack pass.
    """
    if action == "band-rows":
        _state.engine.band_rows = int(argument) if argument else None
        return _js({"bandRows": _state.engine.band_rows})
    if action == "entries":
        items = [item for item in argument.split(",") if item]
        _state.engine.fuse = "unfused" not in items
        pairs = [item.split(":") for item in items if item != "unfused"]
        _state.engine.entries = {tuple(key.split(".")): value for key, value in pairs}
        return _js({"entries": argument})
    if action == "destroy-device":
        if _state.gpu is not None:
            _state.gpu.destroy()
        return _js({"destroyed": _state.gpu is not None})
    if action == "stats":
        return _js(_stats())
    raise ValueError(f"unknown debug action {action!r}")


def _stats() -> dict:
    import gc

    gc.collect()  # proxies in reference cycles are released here, not leaked
    engine = _state.engine
    return {
        "liveBuffers": engine.resources.live_buffers if engine else 0,
        "pipelines": engine.resources.pipeline_count if engine else 0,
        "deviceLosses": _state.gpu.losses if _state.gpu else 0,
    }


# -- CPU worker -------------------------------------------------------------------------------


def reference(chain_json: str, *, pixels: bool = False, preview: bool = True) -> Any:
    """Run a chain on the current image with the NumPy reference."""
    steps = validate(chain_json)
    decoded = _require_image()
    try:
        result = _reference.apply_chain(decoded.array, steps)
    except MemoryError:
        raise MemoryError(
            f"The browser ran out of memory running the CPU reference on this "
            f"{decoded.width}×{decoded.height} image; the GPU result is unaffected."
        ) from None
    _state.last_reference = result
    _state.last_gpu = None  # a heatmap needs a comparison of this very reference
    h, w, c = result.shape
    out: dict = {"width": w, "height": h, "channels": c}
    if preview:
        out["preview"] = _typed(imageio.to_rgba8(result), js.Uint8ClampedArray)
    if pixels:
        out["pixels"] = _typed(result, js.Float32Array)
    return _js(out)


def compare(gpu_pixels, *, tol: float = 1e-5, gain: float = 100.0) -> Any:
    """Compare GPU pixels (a Float32Array, H×W×C) with the last reference result."""
    ref = _state.last_reference
    if ref is None:
        raise ValueError("There is no CPU reference to compare with yet.")
    gpu = np.empty(ref.shape, np.float32)
    if int(gpu_pixels.length) != gpu.size:
        raise ValueError(f"GPU result has {int(gpu_pixels.length)} values, expected {gpu.size}.")
    gpu_pixels.assign_to(gpu.reshape(-1))
    _state.last_gpu = gpu
    metrics = _compare.metrics(gpu, ref, tol=tol)
    return _js({
        "metrics": {k: float(v) for k, v in metrics.as_dict().items()},
        "heatmap": _typed(_compare.heatmap(gpu, ref, gain=gain), js.Uint8ClampedArray),
        "width": int(ref.shape[1]), "height": int(ref.shape[0]),
    })


def heatmap(gain: float) -> Any:
    """The error heatmap of the last comparison, at another gain (no re-run)."""
    if _state.last_gpu is None or _state.last_reference is None:
        raise ValueError("There is no comparison to draw yet.")
    ref = _state.last_reference
    return _js({
        "heatmap": _typed(_compare.heatmap(_state.last_gpu, ref, gain=gain), js.Uint8ClampedArray),
        "width": int(ref.shape[1]), "height": int(ref.shape[0]),
    })


def encode_png(pixels, *, bits: int = 8) -> Any:
    """Encode result pixels (a Float32Array, H×W×C of the current image) as a PNG file.

    Values are clipped to [0, 1] and rounded as :func:`filterlab.imageio.encode_png`
    documents; ``bits`` is 8 or 16.
    """
    if _state.shape is None:
        raise ValueError(_NO_IMAGE)
    array = np.empty(_state.shape, np.float32)
    if int(pixels.length) != array.size:
        raise ValueError(f"Expected {array.size} values for the current image, got {int(pixels.length)}.")
    pixels.assign_to(array.reshape(-1))
    return _typed(np.frombuffer(imageio.encode_png(array, bits=bits), np.uint8), js.Uint8Array)
