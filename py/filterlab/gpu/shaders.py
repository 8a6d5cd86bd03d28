"""The shader manifest, and what the host reads from the WGSL files themselves.

Pure Python: this module imports and runs under CPython, where the tests check every shader
against it, as well as in the GPU worker.

Each shader in ``shaders/`` has one row in :data:`SHADERS`: the ``lib/`` snippets prepended
to it (in order: one explicit prelude, no preprocessor) and the workgroup size of each entry
point. Everything else is read from the WGSL text, so it is written once:

* the uniform layout, from ``struct Params`` (WGSL alignment rules for ``u32``, ``i32``,
  ``f32`` and their vectors): :meth:`ShaderInfo.pack` packs uniforms by field name;
* the binding slots, from ``@binding(n) var... name`` lines: passes name their buffers;
* enumeration codes, from ``const MODE_WRAP: u32 = 3u;`` lines: :func:`enum`;
* the workgroup memory of an entry point, from the ``var<workgroup>`` arrays that the entry
  point and the functions it calls use, their sizes evaluated with the pipeline's override
  constants: :func:`workgroup_bytes`.

A shader that reads neighbours through ``lib/border.wgsl`` reads rows above and below each
pixel, so banded images give it halo rows (:func:`reads_neighbours`).

Examples
--------
>>> enum("MODE")["wrap"]
3
>>> info("laplace").bindings
{'params': 0, 'src': 1, 'dst': 2}
>>> len(info("laplace").pack({"width": 4, "height": 2, "mode": 0, "cval": 0.5, "neighbours": 4}))
20
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import operator
import re
import struct
from pathlib import Path

__all__ = [
    "Shader",
    "ShaderInfo",
    "SHADERS",
    "set_shader_dir",
    "source",
    "info",
    "enum",
    "workgroup_size",
    "workgroup_bytes",
    "dispatch_size",
    "constant",
    "reads_neighbours",
]


@dataclasses.dataclass(frozen=True)
class Shader:
    """One manifest row.

    Attributes
    ----------
    preludes : tuple of str
        Names of the ``shaders/lib/*.wgsl`` snippets prepended to the shader, in order.
    entries : dict
        ``{entry point: workgroup size}``, a tuple ``(WG_X,)`` or ``(WG_X, WG_Y)``, passed to
        the shader as its ``WG_X`` and ``WG_Y`` override constants. A workgroup covers
        ``WG_X × WG_Y`` output pixels. Render shaders have no compute entries.
    general : dict
        For shaders whose kernel radius is an override constant (``RADIUS``): the entry point
        that serves every radius when compiled with ``GENERAL`` (it reads ``params.radius``),
        for each entry point. Such a pipeline stands in while the one specialised for a new
        radius compiles.
    tiles : dict
        ``{entry point: (x, y)}``, for entry points whose workgroup covers other than
        ``WG_X × WG_Y`` pixels: expressions in the pipeline's override constants and the
        shader library's ``const`` values, e.g. ``("TILE_W", "TILE_H")`` or ``("WG_X", "BLOCK")``.
    max_radius : int or None
        For shaders whose tile is chosen per device (``TILE_W``, ``TILE_H``): the largest radius
        they serve. The host sizes their tile so that it fits, and their general pipeline is
        compiled for it (:func:`filterlab.gpu.plan.tile_shape`).
    window_tiles : bool
        Whether the shader's tiles are one register block high (``ROWS``, 4 or 8 rows), and
        chosen so that their window (the tile and the horizontal halo on each side) is as
        wide as the workgroup: one round of the vertical phase then covers it, one window
        column an invocation (``separable_tile.wgsl``; :func:`filterlab.gpu.plan.tile_shape`
        and :data:`filterlab.gpu.plan.WINDOW_TILES` say how).
    """

    preludes: tuple[str, ...]
    entries: dict[str, tuple[int, ...]]
    general: dict[str, str] = dataclasses.field(default_factory=dict)
    tiles: dict[str, tuple[str, str]] = dataclasses.field(default_factory=dict)
    max_radius: int | None = None
    window_tiles: bool = False


#: The manifest: every shader file, its preludes and its compute entry points.
SHADERS: dict[str, Shader] = {
    "convolve": Shader(
        ("border", "image", "taps", "block", "tile", "window"),
        {"blocked": (256,), "tiled": (16, 16), "rows": (16, 16)},
        general={"blocked": "rows", "tiled": "rows", "rows": "rows"},
        tiles={"blocked": ("TILE_W", "TILE_H")},
    ),
    "separable": Shader(
        ("border", "image", "packed", "taps", "block", "tile", "window"),
        {
            "along_x": (128,),
            "along_x_packed": (128,),
            "along_x_direct": (128,),
            "along_x_blocked": (256,),
            "along_y": (16, 16),
            "along_y_direct": (128,),
            "along_y_rows": (128,),
        },
        general={
            "along_x": "along_x",
            "along_x_packed": "along_x_packed",
            "along_x_direct": "along_x_direct",
            "along_x_blocked": "along_x",
            "along_y": "along_y_direct",  # the tile of the largest radius would not fit
            "along_y_direct": "along_y_direct",
            "along_y_rows": "along_y_rows",
        },
        tiles={"along_y_rows": ("WG_X", "BLOCK"), "along_x_blocked": ("TILE_W", "TILE_H")},
    ),
    # Both passes of a separable filter in one dispatch. The workgroup size is the largest
    # tried; the tile is chosen per device and radius (plan.tile_shape).
    "separable_tile": Shader(
        ("border", "image", "packed", "taps", "block", "tile"),
        {"tile": (256,), "tile_packed": (256,)},
        general={"tile": "tile", "tile_packed": "tile_packed"},
        tiles={"tile": ("TILE_W", "TILE_H"), "tile_packed": ("TILE_W", "TILE_H")},
        max_radius=32,
        window_tiles=True,
    ),
    "edges": Shader(("border", "image", "gradient"), {"main": (16, 16)}),
    # A gradient and the K×K correlation after it, in one dispatch (plan.Plan.fuse_pairs).
    "edges_convolve": Shader(
        ("border", "image", "gradient", "taps", "block", "tile", "window"),
        {"main": (256,)},
        general={"main": "main"},
        tiles={"main": ("TILE_W", "TILE_H")},
        max_radius=4,
    ),
    "laplace": Shader(("border", "image"), {"main": (16, 16)}),
    "unsharp": Shader(("image",), {"main": (256,)}),
    "log": Shader(("image",), {"main": (256,)}),
    "offset": Shader(("image",), {"main": (256,)}),
    "unpack": Shader(("packed",), {"main": (256,)}),
    "pack": Shader((), {"main": (256,)}),
    "display": Shader((), {"main": (256,)}),
    "present": Shader((), {}),
}

_shader_dir = Path(__file__).resolve().parents[3] / "shaders"


def set_shader_dir(path: str | Path) -> None:
    """Read shaders from `path` from now on (the GPU worker's copy of ``shaders/``)."""
    global _shader_dir
    _shader_dir = Path(path)
    info.cache_clear()
    _library.cache_clear()


def source(name: str) -> str:
    """The full WGSL text of shader `name`: its prelude snippets, then its own file."""
    parts = [(_shader_dir / "lib" / f"{lib}.wgsl").read_text() for lib in SHADERS[name].preludes]
    parts.append((_shader_dir / f"{name}.wgsl").read_text())
    return "\n".join(parts)


# -- reading WGSL ------------------------------------------------------------------------------

_COMMENT = re.compile(r"//[^\n]*")
_STRUCT = re.compile(r"struct\s+Params\s*\{(.*?)\}", re.S)
_FIELD = re.compile(r"(\w+)\s*:\s*([\w<>]+)\s*,?")
_BINDING = re.compile(r"@group\(0\)\s*@binding\((\d+)\)\s*var(?:<[^>]*>)?\s+(\w+)")
_CONST = re.compile(r"\bconst\s+(\w+)\s*:\s*u32\s*=\s*(\d+)u\s*;")
_WORKGROUP = re.compile(r"var<workgroup>\s+(\w+)\s*:\s*array<\s*(vec4<f32>|f32|u32|i32)\s*,([^;]+)>\s*;")
_FUNCTION = re.compile(r"\bfn\s+(\w+)\s*\(")
_IDENT = re.compile(r"\b[A-Za-z_]\w*\b")
_CALL = re.compile(r"\b([A-Za-z_]\w*)\s*\(")

# (size, alignment) in bytes, per the WGSL specification's alignment rules.
_SCALAR = {"u32": "I", "i32": "i", "f32": "f"}
_SIZES = {"": (4, 4), "vec2": (8, 8), "vec3": (12, 16), "vec4": (16, 16)}
_ELEMENT_BYTES = {"vec4<f32>": 16, "f32": 4, "u32": 4, "i32": 4}


@dataclasses.dataclass(frozen=True)
class Field:
    name: str
    offset: int
    format: str  # struct format of the field's components, e.g. "4f"
    lanes: int


@dataclasses.dataclass(frozen=True)
class ShaderInfo:
    """What the host needs to know about one shader, read from its WGSL text.

    Attributes
    ----------
    fields : tuple of Field
        The uniform struct ``Params``, in order, with byte offsets.
    size : int
        Size of ``Params`` in bytes (rounded up to its alignment).
    bindings : dict
        ``{variable name: binding number}`` of group 0.
    workgroup_arrays : dict
        ``{name: (element bytes, size expression)}`` of every ``var<workgroup>`` array.
    calls : dict
        ``{function: set of identifiers in its body}``, to find what an entry point uses.
    callees : dict
        ``{function: set of names called in its body}`` (functions and type constructors).
    """

    fields: tuple
    size: int
    bindings: dict
    workgroup_arrays: dict
    calls: dict
    callees: dict = dataclasses.field(default_factory=dict)

    def pack(self, values: dict) -> bytes:
        """The uniform bytes for `values`, by field name.

        Every field must be given, except padding fields (names starting with ``_``), which
        are zero; vector fields take a sequence. Unknown names are an error, so a renamed
        field cannot be silently dropped.
        """
        known = {f.name for f in self.fields}
        unknown = set(values) - known
        if unknown:
            raise KeyError(f"Params has no field {sorted(unknown)[0]!r}")
        out = bytearray(self.size)
        for f in self.fields:
            if f.name.startswith("_"):
                continue
            if f.name not in values:
                raise KeyError(f"Params field {f.name!r} was not given")
            value = values[f.name]
            lanes = tuple(value) if f.lanes > 1 else (value,)
            if len(lanes) != f.lanes:
                raise ValueError(f"Params field {f.name!r} takes {f.lanes} values, got {len(lanes)}")
            struct.pack_into("<" + f.format, out, f.offset, *lanes)
        return bytes(out)


def _parse_struct(text: str) -> tuple[tuple, int]:
    match = _STRUCT.search(text)
    if match is None:
        return (), 0
    fields, offset, align_all = [], 0, 4
    for name, kind in _FIELD.findall(match.group(1)):
        vector, _, scalar = kind.rpartition("<")
        scalar = scalar.rstrip(">") if vector else kind
        if scalar not in _SCALAR or vector not in _SIZES:
            raise ValueError(f"unsupported uniform type {kind!r} for field {name!r}")
        size, align = _SIZES[vector]
        offset = -(-offset // align) * align
        lanes = {"": 1, "vec2": 2, "vec3": 3, "vec4": 4}[vector]
        fields.append(Field(name, offset, f"{lanes}{_SCALAR[scalar]}", lanes))
        offset += size
        align_all = max(align_all, align)
    return tuple(fields), -(-offset // align_all) * align_all


def _functions(text: str) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Each function's name, the identifiers its body mentions and the names it calls (bodies
    found by braces)."""
    identifiers, calls = {}, {}
    for match in _FUNCTION.finditer(text):
        start = text.index("{", match.end())
        depth, i = 0, start
        while True:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            if depth == 0:
                break
            i += 1
        identifiers[match.group(1)] = set(_IDENT.findall(text[start:i]))
        calls[match.group(1)] = set(_CALL.findall(text[start:i]))
    return identifiers, calls


@functools.lru_cache(maxsize=None)
def info(name: str) -> ShaderInfo:
    """The :class:`ShaderInfo` of shader `name` (its preludes included)."""
    text = _COMMENT.sub("", source(name))
    fields, size = _parse_struct(text)
    identifiers, callees = _functions(text)
    return ShaderInfo(
        fields=fields,
        size=size,
        bindings={var: int(n) for n, var in _BINDING.findall(text)},
        workgroup_arrays={var: (_ELEMENT_BYTES[kind], expr.strip())
                          for var, kind, expr in _WORKGROUP.findall(text)},
        calls=identifiers,
        callees=callees,
    )


@functools.lru_cache(maxsize=None)
def _library() -> dict[str, int]:
    consts = {}
    for path in sorted(_shader_dir.glob("**/*.wgsl")):
        for name, value in _CONST.findall(_COMMENT.sub("", path.read_text())):
            consts[name] = int(value)
    return consts


def enum(prefix: str) -> dict[str, int]:
    """The codes declared as ``const PREFIX_NAME: u32 = Nu;`` in any shader, by lower-case name.

    Examples
    --------
    >>> enum("FORMAT")
    {'float32': 2, 'unorm16': 1, 'unorm8': 0}
    """
    head = prefix + "_"
    return {name[len(head):].lower(): value for name, value in sorted(_library().items())
            if name.startswith(head)}


def workgroup_size(shader: str, entry: str) -> dict[str, int]:
    """The override constants ``WG_X`` (and ``WG_Y``) of an entry point."""
    return dict(zip(("WG_X", "WG_Y"), SHADERS[shader].entries[entry]))


def constant(name: str) -> int:
    """A ``const NAME: u32 = Nu;`` of the shader library, e.g. ``constant("BLOCK")``."""
    return _library()[name]


def dispatch_size(shader: str, entry: str, width: int, rows: int,
                  constants: dict | None = None) -> tuple[int, int]:
    """Workgroups to dispatch so that every pixel of a width × rows image is covered, for the
    pipeline with these override constants (the manifest's workgroup size by default).

    Examples
    --------
    >>> dispatch_size("separable", "along_y_rows", 300, 20)  # 128 columns × BLOCK rows each
    (3, 3)
    """
    values = {**_library(), **workgroup_size(shader, entry), **(constants or {})}
    size = SHADERS[shader].entries[entry]
    cover = SHADERS[shader].tiles.get(entry, ("WG_X", "WG_Y" if len(size) > 1 else "1"))
    x, y = (_evaluate(expression, values) for expression in cover)
    return -(-width // x), -(-rows // y)


def reads_neighbours(shader: str) -> bool:
    """Whether the shader reads other rows through the border rule (so bands need halos)."""
    return "border" in SHADERS[shader].preludes


_OPERATORS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
              ast.Div: operator.floordiv, ast.FloorDiv: operator.floordiv}


@functools.lru_cache(maxsize=None)
def _parse(expression: str) -> ast.expr:
    """The syntax tree of a WGSL array-size expression (parsed once: runs evaluate it often)."""
    return ast.parse(re.sub(r"\b(\d+)u\b", r"\1", expression), mode="eval").body


def _evaluate(expression: str, constants: dict[str, int]) -> int:
    """Evaluate a WGSL array-size expression (integers, + - * /, parentheses, overrides)."""
    tree = _parse(expression)

    def walk(node):
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return node.value
        if isinstance(node, ast.Name):
            return constants[node.id]
        if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
            return _OPERATORS[type(node.op)](walk(node.left), walk(node.right))
        raise ValueError(f"unsupported expression in a workgroup array size: {expression!r}")

    return walk(tree)


def workgroup_bytes(shader: str, entry: str, constants: dict[str, int]) -> int:
    """Bytes of workgroup memory that `entry` uses with these override constants.

    Counts the ``var<workgroup>`` arrays named by the entry point or by any function it calls,
    directly or not, as WebGPU does.

    Examples
    --------
    >>> workgroup_bytes("separable", "along_x", {"RADIUS": 2})  # 128 + 4 pixels
    2112
    """
    return _workgroup_bytes(shader, entry, tuple(sorted(constants.items())))


@functools.lru_cache(maxsize=4096)
def _workgroup_bytes(shader: str, entry: str, constants: tuple) -> int:
    shader_info = info(shader)
    values = {**_library(), **workgroup_size(shader, entry), **dict(constants)}
    used, pending = set(), [entry]
    while pending:
        name = pending.pop()
        if name in used:
            continue
        used.add(name)
        pending.extend(n for n in shader_info.callees.get(name, ()) if n in shader_info.calls)
    names = set().union(*(shader_info.calls[f] for f in used))
    return sum(element * _evaluate(expression, values)
               for var, (element, expression) in shader_info.workgroup_arrays.items()
               if var in names)
