"""Export a chain as a standalone Python script.

:func:`python_script` writes a program that reproduces a chain on an image file under plain
CPython, with NumPy, Pillow and scipy and nothing of Filter Lab::

    python chain.py IN OUT [--bits 8|16]

``OUT`` ending in ``.png`` is written at the input's bit depth (8 or 16) unless ``--bits``
says otherwise; ``OUT`` ending in ``.npy`` receives the float32 H×W×C result, not clipped.

The script reads images by :mod:`filterlab.imageio`'s rules for the common Pillow modes (CIE
L*a*b* TIFFs are refused with a message), filters each colour channel in float64, rounds to
float32 after every step and carries alpha through, as the app does. Each step calls
:mod:`scipy.ndimage` where its semantics are Filter Lab's, and a few lines of NumPy where
they are not, with a comment that says why:

* the Gaussian and box blurs, and unsharp masking, have weights that sum to 1, so scipy's
  filters agree in every border mode;
* the Sobel and Prewitt operators and the Laplacian of Gaussian agree except in "constant"
  mode with a non-zero value: scipy pads each 1-D pass with ``cval``, while Filter Lab reads
  ``cval`` in two dimensions. There (and for Scharr, which scipy lacks) the script runs the
  two 1-D passes itself, the second one reading ``cval * sum(first weights)`` outside;
* custom kernels run as two 1-D passes when they have rank 1 (as in the app, by
  :func:`filterlab.kernels.separate`), by the same rule, and otherwise through
  :func:`scipy.ndimage.convolve`;
* the 4- and 8-neighbour Laplacians are :func:`scipy.ndimage.laplace` and
  :func:`scipy.ndimage.correlate` with the 8-neighbour kernel, which agree everywhere.

The fixed part of every script is :mod:`filterlab._script_runtime`, copied as it stands.

Examples
--------
>>> text = python_script([{"op": "gaussian_blur", "params": {"sigma": 1.5}}])
>>> "ndimage.gaussian_filter(plane, sigma=1.5, truncate=4.0, mode='reflect')" in text
True
>>> compile(text, "chain.py", "exec") is not None
True
"""

from __future__ import annotations

import ast
import dataclasses
import json
import textwrap
from pathlib import Path
from typing import Callable

import numpy as np

from . import catalog, kernels
from . import chain as chains

__all__ = ["python_script", "OPTIONAL_HELPERS"]

_RUNTIME = Path(__file__).with_name("_script_runtime.py")

#: Functions of the runtime that a script holds only when one of its steps calls them.
OPTIONAL_HELPERS = ("separable",)


@dataclasses.dataclass
class _Code:
    """What one step adds to a script: constants, the body of its function (which filters
    the float64 2-D array ``plane``), a comment saying why it is written so, and the
    optional helpers it calls."""

    body: list[str]
    constants: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    comment: str = ""
    helpers: set[str] = dataclasses.field(default_factory=set)


_WRITERS: dict[str, Callable[[dict, int], _Code]] = {}


def _writer(op: str):
    """Register the function that writes the code of catalog operation `op`."""

    def register(function):
        if op not in catalog.OPS:
            raise ValueError(f"{op!r} is not an operation of the catalog")
        _WRITERS[op] = function
        return function

    return register


def writers() -> set[str]:
    """The operations that have a writer (the tests check that every one does)."""
    return set(_WRITERS)


# -- literals ---------------------------------------------------------------------------------


def _border(p: dict) -> str:
    """``mode=...`` and, in constant mode with a value, ``cval=...``: keyword arguments."""
    if p["mode"] == "constant" and p["cval"] != 0.0:
        return f"mode='constant', cval={p['cval']!r}"
    return f"mode={p['mode']!r}"


def _vector(values) -> str:
    items = [repr(float(v)) for v in values]
    if len(items) <= 5:
        return "np.array([" + ", ".join(items) + "])"
    lines = ",\n".join("    " + ", ".join(items[i:i + 4]) for i in range(0, len(items), 4))
    return f"np.array([\n{lines},\n])"


def _matrix(rows) -> str:
    lines = ",\n".join("    [" + ", ".join(repr(float(v)) for v in row) + "]" for row in rows)
    return f"np.array([\n{lines},\n])"


def _constant_border_note(what: str) -> str:
    return (f"{what} read cval in two dimensions outside a constant border. scipy.ndimage "
            "pads each 1-D pass with cval, which differs here (cval is not 0), so the two "
            "passes run in separable(), whose second pass reads what the first makes of a "
            "row of cval.")


# -- one writer per operation -----------------------------------------------------------------


@_writer("convolve")
def _convolve(p: dict, n: int) -> _Code:
    kernel = np.asarray(p["kernel"], np.float64)
    divisor = p.get("divisor", 1.0)
    offset = p.get("offset", 0.0)
    size = kernel.shape[0]
    effective = f"KERNEL_{n}" if divisor == 1.0 else f"KERNEL_{n} / {divisor!r}"
    tail = f" + {offset!r}" if offset else ""
    constants = [(f"KERNEL_{n}", _matrix(kernel))]
    split = kernels.separate(kernel[::-1, ::-1] / divisor)
    if split is None:
        return _Code([f"return ndimage.convolve(plane, {effective}, {_border(p)}){tail}"], constants)
    column, row = split
    constants += [(f"COLUMN_{n}", _vector(column)), (f"ROW_{n}", _vector(row))]
    comment = (f"{effective} has rank 1. A convolution is a correlation with the kernel "
               f"flipped, and the flipped kernel is outer(COLUMN_{n}, ROW_{n}), so it runs as "
               f"two 1-D passes of {size} taps, as in Filter Lab.")
    body = [f"return separable(plane, COLUMN_{n}, ROW_{n}, {_border(p)}){tail}"]
    return _Code(body, constants, comment, {"separable"})


@_writer("gaussian_blur")
def _gaussian_blur(p: dict, n: int) -> _Code:
    return _Code([f"return ndimage.gaussian_filter(plane, sigma={p['sigma']!r}, "
                  f"truncate={p['truncate']!r}, {_border(p)})"])


@_writer("box_blur")
def _box_blur(p: dict, n: int) -> _Code:
    return _Code([f"return ndimage.uniform_filter(plane, size={p['size']!r}, {_border(p)})"])


@_writer("unsharp_mask")
def _unsharp_mask(p: dict, n: int) -> _Code:
    return _Code([
        f"blurred = ndimage.gaussian_filter(plane, sigma={p['sigma']!r}, truncate=4.0, {_border(p)})",
        f"return plane + {p['amount']!r} * (plane - blurred)",
    ])


@_writer("edges")
def _edges(p: dict, n: int) -> _Code:
    operator, output = p["operator"], p["output"]
    code = _Code([])
    if operator != "scharr" and not (p["mode"] == "constant" and p["cval"] != 0.0):
        x = f"ndimage.{operator}(plane, axis=1, {_border(p)})"
        y = f"ndimage.{operator}(plane, axis=0, {_border(p)})"
    else:
        smooth, derivative = (_vector(f) for f in kernels.DERIVATIVE_FACTORS[operator])
        code.constants = [(f"SMOOTH_{n}", smooth), (f"DERIVATIVE_{n}", derivative)]
        code.helpers.add("separable")
        if operator == "scharr":
            code.comment = ("scipy.ndimage has no Scharr operator. Its X kernel is "
                            f"outer(SMOOTH_{n}, DERIVATIVE_{n}), its Y kernel the transpose.")
        else:
            code.comment = _constant_border_note(f"The {operator.title()} kernels")
        x = f"separable(plane, SMOOTH_{n}, DERIVATIVE_{n}, {_border(p)})"
        y = f"separable(plane, DERIVATIVE_{n}, SMOOTH_{n}, {_border(p)})"
    if output == "magnitude":
        code.body = [f"x = {x}", f"y = {y}", "return np.hypot(x, y)"]
    else:
        code.body = [f"return {x if output == 'x' else y}"]
    return code


@_writer("laplace")
def _laplace(p: dict, n: int) -> _Code:
    if p["neighbours"] == 4:
        return _Code([f"return ndimage.laplace(plane, {_border(p)})"])
    return _Code([f"return ndimage.correlate(plane, LAPLACE_8, {_border(p)})"],
                 [("LAPLACE_8", _matrix(kernels.LAPLACE_8))])


@_writer("log")
def _laplacian_of_gaussian(p: dict, n: int) -> _Code:
    sigma = p["sigma"]
    if not (p["mode"] == "constant" and p["cval"] != 0.0):
        return _Code([f"return ndimage.gaussian_laplace(plane, sigma={sigma!r}, {_border(p)})"])
    return _Code(
        [f"across = separable(plane, GAUSSIAN_{n}, SECOND_{n}, {_border(p)})",
         f"down = separable(plane, SECOND_{n}, GAUSSIAN_{n}, {_border(p)})",
         "return across + down"],
        [(f"GAUSSIAN_{n}", _vector(kernels.gaussian_1d(sigma))),
         (f"SECOND_{n}", _vector(kernels.gaussian_1d(sigma, order=2)))],
        _constant_border_note("The second derivatives along x and along y") + (
            f" GAUSSIAN_{n} and SECOND_{n} are the Gaussian and its second derivative as "
            "scipy.ndimage.gaussian_filter1d builds them (truncated at 4 sigma)."),
        {"separable"},
    )


# -- the script -------------------------------------------------------------------------------


def _describe(step: chains.Step) -> str:
    """One line saying what a step does, in the catalog's words."""
    op = catalog.OPS[step.op]
    shown = []
    for param in op.params:
        value = step.params[param.name]
        if param.name == "cval" and step.params.get("mode") != "constant":
            continue
        if param.kind == "kernel":
            text = f"{len(value)}×{len(value)} kernel"
        else:
            text = f"{param.label.lower()} {value:g}" if isinstance(value, float) else \
                f"{param.label.lower()} {value}"
            text += f" {param.unit}" if param.unit else ""
        shown.append(text)
    return f"{op.label}: {', '.join(shown)}"


def _runtime(helpers: set[str]) -> str:
    """The runtime's source after its docstring, without the optional helpers not used."""
    text = _RUNTIME.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    tree = ast.parse(text)
    nodes = tree.body[1:]  # the module docstring stays behind
    keep = []
    start = tree.body[0].end_lineno  # 1-based line where the previous node ended
    for node in nodes:
        piece = "".join(lines[start:node.end_lineno])
        start = node.end_lineno
        name = getattr(node, "name", None)
        if name in OPTIONAL_HELPERS and name not in helpers:
            continue
        keep.append(piece)
    return "".join(keep).strip("\n") + "\n"


def _comment(text: str) -> str:
    if not text:
        return ""
    return textwrap.fill(text, 92, initial_indent="# ", subsequent_indent="# ") + "\n"


def _chain_json(steps) -> str:
    return "[\n" + ",\n".join(json.dumps(step.as_dict(), allow_nan=False) for step in steps) + "\n]"


def python_script(chain) -> str:
    """A standalone Python program that applies `chain` to an image file.

    Parameters
    ----------
    chain : list or str
        Anything :func:`filterlab.chain.validate` accepts.

    Returns
    -------
    str
        The program's source. It needs only NumPy, Pillow and scipy; see the module
        docstring for how it runs and what it computes.
    """
    steps = chains.validate(chain)
    sections = []
    helpers: set[str] = set()
    names = []
    for n, step in enumerate(steps, start=1):
        if not step.enabled:
            sections.append(_comment(f"Step {n} is disabled in Filter Lab, so it is not run: "
                                     f"{_describe(step)}."))
            continue
        code = _WRITERS[step.op](step.params, n)
        helpers |= code.helpers
        names.append(f"step_{n}")
        constants = "".join(f"{name} = {source}\n" for name, source in code.constants)
        body = "".join(f"    {line}\n" for line in code.body)
        if constants:
            constants += "\n"
        sections.append(f'{constants}{_comment(code.comment)}def step_{n}(plane):\n'
                        f'    """{_describe(step)}."""\n{body}')
    listing = "\n".join(
        f"    {n}. {_describe(step)}{'' if step.enabled else ' (disabled: not run)'}"
        for n, step in enumerate(steps, start=1))
    title = ", then ".join(catalog.OPS[s.op].label for s in steps if s.enabled) or "no filter"
    header = f'''#!/usr/bin/env python3
"""Filter Lab chain: {title}.

Applies this chain to an image file, as Filter Lab does, with NumPy, Pillow and scipy:

{listing or "    (an empty chain: the image is read and written unchanged)"}

Usage:

    python chain.py IN OUT [--bits 8|16]

OUT ending in .png is written at the input's bit depth (8 or 16 bits per sample; --bits
overrides it), clipped to [0, 1]. OUT ending in .npy receives the float32 H×W×C result,
not clipped. Images are read by Filter Lab's rules: samples scaled to [0, 1], the alpha
channel carried through; each step filters every colour channel in float64 and rounds to
float32, as the app does.
"""
'''
    chain_section = (
        "\n\n# -- the chain " + "-" * 77 + "\n\n"
        "# The chain as Filter Lab JSON: `python -m filterlab apply --chain` reads it.\n"
        f'CHAIN_JSON = """{_chain_json(steps)}"""\n\n\n'
        + "\n\n".join(sections)
        + f"\n\nSTEPS = [{', '.join(names)}]\n\n\n"
        'if __name__ == "__main__":\n'
        "    sys.exit(main(STEPS))\n"
    )
    return header + "\n" + _runtime(helpers) + chain_section
