"""Filter chains: validation and serialisation (JSON and URL).

A chain is a list of steps applied in order. In JSON each step is an object::

    {"op": "gaussian_blur", "params": {"sigma": 2.0}, "enabled": true}

``params`` and ``enabled`` may be left out: missing parameters take their defaults from
:mod:`filterlab.catalog`, and steps are enabled unless ``"enabled": false``. Validation
returns :class:`Step` objects with every parameter present and of its declared type.

Rules: numbers are JSON numbers (``true`` and ``false`` are not numbers, and strings are
not parsed); floats must be finite and within the parameter's range; integers must be
whole and, where the catalog gives a step (odd box sizes), on that grid; choices must be
one of the listed values; kernels must be square, of odd size 1..31, finite.

Examples
--------
>>> steps = validate('[{"op": "box_blur", "params": {"size": 5}}]')
>>> steps[0].params
{'size': 5, 'mode': 'reflect', 'cval': 0.0}
>>> from_url(to_url(steps)) == steps
True
"""

import base64
import binascii
import dataclasses
import json
import re
import zlib

from . import _tiles, kernels
from ._checks import is_real, real, show
from .catalog import OPS

__all__ = [
    "ChainError",
    "Step",
    "MAX_STEPS",
    "MAX_URL_LENGTH",
    "validate",
    "apply",
    "to_json",
    "from_json",
    "to_url",
    "from_url",
]

#: Longest chain accepted.
MAX_STEPS = 64
#: Longest URL token accepted by :func:`from_url`, in characters.
MAX_URL_LENGTH = 8192
# Largest decompressed JSON accepted from a URL token (guards against zip bombs).
_MAX_URL_JSON = 1 << 20
# URL tokens start with a format version so the format can change without breaking links.
_URL_PREFIX = "1."
_URL_ALPHABET = re.compile(r"[A-Za-z0-9_-]*")


class ChainError(ValueError):
    """A chain is malformed; the message names the step and the problem."""


@dataclasses.dataclass(frozen=True)
class Step:
    """One validated step of a chain.

    Attributes
    ----------
    op : str
        Operation name, a key of :data:`filterlab.catalog.OPS`.
    params : dict
        Every parameter of the operation, defaults filled in, values coerced (floats as
        float, ints as int, kernels as lists of lists of floats).
    enabled : bool
        Disabled steps are kept in the chain but skipped when it runs.
    """

    op: str
    params: dict
    enabled: bool = True

    def as_dict(self):
        """JSON-ready dict ``{"op", "params", "enabled"}`` (a copy)."""
        params = json.loads(json.dumps(self.params))  # a deep copy
        return {"op": self.op, "params": params, "enabled": self.enabled}


def _coerce(param, value):
    """Return `value` coerced to `param`'s type, or raise ChainError (message without step)."""
    name = param.name
    if param.kind == "float":
        value = real(name, value, error=ChainError)
        _check_range(param, value)
        return value
    if param.kind == "int":
        if not is_real(value):
            raise ChainError(f"{name} must be an integer, got {show(value)}")
        if isinstance(value, float):
            real(name, value, error=ChainError)
            if not value.is_integer():
                raise ChainError(f"{name} must be an integer, got {show(value)}")
        value = int(value)
        _check_range(param, value)
        if param.step is not None and param.min is not None and (value - param.min) % param.step:
            if param.step == 2 and param.min % 2 == 1:
                raise ChainError(f"{name} must be odd, got {value}")
            raise ChainError(
                f"{name} must be {param.min} plus a multiple of {param.step}, got {value}"
            )
        return value
    if param.kind == "choice":
        for choice in param.choices:
            if isinstance(choice, str):
                if isinstance(value, str) and value == choice:
                    return choice
            elif is_real(value) and value == choice:
                return choice
        listed = ", ".join(str(c) for c in param.choices)
        raise ChainError(f"{name} must be one of {listed}; got {show(value)}")
    try:
        array = kernels.validate(value)
    except kernels.KernelError as exc:
        # Kernel messages already start with the word "kernel", the parameter's name.
        raise ChainError(str(exc)) from None
    return [[float(v) for v in row] for row in array]


def _check_range(param, value):
    low, high = param.min, param.max
    if (low is not None and value < low) or (high is not None and value > high):
        raise ChainError(
            f"{param.name} must be between {show(low)} and {show(high)}, got {show(value)}"
        )


def _parse(text):
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ChainError(f"chain is not valid JSON: {exc}") from None


def _step(number, item, ops):
    if isinstance(item, Step):
        item = {"op": item.op, "params": item.params, "enabled": item.enabled}
    if not isinstance(item, dict):
        raise ChainError(f"step {number}: must be an object with \"op\", got {show(item)}")
    extra = [key for key in item if key not in ("op", "params", "enabled")]
    if extra:
        raise ChainError(
            f"step {number}: unknown key {show(extra[0])}; expected op, params, enabled"
        )
    if "op" not in item:
        raise ChainError(f"step {number}: missing \"op\"")
    name = item["op"]
    if not isinstance(name, str) or name not in ops:
        raise ChainError(
            f"step {number}: unknown operation {show(name)}; "
            f"known operations: {', '.join(ops)}"
        )
    op = ops[name]
    where = f"step {number} ({name})"
    given = item.get("params", {})
    if given is None:
        given = {}
    if not isinstance(given, dict):
        raise ChainError(f"{where}: params must be an object, got {show(given)}")
    enabled = item.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ChainError(f"{where}: enabled must be true or false, got {show(enabled)}")
    known = [param.name for param in op.params]
    for key in given:
        if key not in known:
            raise ChainError(
                f"{where}: unknown parameter {show(key)}; expected one of: {', '.join(known)}"
            )
    params = {}
    for param in op.params:
        value = given[param.name] if param.name in given else param.default
        try:
            params[param.name] = _coerce(param, value)
        except ChainError as exc:
            raise ChainError(f"{where}: {exc}") from None
    return Step(op=name, params=params, enabled=enabled)


def validate(chain):
    """Validate a chain and return its steps with every parameter filled in.

    Parameters
    ----------
    chain : list or str
        A list of step dicts (or :class:`Step` objects), or the same as JSON text.

    Returns
    -------
    list of Step

    Raises
    ------
    ChainError
        For the first problem found, e.g.
        ``step 2 (gaussian_blur): sigma must be between 0.1 and 16, got 40``.

    Examples
    --------
    >>> step = validate([{"op": "edges", "enabled": False}])[0]
    >>> step.params
    {'operator': 'sobel', 'output': 'magnitude', 'mode': 'reflect', 'cval': 0.0}
    >>> step.enabled
    False
    >>> validate([{"op": "laplace", "params": {"neighbours": 6}}])
    Traceback (most recent call last):
    ...
    filterlab.chain.ChainError: step 1 (laplace): neighbours must be one of 4, 8; got 6
    """
    if isinstance(chain, (bytes, bytearray)):
        try:
            chain = bytes(chain).decode("utf-8-sig")  # tolerate a byte order mark
        except UnicodeDecodeError:
            raise ChainError("chain is not valid UTF-8 text") from None
    if isinstance(chain, str):
        chain = _parse(chain)
    if isinstance(chain, tuple):
        chain = list(chain)
    if not isinstance(chain, list):
        raise ChainError(f"chain must be a list of steps, got {show(chain)}")
    if len(chain) > MAX_STEPS:
        raise ChainError(f"chain has {len(chain)} steps; the limit is {MAX_STEPS}")
    return [_step(number, item, OPS) for number, item in enumerate(chain, start=1)]


def apply(image, chain):
    """Apply a filter chain with the NumPy reference, step by step, skipping disabled steps.

    Parameters
    ----------
    image : array_like
        Image; see :mod:`filterlab.imageio` (alpha, the last channel of 2 or 4, is carried).
    chain : list of dict or of Step, or str
        Anything :func:`validate` accepts.

    Returns
    -------
    ndarray of float32
        Same shape as `image`; a float32 copy when the chain is empty.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((4, 4, 3), np.float32)
    >>> apply(image, [{"op": "gaussian_blur", "params": {"sigma": 1.0}}]).shape
    (4, 4, 3)
    """
    steps = validate(chain)
    colour, alpha, was_2d = _tiles.split(image)
    for step in steps:
        if step.enabled:
            colour = _tiles.run(colour, OPS[step.op].stencil(step.params))
    return _tiles.join(colour, alpha, was_2d)


def to_json(chain, *, indent=None):
    """Validate `chain` and serialise it as JSON, every parameter included.

    Examples
    --------
    >>> to_json([{"op": "box_blur"}])
    '[{"op": "box_blur", "params": {"size": 3, "mode": "reflect", "cval": 0.0}, "enabled": true}]'
    """
    steps = validate(chain)
    return json.dumps([step.as_dict() for step in steps], indent=indent, allow_nan=False)


def from_json(text):
    """Parse and validate a chain from JSON text; the inverse of :func:`to_json`.

    Examples
    --------
    >>> from_json('[{"op": "laplace"}]')[0].params["neighbours"]
    4
    """
    if not isinstance(text, (str, bytes, bytearray)):
        raise ChainError(f"chain JSON must be text, got {type(text).__name__}")
    return validate(text)


def to_url(chain):
    """Encode a chain as a compact, URL-safe token.

    Parameters equal to their defaults and ``"enabled": true`` are left out, the JSON is
    compressed with zlib and written in base64url without padding, after a format
    version prefix (``"1."``).

    Examples
    --------
    >>> to_url([{"op": "laplace"}]).startswith("1.")
    True
    """
    compact = []
    for step in validate(chain):
        defaults = OPS[step.op].defaults()
        entry = {"op": step.op}
        changed = {k: v for k, v in step.params.items() if v != defaults[k]}
        if changed:
            entry["params"] = changed
        if not step.enabled:
            entry["enabled"] = False
        compact.append(entry)
    text = json.dumps(compact, separators=(",", ":"), allow_nan=False)
    packed = zlib.compress(text.encode("utf-8"), 9)
    token = _URL_PREFIX + base64.urlsafe_b64encode(packed).decode("ascii").rstrip("=")
    if len(token) > MAX_URL_LENGTH:
        raise ChainError(
            f"chain is too large for a link ({len(token)} characters; "
            f"the limit is {MAX_URL_LENGTH})"
        )
    return token


def from_url(token):
    """Decode and validate a chain from a :func:`to_url` token.

    Raises
    ------
    ChainError
        When the token is too long, damaged, or decodes to an invalid chain.

    Examples
    --------
    >>> from_url("1.not-a-chain")
    Traceback (most recent call last):
    ...
    filterlab.chain.ChainError: chain link is damaged: it could not be decompressed
    """
    if not isinstance(token, str):
        raise ChainError(f"chain link must be text, got {type(token).__name__}")
    token = token.strip()
    if len(token) > MAX_URL_LENGTH:
        raise ChainError(
            f"chain link is too long ({len(token)} characters; the limit is {MAX_URL_LENGTH})"
        )
    if not token.startswith(_URL_PREFIX):
        raise ChainError("chain link is not in a known format (it should start with \"1.\")")
    body = token[len(_URL_PREFIX) :]
    if not _URL_ALPHABET.fullmatch(body) or len(body) % 4 == 1:
        raise ChainError("chain link is damaged: it is not valid base64url text")
    try:
        packed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        raise ChainError("chain link is damaged: it is not valid base64url text") from None
    inflater = zlib.decompressobj()
    try:
        data = inflater.decompress(packed, _MAX_URL_JSON)
    except zlib.error:
        raise ChainError("chain link is damaged: it could not be decompressed") from None
    if inflater.unconsumed_tail:
        raise ChainError("chain link expands to too much data")
    if not inflater.eof:
        raise ChainError("chain link is damaged: it could not be decompressed")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ChainError("chain link is damaged: it is not UTF-8 text") from None
    return validate(text)
