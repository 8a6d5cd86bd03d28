"""Run a planned chain on the GPU: allocate, encode, submit, collect.

Data path
---------
1. **Upload** (once per image, banding and device): the H×W×C array is written as it lies in
   memory, at its native depth (8-bit, 16-bit or float32), straight from NumPy's buffer into a
   storage buffer. The first pass widens it to the working layout as it reads
   (:mod:`filterlab.gpu.plan`). :data:`UPLOAD_METHODS` are the ways to write it, which the
   benchmark page compares (:meth:`Engine.reupload`); every one keeps the bytes exactly.
2. **Chain**: the passes of a :class:`~filterlab.gpu.plan.Plan` ping-pong between pooled
   working buffers. Every pass of the chain, the readback copies and the present pass go
   into one command encoder and one ``queue.submit``.
3. **Present**: :class:`~filterlab.gpu.present.Presenter` draws the result on the worker's
   canvas; no readback.
4. **Readback**, only on request: packed results (H×W×C float32) are copied through one
   staging buffer per band into a preallocated NumPy array; or, for verification, rectangles
   of the kept outputs are packed tile by tile (:meth:`Engine.read_regions`).

Pipelines: a pass whose specialised pipeline (its kernel radius compiled in) is not ready yet
runs on the shader's general pipeline, which reads the radius from its uniforms, while the
specialised one and its neighbouring radii compile in the background. Nothing compiles on the
way to the screen once the general pipelines are ready, which :meth:`Engine.prepare` starts
as soon as the device exists.

Timings come from timestamp queries when the device has ``timestamp-query``; otherwise the
GPU time is the wall time from submit to ``onSubmittedWorkDone``, labelled as such.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field

import js
import numpy as np
from pyodide.ffi import create_proxy, to_js

from ..chain import Step
from ..display import IDENTITY
from . import plan as planning
from . import shaders
from .device import GPUDevice, GPUError, buffer_usage, js_object
from .present import Presenter
from .resources import Resources

_STORAGE = ("STORAGE", "COPY_SRC", "COPY_DST")

#: Ways to write an upload, ``method[:argument]``:
#:
#: * ``write``: one ``queue.writeBuffer`` from a view of NumPy's memory;
#: * ``chunks:M``: ``writeBuffer`` calls of M MiB each (4 by default);
#: * ``mapped``: a new buffer created mapped (``mappedAtCreation``), filled from NumPy;
#: * ``staging``: a ``MAP_WRITE`` buffer kept from upload to upload (``Resources.writer``),
#:   mapped, filled, then copied on the GPU;
#: * ``bitmap``: an ``ImageBitmap`` of the pixels (no premultiplication, no colour
#:   conversion), ``copyExternalImageToTexture``, then ``copyTextureToBuffer``: 8-bit RGBA
#:   whose rows are a multiple of 256 bytes only, else ``write``.
UPLOAD_METHODS = ("write", "chunks", "mapped", "staging", "bitmap")
#: The method runs use unless told otherwise. On an H100 at 4096² RGBA 8-bit, in one page run
#: (docs/benchmarks.md, upload run 3): ``staging`` 29.5 ms where its buffer is kept
#: (``Resources.writer``), against 71.2 ms for ``write``, whose bytes pass through the
#: browser's own transfer buffer; into new buffers 77.1 and 83.0 ms.
DEFAULT_UPLOAD = "staging"


def _name(logical: str, band: int, bands: list) -> str:
    """The pooled buffer holding band ``band`` of logical buffer ``logical``."""
    return logical if len(bands) == 1 else f"{logical}.{band}"


@dataclass
class RunResult:
    output: np.ndarray | None
    stages: list[np.ndarray] = field(default_factory=list)
    timings: dict = field(default_factory=dict)
    display: np.ndarray | None = None  # H×W×4 uint8, when presenting by readback
    frame: object = None               # an ImageBitmap, when presenting on the canvas


@dataclass
class _Job:
    """One run in flight: its plan, bands, and the buffers it owns until it is collected."""

    plan: planning.Plan
    bands: list
    staging: dict = field(default_factory=dict)
    query: dict | None = None
    timings: dict = field(default_factory=dict)


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
        self.presenter = Presenter(gpu)
        self._source: np.ndarray | None = None
        self._uploaded: list | None = None  # the bands the current upload was made for
        self.entries: dict[tuple[str, str], str] = {}  # benchmark variants (plan_chain)
        self.options: dict[str, str] = {}  # planning options (plan.OPTIONS), benchmark variants
        self.band_rows: int | None = None  # forces bands of this many rows (tests)
        self.fuse = True  # let a first row pass unpack the upload itself (Plan.fuse_unpack)
        self.upload = DEFAULT_UPLOAD  # how uploads are written: UPLOAD_METHODS[:argument]
        # Which pipelines serve a pass: "auto" (specialised when ready, else general),
        # "general" or "specialised" (compiled while the run waits); tests force each.
        self.pipelines = "auto"
        self.kept: tuple[list[str], list] | None = None  # (buffers, bands) readable by read_regions
        self.runs = 0  # counts runs, so that readers of kept outputs can tell they are current
        self.last_read = None  # the last read_regions: MiB, and ms to submit, map and copy
        # (steps, result buffer, bands, every enabled step's buffer or None) of the last run
        self._last: tuple | None = None
        self._cval_rows: set[int] = set()
        self._prepared = False
        gpu.on_reset(self._forget_upload)

    def _forget_upload(self) -> None:
        self._uploaded = None
        self._prepared = False
        self.kept = None
        self._last = None

    def prepare(self) -> None:
        """Compile in the background every pipeline a run may need before it knows its radii:
        those without a radius, and the general pipelines of the shaders with one."""
        self._prepared = True
        for name, entry, constants in planning.general_pipelines(self.gpu.limits):
            self.resources.prepare(name, entry, constants)
        for name, shader in shaders.SHADERS.items():
            if not shader.general:  # shaders with a radius are specialised as radii come into use
                for entry in shader.entries:
                    self.resources.prepare(name, entry, shaders.workgroup_size(name, entry))

    # -- inputs -------------------------------------------------------------------------------

    def load(self, pixels: np.ndarray) -> None:
        """Take a new H×W×C image at native depth (uint8, uint16 or float32); it is uploaded
        on the next run."""
        if pixels.ndim != 3 or pixels.shape[2] not in (1, 2, 3, 4):
            raise ValueError(f"expected an H×W×C image with 1 to 4 channels, got shape {pixels.shape}")
        if pixels.dtype not in planning.UPLOAD_FORMATS:
            raise ValueError(f"unsupported pixel type {pixels.dtype}")
        self._source = np.ascontiguousarray(pixels)
        self._uploaded = None
        self._last = None

    def expect(self, height: int, width: int, channels: int, dtype) -> None:
        """Get ready for an image of this shape, at native depth, before it is decoded: start
        mapping the staging buffer its upload will go through (``staging`` uploads,
        :meth:`Resources.map_writer`), so that the GPU process makes and maps it while the
        decoder runs. Best effort, and it never raises (the decoder would report its error
        as the file's): a shape this engine does not take maps nothing, and a failure to make
        or map the buffer is left for the upload, which meets it again and reports it."""
        if self.upload != "staging" or self.gpu.device is None:
            return
        try:
            row_bytes = width * channels * np.dtype(dtype).itemsize
            self.resources.map_writer(_largest_band(self._bands(width, height), row_bytes))
        except Exception:
            return

    @property
    def geometry(self) -> planning.Geometry:
        h, w, c = self._source.shape
        return planning.Geometry(w, h, c, planning.UPLOAD_FORMATS[self._source.dtype])

    def bands(self) -> list[tuple[int, int]]:
        """Row ranges [y0, y1) processed as one unit each (:func:`filterlab.gpu.plan.bands`)."""
        g = self.geometry
        return self._bands(g.width, g.height)

    def _bands(self, width: int, height: int) -> list[tuple[int, int]]:
        return planning.bands(width, height, self.gpu.limits, rows=self.band_rows)

    # -- running ------------------------------------------------------------------------------

    async def run(self, steps: list[Step], *, readback: bool = False, stages: bool = False,
                  present: bool = True, keep: str | None = None, timings=None,
                  stretch: tuple = IDENTITY) -> RunResult:
        """Run `steps` on the loaded image.

        ``readback`` returns the result as H×W×C float32, ``stages`` the output of every
        enabled step; ``present`` shows the result (on the canvas, or as 8-bit pixels),
        its colour stretched for display by ``stretch`` (:mod:`filterlab.display`);
        ``keep`` keeps outputs on the GPU for :meth:`read_regions`: ``"result"``, or
        ``"stages"`` for every enabled step's.

        A run that only presents on the canvas returns its frame as soon as the work is
        submitted, when `timings` is given: the frame is shown when the GPU has drawn it, and
        ``timings(dict)`` is called with the run's timings once the GPU is done. Any other run
        returns when its results and timings are in.
        """
        if self._source is None:
            raise ValueError("No image is loaded.")
        t0 = time.perf_counter()
        host = {}  # where the host's time goes before the GPU starts, in ms from t0

        def mark(name):
            host[name] = (time.perf_counter() - t0) * 1e3

        device = await self.gpu.acquire()
        if not self._prepared:
            self.prepare()
        g = self.geometry
        bands = self.bands()
        canvas = present and self.presenter.mode == "canvas" and len(bands) == 1
        display = present and not canvas and self.presenter.mode != "none"
        plan = planning.plan_chain(steps, g, limits=self.gpu.limits, stages=stages,
                                   readback=readback, display=display, fuse=self.fuse,
                                   keep=keep == "stages", entries=self.entries,
                                   banded=len(bands) > 1, options=self.options, stretch=stretch)
        self.runs += 1
        self.kept = None
        self._last = None
        self.resources.set_geometry((g, tuple(bands)))
        job = _Job(plan, bands, timings={"upload_ms": 0.0, "upload_method": "", "bands": len(bands),
                                         "host_ms": host})
        mark("planned")
        early = timings is not None and canvas and not plan.reads
        try:
            # Allocation, upload and work all happen inside the error scopes, so running out of
            # GPU memory is reported as such.
            self.gpu.push_scopes()
            try:
                await self._upload(device, job)
                self._allocate(job)
                mark("allocated")
                encoder = device.createCommandEncoder()
                self._encode(device, encoder, job)
                if canvas:
                    self.presenter.encode(device, encoder, self.resources, plan.result, g.width,
                                          g.height, stretch)
                mark("encoded")
                job.timings["submitted"] = time.perf_counter()
                device.queue.submit(to_js([encoder.finish()]))
                mark("submitted")
            except BaseException:
                await self._checked(self.gpu.pop_scopes("the filter chain"))  # a GPU error says most
                raise
            # A presented run hands its frame on before the scopes' answer is in: a GPU error
            # then arrives with the timings, and the page clears the frame.
            checked = self._checked(self.gpu.pop_scopes("the filter chain"))
            if not early:
                await checked
                mark("checked")
            frame = self.presenter.frame() if canvas else None
            mark("framed")
            every = plan.kept if keep == "stages" and plan.kept else None
            if keep:
                self.kept = (every or [plan.result], bands)
            self._last = (tuple(steps), plan.result, bands, every)
        except BaseException:
            self._release(job)
            raise
        if early:
            asyncio.ensure_future(self._finish(device, job, t0, timings, checked))
            pending = {k: v for k, v in job.timings.items() if k != "submitted"}
            return RunResult(output=None, timings=dict(pending, pending=True), frame=frame)
        result = await self._finish(device, job, t0)
        result.frame = frame
        return result

    async def _checked(self, scopes) -> None:
        """Await popped error scopes; after a GPU error, the next run starts afresh."""
        try:
            await scopes
        except GPUError:
            # Buffers made inside the scope may be invalid (out of memory): start the next run
            # from a fresh pool, staging buffer and upload rather than reuse them.
            self.resources.set_geometry(None)
            self._uploaded = None
            self._last = self.kept = None
            raise

    async def _finish(self, device, job: _Job, t0: float, report=None, checked=None) -> RunResult:
        """Wait for the GPU (and `checked`, the run's error scopes, when still to come),
        collect what the job reads back and its timings, release it."""
        try:
            if checked is not None:
                await checked
            await device.queue.onSubmittedWorkDone()
            if job.query is None:
                wall = (time.perf_counter() - job.timings["submitted"]) * 1e3
                job.timings.update(gpu_ms=wall, gpu_clock="wall", passes=[])
            result = await self._collect(job)
        except Exception as exc:
            if report is None:
                raise
            report({"error": str(exc)})
            return None
        finally:
            self._release(job)
        del result.timings["submitted"]
        result.timings["total_ms"] = (time.perf_counter() - t0) * 1e3
        if report is not None:
            report(result.timings)
        return result

    def keep_last(self, steps: list[Step], *, stages: bool = False) -> bool:
        """Keep the result of the last run for :meth:`read_regions`, if it ran `steps` on the
        current image: nothing has written its buffer since, so it need not run again. With
        `stages`, every enabled step's output, if that run kept them all."""
        outputs = self.outputs(steps, stages=stages)
        if outputs is not None:
            self.kept = outputs
        return outputs is not None

    def outputs(self, steps: list[Step], *, stages: bool = False) -> tuple[list[str], list] | None:
        """``(buffers, bands)`` holding the last run's result (or with `stages`, every
        enabled step's output), for :meth:`read_regions`; None unless that run ran `steps`
        on the current image (and kept every stage, for `stages`)."""
        if self._last is None or self._last[0] != tuple(steps) or self._uploaded is None:
            return None
        _, result, bands, every = self._last
        if stages:
            return (every, bands) if every else None
        return [result], bands

    async def read_regions(self, regions: list[tuple[int, int, int, int]], *,
                           outputs: tuple[list[str], list] | None = None) -> list[list]:
        """Read rectangles ``(y0, y1, x0, x1)`` of the outputs the last ``keep`` run kept, or
        of `outputs` (from :meth:`outputs`, or a selection of its buffers).

        Every region of every output is packed tightly (H×W×C float32, see ``pack.wgsl``)
        into one buffer, in one submit, and read back with one ``mapAsync``.

        Returns
        -------
        list of list of JS Float32Array
            Per region, one array per output (every enabled step, or just the result), each
            a fresh copy that JavaScript may transfer.
        """
        outputs = outputs or self.kept
        if outputs is None:
            raise ValueError("There is no kept GPU result to read; run the chain again.")
        buffers, bands = outputs
        device = await self.gpu.acquire()
        if self._last is None:  # the device was lost while acquiring
            raise ValueError("The GPU result was lost with the device; run the chain again.")
        res, g = self.resources, self.geometry
        info = shaders.info("pack")
        pipeline = res.compute_pipeline("pack", "main", shaders.workgroup_size("pack", "main"))
        passes, layout, offset = [], [], 0
        for y0, y1, x0, x1 in regions:
            sizes = []
            for name in buffers:
                for k, (b0, b1) in enumerate(bands):
                    top, bottom = max(y0, b0), min(y1, b1)
                    if top < bottom:
                        uniforms = planning.pack_uniforms(g, x0, top - b0, offset + (top - y0) * (x1 - x0) * g.channels)
                        passes.append((_name(name, k, bands), x1 - x0, bottom - top, uniforms))
                size = (y1 - y0) * (x1 - x0) * g.channels
                sizes.append((offset, size))
                offset += size
            layout.append(sizes)
        out = res.buffer("regions", offset * 4, buffer_usage(*_STORAGE))
        slot = 256  # minUniformBufferOffsetAlignment is at most 256
        params = res.buffer("region params", len(passes) * slot, buffer_usage("UNIFORM", "COPY_DST"))
        packed = bytearray(len(passes) * slot)
        for i, (_, width, height, uniforms) in enumerate(passes):
            packed[i * slot: i * slot + info.size] = info.pack({"width": width, "height": height, **uniforms})
        t0 = time.perf_counter()
        staging, generation = res.reader(offset * 4)
        try:
            self.gpu.push_scopes()
            try:
                device.queue.writeBuffer(params, 0, to_js(bytes(packed)))
                encoder = device.createCommandEncoder()
                compute = encoder.beginComputePass(js_object({"label": "read regions"}))
                compute.setPipeline(pipeline)
                for i, (source, width, height, _) in enumerate(passes):
                    group = device.createBindGroup(js_object({
                        "layout": pipeline.getBindGroupLayout(0),
                        "entries": [
                            {"binding": info.bindings["params"],
                             "resource": {"buffer": params, "offset": i * slot, "size": info.size}},
                            {"binding": info.bindings["src"], "resource": {"buffer": res.pooled(source)}},
                            {"binding": info.bindings["dst"], "resource": {"buffer": out}},
                        ]}))
                    compute.setBindGroup(0, group)
                    compute.dispatchWorkgroups(*shaders.dispatch_size("pack", "main", width, height))
                compute.end()
                encoder.copyBufferToBuffer(out, 0, staging, 0, offset * 4)
                device.queue.submit(to_js([encoder.finish()]))
            finally:
                await self.gpu.pop_scopes("reading tiles back")
            t_submitted = time.perf_counter()
            await staging.mapAsync(js.GPUMapMode.READ, 0, offset * 4)
            t_mapped = time.perf_counter()
            try:
                mapped = staging.getMappedRange(0, offset * 4)
                regions = [[js.Float32Array.new(mapped, start * 4, size).slice() for start, size in sizes]
                           for sizes in layout]
            finally:
                staging.unmap()
        except BaseException:
            res.return_reader(staging, generation)
            raise
        res.return_reader(staging, generation)
        t_copied = time.perf_counter()
        self.last_read = {"mib": offset * 4 / 2**20, "submit_ms": (t_submitted - t0) * 1e3,
                          "map_ms": (t_mapped - t_submitted) * 1e3, "copy_ms": (t_copied - t_mapped) * 1e3}
        return regions

    async def _upload(self, device, job: _Job) -> None:
        """Write the source image (per band) unless this device already holds it so banded."""
        if self._uploaded == job.bands:
            return
        t_up = time.perf_counter()
        used = []
        # The bands share the staging buffer, made for the largest: a short last band must not
        # replace it.
        largest = _largest_band(job.bands, self._source[0].nbytes)
        for k, (y0, y1) in enumerate(job.bands):
            key = _name("upload", k, job.bands)
            used.append(await self._write_upload(device, key, self._source[y0:y1], largest))
        if self.gpu.device is not device:
            # lost while a write waited: the new device holds none of it (the run is retried)
            raise GPUError("The GPU was lost while the image was uploading.")
        self._uploaded = job.bands
        t_written = time.perf_counter()
        await device.queue.onSubmittedWorkDone()  # time the transfer, once per image
        job.timings["upload_ms"] = (time.perf_counter() - t_up) * 1e3
        job.timings["upload_write_ms"] = (t_written - t_up) * 1e3  # until the writes are issued
        job.timings["upload_method"] = ",".join(sorted(set(used)))

    async def _write_upload(self, device, key: str, rows: np.ndarray, largest: int) -> str:
        """Write `rows` (H×W×C samples) into the pooled upload buffer `key` by the method in
        :attr:`upload`; return the method used, as :attr:`upload` names it. `largest` is the
        largest band's size in bytes, which the staging buffer is made for."""
        used = self.upload
        method, _, argument = used.partition(":")
        flat = rows.reshape(-1).view(np.uint8)
        size = max(4, (flat.size + 3) & ~3)  # buffer sizes are multiples of 4
        usage = buffer_usage("STORAGE", "COPY_DST", "COPY_SRC")
        if method == "bitmap" and not self._bitmap_fits(rows):
            used = method = "write"
        if method == "mapped":
            buffer = self.resources.create_buffer(size, usage, key, mapped=True)
            with _memory_of(flat) as data:
                js.Uint8Array.new(buffer.getMappedRange(0, size)).set(data)
            buffer.unmap()
            self.resources.adopt(key, buffer)
            return method
        buffer = self.resources.buffer(key, size, usage)
        if method == "staging":
            staging = await self.resources.mapped_writer(max(size, largest), size)
            try:
                mapped = js.Uint8Array.new(staging.getMappedRange(0, size))
                with _memory_of(flat) as data:  # after the await: wasm memory may have grown
                    mapped.set(data)
                mapped.fill(0, flat.size)  # the pad to a whole word, as `write` leaves it
            finally:
                staging.unmap()
            encoder = device.createCommandEncoder()
            encoder.copyBufferToBuffer(staging, 0, buffer, 0, size)
            device.queue.submit(to_js([encoder.finish()]))
            return method
        if method == "bitmap":
            await self._write_bitmap(device, buffer, rows)
            return method
        whole = (flat.size // 4) * 4
        chunk = max(4, whole if method == "write" else int(float(argument or 4) * (1 << 20)) // 4 * 4)
        with _memory_of(flat) as data:
            for offset in range(0, whole, chunk):
                device.queue.writeBuffer(buffer, offset, data, offset, min(chunk, whole - offset))
        if whole != flat.size:  # writeBuffer sizes are multiples of 4: pad the tail word
            tail = np.zeros(4, np.uint8)
            tail[: flat.size - whole] = flat[whole:]
            device.queue.writeBuffer(buffer, whole, to_js(tail.tobytes()))
        return used

    def _bitmap_fits(self, rows: np.ndarray) -> bool:
        """Whether `rows` can go through an ImageBitmap: 8-bit RGBA, within the texture size
        limit, rows a multiple of 256 bytes (copyTextureToBuffer's row alignment)."""
        h, w, c = rows.shape
        largest = int(self.gpu.device.limits.maxTextureDimension2D)
        return rows.dtype == np.uint8 and c == 4 and (4 * w) % 256 == 0 and max(w, h) <= largest

    async def _write_bitmap(self, device, buffer, rows: np.ndarray) -> None:
        """Upload 8-bit RGBA `rows` as an ImageBitmap copied to a texture, then into `buffer`."""
        h, w, _ = rows.shape
        pixels = js.Uint8ClampedArray.new(rows.size)
        pixels.assign(rows.reshape(-1))
        bitmap = await js.createImageBitmap(js.ImageData.new(pixels, w, h), js_object(
            {"premultiplyAlpha": "none", "colorSpaceConversion": "none"}))
        usage = js.GPUTextureUsage
        texture = device.createTexture(js_object({
            "size": [w, h], "format": "rgba8unorm",
            "usage": int(usage.COPY_DST) | int(usage.COPY_SRC) | int(usage.RENDER_ATTACHMENT)}))
        try:
            device.queue.copyExternalImageToTexture(
                js_object({"source": bitmap}),
                js_object({"texture": texture, "premultipliedAlpha": False}), to_js([w, h]))
            encoder = device.createCommandEncoder()
            encoder.copyTextureToBuffer(js_object({"texture": texture}), js_object(
                {"buffer": buffer, "bytesPerRow": 4 * w, "rowsPerImage": h}), to_js([w, h]))
            device.queue.submit(to_js([encoder.finish()]))
        finally:
            texture.destroy()
            bitmap.close()

    async def reupload(self, method: str, *, cold: bool = False) -> dict:
        """Upload the loaded image again by `method` (:data:`UPLOAD_METHODS`), timed as a run
        times its upload, then read the upload back and compare it with the source bytes.
        `cold` drops the pooled buffers and the staging buffer first, as loading the first
        image, or one larger than the last, does, so that the upload writes into new buffers.

        Returns ``{"upload_ms", "method", "exact"}``: the method actually used (``bitmap``
        falls back to ``write`` where it cannot serve), and whether the GPU holds exactly the
        decoded samples.
        """
        if self._source is None:
            raise ValueError("No image is loaded.")
        device = await self.gpu.acquire()
        g, bands = self.geometry, self.bands()
        if cold:
            self.resources.set_geometry(None)
            self.kept = None
            self._last = None
        self.resources.set_geometry((g, tuple(bands)))
        job = _Job(None, bands)
        previous, self.upload = self.upload, check_upload(method)
        self._uploaded = None
        try:
            self.gpu.push_scopes()
            try:
                await self._upload(device, job)
            finally:
                await self.gpu.pop_scopes("uploading the image")
        finally:
            self.upload = previous
        exact = True
        for k, (y0, y1) in enumerate(bands):
            flat = self._source[y0:y1].reshape(-1).view(np.uint8)
            held = await self._read_buffer(device, self.resources.pooled(_name("upload", k, bands)), flat.size)
            exact = exact and np.array_equal(held, flat)
        return {"upload_ms": job.timings["upload_ms"], "write_ms": job.timings["upload_write_ms"],
                "method": job.timings["upload_method"], "exact": bool(exact)}

    async def _read_buffer(self, device, buffer, size: int) -> np.ndarray:
        """The first `size` bytes of a buffer (with COPY_SRC usage), read back."""
        padded = max(4, (size + 3) & ~3)
        staging = self.resources.create_buffer(padded, buffer_usage("MAP_READ", "COPY_DST"), "check")
        try:
            encoder = device.createCommandEncoder()
            encoder.copyBufferToBuffer(buffer, 0, staging, 0, padded)
            device.queue.submit(to_js([encoder.finish()]))
            out = np.empty(padded, np.uint8)
            await _read(staging, out)
            return out[:size]
        finally:
            self.resources.destroy_buffer(staging)

    def _allocate(self, job: _Job) -> None:
        """Pooled buffers for every written buffer and band, the halo buffer, staging buffers
        for what is read back, and the timestamp queries."""
        res, g, bands = self.resources, self.geometry, job.bands
        written = job.plan.written()
        for name, per_pixel in written.items():
            for k, (y0, y1) in enumerate(bands):
                res.buffer(_name(name, k, bands), (y1 - y0) * g.width * per_pixel, buffer_usage(*_STORAGE))
        if len(bands) > 1:
            halo = max(p.halo for p in job.plan.passes)
            rows = max(y1 - y0 for y0, y1 in bands) + 2 * halo
            res.buffer("halo", rows * g.width * planning.WORKING_BYTES, buffer_usage("STORAGE", "COPY_DST"))
        for name in job.plan.reads:
            for k, (y0, y1) in enumerate(bands):
                size = (y1 - y0) * g.width * written[name]
                job.staging[name, k] = res.create_buffer(size, buffer_usage("MAP_READ", "COPY_DST"),
                                                         f"{name} staging")
        job.query = self._timestamp_queries(len(job.plan.passes) * len(bands))

    def _encode(self, device, encoder, job: _Job) -> None:
        self._cval_rows.clear()
        for n, p in enumerate(job.plan.passes):
            for k in range(len(job.bands)):
                self._encode_pass(device, encoder, n, p, k, job)
        for (name, k), target in job.staging.items():
            source = self.resources.pooled(_name(name, k, job.bands))
            encoder.copyBufferToBuffer(source, 0, target, 0, int(target.size))
        if job.query is not None:
            q = job.query
            encoder.resolveQuerySet(q["set"], 0, q["count"], q["resolve"], 0)
            encoder.copyBufferToBuffer(q["resolve"], 0, q["read"], 0, q["count"] * 8)

    def _encode_pass(self, device, encoder, n: int, p: planning.Pass, k: int, job: _Job) -> None:
        """Encode pass ``n`` for band ``k``: stage its halo rows if it has any, then dispatch."""
        res, bands = self.resources, job.bands
        width = self.geometry.width
        y0, y1 = bands[k]
        banded = len(bands) > 1
        inputs = {binding: _name(buffer, k, bands) for binding, buffer in p.inputs.items()}
        if banded and shaders.reads_neighbours(p.shader):
            constants = {**p.pipeline_constants, "BAND_HALO": p.halo}
            if p.halo:
                inputs["src"] = self._stage_halo(device, encoder, n, p, k, bands)
            entry, pipeline = p.entry, res.compute_pipeline(p.shader, p.entry, constants)
        else:
            entry, constants, pipeline = self._pipeline(p)
        info = shaders.info(p.shader)
        slot = f"{n}.{k}" if banded else str(n)
        params_name = f"params{slot}"
        uniforms = res.buffer(params_name, 256, buffer_usage("UNIFORM", "COPY_DST"))
        values = {"width": width, "height": y1 - y0, **p.uniforms}
        device.queue.writeBuffer(uniforms, 0, to_js(info.pack(values)))
        entries = {"params": params_name, **inputs, p.output[0]: _name(p.output[1], k, bands)}
        if p.weights is not None:
            weights_name = f"weights{n}"
            # A uniform binding of the shader's whole array, a weight to a vec4 (lib/taps.wgsl).
            weights = res.buffer(weights_name, 16 * shaders.constant("MAX_TAPS"), buffer_usage("UNIFORM", "COPY_DST"))
            if k == 0:
                lanes = np.zeros((p.weights.size, 4), np.float32)
                lanes[:, 0] = p.weights
                device.queue.writeBuffer(weights, 0, to_js(lanes.tobytes()))
            entries["weights"] = weights_name
        bound = sorted((info.bindings[binding], buffer) for binding, buffer in entries.items())
        group = res.bind_group((p.shader, entry, tuple(sorted(constants.items()))), pipeline, bound)
        descriptor = {"label": p.label}
        if job.query is not None:
            q = 2 * (n * len(bands) + k)
            descriptor["timestampWrites"] = {
                "querySet": job.query["set"], "beginningOfPassWriteIndex": q, "endOfPassWriteIndex": q + 1,
            }
        compute = encoder.beginComputePass(js_object(descriptor))
        compute.setPipeline(pipeline)
        compute.setBindGroup(0, group)
        compute.dispatchWorkgroups(*shaders.dispatch_size(p.shader, entry, width, y1 - y0, constants))
        compute.end()

    def _pipeline(self, p: planning.Pass) -> tuple[str, dict, object]:
        """(entry, constants, pipeline) that run pass `p` now: its specialised pipeline if it
        is ready (or the policy waits for it), else its shader's general one. Either way the
        specialised pipeline and those of the neighbouring radii are queued to compile."""
        res = self.resources
        constants = p.pipeline_constants
        general = p.general(self.gpu.limits)
        if general is None or self.pipelines == "specialised":
            return p.entry, constants, res.compute_pipeline(p.shader, p.entry, constants)
        for entry, variant in planning.neighbours(p, self.gpu.limits):
            res.prepare(p.shader, entry, variant)
        pipeline = None
        if self.pipelines == "auto":
            pipeline = res.compute_pipeline(p.shader, p.entry, constants, wait=False)
        if pipeline is not None:
            return p.entry, constants, pipeline
        entry, constants = general
        return entry, constants, res.compute_pipeline(p.shader, entry, constants)

    def _stage_halo(self, device, encoder, n: int, p: planning.Pass, k: int, bands) -> str:
        """Copy band ``k`` of the pass's ``src`` plus ``p.halo`` rows above and below into the
        ``halo`` buffer (:func:`filterlab.gpu.plan.halo_copies`)."""
        res = self.resources
        g = self.geometry
        row_bytes = g.width * planning.WORKING_BYTES
        halo = res.pooled("halo")  # sized for the largest halo of the chain before encoding
        mode, cval = p.border
        copies = planning.halo_copies(bands[k], p.halo, g.height, mode, bands[0][1] - bands[0][0])
        for band, row, start, count in copies:
            if band < 0:
                cval_row = res.buffer(f"cval{n}", row_bytes, buffer_usage("COPY_SRC", "COPY_DST"))
                if n not in self._cval_rows:
                    row_of_cval = np.full(g.width * 4, cval, np.float32)
                    device.queue.writeBuffer(cval_row, 0, to_js(row_of_cval.tobytes()))
                    self._cval_rows.add(n)
                encoder.copyBufferToBuffer(cval_row, 0, halo, start * row_bytes, row_bytes)
            else:
                src = res.pooled(_name(p.inputs["src"], band, bands))
                encoder.copyBufferToBuffer(src, row * row_bytes, halo, start * row_bytes,
                                           count * row_bytes)
        return "halo"

    def _timestamp_queries(self, count: int):
        # A query set holds at most 4096 queries; longer runs are timed by the wall clock.
        if "timestamp-query" not in self.gpu.features or not 0 < 2 * count <= 4096:
            return None
        n = 2 * count
        return {
            "count": n,
            "set": self.gpu.device.createQuerySet(js_object({"type": "timestamp", "count": n})),
            "resolve": self.resources.create_buffer(
                n * 8, buffer_usage("QUERY_RESOLVE", "COPY_SRC"), "timestamps"),
            "read": self.resources.create_buffer(
                n * 8, buffer_usage("MAP_READ", "COPY_DST"), "timestamps read"),
        }

    async def _collect(self, job: _Job) -> RunResult:
        """Read back what the job asked for, and the timestamps."""
        g, bands, timings = self.geometry, job.bands, job.timings
        t_read = time.perf_counter()
        arrays = {}
        for name in job.plan.reads:
            shape = (g.height, g.width, 4) if name == "display" else (g.height, g.width, g.channels)
            arrays[name] = np.empty(shape, np.uint8 if name == "display" else np.float32)
            for k, (y0, y1) in enumerate(bands):
                await _read(job.staging[name, k], arrays[name][y0:y1])
        packed = [name for name in job.plan.reads if name != "display"]
        timings["readback_ms"] = (time.perf_counter() - t_read) * 1e3 if packed else 0.0
        if job.query is not None:
            passes = job.plan.passes
            ns = (await _read_timestamps(job.query)).reshape(len(passes), len(bands), 2)
            timings["passes"] = [
                {"label": p.label, "kernel": f"{p.shader}.{p.entry}",
                 "ms": float((ns[i, :, 1] - ns[i, :, 0]).sum()) / 1e6}
                for i, p in enumerate(passes)
            ]
            timings["gpu_ms"] = float(ns[-1, -1, 1] - ns[0, 0, 0]) / 1e6
            timings["gpu_clock"] = "timestamp"
        return RunResult(output=arrays.get(job.plan.readback),
                         stages=[arrays[name] for name in job.plan.stages], timings=timings,
                         display=arrays.get("display"))

    def _release(self, job: _Job) -> None:
        for target in job.staging.values():
            self.resources.destroy_buffer(target)
        if job.query is not None:
            job.query["set"].destroy()
            self.resources.destroy_buffer(job.query["resolve"])
            self.resources.destroy_buffer(job.query["read"])


def _largest_band(bands: list[tuple[int, int]], row_bytes: int) -> int:
    """Bytes of the largest of `bands` (row ranges) of an upload with `row_bytes` a row: the
    size its staging buffer is made for."""
    return max(y1 - y0 for y0, y1 in bands) * row_bytes


def check_upload(method: str) -> str:
    """`method` if it names one of :data:`UPLOAD_METHODS` (with a positive chunk size in MiB
    for ``chunks``), else ValueError."""
    name, _, argument = method.partition(":")
    valid = name in UPLOAD_METHODS and (not argument or name == "chunks")
    if valid and argument:
        try:
            valid = float(argument) > 0
        except ValueError:
            valid = False
    if not valid:
        raise ValueError(f"unknown upload method {method!r}; one of {', '.join(UPLOAD_METHODS)}")
    return method


@contextlib.contextmanager
def _memory_of(flat: np.ndarray):
    """A JS Uint8Array over a NumPy array's own memory (no copy), released on exit. Use it at
    once: wasm memory may move when it grows."""
    proxy = create_proxy(flat)
    view = proxy.getBuffer("u8")
    try:
        yield view.data
    finally:
        view.release()
        proxy.destroy()


async def _read(staging, out: np.ndarray) -> None:
    """Copy a mapped staging buffer into ``out`` (a C-contiguous NumPy view)."""
    kind = js.Float32Array if out.dtype == np.float32 else js.Uint8Array
    await staging.mapAsync(js.GPUMapMode.READ)
    try:
        kind.new(staging.getMappedRange(), 0, out.size).assign_to(out.reshape(-1))
    finally:
        staging.unmap()


async def _read_timestamps(query) -> np.ndarray:
    out = np.empty(query["count"], np.uint64)
    await query["read"].mapAsync(js.GPUMapMode.READ)
    try:
        js.BigUint64Array.new(query["read"].getMappedRange()).assign_to(out)
    finally:
        query["read"].unmap()
    return out.astype(np.int64)
