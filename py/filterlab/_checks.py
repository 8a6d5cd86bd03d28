"""Checks of scalar arguments, written once for the whole package.

Every public function that takes a number checks it here, so the rule ("a real number, not a
bool, finite") and its message are the same everywhere: in the reference filters, the kernel
builders, the chain validator and the metrics.

Examples
--------
>>> real("sigma", 2)
2.0
>>> real("sigma", float("nan"))
Traceback (most recent call last):
...
ValueError: sigma must be a finite number, got nan
"""

import math

import numpy as np

__all__ = ["is_real", "real", "show"]


def is_real(value):
    """Whether `value` is a real number: int, float or a NumPy scalar of either, not a bool."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    )


def show(value):
    """Show a value the way it would look in JSON, briefly, for messages.

    Examples
    --------
    >>> show(True), show(None), show(2.50), show([1]), show("x")
    ('true', 'null', '2.5', 'a list', "'x'")
    """
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (float, np.floating)):
        return f"{float(value):g}"
    if isinstance(value, (int, np.integer)):
        text = str(int(value)) if abs(value) < 10**40 else "a number too large to show"
        return text
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, (list, tuple)):
        return "a list"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def real(name, value, *, error=ValueError):
    """Return `value` as a finite float, or raise `error` with a message naming `name`.

    Parameters
    ----------
    name : str
        The argument's name, as the message shows it.
    value : object
        The value to check.
    error : type, optional
        The exception class to raise (a subclass of ValueError).
    """
    if not is_real(value):
        raise error(f"{name} must be a number, got {show(value)}")
    try:
        number = float(value)
    except OverflowError:  # an int beyond float range
        raise error(f"{name} must be a finite number, got a number too large to use") from None
    if not math.isfinite(number):
        raise error(f"{name} must be a finite number, got {show(number)}")
    return number
