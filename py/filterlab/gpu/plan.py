"""Planning a chain on the GPU: passes, shaders, uniforms, buffers, bands and halos.

Pure Python: this module imports and runs under CPython (the tests plan every catalog
example there), as well as in the GPU worker. The runtime half of :mod:`filterlab.gpu`
(:mod:`.engine`) turns a :class:`Plan` into WebGPU calls.

Each catalog operation registers one plan function with :func:`plan`. It receives a
:class:`StepPlan`, which knows the step's input and output buffers, hands out scratch
buffers, and adds passes by name: a shader and entry point from :data:`.shaders.SHADERS`,
uniforms by the field names of the shader's ``struct Params``, and buffers by the names of its
bindings. :func:`plan_chain` chains the steps through pooled working buffers (ping-pong, with
scratch buffers as a step needs them) and adds the passes around them: unpacking the upload,
packing results for readback, and the 8-bit display image.

Working layout: ``array<vec4<f32>>``, one RGBA pixel per element, 16 bytes a pixel. Fewer
channels are widened by one lane rule (``lib/packed.wgsl``), and filters carry alpha.

Banded images: when a working buffer (plus halo rows) would exceed the device's binding or
buffer limit, every pass runs once per band of rows (:func:`bands`). A pass that reads
neighbours (:func:`.shaders.reads_neighbours`) then reads its ``src`` from a halo buffer that
holds the band plus ``halo`` rows above and below, chosen by the pass's own vertical border
rule (:func:`halo_copies`), so banded results equal unbanded ones bit for bit.

Examples
--------
>>> from filterlab.chain import validate
>>> steps = validate([{"op": "gaussian_blur", "params": {"sigma": 2}}])
>>> p = plan_chain(steps, Geometry(64, 48, 3, "unorm8"), limits=MIN_LIMITS)
>>> [(q.shader, q.entry) for q in p.passes]
[('separable', 'along_x_packed'), ('separable', 'along_y')]
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
from typing import Callable

import numpy as np

from .. import borders, kernels
from ..catalog import OPS
from ..display import IDENTITY, uniforms as stretch_uniforms
from . import shaders

__all__ = [
    "Geometry",
    "Pass",
    "Plan",
    "StepPlan",
    "MIN_LIMITS",
    "UPLOAD_FORMATS",
    "WORKING_BYTES",
    "plan",
    "plan_chain",
    "max_halo",
    "general_radius",
    "neighbours",
    "pack_uniforms",
    "bands",
    "halo_copies",
]

#: Bytes per pixel of the working layout (RGBA float32).
WORKING_BYTES = 16

#: Upload formats: the native sample type of a decoded image, as ``lib/packed.wgsl`` names it.
UPLOAD_FORMATS = {np.dtype(np.uint8): "unorm8", np.dtype(np.uint16): "unorm16",
                  np.dtype(np.float32): "float32"}

#: The limits every WebGPU device offers (the specification's defaults). The device raises
#: them to what the adapter offers; plans read the device's actual values.
MIN_LIMITS = {
    "maxStorageBufferBindingSize": 1 << 27,
    "maxBufferSize": 1 << 28,
    "maxComputeWorkgroupStorageSize": 16384,
    "maxComputeWorkgroupsPerDimension": 65535,
}


@dataclasses.dataclass(frozen=True)
class Geometry:
    """The image a plan is for: its size, channels and upload format."""

    width: int
    height: int
    channels: int
    format: str  # a value of UPLOAD_FORMATS


@dataclasses.dataclass
class Pass:
    """One compute dispatch.

    Attributes
    ----------
    label : str
        Shown in timings, e.g. ``"1:gaussian_blur y"``.
    shader, entry : str
        A :data:`.shaders.SHADERS` row and one of its entry points.
    uniforms : dict
        Values of the shader's ``Params`` fields, by name; ``width`` and ``height`` are set by
        the engine for each band.
    inputs : dict
        ``{binding name: logical buffer}`` read by the pass.
    output : tuple
        ``(binding name, logical buffer)`` written by the pass.
    constants : dict
        Override constants besides the workgroup size (e.g. ``RADIUS``).
    weights : ndarray of float32 or None
        Bound as ``weights`` when given.
    halo : int
        Rows read above and below each output row (through the border rule).
    border : tuple or None
        ``(mode, cval)``: the vertical border rule, for halo rows of banded images.
    bytes_per_pixel : int
        Size of the output buffer per pixel.
    """

    label: str
    shader: str
    entry: str
    uniforms: dict
    inputs: dict
    output: tuple
    constants: dict = dataclasses.field(default_factory=dict)
    weights: np.ndarray | None = None
    halo: int = 0
    border: tuple | None = None
    bytes_per_pixel: int = WORKING_BYTES

    @property
    def pipeline_constants(self) -> dict:
        """Every override constant of the pass's pipeline (workgroup size included)."""
        return {**shaders.workgroup_size(self.shader, self.entry), **self.constants}

    def general(self) -> tuple[str, dict] | None:
        """The entry point and constants of the pipeline that serves this pass whatever its
        radius (``GENERAL``, radius from the uniforms), or None if the pass has no radius."""
        entry = shaders.SHADERS[self.shader].general.get(self.entry)
        if entry is None:
            return None
        constants = {**shaders.workgroup_size(self.shader, entry), **self.constants,
                     "RADIUS": general_radius(self.shader), "GENERAL": 1}
        return entry, constants


class Plan:
    """The passes of one run, and the logical buffers they use.

    Attributes
    ----------
    passes : list of Pass
    stages : list of str
        Packed buffers (H×W×C float32) holding each enabled step's output, when asked for.
    readback : str or None
        The packed buffer holding the result, when asked for (the last stage's, if packed).
    kept : list of str
        With ``keep``: the working buffer holding each enabled step's output after the run.
    result : str
        The working buffer holding the chain's result.
    """

    def __init__(self, geometry: Geometry, limits: dict, entries: dict | None = None):
        self.geometry = geometry
        self.limits = {**MIN_LIMITS, **limits}
        self.entries = entries or {}
        self.passes: list[Pass] = []
        self.stages: list[str] = []
        self.kept: list[str] = []
        self.readback: str | None = None
        self.result = ""
        self._free: list[str] = []
        self._count = 0

    def buffer(self) -> str:
        """A working buffer no live value is in (the lowest-numbered free one)."""
        if self._free:
            self._free.sort(key=lambda name: int(name[4:]))
            return self._free.pop(0)
        name = f"work{self._count}"
        self._count += 1
        return name

    def release(self, name: str) -> None:
        """Give a working buffer back; later passes may overwrite it."""
        if name.startswith("work") and name not in self._free:
            self._free.append(name)

    def fits(self, shader: str, entry: str, constants: dict) -> bool:
        """Whether an entry point's workgroup memory fits the device."""
        used = shaders.workgroup_bytes(shader, entry, constants)
        return used <= self.limits["maxComputeWorkgroupStorageSize"]

    def add(self, label: str, shader: str, entry: str = "main", *, uniforms=None, inputs,
            output, constants=None, weights=None, halo=0, border=None,
            bytes_per_pixel=WORKING_BYTES) -> Pass:
        entry = self.entries.get((shader, entry), entry)
        if entry not in shaders.SHADERS[shader].entries:
            raise ValueError(f"shader {shader} has no entry point {entry!r}")
        step = Pass(label, shader, entry, dict(uniforms or {}), dict(inputs), tuple(output),
                    dict(constants or {}), weights, int(halo), border, bytes_per_pixel)
        self.passes.append(step)
        return step

    def written(self) -> dict[str, int]:
        """``{logical buffer: bytes per pixel}`` of every buffer a pass writes."""
        return {p.output[1]: p.bytes_per_pixel for p in self.passes}

    def pack(self, src: str, name: str) -> str:
        """Add a pass narrowing ``src`` to the image's H×W×C float32 layout, to read back."""
        self.add(f"pack {name}", "pack", uniforms=pack_uniforms(self.geometry), inputs={"src": src},
                 output=("dst", name), bytes_per_pixel=4 * self.geometry.channels)
        return name

    @property
    def reads(self) -> list[str]:
        """Every buffer the host reads back: the packed stages and result, and the display."""
        packed = self.stages + [self.readback] if self.readback not in (None, *self.stages) else self.stages
        return packed + (["display"] if "display" in self.written() else [])

    def fuse_unpack(self) -> None:
        """Let the first pass read the upload itself when it is a row pass (``along_x``) and
        nothing else reads the unpacked image: this drops the unpack pass and one full-size
        write and read of float32 pixels."""
        if len(self.passes) < 2 or self.passes[1].entry != "along_x":
            return
        unpack, first = self.passes[0], self.passes[1]
        for later in self.passes[2:]:
            if unpack.output[1] in later.inputs.values():
                return
            if later.output[1] == unpack.output[1]:
                break
        first.entry = "along_x_packed"
        first.inputs = {"packed": unpack.inputs["packed"]}
        first.label += " (unpacking)"
        del self.passes[0]


def pack_uniforms(geometry: Geometry, x0: int = 0, y0: int = 0, offset: int = 0) -> dict:
    """Uniforms of a ``pack`` pass reading from (x0, y0) of a working image of `geometry` and
    writing from float `offset` on; the region's width and height are the pass's own."""
    return {"channels": geometry.channels, "stride": geometry.width, "x0": x0, "y0": y0,
            "offset": offset}


def _border(mode: str, cval: float) -> dict:
    return {"mode": shaders.enum("MODE")[mode], "cval": float(cval)}


class StepPlan:
    """What a plan function sees: the step's buffers, and helpers that add passes.

    Attributes
    ----------
    src, out : str
        The logical buffers holding the step's input and receiving its output.
    label : str
        Prefix of the step's pass labels, e.g. ``"2:edges"``.
    """

    def __init__(self, owner: Plan, label: str, src: str, out: str):
        self.plan = owner
        self.label = label
        self.src = src
        self.out = out
        self._scratch: list[str] = []

    def scratch(self) -> str:
        """A working buffer for intermediate results, free again after the step."""
        name = self.plan.buffer()
        self._scratch.append(name)
        return name

    def finish(self) -> None:
        for name in self._scratch:
            self.plan.release(name)
        self._scratch.clear()

    def add(self, shader: str, entry: str = "main", *, suffix: str = "", **options) -> Pass:
        """Add a pass; `options` as for :meth:`Plan.add`."""
        label = f"{self.label} {suffix}".rstrip()
        return self.plan.add(label, shader, entry, **options)

    def neighbourhood(self, shader: str, mode: str, cval: float, *, uniforms=None, halo=1,
                      src=None, dst=None, **options) -> Pass:
        """Add a pass that reads ``src`` through the border rule ``(mode, cval)``."""
        return self.add(shader, uniforms={**_border(mode, cval), **(uniforms or {})},
                        inputs={"src": src or self.src}, output=("dst", dst or self.out),
                        halo=halo, border=(mode, float(cval)), **options)

    def separable(self, column, row, mode: str, cval: float, *, src=None, dst=None, tmp=None,
                  suffix="") -> None:
        """Two 1-D passes, x then y, equal to the 2-D correlation with ``outer(column, row)``.

        The x pass writes `tmp` (a scratch buffer unless given). The second pass reads
        ``cval * sum(row)`` outside a constant border: what the first pass makes of a row of
        ``cval`` (the rule :mod:`filterlab.reference` documents).
        """
        src = src or self.src
        dst = dst or self.out
        tmp = tmp or self.scratch()
        row = np.asarray(row, np.float32)
        column = np.asarray(column, np.float32)
        geometry = self.plan.geometry
        image = {"channels": geometry.channels, "format": shaders.enum("FORMAT")[geometry.format]}
        x_radius, y_radius = len(row) // 2, len(column) // 2
        self.neighbourhood("separable", mode, cval, uniforms={**image, "radius": x_radius},
                           src=src, dst=tmp, halo=0, entry="along_x",
                           constants={"RADIUS": x_radius}, weights=row, suffix=f"{suffix} x".strip())
        tiled = self.plan.fits("separable", "along_y", {"RADIUS": y_radius})
        second_cval = cval * float(np.sum(row, dtype=np.float64))
        self.neighbourhood("separable", mode, second_cval, uniforms={**image, "radius": y_radius},
                           src=tmp, dst=dst, halo=y_radius,
                           entry="along_y" if tiled else "along_y_direct",
                           constants={"RADIUS": y_radius}, weights=column, suffix=f"{suffix} y".strip())

    def correlate(self, kernel, mode: str, cval: float, *, dst=None, tmp=None) -> None:
        """Correlate with a 2-D kernel: two 1-D passes when it is rank 1 (the reference's rule,
        :func:`filterlab.kernels.separate`), else one 2-D pass."""
        kernel = np.asarray(kernel, np.float64)
        split = kernels.separate(kernel)
        if split is not None:
            self.separable(split[0], split[1], mode, cval, dst=dst, tmp=tmp)
            return
        radius = kernel.shape[0] // 2
        constants = {"RADIUS": radius}
        entry = "tiled" if self.plan.fits("convolve", "tiled", constants) else "rows"
        if not self.plan.fits("convolve", entry, constants):
            raise ValueError(f"a {kernel.shape[0]}×{kernel.shape[0]} kernel does not fit this "
                             "GPU's workgroup memory")
        self.neighbourhood("convolve", mode, cval, uniforms={"radius": radius}, entry=entry,
                           constants=constants, weights=kernel.astype(np.float32).ravel(),
                           halo=radius, dst=dst)


_PLANS: dict[str, Callable[[StepPlan, dict], None]] = {}


def plan(op: str):
    """Register the plan function of catalog operation `op`: ``function(step, params)``."""

    def register(function):
        if op not in OPS:
            raise ValueError(f"{op!r} is not an operation of the catalog")
        if op in _PLANS:
            raise ValueError(f"{op!r} already has a plan")
        _PLANS[op] = function
        return function

    return register


def neighbours(p: Pass, limits: dict, spread: int = 2) -> list[tuple[str, dict]]:
    """(entry, constants) of the specialised pipelines for the radii around pass `p`'s: the
    ones a slider is likely to reach next, worth compiling before it does. A radius whose
    tile does not fit the device's workgroup memory takes the entry its shader falls back to.

    Examples
    --------
    >>> from filterlab.chain import validate
    >>> steps = validate([{"op": "box_blur", "params": {"size": 3}}])
    >>> last = plan_chain(steps, Geometry(8, 8, 1, "unorm8"), limits=MIN_LIMITS).passes[-1]
    >>> [c["RADIUS"] for _, c in neighbours(last, MIN_LIMITS)]
    [0, 2, 3]
    """
    radius = p.constants.get("RADIUS")
    if radius is None:
        return []
    limit = {**MIN_LIMITS, **limits}["maxComputeWorkgroupStorageSize"]
    fallback = shaders.SHADERS[p.shader].general.get(p.entry, p.entry)
    out = []
    for r in range(max(0, radius - spread), min(general_radius(p.shader), radius + spread) + 1):
        if r == radius:
            continue
        constants = {**p.constants, "RADIUS": r}
        entry = p.entry
        if shaders.workgroup_bytes(p.shader, entry, constants) > limit:
            entry = fallback
        out.append((entry, {**shaders.workgroup_size(p.shader, entry), **constants}))
    return out


def registered() -> set[str]:
    """The operations that have a plan."""
    return set(_PLANS)


# -- one plan per operation ---------------------------------------------------------------------


@plan("convolve")
def _convolve(b: StepPlan, p: dict) -> None:
    # convolution = flipped correlation; the divisor divides the weights, as in the reference
    flipped = np.asarray(p["kernel"], np.float64)[::-1, ::-1] / p["divisor"]
    if p["offset"] == 0.0:
        b.correlate(flipped, p["mode"], p["cval"])
        return
    convolved = b.scratch()
    b.correlate(flipped, p["mode"], p["cval"], dst=convolved, tmp=b.out)
    b.add("offset", uniforms={"offset": p["offset"]}, inputs={"src": convolved},
          output=("dst", b.out))


@plan("gaussian_blur")
def _gaussian_blur(b: StepPlan, p: dict) -> None:
    taps = kernels.gaussian_1d(p["sigma"], truncate=p["truncate"])
    b.separable(taps, taps, p["mode"], p["cval"])


@plan("box_blur")
def _box_blur(b: StepPlan, p: dict) -> None:
    taps = kernels.box_1d(p["size"])
    b.separable(taps, taps, p["mode"], p["cval"])


@plan("unsharp_mask")
def _unsharp_mask(b: StepPlan, p: dict) -> None:
    taps = kernels.gaussian_1d(p["sigma"], truncate=4.0)
    blurred = b.scratch()
    b.separable(taps, taps, p["mode"], p["cval"], dst=blurred, tmp=b.out, suffix="blur")
    b.add("unsharp", uniforms={"amount": p["amount"]}, inputs={"src": b.src, "blurred": blurred},
          output=("dst", b.out))


@plan("edges")
def _edges(b: StepPlan, p: dict) -> None:
    smooth = kernels.DERIVATIVE_FACTORS[p["operator"]][0]
    b.neighbourhood("edges", p["mode"], p["cval"],
                    uniforms={"output": shaders.enum("OUTPUT")[p["output"]], "taps": (*smooth, 0.0)})


@plan("laplace")
def _laplace(b: StepPlan, p: dict) -> None:
    b.neighbourhood("laplace", p["mode"], p["cval"], uniforms={"neighbours": p["neighbours"]})


@plan("log")
def _laplacian_of_gaussian(b: StepPlan, p: dict) -> None:
    smooth = kernels.gaussian_1d(p["sigma"], truncate=4.0)
    second = kernels.gaussian_1d(p["sigma"], truncate=4.0, order=2)
    across, down = b.scratch(), b.scratch()
    b.separable(smooth, second, p["mode"], p["cval"], dst=across, tmp=b.out, suffix="xx")
    b.separable(second, smooth, p["mode"], p["cval"], dst=down, tmp=b.out, suffix="yy")
    b.add("log", inputs={"across": across, "down": down}, output=("dst", b.out))


# -- chains -------------------------------------------------------------------------------------


def plan_chain(steps, geometry: Geometry, *, limits: dict, stages: bool = False,
               readback: bool = False, display: bool = False, fuse: bool = True,
               keep: bool = False, entries: dict | None = None,
               stretch: tuple = IDENTITY) -> Plan:
    """The passes that run the enabled `steps` on an uploaded image.

    Parameters
    ----------
    steps : list of filterlab.chain.Step
        A validated chain.
    geometry : Geometry
        The image.
    limits : dict
        The device's limits (missing ones take :data:`MIN_LIMITS`).
    stages : bool
        Pack every step's output for readback (``Plan.stages``, one per enabled step).
    readback : bool
        Pack the result for readback.
    display : bool
        Convert the result to 8-bit RGBA in the ``display`` buffer.
    fuse : bool
        Let a first row pass unpack the upload itself (:meth:`Plan.fuse_unpack`).
    keep : bool
        Keep every step's output in its own working buffer after the run (``Plan.kept``), so
        that regions of each can be read back later (verification of every stage).
    entries : dict, optional
        ``{(shader, entry): other entry}``: benchmark variants.
    stretch : (float, float), optional
        The display stretch of the ``display`` pass (:func:`filterlab.display.uniforms`).
    """
    plan_ = Plan(geometry, limits, entries)
    current = plan_.buffer()
    plan_.add("unpack", "unpack",
              uniforms={"channels": geometry.channels,
                        "format": shaders.enum("FORMAT")[geometry.format]},
              inputs={"packed": "upload"}, output=("dst", current))
    for i, step in enumerate(s for s in steps if s.enabled):
        out = plan_.buffer()
        builder = StepPlan(plan_, f"{i + 1}:{step.op}", current, out)
        try:
            function = _PLANS[step.op]
        except KeyError:
            raise ValueError(f"the GPU engine has no plan for operation {step.op!r}") from None
        function(builder, step.params)
        builder.finish()
        if not (keep and plan_.kept):
            plan_.release(current)
        current = out
        if keep:
            plan_.kept.append(current)
        if stages:
            plan_.stages.append(plan_.pack(current, f"stage{i}"))
    if fuse:
        plan_.fuse_unpack()
    if readback:
        plan_.readback = plan_.stages[-1] if plan_.stages else plan_.pack(current, "result")
    if display:
        plan_.add("display", "display", uniforms=stretch_uniforms(stretch),
                  inputs={"src": current}, output=("dst", "display"), bytes_per_pixel=4)
    plan_.result = current
    return plan_


# -- bands and halos ----------------------------------------------------------------------------


def _corners(op):
    """Every corner of an operation's parameter box: numbers at their min and max, every
    choice, and the largest kernels, rank 1 (one centre tap) and not (an X of taps)."""
    centre = kernels.identity(kernels.MAX_SIZE)
    cross = np.eye(kernels.MAX_SIZE) + np.eye(kernels.MAX_SIZE)[::-1]
    options = []
    for param in op.params:
        if param.kind in ("float", "int"):
            options.append((param.min, param.max))
        elif param.kind == "choice":
            options.append(param.choices)
        else:
            options.append((centre.tolist(), cross.tolist()))
    names = [param.name for param in op.params]
    for values in itertools.product(*options):
        yield dict(zip(names, values))


@functools.lru_cache(maxsize=None)
def _corner_passes() -> tuple[Pass, ...]:
    """The passes of every operation planned at every corner of its parameter ranges.

    Radii and halos grow with each numeric parameter (sigma, truncate, size), so these passes
    bound them; a test checks the bounds against parameters drawn inside the ranges.
    """
    geometry = Geometry(1, 1, 4, "float32")
    passes = []
    for op in OPS.values():
        for params in _corners(op):
            plan_ = Plan(geometry, MIN_LIMITS)
            _PLANS[op.name](StepPlan(plan_, op.name, "work0", "work1"), params)
            passes += plan_.passes
    return tuple(passes)


@functools.lru_cache(maxsize=None)
def max_halo() -> int:
    """The most rows any pass of any catalog operation reads above or below a pixel."""
    return max(p.halo for p in _corner_passes())


@functools.lru_cache(maxsize=None)
def general_radius(shader: str) -> int:
    """The largest kernel radius any catalog operation gives `shader`: the ``RADIUS`` its
    general pipelines are compiled with."""
    return max(p.constants.get("RADIUS", 0) for p in _corner_passes() if p.shader == shader)


def bands(width: int, height: int, limits: dict, *, rows: int | None = None) -> list[tuple[int, int]]:
    """Row ranges ``[y0, y1)`` processed as one unit each.

    One band, unless a working buffer plus halo rows exceeds the binding or buffer limit, or
    the height exceeds the workgroup count limit of one-row passes; `rows` forces a band size.

    Examples
    --------
    >>> bands(100, 10, MIN_LIMITS)
    [(0, 10)]
    >>> bands(100, 10, MIN_LIMITS, rows=4)
    [(0, 4), (4, 8), (8, 10)]
    """
    limits = {**MIN_LIMITS, **limits}
    if rows is None:
        limit = min(limits["maxStorageBufferBindingSize"], limits["maxBufferSize"])
        most_rows = limits["maxComputeWorkgroupsPerDimension"]
        if height * width * WORKING_BYTES <= limit and height <= most_rows:
            return [(0, height)]
        rows = max(1, min(limit // (width * WORKING_BYTES) - 2 * max_halo(), most_rows))
    elif isinstance(rows, bool) or not isinstance(rows, int) or rows < 1:
        raise ValueError(f"band rows must be a positive whole number, got {rows!r}")
    return [(y0, min(height, y0 + rows)) for y0 in range(0, height, rows)]


def halo_copies(band: tuple[int, int], halo: int, height: int, mode: str,
                band_rows: int) -> list[tuple[int, int, int, int]]:
    """The row copies that fill a halo buffer: band rows plus `halo` rows above and below.

    Rows outside the image follow the border rule (:func:`filterlab.borders.index`); runs of
    consecutive rows from one band become one copy.

    Returns
    -------
    list of (source band, source row in that band, destination row, rows)
        Source band -1 means a row of ``cval`` (outside a constant border), one row each.

    Examples
    --------
    >>> halo_copies((0, 2), 1, 4, "wrap", 2)
    [(1, 1, 0, 1), (0, 0, 1, 2), (1, 0, 3, 1)]
    """
    y0, y1 = band
    source = borders.index(np.arange(y0 - halo, y1 + halo), height, mode)
    copies = []
    start = 0
    while start < len(source):
        g = int(source[start])
        end = start + 1
        if g < 0:
            copies.append((-1, 0, start, 1))
        else:
            k = g // band_rows
            while (end < len(source) and source[end] == source[end - 1] + 1
                   and source[end] // band_rows == k):
                end += 1
            copies.append((k, g - k * band_rows, start, end - start))
        start = end
    return copies
