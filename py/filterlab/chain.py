"""Filter chains: validation and serialisation (JSON and URL).

A chain is a list of steps applied in order. In JSON each step is an object::

    {"op": "gaussian_blur", "params": {"sigma": 2.0}, "enabled": true}

``params`` and ``enabled`` may be left out: missing parameters take their defaults from
:mod:`filterlab.catalog`, and steps are enabled unless ``"enabled": false``. Validation
returns :class:`Step` objects with every parameter present and of its declared type.

Rules: numbers are JSON numbers (``true`` and ``false`` are not numbers, and strings are
not parsed); floats must be finite and within the parameter's range; integers must be
whole and, where the catalog gives a step (odd box sizes), on that grid; choices must be
one of the listed values; kernels must be square, of odd size 1..31, with finite values
within ±:data:`filterlab.kernels.MAX_VALUE`. Messages about numbers come from
:mod:`filterlab._checks`.

Limits on structure
-------------------
Before anything is parsed or validated, the shape of the input is checked without
recursion, so no input can exhaust the stack (under Pyodide a deep recursion kills the
whole worker, not just the call):

* JSON text may hold at most :data:`MAX_JSON_BYTES` bytes (UTF-8);
* lists and objects may nest at most :data:`MAX_DEPTH` deep, in JSON text and in Python
  values alike. A valid chain needs 5 levels: the list of steps, a step, its params, a
  kernel and a kernel row;
* a chain has at most :data:`MAX_STEPS` steps, and a kernel at most
  :data:`filterlab.kernels.MAX_SIZE` rows; both are checked before their items are;
* a URL token is at most :data:`MAX_URL_LENGTH` characters and expands to at most 1 MiB.

Integers longer than any float (more than 309 digits) are never converted to text, so no
message depends on Python's limit on long integers.

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

import numpy as np

from . import _tiles, kernels
from ._checks import integer, is_real, real, show
from .catalog import OPS
from .imageio import as_image

__all__ = [
    "ChainError",
    "Step",
    "MAX_STEPS",
    "MAX_DEPTH",
    "MAX_JSON_BYTES",
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
#: Deepest nesting of lists and objects accepted. A valid chain needs 5 (steps, step,
#: params, kernel, row); the margin lets a slightly wrong chain get a precise message
#: ("kernel row 1, column 1 must be a number, got a list") instead of this limit's.
MAX_DEPTH = 8
#: Largest chain JSON accepted, in bytes of UTF-8. The largest valid chain, 64 steps of
#: 31×31 kernels written by :func:`to_json` with ``indent=2`` and 17 significant digits,
#: is about 2.3 MB.
MAX_JSON_BYTES = 4_000_000
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
        """JSON-ready dict ``{"op", "params", "enabled"}`` (a copy).

        Validated parameters are numbers, strings and kernels (lists of rows); the copy goes
        exactly that deep, with no recursion.
        """
        params = {
            name: [list(row) for row in value] if isinstance(value, (list, tuple)) else value
            for name, value in self.params.items()
        }
        return {"op": self.op, "params": params, "enabled": self.enabled}


def _coerce(param, value):
    """Return `value` coerced to `param`'s type, or raise ChainError (message without step)."""
    name = param.name
    if param.kind == "float":
        value = real(name, value, error=ChainError)
        _check_range(param, value)
        return value
    if param.kind == "int":
        value = integer(name, value, error=ChainError)
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


# A JSON string, or an unterminated one running to the end of the text. Possessive
# quantifiers keep the match linear in the length of the text.
_JSON_STRING = re.compile(r'"(?:[^"\\]++|\\.)*+"?', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]++")
# Integers with more digits than any float are replaced by a stand-in beyond float range;
# every number check refuses it, and converting the digits could fail or take long.
_FLOAT_DIGITS = 309
_HUGE = 10 ** (_FLOAT_DIGITS + 1)


def _text_size(text):
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def _check_size(size):
    if size > MAX_JSON_BYTES:
        raise ChainError(
            f"chain is too large: {size / 1e6:.1f} MB of text; the limit is "
            f"{MAX_JSON_BYTES / 1e6:g} MB"
        )


def _check_text(text):
    """Check the size and nesting of JSON text before it is parsed, without recursion."""
    _check_size(_text_size(text))
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
    if len(brackets) > MAX_DEPTH:  # fewer brackets cannot nest deeper
        codes = np.frombuffer(brackets.encode("ascii"), np.uint8)
        steps = np.where((codes == ord("[")) | (codes == ord("{")), 1, -1)
        if int(np.cumsum(steps).max()) > MAX_DEPTH:
            raise _too_deep()


def _too_deep():
    return ChainError(
        f"chain is nested too deeply: lists and objects may nest at most {MAX_DEPTH} "
        "levels (a valid chain needs 5)"
    )


def _check_value(chain):
    """Check the nesting of a Python value without recursion (cycles count as too deep).

    Containers longer than :data:`MAX_STEPS` are not entered: validation refuses them by
    their length alone, so the scan's work stays bounded.
    """
    pending = [(chain, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, Step):
            value = [value.params]
        elif isinstance(value, dict):
            value = list(value.values())
        elif not isinstance(value, (list, tuple)):
            continue
        if depth > MAX_DEPTH:
            raise _too_deep()
        if len(value) <= MAX_STEPS:
            pending.extend((item, depth + 1) for item in value)


def _parse_int(digits):
    if len(digits) - digits.startswith("-") > _FLOAT_DIGITS:
        return -_HUGE if digits.startswith("-") else _HUGE
    return int(digits)


def _parse_float(text):
    value = float(text)
    if value in (float("inf"), float("-inf")):  # a literal such as 1e999, not Infinity
        return _HUGE if value > 0 else -_HUGE
    return value


def _parse(text):
    _check_text(text)
    try:
        return json.loads(text, parse_int=_parse_int, parse_float=_parse_float)
    except RecursionError:  # not reachable after _check_text; kept as a last guard
        raise _too_deep() from None
    except ValueError as exc:
        raise ChainError(f"chain is not valid JSON: {_json_problem(exc)}") from None


def _json_problem(exc):
    """Where JSON text went wrong, in words (json's messages carry Python's own terms)."""
    if isinstance(exc, json.JSONDecodeError):
        reason = exc.msg[0].lower() + exc.msg[1:]
        reason = reason[: -len(" at")] if reason.endswith(" at") else reason
        return f"{reason} at line {exc.lineno}, column {exc.colno}"
    return "it could not be read"


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
    if op.check is not None:
        try:
            op.check(params)
        except ValueError as exc:
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
        _check_size(len(chain))
        try:
            chain = bytes(chain).decode("utf-8-sig")  # tolerate a byte order mark
        except UnicodeDecodeError:
            raise ChainError("chain is not valid UTF-8 text") from None
    if isinstance(chain, str):
        chain = _parse(chain)
    else:
        _check_value(chain)
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
    stencils = [OPS[step.op].stencil(step.params) for step in validate(chain) if step.enabled]
    array, was_2d = as_image(image)
    channels = array.shape[2]
    colours = channels - 1 if channels in (2, 4) else channels
    result = np.empty(array.shape, np.float32)
    result[:, :, colours:] = array[:, :, colours:]  # alpha, carried through
    source = array[:, :, :colours]
    if source.dtype != np.float32:
        source = source.astype(np.float32)  # the reference starts from float32 values
    # Steps write alternately into a spare image and the result's colour channels, ordered so
    # that the last one writes the result: the result and one spare are all that is allocated
    # (a browser worker must hold the input, the result and the GPU's result at once).
    targets = [result[:, :, :colours]]
    if len(stencils) > 1:
        targets.append(np.empty(source.shape, np.float32))
    if not stencils:
        targets[0][...] = source
    for index, stencil in enumerate(stencils):
        out = targets[(len(stencils) - 1 - index) % 2]
        source = _tiles.run(source, stencil, out=out)
    return result[:, :, 0] if was_2d else result


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
