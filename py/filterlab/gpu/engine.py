"""Encode a filter chain as WebGPU compute passes and run it in one submit.

Data path
---------
1. **Upload** (once per image and device): the H×W×C array is written as it lies in memory,
   8-bit, 16-bit or float32, straight from NumPy's buffer into a storage buffer. ``unpack``
   widens it on the GPU to the working layout.
2. **Working layout**: ``array<vec4<f32>>``, one RGBA pixel per element. Fewer channels are
   widened by one lane rule: L -> (l, l, l, 1), LA -> (l, l, l, a), RGB -> (r, g, b, 1). Filters
   process the colour lanes and write alpha back unchanged, the same rule as the reference.
3. **Chain**: each step becomes one or more passes that ping-pong between pooled working
   buffers; every pass of the chain (and the present pass) goes into one command encoder and
   one ``queue.submit``.
4. **Present**: a render pass draws the final buffer on the worker's canvas; no readback.
5. **Readback**, only on request: ``pack`` narrows the result back to H×W×C float32 and the
   mapped bytes are copied into a preallocated NumPy array. ``per_stage`` does the same for the
   output of every step.

Timings come from timestamp queries when the device has ``timestamp-query``; otherwise the
GPU time is the wall time from submit to ``onSubmittedWorkDone``, labelled as such.
"""

from __future__ import annotations

import struct
import time
from dataclasses import dataclass, field

import js
import numpy as np
from pyodide.ffi import JsException, create_proxy, to_js

from .. import borders, kernels
from ..chain import Step
from ..reference import EDGE_OUTPUTS, SEPARABLE_TOL
from .device import GPUDevice, GPUError, js_object
from .resources import Resources

# Workgroup shapes, the one place they are set, per (shader, entry point). Each is passed to
# its shader as override constants, and Engine._encode derives the dispatch size from the same
# numbers: a workgroup covers WG_X × WG_Y output pixels (WG_Y is 1 where absent).
WORKGROUPS: dict[tuple[str, str], dict[str, int]] = {
    ("convolve", "tiled"): {"WG_X": 16, "WG_Y": 16},
    ("convolve", "rows"): {"WG_X": 16, "WG_Y": 16},
    ("separable", "along_x"): {"WG_X": 128},
    ("separable", "along_y"): {"WG_X": 16, "WG_Y": 16},
    ("separable", "along_y_direct"): {"WG_X": 128},
    ("separable", "along_x_direct"): {"WG_X": 128},
    ("separable", "along_x_packed"): {"WG_X": 128},
    ("edges", "main"): {"WG_X": 16, "WG_Y": 16},
    ("laplace", "main"): {"WG_X": 16, "WG_Y": 16},
    ("unsharp", "main"): {"WG_X": 256},
    ("unpack", "main"): {"WG_X": 256},
    ("pack", "main"): {"WG_X": 256},
    ("display", "main"): {"WG_X": 256},
}
# The kernel radius is compiled into each pipeline (override RADIUS), so tap loops have a
# constant trip count and unroll; pipelines are cached per radius.
# The largest radii whose staged tiles fit the 16 KiB of workgroup memory every WebGPU device
# offers (the shaders' comments give the tile shapes); larger radii use the other entry point.
_TILED_Y_MAX = 16  # separable along_y: (WG_Y + 2r) × WG_X pixels
_TILED_2D_MAX = 4  # convolve tiled: (WG_X + 2r) × (WG_Y + 2r) pixels, plus the kernel

# Shaders that read neighbours through lib/border.wgsl, and so take BAND_HALO when banded.
_NEIGHBOURHOOD = frozenset({"convolve", "separable", "edges", "laplace"})
# The most rows any pass reads above or below a pixel (the widest Gaussian in the catalog has
# radius 96); bands leave room for this many halo rows in a binding.
_MAX_HALO = 128

_FORMATS = {np.dtype(np.uint8): 0, np.dtype(np.uint16): 1, np.dtype(np.float32): 2}
_EDGE_TAPS = {name: kernels.DERIVATIVE_FACTORS[name][0] for name in ("sobel", "scharr", "prewitt")}


def _usage(*names: str) -> int:
    flags = 0
    for name in names:
        flags |= int(getattr(js.GPUBufferUsage, name))
    return flags


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def _name(logical: str, band: int, bands: list) -> str:
    """The pooled buffer holding band ``band`` of logical buffer ``logical``."""
    return logical if len(bands) == 1 else f"{logical}.{band}"


@dataclass
class Pass:
    """One compute dispatch: a shader, its uniform bytes, optional weights, and buffers."""

    label: str
    shader: str
    entry: str
    constants: dict[str, int]
    params: bytes
    inputs: tuple[str, ...]
    output: str
    weights: np.ndarray | None = None
    halo: int = 0            # rows read above and below each output row
    mode: str = "reflect"    # the vertical border rule, for banded images
    cval: float = 0.0
    slots: tuple[int, ...] = ()  # binding numbers of the inputs, then the output (default 1, 2, ...)


@dataclass
class RunResult:
    output: np.ndarray | None
    stages: list[np.ndarray] = field(default_factory=list)
    timings: dict = field(default_factory=dict)
    display: np.ndarray | None = None  # H×W×4 uint8, when presenting by readback


class Planner:
    """Turns validated chain steps into passes for a width × height image.

    ``entries`` replaces the entry point chosen for a pass, as ``{(shader, entry): other}``:
    the benchmark page uses it to compare variants on one GPU.
    """

    def __init__(self, width: int, height: int, entries: dict | None = None):
        self.width = width
        self.height = height
        self.entries = entries or {}
        self.passes: list[Pass] = []

    def _head(self, mode: str, cval: float) -> bytes:
        return struct.pack("<IIIf", self.width, self.height, borders.MODES.index(mode), float(cval))

    def add(self, label, shader, params, inputs, output, *, entry="main", constants=None, weights=None,
            halo=0, mode="reflect", cval=0.0):
        entry = self.entries.get((shader, entry), entry)
        const = dict(WORKGROUPS[shader, entry], **(constants or {}))
        self.passes.append(Pass(label, shader, entry, const, params, tuple(inputs), output, weights,
                                halo, mode, float(cval)))

    def fuse_unpack(self, channels: int, fmt: int) -> None:
        """Let the first pass read the uploaded image itself, when that pass is a row pass
        (``along_x_packed``) and nothing reads the unpacked image later: this drops the
        unpack pass and one full-size write and read of float32 pixels."""
        if len(self.passes) < 2 or self.passes[1].entry != "along_x":
            return
        unpack, first = self.passes[0], self.passes[1]
        for later in self.passes[2:]:
            if unpack.output in later.inputs:
                return
            if later.output == unpack.output:
                break
        first.entry = "along_x_packed"
        first.inputs = unpack.inputs
        first.slots = (4, 2)
        first.params = first.params + struct.pack("<II", channels, fmt)
        first.label += " (unpacking)"
        del self.passes[0]

    def separable(self, label, column, row, mode, cval, src, tmp, dst):
        """Two 1-D passes, x then y, equal to the 2-D kernel outer(column, row)."""
        row = np.asarray(row, np.float32)
        column = np.asarray(column, np.float32)
        for axis, taps, border_value, a, b in (
            (0, row, cval, src, tmp),
            (1, column, cval * float(np.sum(row, dtype=np.float64)), tmp, dst),
        ):
            radius = len(taps) // 2
            entry = "along_x" if axis == 0 else "along_y" if radius <= _TILED_Y_MAX else "along_y_direct"
            self.add(f"{label} {'xy'[axis]}", "separable", self._head(mode, border_value), [a], b,
                     entry=entry, constants={"RADIUS": radius}, weights=taps,
                     halo=radius * axis, mode=mode, cval=border_value)

    def correlate(self, label, kernel, mode, cval, src, tmp, dst):
        kernel = np.asarray(kernel, np.float64)
        split = kernels.separate(kernel, tol=SEPARABLE_TOL)  # the reference's rule exactly
        if split is not None:
            self.separable(label, split[0], split[1], mode, cval, src, tmp, dst)
            return
        radius = kernel.shape[0] // 2
        self.add(label, "convolve", self._head(mode, cval), [src], dst,
                 entry="tiled" if radius <= _TILED_2D_MAX else "rows",
                 constants={"RADIUS": radius}, weights=kernel.astype(np.float32).ravel(),
                 halo=radius, mode=mode, cval=cval)

    def step(self, index: int, step: Step, src: str, free: list[str]) -> str:
        """Add the passes of one step reading ``src``; return the buffer holding its output."""
        p = step.params
        label = f"{index + 1}:{step.op}"
        out, tmp = free[0], free[1]
        mode, cval = p.get("mode", "reflect"), p.get("cval", 0.0)
        if step.op == "convolve":
            flipped = np.asarray(p["kernel"], np.float64)[::-1, ::-1]
            self.correlate(label, flipped, mode, cval, src, tmp, out)
        elif step.op == "gaussian_blur":
            taps = kernels.gaussian_1d(p["sigma"], truncate=p["truncate"])
            self.separable(label, taps, taps, mode, cval, src, tmp, out)
        elif step.op == "box_blur":
            taps = kernels.box_1d(p["size"])
            self.separable(label, taps, taps, mode, cval, src, tmp, out)
        elif step.op == "unsharp_mask":
            taps = kernels.gaussian_1d(p["sigma"], truncate=4.0)
            self.separable(f"{label} blur", taps, taps, mode, cval, src, out, tmp)
            params = struct.pack("<IIfI", self.width, self.height, float(p["amount"]), 0)
            self.add(label, "unsharp", params, [src, tmp], out)
        elif step.op == "edges":
            params = (self._head(mode, cval)
                      + struct.pack("<IIII", EDGE_OUTPUTS.index(p["output"]), 0, 0, 0)
                      + struct.pack("<4f", *_EDGE_TAPS[p["operator"]], 0.0))
            self.add(label, "edges", params, [src], out, halo=1, mode=mode, cval=cval)
        elif step.op == "laplace":
            params = self._head(mode, cval) + struct.pack("<I", int(p["neighbours"]))
            self.add(label, "laplace", params, [src], out, halo=1, mode=mode, cval=cval)
        else:  # the catalog and this planner must list the same operations
            raise ValueError(f"the GPU engine has no plan for operation {step.op!r}")
        return out


class Engine:
    """Runs validated chains on one uploaded image.

    Examples
    --------
    >>> engine = Engine(GPUDevice())              # doctest: +SKIP
    >>> engine.load(pixels_uint8)                 # doctest: +SKIP
    >>> result = await engine.run(steps, readback=True)  # doctest: +SKIP
    """

    def __init__(self, gpu: GPUDevice):
        self.gpu = gpu
        self.resources = Resources(gpu)
        self._source: np.ndarray | None = None
        self._uploaded = False
        self._canvas = None
        self._context = None
        self._context_device = None
        self.present_mode = "none"
        self.present_note = ""
        self.entries: dict[tuple[str, str], str] = {}
        self.band_rows: int | None = None  # forces bands of this many rows (tests)
        self.fuse = True  # let a first row pass unpack the upload itself (Planner.fuse_unpack)
        self._cval_rows: set[int] = set()
        gpu.on_reset(self._forget_upload)

    def _forget_upload(self) -> None:
        self._uploaded = False
        self._context_device = None

    # -- inputs -------------------------------------------------------------------------------

    def load(self, pixels: np.ndarray) -> None:
        """Take a new H×W×C image (uint8, uint16 or float32); it is uploaded on the next run."""
        if pixels.ndim != 3 or pixels.shape[2] not in (1, 2, 3, 4):
            raise ValueError(f"expected an H×W×C image with 1 to 4 channels, got shape {pixels.shape}")
        if pixels.dtype not in _FORMATS:
            raise ValueError(f"unsupported pixel type {pixels.dtype}")
        self._source = np.ascontiguousarray(pixels)
        self._uploaded = False

    async def set_canvas(self, canvas) -> str:
        """Present results on this OffscreenCanvas from now on; return the present mode.

        The canvas is tried once with a cleared frame. Where the browser cannot present a
        WebGPU canvas (some software adapters lose the device on it), results are shown by an
        8-bit readback instead (``present_mode == "readback"``), on a fresh device.
        """
        self._canvas = canvas
        self._context = canvas.getContext("webgpu") if canvas is not None else None
        self._context_device = None
        self.present_mode = "readback"
        if self._context is None:
            self.present_note = "no canvas context"
            return self.present_mode
        device = await self.gpu.acquire()
        self.gpu.expect_loss()
        try:
            self._configure(device)
            encoder = device.createCommandEncoder()
            render = encoder.beginRenderPass(js_object({"colorAttachments": [{
                "view": self._context.getCurrentTexture().createView(),
                "loadOp": "clear", "storeOp": "store", "clearValue": {"r": 0, "g": 0, "b": 0, "a": 0}}]}))
            render.end()
            device.queue.submit(to_js([encoder.finish()]))
            await device.queue.onSubmittedWorkDone()
            self.present_mode = "canvas"
            self.gpu.expect_loss(False)
        except JsException as exc:
            self.gpu.replace()
            self.present_note = f"presenting a WebGPU canvas failed here ({exc})"
            self._context.unconfigure()
            self._context = None
        return self.present_mode

    def _configure(self, device) -> None:
        if self._context_device is not device:
            self._context.configure(js_object({
                "device": device,
                "format": js.navigator.gpu.getPreferredCanvasFormat(),
                "alphaMode": "premultiplied",
            }))
            self._context_device = device

    @property
    def geometry(self) -> tuple[int, int, int]:
        h, w, c = self._source.shape
        return w, h, c

    # -- running ------------------------------------------------------------------------------

    def bands(self) -> list[tuple[int, int]]:
        """Row ranges [y0, y1) processed as one unit each: one band unless the image (plus
        halo rows) exceeds a binding or buffer limit, or :attr:`band_rows` forces a size."""
        w, h, _ = self.geometry
        rows = self.band_rows
        if rows is None:
            limits = self.gpu.info.limits
            limit = min(limits.get("maxStorageBufferBindingSize", 1 << 27), limits.get("maxBufferSize", 1 << 28))
            # Passes with one-row workgroups dispatch one workgroup per row.
            most_rows = limits.get("maxComputeWorkgroupsPerDimension", 65535)
            if h * w * 16 <= limit and h <= most_rows:
                return [(0, h)]
            rows = max(1, min(limit // (w * 16) - 2 * _MAX_HALO, most_rows))
        return [(y0, min(h, y0 + rows)) for y0 in range(0, h, rows)]

    async def run(self, steps: list[Step], *, readback: bool = False, per_stage: bool = False,
                  present: bool = True) -> RunResult:
        if self._source is None:
            raise ValueError("No image is loaded.")
        t0 = time.perf_counter()
        device = await self.gpu.acquire()
        w, h, c = self.geometry
        res = self.resources
        bands = self.bands()
        res.set_geometry((w, h, c, self._source.dtype.str, tuple(bands)))
        timings: dict = {"upload_ms": 0.0, "bands": len(bands)}
        self._cval_rows.clear()

        plan = Planner(w, h, self.entries)
        work = ["work0", "work1", "work2"]
        current = "work0"
        plan.add("unpack", "unpack", struct.pack("<IIII", w, h, c, _FORMATS[self._source.dtype]),
                 ["upload"], current)
        packed: list[str] = []
        for i, step in enumerate(s for s in steps if s.enabled):
            current = plan.step(i, step, current, [b for b in work if b != current])
            if per_stage:
                packed.append(self._add_pack(plan, current, f"stage{i}"))
        if self.fuse:
            plan.fuse_unpack(c, _FORMATS[self._source.dtype])
        if readback and not packed:
            packed.append(self._add_pack(plan, current, "result"))
        canvas = present and self.present_mode == "canvas" and len(bands) == 1
        display = present and not canvas and self.present_mode != "none"
        if display:
            plan.add("display", "display", struct.pack("<IIII", w, h, 0, 0), [current], "display")

        # Allocation, upload and work all happen inside the error scopes, so running out of
        # GPU memory is reported as such. Read-back goes through one staging buffer per band,
        # so no buffer is larger than a band.
        per_pixel = {"display": 4, **{name: 4 * c for name in packed}}
        reads = [(name, k) for name in packed for k in range(len(bands))]
        if display:
            reads += [("display", k) for k in range(len(bands))]
        staging: dict[tuple[str, int], object] = {}
        query = None
        self.gpu.push_scopes()
        try:
            try:
                if not self._uploaded:
                    t_up = time.perf_counter()
                    for k, (y0, y1) in enumerate(bands):
                        self._upload(device, _name("upload", k, bands), self._source[y0:y1])
                    self._uploaded = True
                    await device.queue.onSubmittedWorkDone()  # time the transfer, once per image
                    timings["upload_ms"] = (time.perf_counter() - t_up) * 1e3
                for p in plan.passes:
                    for k, (y0, y1) in enumerate(bands):
                        size = (y1 - y0) * w * per_pixel.get(p.output, 16)
                        res.buffer(_name(p.output, k, bands), size, _usage("STORAGE", "COPY_SRC"))
                if len(bands) > 1:
                    halo = max(p.halo for p in plan.passes)
                    rows = max(y1 - y0 for y0, y1 in bands) + 2 * halo
                    res.buffer("halo", rows * w * 16, _usage("STORAGE", "COPY_DST"))
                for name, k in reads:
                    y0, y1 = bands[k]
                    size = (y1 - y0) * w * per_pixel[name]
                    staging[name, k] = res.create_buffer(size, _usage("MAP_READ", "COPY_DST"), f"{name} staging")
                query = self._timestamp_queries(len(plan.passes) * len(bands))
                encoder = device.createCommandEncoder()
                for n, p in enumerate(plan.passes):
                    for k in range(len(bands)):
                        self._encode(device, encoder, n, p, k, bands, query)
                for (name, k), target in staging.items():
                    source = res.pooled(_name(name, k, bands))
                    encoder.copyBufferToBuffer(source, 0, target, 0, int(target.size))
                if query is not None:
                    encoder.resolveQuerySet(query["set"], 0, query["count"], query["resolve"], 0)
                    encoder.copyBufferToBuffer(query["resolve"], 0, query["read"], 0, query["count"] * 8)
                if canvas:
                    self._encode_present(device, encoder, current)
                t_submit = time.perf_counter()
                device.queue.submit(to_js([encoder.finish()]))
            finally:
                try:
                    await self.gpu.pop_scopes("the filter chain")
                except GPUError:
                    # Buffers made inside the scope may be invalid (out of memory): start the
                    # next run from a fresh pool and a fresh upload rather than reuse them.
                    res.set_geometry(None)
                    self._uploaded = False
                    raise
            await device.queue.onSubmittedWorkDone()
            if query is None:
                timings["gpu_ms"] = (time.perf_counter() - t_submit) * 1e3
                timings["gpu_clock"] = "wall"
                timings["passes"] = []
            t_read = time.perf_counter()
            stages = []
            for name in packed:
                out = np.empty((h, w, c), np.float32)
                for k, (y0, y1) in enumerate(bands):
                    await self._read(staging[name, k], out[y0:y1])
                stages.append(out)
            timings["readback_ms"] = (time.perf_counter() - t_read) * 1e3 if packed else 0.0
            frame = None
            if display:
                frame = np.empty((h, w, 4), np.uint8)
                for k, (y0, y1) in enumerate(bands):
                    await self._read(staging["display", k], frame[y0:y1])
            if query is not None:
                ns = (await self._read_timestamps(query)).reshape(len(plan.passes), len(bands), 2)
                timings["passes"] = [
                    {"label": p.label, "ms": float((ns[i, :, 1] - ns[i, :, 0]).sum()) / 1e6}
                    for i, p in enumerate(plan.passes)
                ]
                timings["gpu_ms"] = float(ns[-1, -1, 1] - ns[0, 0, 0]) / 1e6
                timings["gpu_clock"] = "timestamp"
        finally:
            for target in staging.values():
                res.destroy_buffer(target)
            if query is not None:
                query["set"].destroy()
                res.destroy_buffer(query["resolve"])
                res.destroy_buffer(query["read"])
        timings["total_ms"] = (time.perf_counter() - t0) * 1e3
        return RunResult(output=stages[-1] if readback and stages else None,
                         stages=stages if per_stage else [], timings=timings, display=frame)

    def _upload(self, device, name: str, rows: np.ndarray) -> None:
        """Write rows of the source image, as they lie in memory, to buffer ``name``."""
        buffer = self.resources.buffer(name, rows.nbytes, _usage("STORAGE", "COPY_DST"))
        # Hand WebGPU a view of NumPy's own memory: no copy on the Python side.
        flat = rows.reshape(-1).view(np.uint8)
        proxy = create_proxy(flat)
        view = proxy.getBuffer("u8")
        try:
            whole = (flat.size // 4) * 4
            if whole:
                device.queue.writeBuffer(buffer, 0, view.data, 0, whole)
            if whole != flat.size:  # writeBuffer sizes are multiples of 4: pad the tail word
                tail = np.zeros(4, np.uint8)
                tail[: flat.size - whole] = flat[whole:]
                device.queue.writeBuffer(buffer, whole, to_js(tail.tobytes()))
        finally:
            view.release()
            proxy.destroy()

    def _add_pack(self, plan: Planner, src: str, name: str) -> str:
        w, h, c = self.geometry
        plan.add(f"pack {name}", "pack", struct.pack("<IIII", w, h, c, 0), [src], name)
        return name

    def _encode(self, device, encoder, n: int, p: Pass, k: int, bands, query) -> None:
        """Encode pass ``n`` for band ``k``: stage its halo rows if it has any, then dispatch."""
        res = self.resources
        w = self.geometry[0]
        y0, y1 = bands[k]
        rows = y1 - y0
        banded = len(bands) > 1
        constants = dict(p.constants)
        inputs = [_name(name, k, bands) for name in p.inputs]
        if banded and p.shader in _NEIGHBOURHOOD:
            constants["BAND_HALO"] = p.halo
            if p.halo:
                inputs[0] = self._stage_halo(device, encoder, n, p, k, bands)
        pipeline = res.compute_pipeline(p.shader, p.entry, constants)
        slot = f"{n}.{k}" if banded else str(n)
        params_name = f"params{slot}"
        uniforms = res.buffer(params_name, 256, _usage("UNIFORM", "COPY_DST"))
        # Every pass's uniforms start with (width, height): a band is an image of `rows` rows.
        params = p.params[:4] + struct.pack("<I", rows) + p.params[8:]
        device.queue.writeBuffer(uniforms, 0, to_js(params))
        slots = p.slots or tuple(range(1, len(inputs) + 2))
        entries = [(0, params_name), *zip(slots, inputs), (slots[-1], _name(p.output, k, bands))]
        if p.weights is not None:
            weights_name = f"weights{n}"
            weights = res.buffer(weights_name, max(p.weights.nbytes, 4096), _usage("STORAGE", "COPY_DST"))
            if k == 0:
                device.queue.writeBuffer(weights, 0, to_js(p.weights.tobytes()))
            entries.append((3, weights_name))  # every weighted shader binds its weights at 3
        key = (p.shader, p.entry, tuple(sorted(constants.items())))
        group = res.bind_group(key, pipeline, entries)
        descriptor = {"label": p.label}
        if query is not None:
            q = 2 * (n * len(bands) + k)
            descriptor["timestampWrites"] = {
                "querySet": query["set"], "beginningOfPassWriteIndex": q, "endOfPassWriteIndex": q + 1,
            }
        compute = encoder.beginComputePass(js_object(descriptor))
        compute.setPipeline(pipeline)
        compute.setBindGroup(0, group)
        wg = WORKGROUPS[p.shader, p.entry]
        compute.dispatchWorkgroups(_ceil_div(w, wg["WG_X"]), _ceil_div(rows, wg.get("WG_Y", 1)))
        compute.end()

    def _stage_halo(self, device, encoder, n: int, p: Pass, k: int, bands) -> str:
        """Copy band ``k`` of the pass's input plus ``p.halo`` rows above and below into the
        ``halo`` buffer, each row chosen by the pass's vertical border rule (as
        filterlab.borders.index gives it); rows outside a constant border copy a cval row."""
        res = self.resources
        w, h, _ = self.geometry
        row_bytes = w * 16
        y0, y1 = bands[k]
        band_rows = bands[0][1] - bands[0][0]
        halo = res.pooled("halo")  # sized for the largest halo of the chain before encoding
        source = borders.index(np.arange(y0 - p.halo, y1 + p.halo), h, p.mode)
        cval_row = None
        if (source < 0).any():
            cval_row = res.buffer(f"cval{n}", row_bytes, _usage("COPY_SRC", "COPY_DST"))
            if n not in self._cval_rows:
                device.queue.writeBuffer(cval_row, 0, to_js(np.full(w * 4, p.cval, np.float32).tobytes()))
                self._cval_rows.add(n)
        start = 0
        while start < len(source):  # one copy per run of consecutive rows from one band
            g = int(source[start])
            end = start + 1
            if g >= 0:
                band = g // band_rows
                while (end < len(source) and source[end] == source[end - 1] + 1
                       and source[end] // band_rows == band):
                    end += 1
                src = res.pooled(_name(p.inputs[0], band, bands))
                encoder.copyBufferToBuffer(src, (g - band * band_rows) * row_bytes, halo,
                                           start * row_bytes, (end - start) * row_bytes)
            else:
                encoder.copyBufferToBuffer(cval_row, 0, halo, start * row_bytes, row_bytes)
            start = end
        return "halo"

    def _encode_present(self, device, encoder, src: str) -> None:
        w, h, _ = self.geometry
        res = self.resources
        fmt = js.navigator.gpu.getPreferredCanvasFormat()
        self._configure(device)
        if self._canvas.width != w or self._canvas.height != h:
            self._canvas.width = w
            self._canvas.height = h
        pipeline = res.render_pipeline("present", fmt)
        uniforms = res.buffer("present_params", 256, _usage("UNIFORM", "COPY_DST"))
        device.queue.writeBuffer(uniforms, 0, to_js(struct.pack("<IIII", w, h, 0, 0)))
        group = res.bind_group(("present", fmt), pipeline, [(0, "present_params"), (1, src)])
        target = self._context.getCurrentTexture().createView()
        render = encoder.beginRenderPass(js_object({
            "colorAttachments": [{"view": target, "loadOp": "clear", "storeOp": "store",
                                  "clearValue": {"r": 0, "g": 0, "b": 0, "a": 0}}],
        }))
        render.setPipeline(pipeline)
        render.setBindGroup(0, group)
        render.draw(3)
        render.end()

    def _timestamp_queries(self, count: int):
        # A query set holds at most 4096 queries; longer runs are timed by the wall clock.
        if "timestamp-query" not in self.gpu.features or not 0 < 2 * count <= 4096:
            return None
        device = self.gpu._device
        n = 2 * count
        return {
            "count": n,
            "set": device.createQuerySet(js_object({"type": "timestamp", "count": n})),
            "resolve": self.resources.create_buffer(n * 8, _usage("QUERY_RESOLVE", "COPY_SRC"), "timestamps"),
            "read": self.resources.create_buffer(n * 8, _usage("MAP_READ", "COPY_DST"), "timestamps read"),
        }

    async def _read(self, staging, out: np.ndarray) -> None:
        """Copy a mapped staging buffer into ``out`` (a C-contiguous NumPy view)."""
        kind = js.Float32Array if out.dtype == np.float32 else js.Uint8Array
        await staging.mapAsync(js.GPUMapMode.READ)
        try:
            kind.new(staging.getMappedRange(), 0, out.size).assign_to(out.reshape(-1))
        finally:
            staging.unmap()

    async def _read_timestamps(self, query) -> np.ndarray:
        out = np.empty(query["count"], np.uint64)
        await query["read"].mapAsync(js.GPUMapMode.READ)
        try:
            js.BigUint64Array.new(query["read"].getMappedRange()).assign_to(out)
        finally:
            query["read"].unmap()
        return out.astype(np.int64)
