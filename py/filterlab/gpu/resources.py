"""GPU resource lifetimes: shader modules, pipelines, buffers and bind groups.

* Shader modules and pipelines are cached per (shader, entry point, override constants) for
  the life of the device. The WGSL text comes from :func:`filterlab.gpu.shaders.source`.
  :meth:`Resources.prepare` compiles pipelines in the background
  (``createComputePipelineAsync``), a few at a time, so that a new kernel radius never
  compiles on the way to the screen; :attr:`Resources.blocking_compiles` counts the pipelines
  that were compiled while a run waited.
* Buffers are pooled per image geometry. :meth:`Resources.set_geometry` destroys the pool when
  the image or its banding changes; :meth:`Resources.reset` drops everything after a device
  loss. The uploads' staging buffer (:meth:`Resources.writer`) outlives the geometry, so that
  an image no larger than the last (nor more than four times smaller) uploads without making
  and first touching a new one. Its mapping can start before the upload
  (:meth:`Resources.map_writer`), while the image decodes, so that the GPU process makes and
  maps a new one meanwhile.
* Every buffer is created and destroyed here, so :attr:`Resources.live_buffers` is the exact
  number of GPU buffers the app holds.
"""

from __future__ import annotations

import asyncio
import collections
from typing import Any

import js
from pyodide.ffi import JsException

from . import shaders
from .device import GPUDevice, buffer_usage, js_object

# Background compiles in flight at once: enough to keep the GPU process busy, few enough that
# a software adapter's compiles do not starve the page.
_COMPILES_IN_FLIGHT = 2
# Speculative compiles waiting at most; older ones are dropped for newer (the slider has moved
# on). Urgent ones, that a run is waiting for, are never dropped.
_SPECULATIVE_QUEUE = 8


class Resources:
    """Caches and pools for one :class:`GPUDevice`."""

    def __init__(self, gpu: GPUDevice):
        self._gpu = gpu
        self._modules: dict[str, Any] = {}
        self._pipelines: dict[tuple, Any] = {}
        self._pool: dict[str, Any] = {}
        self._bind_groups: dict[tuple, Any] = {}
        self._geometry: tuple | None = None
        # key -> (name, entry, constants, urgent), urgent ones first
        self._queue: collections.OrderedDict = collections.OrderedDict()
        self._compiling: set[tuple] = set()
        self._pump_due = False  # a pump is scheduled for after the current task
        self._readers: list = []  # idle MAP_READ buffers, kept for the next read-back
        self._writer = None  # the MAP_WRITE staging buffer uploads go through
        self._writer_map = None  # (bytes, promise) of a mapping map_writer started
        self.early_maps = 0  # uploads whose staging buffer was mapped ahead (map_writer)
        self._generation = 0  # bumped by reset: compiles for a lost device are dropped
        self.live_buffers = 0
        self.blocking_compiles = 0
        gpu.on_reset(self.reset)

    @property
    def pipeline_count(self) -> int:
        return len(self._pipelines)

    @property
    def cached(self) -> int:
        """Pipelines and bind groups held for reuse: each is one JS value Python keeps."""
        return len(self._pipelines) + len(self._bind_groups)

    @property
    def pending_compiles(self) -> int:
        """Pipelines queued or compiling in the background."""
        return len(self._queue) + len(self._compiling)

    @property
    def device(self):
        return self._gpu.device

    # -- pipelines ----------------------------------------------------------------------------

    def module(self, name: str):
        if name not in self._modules:
            self._modules[name] = self.device.createShaderModule(
                js_object({"code": shaders.source(name), "label": name})
            )
        return self._modules[name]

    def _descriptor(self, name: str, entry: str, constants: dict[str, int]):
        return js_object({
            "label": f"{name}.{entry} {constants}",
            "layout": "auto",
            "compute": {"module": self.module(name), "entryPoint": entry, "constants": constants},
        })

    @staticmethod
    def _key(name: str, entry: str, constants: dict[str, int]) -> tuple:
        return ("compute", name, entry, tuple(sorted(constants.items())))

    def compute_pipeline(self, name: str, entry: str, constants: dict[str, int], *, wait: bool = True):
        """The pipeline, compiled now if it is not ready; with ``wait=False``, None instead
        (and the pipeline is queued to compile in the background)."""
        key = self._key(name, entry, constants)
        if key not in self._pipelines:
            if not wait:
                self.prepare(name, entry, constants, urgent=True)
                return None
            self.blocking_compiles += 1
            self._pipelines[key] = self.device.createComputePipeline(self._descriptor(name, entry, constants))
        return self._pipelines[key]

    def prepare(self, name: str, entry: str, constants: dict[str, int], *, urgent: bool = False) -> None:
        """Compile a pipeline in the background unless it exists or is on its way; `urgent`
        ones (a run is waiting for them) go before speculative ones."""
        key = self._key(name, entry, constants)
        if key in self._pipelines or key in self._compiling:
            return
        self._queue.setdefault(key, (name, entry, dict(constants), urgent))
        if urgent:
            self._queue[key] = (name, entry, dict(constants), True)
            self._queue.move_to_end(key, last=False)
        speculative = [k for k, job in self._queue.items() if not job[3]]
        for stale in speculative[:-_SPECULATIVE_QUEUE]:
            del self._queue[stale]
        # Compiles start after the current task: a run queues them while it encodes, and
        # starting them (a shader module, a descriptor, a call into the GPU process each)
        # would otherwise delay its submit and its frame.
        if not self._pump_due:
            self._pump_due = True
            asyncio.get_event_loop().call_soon(self._pump_later)

    def _pump_later(self) -> None:
        self._pump_due = False
        self._pump()

    def _pump(self) -> None:
        while self._queue and len(self._compiling) < _COMPILES_IN_FLIGHT and self.device is not None:
            key, (name, entry, constants, _) = self._queue.popitem(last=False)
            if key in self._pipelines:
                continue
            self._compiling.add(key)
            promise = self.device.createComputePipelineAsync(self._descriptor(name, entry, constants))
            asyncio.ensure_future(self._finish(key, promise, self._generation))

    async def _finish(self, key: tuple, promise, generation: int) -> None:
        try:
            pipeline = await promise
        except JsException:
            pipeline = None  # compiled again when a run needs it, inside its error scope
        if generation != self._generation:
            return  # the device was lost meanwhile
        self._compiling.discard(key)
        if pipeline is not None:
            self._pipelines.setdefault(key, pipeline)
        self._pump()

    def render_pipeline(self, name: str, format: str):
        key = ("render", name, format)
        if key not in self._pipelines:
            module = self.module(name)
            self._pipelines[key] = self.device.createRenderPipeline(js_object({
                "label": name,
                "layout": "auto",
                "vertex": {"module": module, "entryPoint": "vs"},
                "fragment": {"module": module, "entryPoint": "fs", "targets": [{"format": format}]},
                "primitive": {"topology": "triangle-list"},
            }))
        return self._pipelines[key]

    # -- buffers ------------------------------------------------------------------------------

    def create_buffer(self, size: int, usage: int, label: str, *, mapped: bool = False):
        """A new buffer the caller owns and must pass to :meth:`destroy_buffer`; `mapped`
        creates it mapped for writing (``mappedAtCreation``)."""
        buffer = self.device.createBuffer(js_object({"size": _align4(size), "usage": usage, "label": label,
                                                     "mappedAtCreation": mapped}))
        self.live_buffers += 1
        return buffer

    def destroy_buffer(self, buffer) -> None:
        buffer.destroy()
        self.live_buffers -= 1

    def reader(self, size: int):
        """A MAP_READ buffer of at least `size` bytes that nothing else is using, for a
        read-back; hand it back with :meth:`return_reader`. Read-backs come in series of
        similar sizes (verification's tile groups), so buffers are reused rather than made
        and zeroed each time. Returns ``(buffer, generation)``, both for :meth:`return_reader`."""
        fits = [b for b in self._readers if int(b.size) >= _align4(size)]
        if fits:
            buffer = min(fits, key=lambda b: int(b.size))
            self._readers.remove(buffer)
            return buffer, self._generation
        # Round up to a 1/8 step of the next power of two: later reads of a similar size fit.
        step = max(1 << 16, (1 << max(0, (_align4(size) - 1).bit_length())) // 8)
        size = -(-size // step) * step
        return self.create_buffer(size, buffer_usage("MAP_READ", "COPY_DST"), "read-back"), self._generation

    def return_reader(self, buffer, generation: int) -> None:
        """Keep a buffer from :meth:`reader` (unmapped) for the next read-back; only the
        largest :data:`_READERS_KEPT` stay. One from a device lost meanwhile went with it."""
        if generation != self._generation:
            self.live_buffers -= 1
            return
        self._readers.append(buffer)
        self._readers.sort(key=lambda b: -int(b.size))
        while len(self._readers) > _READERS_KEPT:
            self.destroy_buffer(self._readers.pop())

    def writer(self, size: int):
        """The uploads' MAP_WRITE | COPY_SRC staging buffer, at least `size` bytes: the one
        the last upload used where it is large enough and at most :data:`_WRITER_SLACK` times
        too large (a small image need not hold a large one's memory), else a new one."""
        if self._writer is not None and not self._writer_fits(size):
            self.release_writer()
        if self._writer is None:
            usage = buffer_usage("MAP_WRITE", "COPY_SRC")
            self._writer = self.create_buffer(size, usage, "upload staging")
        return self._writer

    def _writer_fits(self, size: int) -> bool:
        """Whether the kept staging buffer serves an upload of `size` bytes."""
        size = _align4(size)
        return self._writer is not None and size <= int(self._writer.size) <= _WRITER_SLACK * size

    @property
    def writer_bytes(self) -> int:
        """The size of the staging buffer :meth:`writer` keeps, 0 if none."""
        return int(self._writer.size) if self._writer is not None else 0

    def release_writer(self, buffer=None) -> None:
        """Destroy the staging buffer of :meth:`writer` (only if it is still `buffer`, when
        given), mapped or not; the next upload makes a new one."""
        if self._writer is not None and (buffer is None or buffer is self._writer):
            self.destroy_buffer(self._writer)
            self._writer = None
            self._writer_map = None

    def map_writer(self, size: int) -> None:
        """Start mapping the first `size` bytes of the staging buffer (:meth:`writer`, made
        for `size` bytes) for writing, ahead of the upload that takes it
        (:meth:`mapped_writer`): the GPU process makes and maps the buffer while the page goes
        on. If that fails (out of memory, a lost device), the upload makes and maps a new one
        itself and reports what that meets."""
        if self._writer_map is not None and self._writer_fits(size):
            return
        self._gpu.push_scopes()
        try:
            buffer = self.writer(size)
            promise = buffer.mapAsync(js.GPUMapMode.WRITE, 0, _align4(size))
        except BaseException:
            self._gpu.pop_scopes("making the upload's staging buffer").close()
            raise
        checked = self._gpu.pop_scopes("making the upload's staging buffer")
        promise.catch(_ignore)  # handled at once: the task below awaits it only later
        task = asyncio.ensure_future(_mapping(promise, checked))
        task.add_done_callback(_retrieve)
        self._writer_map = (_align4(size), task)

    async def mapped_writer(self, size: int, mapped: int):
        """The staging buffer (:meth:`writer`, at least `size` bytes) with its first `mapped`
        bytes mapped for writing: by the mapping :meth:`map_writer` started where it covers
        them, else mapped now. An early mapping that failed only drops its buffer: a new one
        is made and mapped here, so its error is the one raised. If mapping fails the buffer
        is dropped (it may be invalid: out of memory) and the error raised."""
        buffer = self.writer(size)
        early, self._writer_map = self._writer_map, None
        if early is not None:
            try:
                await early[1]
            except Exception:
                self.release_writer(buffer)
                buffer = self.writer(size)
            else:
                if early[0] >= mapped:
                    self.early_maps += 1
                    return buffer
                buffer.unmap()
        try:
            await buffer.mapAsync(js.GPUMapMode.WRITE, 0, mapped)
        except Exception:
            self.release_writer(buffer)
            raise
        return buffer

    def set_geometry(self, geometry: tuple | None) -> None:
        """Drop pooled buffers and bind groups when the image geometry changes. None starts
        afresh: the staging buffer of :meth:`writer` goes too."""
        if geometry is None:
            self.release_writer()
        if geometry != self._geometry:
            self._release_pool()
            self._geometry = geometry

    def buffer(self, key: str, size: int, usage: int):
        """A pooled buffer, reused while the geometry stays the same."""
        buffer = self._pool.get(key)
        if buffer is None or int(buffer.size) < _align4(size):
            if buffer is not None:
                self._drop_bind_groups_of(key)
                self.destroy_buffer(buffer)
            buffer = self._pool[key] = self.create_buffer(size, usage, key)
        return buffer

    def pooled(self, key: str):
        """The pooled buffer made by an earlier :meth:`buffer` call for ``key``."""
        return self._pool[key]

    def adopt(self, key: str, buffer) -> None:
        """Pool `buffer` (made by :meth:`create_buffer`) as ``key``, replacing the one there."""
        old = self._pool.pop(key, None)
        if old is not None:
            self._drop_bind_groups_of(key)
            self.destroy_buffer(old)
        self._pool[key] = buffer

    def bind_group(self, pipeline_key: tuple, pipeline, entries: list[tuple[int, str]]):
        """A cached bind group of pooled buffers: ``entries`` are (binding, pool key)."""
        key = (pipeline_key, tuple(entries))
        group = self._bind_groups.get(key)
        if group is None:
            group = self._bind_groups[key] = self.device.createBindGroup(js_object({
                "layout": pipeline.getBindGroupLayout(0),
                "entries": [{"binding": b, "resource": {"buffer": self._pool[name]}} for b, name in entries],
            }))
        return group

    def _drop_bind_groups_of(self, name: str) -> None:
        for key in [k for k in self._bind_groups if any(n == name for _, n in k[1])]:
            del self._bind_groups[key]

    def _release_pool(self) -> None:
        self._bind_groups.clear()
        for buffer in [*self._pool.values(), *self._readers]:
            self.destroy_buffer(buffer)
        self._pool.clear()
        self._readers.clear()

    def reset(self) -> None:
        """Forget everything built on a device that is gone (its buffers went with it)."""
        self._bind_groups.clear()
        self.live_buffers -= len(self._pool) + len(self._readers) + (self._writer is not None)
        self._pool.clear()
        self._readers.clear()
        self._writer = None
        self._writer_map = None
        self._pipelines.clear()
        self._modules.clear()
        self._queue.clear()
        self._compiling.clear()
        self._generation += 1
        self._geometry = None


# Idle read-back buffers kept: as many as verification has reads in flight (app/verifier.js).
_READERS_KEPT = 2
# How much larger than an upload the kept staging buffer may be before a smaller one replaces it.
_WRITER_SLACK = 4


def _align4(size: int) -> int:
    return max(4, (int(size) + 3) & ~3)


async def _mapping(promise, checked) -> None:
    """Wait for a mapping started inside error scopes (`checked`, from
    :meth:`GPUDevice.pop_scopes`, which keep a failure from reaching the page as an uncaught
    GPU error); raise if making or mapping the buffer failed."""
    try:
        await promise
    finally:
        await checked


def _ignore(_error) -> None:
    return None


def _retrieve(task) -> None:
    """Take a finished mapping's error, so it is not logged as never retrieved, also when no
    upload awaits the mapping."""
    if not task.cancelled():
        task.exception()
