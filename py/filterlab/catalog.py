"""The catalog: every operation Filter Lab offers, described once.

Each :class:`Op` names its parameters (type, range, default, step, unit), its reference
function, the text the user interface shows, and example parameter sets that cover its code
paths. The UI builds its controls from :func:`describe`, :mod:`filterlab.chain` validates
against it, the GPU engine registers one plan per operation here (:mod:`filterlab.gpu.plan`),
and the test and benchmark grids are built from the examples.

Examples
--------
>>> list(OPS)
['convolve', 'gaussian_blur', 'box_blur', 'unsharp_mask', 'edges', 'laplace', 'log']
>>> OPS["gaussian_blur"].defaults()
{'sigma': 2.0, 'truncate': 4.0, 'mode': 'reflect', 'cval': 0.0}
"""

import dataclasses
from typing import Any, Callable

import numpy as np

from . import borders, kernels, reference

__all__ = ["PARAM_KINDS", "Param", "Op", "OPS", "KERNEL_PRESETS", "describe"]

#: The kinds of parameter, and what the UI shows for each: a slider for "float" and
#: "int", a select for "choice", the kernel editor for "kernel".
PARAM_KINDS = ("float", "int", "choice", "kernel")


@dataclasses.dataclass(frozen=True)
class Param:
    """One parameter of an operation.

    Attributes
    ----------
    name : str
        Keyword passed to the reference function and used in chains.
    kind : {"float", "int", "choice", "kernel"}
        Value type. An "int" with a `step` only takes ``min + k * step`` (so
        ``min=1, step=2`` means odd values); a "float" step is the slider's granularity.
        A "kernel" is a square list of lists of numbers, odd size 1..31.
    label : str
        Short name for the user interface.
    default : object
        Value used when a chain omits the parameter.
    min, max : float or int, optional
        Inclusive range for "float" and "int".
    step : float or int, optional
        Slider step.
    unit : str, optional
        Unit shown next to the value, e.g. ``"px"``.
    choices : tuple, optional
        Allowed values of a "choice", in display order.
    help : str, optional
        One sentence for a tooltip.
    when : tuple of (str, tuple), optional
        Where the parameter applies: ``(("mode", ("constant",)),)`` means only while the
        parameter ``mode`` is ``"constant"``. The UI hides it elsewhere; chains still carry
        it, and it has no effect there.
    slider : bool, optional
        Whether the UI shows a slider beside the number box ("float" and "int"); False for
        ranges too wide to slide through.
    """

    name: str
    kind: str
    label: str
    default: Any
    min: Any = None
    max: Any = None
    step: Any = None
    unit: str = ""
    choices: tuple = ()
    help: str = ""
    when: tuple = ()
    slider: bool = True

    def __post_init__(self):
        if self.kind not in PARAM_KINDS:
            raise ValueError(f"unknown parameter kind {self.kind!r}")

    def applies(self, params):
        """Whether the parameter has an effect with these `params` (see `when`).

        Examples
        --------
        >>> OPS["box_blur"].param("cval").applies({"mode": "wrap"})
        False
        """
        return all(params.get(name) in values for name, values in self.when)

    def describe(self):
        """JSON-ready dict of every field (choices as a list, `when` as a dict of lists)."""
        out = dataclasses.asdict(self)
        out["choices"] = list(self.choices)
        out["default"] = _plain(self.default)
        out["when"] = {name: list(values) for name, values in self.when}
        return out


@dataclasses.dataclass(frozen=True)
class Op:
    """One operation.

    Attributes
    ----------
    name : str
        Identifier used in chains, the GPU engine and the UI.
    label : str
        Display name.
    summary : str
        One sentence saying what it does.
    params : tuple of Param
        Parameters in display order.
    reference : callable
        ``reference(image, **params)``: the NumPy implementation, a filter of
        :mod:`filterlab.reference` (``reference.stencil(**params)`` gives its stencil).
    examples : tuple of dict
        Parameter sets (only the parameters that differ from the defaults) that together
        cover the operation's code paths on the CPU and the GPU: separable and
        non-separable kernels, small and large radii, every output. The test grids and the
        benchmark page run each of them in every border mode.
    check : callable, optional
        ``check(params)`` for rules that tie parameters together, run by chain validation
        once each parameter is valid on its own; it raises ValueError with a message that
        names the parameters.
    """

    name: str
    label: str
    summary: str
    params: tuple
    reference: Callable
    examples: tuple = ({},)
    check: Callable | None = None

    def param(self, name):
        """The :class:`Param` called `name`; KeyError if there is none."""
        for param in self.params:
            if param.name == name:
                return param
        raise KeyError(name)

    def defaults(self):
        """A new dict of every parameter's default value."""
        return {param.name: _plain(param.default) for param in self.params}

    def stencil(self, params):
        """The reference's stencil for validated `params` (see :mod:`filterlab._tiles`)."""
        return self.reference.stencil(**params)

    def describe(self):
        """JSON-ready dict: name, label, summary, params and examples."""
        return {
            "name": self.name,
            "label": self.label,
            "summary": self.summary,
            "params": [param.describe() for param in self.params],
            "examples": [{k: _plain(v) for k, v in example.items()} for example in self.examples],
        }


def _plain(value):
    """A fresh JSON-ready copy (kernels become lists of lists of floats)."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "tolist"):
        return value.tolist()
    return value


def _kernel_list(array):
    return [[float(v) for v in row] for row in array]


#: Kernels offered by the kernel editor, by name.
KERNEL_PRESETS = {
    "identity": _kernel_list(kernels.identity(3)),
    "box_blur": _kernel_list(kernels.box(3)),
    "sharpen": _kernel_list(kernels.sharpen(1.0)),
    "edge": _kernel_list(kernels.EDGE),
    "emboss": _kernel_list(kernels.EMBOSS),
    "sobel_x": _kernel_list(kernels.SOBEL_X),
    "sobel_y": _kernel_list(kernels.SOBEL_Y),
}

_MODE = Param(
    "mode",
    "choice",
    "Border",
    "reflect",
    choices=borders.MODES,
    help="How pixels outside the image are read: reflect (edge repeated), mirror (edge "
    "not repeated), nearest edge pixel, wrap around, or a constant value.",
)
_CVAL = Param(
    "cval",
    "float",
    "Border value",
    0.0,
    min=0.0,
    max=1.0,
    step=0.01,
    help="Value read outside the image when the border mode is constant.",
    when=(("mode", ("constant",)),),
)


def _sigma(default):
    return Param(
        "sigma",
        "float",
        "Sigma",
        default,
        min=0.1,
        max=16.0,
        step=0.1,
        unit="px",
        help="Standard deviation of the Gaussian, in pixels.",
    )


# Example kernels for convolve: a 5×5 and an 11×11 that are not rank 1 (the GPU stages small
# 2-D kernels as a tile and larger ones row by row), and a rank-1 7×7 whose weights do not sum
# to 1 (two 1-D passes, with the constant border's two-pass rule).
_EXAMPLE_5X5 = (
    (1.0, -2.0, 0.5, 3.0, 1.0),
    (0.0, 1.0, -1.0, 2.0, 0.5),
    (2.0, 0.0, 4.0, -1.0, 1.0),
    (-1.0, 1.0, 0.0, 1.0, 2.0),
    (0.5, 2.0, 1.0, 0.0, -3.0),
)
_EXAMPLE_11X11 = np.round(np.sin(np.arange(121.0) * 1.7), 3).reshape(11, 11).tolist()
_EXAMPLE_SEPARABLE_7X7 = (np.outer([1, 2, 3, 4, 3, 2, 1], [-1, 0.5, 2, 0, 1, -0.5, 1]) / 16).tolist()


def _check_divided_kernel(params):
    """The kernel divided by the divisor must itself be a valid kernel (within ±MAX_VALUE)."""
    divisor = params["divisor"]
    if divisor == 0:
        raise ValueError("divisor must not be 0")
    worst = float(np.abs(np.asarray(params["kernel"])).max()) / abs(divisor)
    if worst > kernels.MAX_VALUE:
        raise ValueError(f"kernel ÷ divisor must stay within ±{kernels.MAX_VALUE:,.0f}; "
                         f"dividing by {divisor:g} makes {worst:.3g}")

_OPS = (
    Op(
        "convolve",
        "Convolve",
        "Convolve with a custom kernel (true convolution: the kernel is flipped).",
        (
            Param(
                "kernel",
                "kernel",
                "Kernel",
                KERNEL_PRESETS["identity"],
                help=f"Square kernel of odd size 1 to {kernels.MAX_SIZE}, values within "
                f"±{kernels.MAX_VALUE:,.0f}; rank-1 kernels run as two 1-D passes.",
            ),
            Param(
                "divisor",
                "float",
                "Divisor",
                1.0,
                min=-kernels.MAX_VALUE,
                max=kernels.MAX_VALUE,
                help="The kernel's weights are divided by this number (not 0); Normalise "
                "sets it to their sum.",
                slider=False,
            ),
            Param(
                "offset",
                "float",
                "Offset",
                0.0,
                min=-1.0,
                max=1.0,
                step=0.01,
                help="Added to every result, after the division: 0.5 shows a kernel's "
                "signed output around mid-grey.",
            ),
            _MODE,
            _CVAL,
        ),
        reference.convolve,
        (
            {"kernel": _EXAMPLE_5X5},
            {"kernel": _EXAMPLE_11X11},
            {"kernel": _EXAMPLE_SEPARABLE_7X7},
            {"kernel": KERNEL_PRESETS["sharpen"]},
            {"kernel": [[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]], "divisor": 16.0},
            {"kernel": KERNEL_PRESETS["emboss"], "divisor": -3.0, "offset": 0.5},
        ),
        _check_divided_kernel,
    ),
    Op(
        "gaussian_blur",
        "Gaussian blur",
        "Blur with a Gaussian of the given standard deviation.",
        (
            _sigma(2.0),
            Param(
                "truncate",
                "float",
                "Truncate",
                4.0,
                min=1.0,
                max=6.0,
                step=0.5,
                unit="σ",
                help="Kernel radius in standard deviations: int(truncate × sigma + 0.5).",
            ),
            _MODE,
            _CVAL,
        ),
        reference.gaussian_blur,
        ({"sigma": 1.5}, {"sigma": 3.0, "truncate": 2.5}, {"sigma": 6.0}),
    ),
    Op(
        "box_blur",
        "Box blur",
        "Average over a square window.",
        (
            Param(
                "size",
                "int",
                "Size",
                3,
                min=1,
                max=63,
                step=2,
                unit="px",
                help="Side of the window; odd sizes only.",
            ),
            _MODE,
            _CVAL,
        ),
        reference.box_blur,
        ({"size": 5}, {"size": 1}),
    ),
    Op(
        "unsharp_mask",
        "Unsharp mask",
        "Sharpen by adding back the difference from a Gaussian blur (not clipped).",
        (
            _sigma(1.0),
            Param(
                "amount",
                "float",
                "Amount",
                1.0,
                min=0.0,
                max=5.0,
                step=0.05,
                help="How much of the detail (image minus blur) to add back.",
            ),
            _MODE,
            _CVAL,
        ),
        reference.unsharp_mask,
        ({"sigma": 1.2, "amount": 1.5},),
    ),
    Op(
        "edges",
        "Edges",
        "Image gradient by the Sobel, Scharr or Prewitt operator.",
        (
            Param(
                "operator",
                "choice",
                "Operator",
                "sobel",
                choices=reference.EDGE_OPERATORS,
                help="Derivative kernel; unnormalised, as in scipy.ndimage.",
            ),
            Param(
                "output",
                "choice",
                "Output",
                "magnitude",
                choices=reference.EDGE_OUTPUTS,
                help="Gradient magnitude, or the signed derivative along x or y.",
            ),
            _MODE,
            _CVAL,
        ),
        reference.edges,
        (
            {"operator": "sobel", "output": "magnitude"},
            {"operator": "scharr", "output": "x"},
            {"operator": "prewitt", "output": "y"},
        ),
    ),
    Op(
        "laplace",
        "Laplacian",
        "Discrete Laplacian (sum of second derivatives).",
        (
            Param(
                "neighbours",
                "choice",
                "Neighbours",
                4,
                choices=(4, 8),
                help="4: up, down, left and right; 8: also the diagonals.",
            ),
            _MODE,
            _CVAL,
        ),
        reference.laplace,
        ({"neighbours": 4}, {"neighbours": 8}),
    ),
    Op(
        "log",
        "Laplacian of Gaussian",
        "Blob and edge detector: the Laplacian of a Gaussian blur (signed, not clipped).",
        (_sigma(2.0), _MODE, _CVAL),
        reference.laplacian_of_gaussian,
        ({"sigma": 1.0}, {"sigma": 2.5}, {"sigma": 7.0}),
    ),
)

#: Every operation, by name, in display order.
OPS = {op.name: op for op in _OPS}


def describe():
    """The catalog as JSON-ready data, for the user interface.

    Returns
    -------
    list of dict
        One dict per operation, in display order: ``name``, ``label``, ``summary`` and
        ``params``, a list of dicts with every :class:`Param` field. A parameter of kind
        "kernel" also carries ``presets`` (:data:`KERNEL_PRESETS`), ``cells`` (each preset's
        values as the kernel editor writes them, :func:`filterlab.kernels.value_text`),
        ``sizes`` (every odd size up to :data:`filterlab.kernels.MAX_SIZE`) and ``limit``
        (:data:`filterlab.kernels.MAX_VALUE`).

    Examples
    --------
    >>> import json
    >>> ops = describe()
    >>> ops[0]["params"][0]["presets"]["sharpen"][1]
    [-1.0, 5.0, -1.0]
    >>> ops[0]["params"][0]["cells"]["box_blur"][0]
    ['1/9', '1/9', '1/9']
    >>> len(json.dumps(ops)) > 0
    True
    """
    out = []
    for op in OPS.values():
        entry = op.describe()
        for param in entry["params"]:
            if param["kind"] == "kernel":
                param["presets"] = {name: _plain(k) for name, k in KERNEL_PRESETS.items()}
                param["cells"] = {name: [[kernels.value_text(v) for v in row] for row in k]
                                  for name, k in KERNEL_PRESETS.items()}
                param["sizes"] = list(range(1, kernels.MAX_SIZE + 1, 2))
                param["limit"] = kernels.MAX_VALUE
        out.append(entry)
    return out
