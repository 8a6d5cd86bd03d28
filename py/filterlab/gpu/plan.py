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
rule (:func:`halo_copies`), so banded results equal unbanded ones bit for bit. Fusions whose
reads cannot be staged that way (the upload read with a vertical reach, two border rules in
one pass) are not made for banded plans.

What runs by default is what measured fastest (docs/benchmarks.md): a separable filter in
one pass where the device's tile admits its radius (``separable_tile.wgsl``: one read of the
source and one write of the result per pixel, reading the upload itself where it can,
:meth:`Plan.fuse_unpack`), else as two 1-D passes, the row pass reading the upload where it
can and the column pass register-blocked (``along_y_rows``); a 2-D correlation from a
workgroup tile. ``options`` select the other forms, which the benchmark page measures
against these (:data:`OPTIONS`): separable filters always as two passes, and a gradient and
a small correlation after it in one pass (:meth:`Plan.fuse_pairs`). Tiled entry points take
their workgroup and tile from the device's limits (:func:`tile_shape`,
:func:`entry_constants`).

Examples
--------
>>> from filterlab.chain import validate
>>> steps = validate([{"op": "gaussian_blur", "params": {"sigma": 2}}])
>>> p = plan_chain(steps, Geometry(64, 48, 3, "unorm8"), limits=MIN_LIMITS)
>>> [(q.shader, q.entry) for q in p.passes]
[('separable_tile', 'tile_packed')]
>>> p = plan_chain(steps, Geometry(64, 48, 3, "unorm8"), limits=MIN_LIMITS,
...                options={"separable": "twopass"})
>>> [(q.shader, q.entry) for q in p.passes]
[('separable', 'along_x_packed'), ('separable', 'along_y_rows')]
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
    "OPTIONS",
    "UPLOAD_FORMATS",
    "WORKING_BYTES",
    "plan",
    "plan_chain",
    "max_halo",
    "general_radius",
    "general_pipelines",
    "tile_shape",
    "entry_constants",
    "check_options",
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
    "maxComputeInvocationsPerWorkgroup": 256,
}

#: Planning options and their values, the first of each being the default. The benchmark
#: page selects the others to measure them against the default (``debug('entries', ...)``).
OPTIONS = {
    # tile: one fused pass where its tile admits the radius, else two passes; twopass: two
    # passes at every radius (the row pass can read the upload). On an NVIDIA H100 at 4096²,
    # σ = 3, one pass each: 0.46 ms against 0.62 ms, 0.48 ms against 0.61 ms reading the
    # 8-bit upload.
    "separable": ("tile", "twopass"),
    # separate: a gradient and the correlation after it as two passes; fused: one pass
    # (edges_convolve.wgsl). Sobel then 5×5, H200, 4096²: 0.62 ms against 1.69 ms.
    "pairs": ("separate", "fused"),
}

#: The one-pass blur's register blocks and window per entry point, by radius: ``(largest
#: radius, block, window)`` in order, where ``block`` is both the rows an item of the vertical
#: phase sums and the outputs an item of the horizontal phase makes (``ROWS``, ``COLS``), and
#: the window (the tile and r columns each side) is as wide as the workgroup. Each range is
#: the winner of a sweep on an H100 at 4096² over blocks of 4 and 8 and windows of 128 and 256,
#: at r = 0 to 24, 26, 28, 30 and 32 (docs/benchmarks.md). Blocks of 4 hold fewer sums in
#: registers, so more workgroups fit a multiprocessor: reading the 8-bit upload they won at
#: every radius (0.73–0.99× as long as 8), and they lifted the cliff that 8-row blocks met
#: there from r = 30 (2.25 ms, now 0.67 ms). Reading float32, where each halo re-read moves
#: 16 bytes, 8-row blocks won from r = 9, but for r = 12 (0.86×).
WINDOW_TILES = {
    "tile_packed": ((12, 4, 128), (32, 4, 256)),
    "tile": ((8, 4, 128), (11, 8, 128), (12, 4, 256), (19, 8, 128), (32, 8, 256)),
}

# Override constants that shape a pipeline's workgroup and tile, set per entry point.
_SHAPE = ("WG_X", "WG_Y", "TILE_W", "TILE_H", "ROWS", "COLS")


def _reshaped(constants: dict, own: dict) -> dict:
    """`constants` with their workgroup and tile (:data:`_SHAPE`) replaced by those in `own`,
    the constants another entry point of the same shader takes for the same radius."""
    return {**{k: v for k, v in constants.items() if k not in _SHAPE}, **own}


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

    def general(self, limits: dict) -> tuple[str, dict] | None:
        """The entry point and constants of the pipeline that serves this pass whatever its
        radius (``GENERAL``, radius from the uniforms) on a device with these limits, or None
        if the pass has no radius. A shader with a ``max_radius`` has its tile sized for that
        radius (:func:`general_pipelines` compiles the same pipeline)."""
        row = shaders.SHADERS[self.shader]
        entry = row.general.get(self.entry)
        if entry is None:
            return None
        keep_shape = entry == self.entry and row.max_radius is None
        own = {k: v for k, v in self.constants.items() if keep_shape or k not in _SHAPE}
        constants = {**shaders.workgroup_size(self.shader, entry), **own,
                     "RADIUS": general_radius(self.shader), "GENERAL": 1}
        if row.max_radius is not None:
            constants.update(tile_shape(self.shader, entry, limits))
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

    def __init__(self, geometry: Geometry, limits: dict, entries: dict | None = None, *,
                 banded: bool = False, options: dict | None = None):
        self.geometry = geometry
        self.limits = {**MIN_LIMITS, **limits}
        self.entries = entries or {}
        self.banded = banded
        self.options = check_options(options)
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

    def add(self, label: str, shader: str, entry: str = "main", *, uniforms=None, inputs,
            output, constants=None, weights=None, halo=0, border=None,
            bytes_per_pixel=WORKING_BYTES) -> Pass:
        swapped = self.entries.get((shader, entry), entry)
        if swapped not in shaders.SHADERS[shader].entries:
            raise ValueError(f"shader {shader} has no entry point {swapped!r}")
        if swapped != entry and "RADIUS" in (constants or {}):
            # a variant: the constants it takes for this radius, else its shader's fallback
            radius = constants["RADIUS"]
            own = entry_constants(shader, swapped, radius, self.limits)
            if own is None:
                swapped = shaders.SHADERS[shader].general.get(swapped, entry)
                own = entry_constants(shader, swapped, radius, self.limits)
            constants = _reshaped(constants, own)
        entry = swapped
        if weights is not None and weights.size > shaders.constant("MAX_TAPS"):
            raise ValueError(f"{label}: {weights.size} weights; a tap shader holds at most "
                             f"{shaders.constant('MAX_TAPS')} (shaders/lib/taps.wgsl)")
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
        """Let the first pass read the upload itself when it is a row pass (``along_x``) or a
        fused separable filter (``tile``, unless banded: the upload has no halo rows) and
        nothing else reads the unpacked image: this drops the unpack pass and one full-size
        write and read of float32 pixels."""
        packed = {"along_x": "along_x_packed"}
        if not self.banded:
            packed["tile"] = "tile_packed"
        if len(self.passes) < 2 or self.passes[1].entry not in packed:
            return
        unpack, first = self.passes[0], self.passes[1]
        for later in self.passes[2:]:
            if unpack.output[1] in later.inputs.values():
                return
            if later.output[1] == unpack.output[1]:
                break
        if "RADIUS" in first.constants:  # the reading entry point's own tile for this radius
            own = entry_constants(first.shader, packed[first.entry], first.constants["RADIUS"], self.limits)
            if own is None:
                return
            first.constants = _reshaped(first.constants, own)
        first.entry = packed[first.entry]
        first.inputs = {"packed": unpack.inputs["packed"]}
        first.label += " (unpacking)"
        del self.passes[0]

    def _read_from(self, buffer: str, start: int) -> bool:
        """Whether a pass from index `start` on reads `buffer` before a pass rewrites it."""
        for later in self.passes[start:]:
            if buffer in later.inputs.values():
                return True
            if later.output[1] == buffer:
                return False
        return False

    def fuse_pairs(self) -> None:
        """Run a gradient (``edges``) and a non-separable correlation (``convolve``) that
        reads it as one pass (``edges_convolve.wgsl``) when nothing else reads the gradient
        image (no stage of it is read back or kept), the correlation's radius is one the fused
        tile serves, and the image is not banded: this saves a full-size write and read of
        float32 pixels, for a halo of gradients computed twice."""
        if self.banded or self.options["pairs"] != "fused":
            return
        i = 0
        while i + 1 < len(self.passes):
            first, then = self.passes[i], self.passes[i + 1]
            between = first.output[1]
            if (first.shader == "edges" and then.shader == "convolve"
                    and then.inputs.get("src") == between and between not in self.kept
                    and not self._read_from(between, i + 2)):
                radius = then.constants["RADIUS"]
                constants = entry_constants("edges_convolve", "main", radius, self.limits)
                if constants is not None:
                    edge = first.uniforms
                    self.passes[i:i + 2] = [Pass(
                        f"{first.label} + {then.label}", "edges_convolve", "main",
                        {**then.uniforms, "edge_mode": edge["mode"], "edge_cval": edge["cval"],
                         "output": edge["output"], "edge_taps": edge["taps"]},
                        dict(first.inputs), then.output, constants, then.weights,
                        first.halo + then.halo, then.border)]
                    if first.inputs["src"] == then.output[1]:
                        # The correlation's output reuses the gradient's input, free again by
                        # then: the fused pass writes the unused gradient buffer instead.
                        self.passes[i].output = (then.output[0], between)
                        self._swap(i + 1, then.output[1], between)
            i += 1

    def _swap(self, start: int, a: str, b: str) -> None:
        """Exchange the names of logical buffers `a` and `b` from pass `start` on (and in the
        result and kept buffers): before `start`, `b` holds nothing later passes read, and
        `a` only the value pass `start - 1` read last."""
        names = {a: b, b: a}
        for p in self.passes[start:]:
            p.inputs = {k: names.get(v, v) for k, v in p.inputs.items()}
            p.output = (p.output[0], names.get(p.output[1], p.output[1]))
        self.result = names.get(self.result, self.result)
        self.kept = [names.get(v, v) for v in self.kept]


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
        row = np.asarray(row, np.float32)
        column = np.asarray(column, np.float32)
        geometry = self.plan.geometry
        image = {"channels": geometry.channels, "format": shaders.enum("FORMAT")[geometry.format]}
        x_radius, y_radius = len(row) // 2, len(column) // 2
        tile = None
        if x_radius == y_radius and self.plan.options["separable"] == "tile":
            tile = entry_constants("separable_tile", "tile", x_radius, self.plan.limits)
        if tile is not None:
            # One pass, down the columns first: outside a constant border along x it reads
            # what the vertical sums make of a column of cval.
            cval_x = cval * float(np.sum(column, dtype=np.float64))
            self.neighbourhood("separable_tile", mode, cval, src=src, dst=dst, halo=y_radius,
                               uniforms={**image, "radius": x_radius, "cval_x": cval_x},
                               entry="tile", constants=tile,
                               weights=np.concatenate([row, column]), suffix=suffix)
            return
        tmp = tmp or self.scratch()
        self.neighbourhood("separable", mode, cval, uniforms={**image, "radius": x_radius},
                           src=src, dst=tmp, halo=0, entry="along_x",
                           constants={"RADIUS": x_radius}, weights=row, suffix=f"{suffix} x".strip())
        second_cval = cval * float(np.sum(row, dtype=np.float64))
        self.neighbourhood("separable", mode, second_cval, uniforms={**image, "radius": y_radius},
                           src=tmp, dst=dst, halo=y_radius, entry="along_y_rows",
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
        # A workgroup tile first: 0.40 ms for a 5×5 at 4096² on an H200, against 1.37 ms for
        # the register-blocked form, which stays available as a variant.
        for entry in ("tiled", "blocked", "rows"):
            constants = entry_constants("convolve", entry, radius, self.plan.limits)
            if constants is not None:
                break
        else:
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
    fallback = shaders.SHADERS[p.shader].general.get(p.entry, p.entry)
    out = []
    for r in range(max(0, radius - spread), min(general_radius(p.shader), radius + spread) + 1):
        if r == radius:
            continue
        entry = p.entry
        constants = entry_constants(p.shader, entry, r, limits)
        if constants is None:
            entry = fallback
            constants = entry_constants(p.shader, entry, r, limits)
        if constants is not None:
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
               keep: bool = False, entries: dict | None = None, banded: bool = False,
               options: dict | None = None, stretch: tuple = IDENTITY) -> Plan:
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
    banded : bool
        The image runs in bands (:func:`bands`): no fusion that bands cannot stage.
    options : dict, optional
        Planning options (:data:`OPTIONS`), for benchmark variants.
    stretch : (float, float), optional
        The display stretch of the ``display`` pass (:func:`filterlab.display.uniforms`).
    """
    plan_ = Plan(geometry, limits, entries, banded=banded, options=options)
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
    plan_.result = current
    plan_.fuse_pairs()
    if fuse:
        plan_.fuse_unpack()
    if readback:
        plan_.readback = plan_.stages[-1] if plan_.stages else plan_.pack(plan_.result, "result")
    if display:
        plan_.add("display", "display", uniforms=stretch_uniforms(stretch),
                  inputs={"src": plan_.result}, output=("dst", "display"), bytes_per_pixel=4)
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
    general pipelines are compiled with. A shader with a per-device tile serves radii up to
    its manifest's ``max_radius``, and larger ones go elsewhere."""
    if shaders.SHADERS[shader].max_radius is not None:
        return shaders.SHADERS[shader].max_radius
    return max(p.constants.get("RADIUS", 0) for p in _corner_passes() if p.shader == shader)


def tile_shape(shader: str, entry: str, limits: dict, radius: int | None = None) -> dict | None:
    """The workgroup size and output tile of a tiled entry point on this device.

    Entry points whose tile is set by ``TILE_W`` and ``TILE_H`` take, among the shapes that fit
    the device's workgroup memory at `radius` (the shader's ``max_radius`` by default):

    * for shaders with ``window_tiles`` (``separable_tile``): the block (``ROWS`` = ``COLS``)
      and window that :data:`WINDOW_TILES` gives the entry point at this radius; tiles one
      block high and at most as wide as the workgroup, whose window (the tile and r columns on
      each side) the fewest rounds of the workgroup cover, one round where any fits; then the
      tile that fills that window, on a workgroup as wide, where it fits; then workgroups of
      at least 128 invocations; then tiles that keep at least three quarters of the
      workgroup's width, on the smallest such workgroup; else the widest tile, on the
      smallest workgroup that gives it;
    * for the others (one block of ``BLOCK`` outputs an invocation, ``TILE_W × TILE_H =
      BLOCK × WG_X``): the shape that stages the least workgroup memory per output pixel, among
      workgroups of the manifest's size down to 32 invocations and tiles 1, 2, 4 or 8
      ``BLOCK`` rows high. Ties go to the larger workgroup.

    Returns
    -------
    dict or None
        ``{"WG_X", "TILE_W", "TILE_H"}`` override constants (and ``ROWS``, ``COLS`` for
        ``window_tiles``), or None if no shape fits.

    Examples
    --------
    >>> tile_shape("convolve", "blocked", MIN_LIMITS, 2)
    {'WG_X': 64, 'TILE_W': 32, 'TILE_H': 16}
    >>> tile_shape("separable_tile", "tile_packed", {"maxComputeWorkgroupStorageSize": 49152}, 3)
    {'WG_X': 128, 'TILE_W': 120, 'TILE_H': 4, 'ROWS': 4, 'COLS': 4}
    >>> tile_shape("separable_tile", "tile", {"maxComputeWorkgroupStorageSize": 49152}, 10)
    {'WG_X': 128, 'TILE_W': 104, 'TILE_H': 8, 'ROWS': 8, 'COLS': 8}
    >>> tile_shape("separable_tile", "tile", {"maxComputeWorkgroupStorageSize": 49152})  # r = 32
    {'WG_X': 256, 'TILE_W': 192, 'TILE_H': 8, 'ROWS': 8, 'COLS': 8}
    >>> tile_shape("separable_tile", "tile", MIN_LIMITS)
    {'WG_X': 128, 'TILE_W': 56, 'TILE_H': 8, 'ROWS': 8, 'COLS': 8}
    """
    limits = {**MIN_LIMITS, **limits}
    key = (shader, entry, limits["maxComputeWorkgroupStorageSize"],
           limits["maxComputeInvocationsPerWorkgroup"], radius)
    return _tile_shape(*key)


@functools.lru_cache(maxsize=None)
def _tile_shape(shader, entry, storage, invocations, radius):
    row = shaders.SHADERS[shader]
    if radius is None:
        radius = row.max_radius
    block = shaders.constant("BLOCK")
    window = None
    if row.window_tiles:
        block, window = next(((b, w) for r, b, w in WINDOW_TILES[entry] if radius <= r), (None, None))
        if block is None:  # beyond the largest radius the shader serves
            return None
    best = None
    size = min(row.entries[entry][0], invocations)
    while size >= 32:
        if row.window_tiles:
            shapes = [(tile_w, block) for tile_w in range(block, size + 1, block)]
        else:
            shapes = [(block * size // tile_h, tile_h) for tile_h in (block, 2 * block, 4 * block, 8 * block)
                      if block * size // tile_h >= 2 * block and block * size % tile_h == 0]
        for tile_w, tile_h in shapes:
            shape = {"WG_X": size, "TILE_W": tile_w, "TILE_H": tile_h}
            if row.window_tiles:
                shape.update(ROWS=block, COLS=block)
            used = shaders.workgroup_bytes(shader, entry, {**shape, "RADIUS": radius})
            if used > storage:
                continue
            if row.window_tiles:
                rounds = -(-(tile_w + 2 * radius) // size)
                kept = 4 * tile_w >= 3 * size
                measured = size == window and tile_w + 2 * radius + block > size  # fills it
                cost = (rounds, not measured, size < 128, not kept, size if kept else 0, -tile_w, size)
            else:
                cost = (used / (tile_w * tile_h),)
            if best is None or cost < best[0]:
                best = (cost, shape)
        size //= 2
    return None if best is None else dict(best[1])


def entry_constants(shader: str, entry: str, radius: int, limits: dict) -> dict | None:
    """The override constants with which `entry` serves kernels of `radius` on this device:
    ``RADIUS``, and the tile of a tiled entry point (:func:`tile_shape`, per device and
    radius); None where the entry point does not serve the radius or does not fit the
    device's workgroup memory. A shader with a ``max_radius`` serves a radius only where its
    general pipeline fits the device too, so that one can stand in while this one compiles.

    Examples
    --------
    >>> entry_constants("convolve", "blocked", 2, MIN_LIMITS)
    {'RADIUS': 2, 'WG_X': 64, 'TILE_W': 32, 'TILE_H': 16}
    >>> entry_constants("separable_tile", "tile", 33, MIN_LIMITS) is None  # max_radius is 32
    True
    """
    limits = {**MIN_LIMITS, **limits}
    row = shaders.SHADERS[shader]
    constants = {"RADIUS": radius}
    if row.tiles.get(entry, ("",))[0] == "TILE_W":
        if row.max_radius is not None and (radius > row.max_radius
                                           or tile_shape(shader, entry, limits) is None):
            return None
        shape = tile_shape(shader, entry, limits, radius)
        if shape is None:
            return None
        constants.update(shape)
    if shaders.workgroup_bytes(shader, entry, constants) > limits["maxComputeWorkgroupStorageSize"]:
        return None
    return constants


def general_pipelines(limits: dict) -> list[tuple[str, str, dict]]:
    """``(shader, entry, constants)`` of every general pipeline on this device: what
    :meth:`Pass.general` gives a pass, compiled before any pass needs it."""
    out = []
    for name, row in shaders.SHADERS.items():
        for entry in sorted(set(row.general.values())):
            constants = {**shaders.workgroup_size(name, entry), "RADIUS": general_radius(name),
                         "GENERAL": 1}
            if row.max_radius is not None:
                shape = tile_shape(name, entry, limits)
                if shape is None:
                    continue
                constants.update(shape)
            out.append((name, entry, constants))
    return out


def check_options(options: dict | None) -> dict:
    """Planning options (:data:`OPTIONS`) with defaults filled in; ValueError for an unknown
    name or value."""
    out = {name: values[0] for name, values in OPTIONS.items()}
    for name, value in (options or {}).items():
        if name not in OPTIONS or value not in OPTIONS[name]:
            raise ValueError(f"unknown planning option {name}={value}")
        out[name] = value
    return out


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
