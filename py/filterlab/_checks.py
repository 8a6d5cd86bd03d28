"""Checks of numbers, written once for the whole package.

Every public function that takes a number checks it here, so the rules and their messages
are the same everywhere: in the reference filters, the kernel builders, the chain validator
and the metrics. A number is an int, a float or a NumPy scalar of either, never a bool; it
must be finite.

================================  ====================================================
value                             message
================================  ====================================================
not a number (``"2"``, ``true``)  ``sigma must be a number, got '2'``
``None`` (JSON ``null``)          ``sigma must be a number, got null (an empty value;
                                  JSON writes NaN and infinity as null)``
NaN                               ``sigma must be a finite number; NaN is not allowed``
infinity                          ``sigma must be a finite number; infinity is not
                                  allowed`` (``-infinity`` when negative)
an int beyond float range         ``sigma must be a finite number; the value given is
                                  too large``
================================  ====================================================

With ``integer=True`` the messages say "an integer" and a fraction is refused too. Numbers
are never printed in full when they are huge (:func:`show`), so no message depends on
Python's limit on converting long integers to text.

Examples
--------
>>> real("sigma", 2)
2.0
>>> real("sigma", float("nan"))
Traceback (most recent call last):
...
ValueError: sigma must be a finite number; NaN is not allowed
>>> integer("size", 3.5)
Traceback (most recent call last):
...
ValueError: size must be an integer, got 3.5
"""

import math

import numpy as np

__all__ = ["is_real", "problem", "real", "integer", "show"]

#: What ``null`` means where a number was expected: an empty value, or a NaN or infinity
#: that went through JSON (``JSON.stringify(NaN)`` is ``"null"``).
NULL_NOTE = "null (an empty value; JSON writes NaN and infinity as null)"

# Integers are shown in full below this size and in scientific notation above it.
_SHOW_DIGITS = 10**16


def is_real(value):
    """Whether `value` is a real number: int, float or a NumPy scalar of either, not a bool."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    )


def show(value):
    """Show a value the way it would look in JSON, briefly, for messages.

    Huge integers are shown in scientific notation, or described when they are beyond the
    range of a float, so showing never fails.

    Examples
    --------
    >>> show(True), show(None), show(2.50), show([1]), show("x")
    ('true', 'null', '2.5', 'a list', "'x'")
    >>> show(10**20), show(-(10**400)), show(16.0), show(-1000000.5)
    ('1e+20', 'a number below -1.8e308', '16', '-1000000.5')
    """
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (float, np.floating)):
        return _short(float(value))
    if isinstance(value, (int, np.integer)):
        value = int(value)
        if abs(value) < _SHOW_DIGITS:
            return str(value)
        try:
            return _short(float(value))
        except OverflowError:
            return "a number above 1.8e308" if value > 0 else "a number below -1.8e308"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, (list, tuple)):
        return "a list"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _short(number):
    """The shortest text for a float: 6 significant digits when they are exact, else all."""
    text = f"{number:g}"
    return text if float(text) == number or number != number else repr(number)


def problem(name, value, *, integer=False):
    """The message saying why `value` is not a finite number, or None when it is one.

    Parameters
    ----------
    name : str
        What the message calls the value, e.g. ``"sigma"`` or ``"kernel row 1, column 2"``.
    value : object
        The value to check.
    integer : bool, optional
        Also require a whole number, and say "an integer" rather than "a number".

    Examples
    --------
    >>> problem("sigma", 1.5) is None
    True
    >>> problem("sigma", None)
    'sigma must be a number, got null (an empty value; JSON writes NaN and infinity as null)'
    >>> problem("size", float("-inf"), integer=True)
    'size must be an integer; -infinity is not allowed'
    """
    noun, finite = ("an integer", "an integer") if integer else ("a number", "a finite number")
    if value is None:
        return f"{name} must be {noun}, got {NULL_NOTE}"
    if not is_real(value):
        return f"{name} must be {noun}, got {show(value)}"
    if isinstance(value, (int, np.integer)):
        if integer:
            return None
        try:
            float(value)
        except OverflowError:
            return f"{name} must be {finite}; the value given is too large"
        return None
    number = float(value)
    if math.isnan(number):
        return f"{name} must be {finite}; NaN is not allowed"
    if math.isinf(number):
        sign = "-" if number < 0 else ""
        return f"{name} must be {finite}; {sign}infinity is not allowed"
    if integer and not number.is_integer():
        return f"{name} must be an integer, got {show(value)}"
    return None


def real(name, value, *, error=ValueError):
    """Return `value` as a finite float, or raise `error` with :func:`problem`'s message.

    Parameters
    ----------
    name : str
        The argument's name, as the message shows it.
    value : object
        The value to check.
    error : type, optional
        The exception class to raise (a subclass of ValueError).
    """
    message = problem(name, value)
    if message:
        raise error(message)
    return float(value)


def integer(name, value, *, error=ValueError):
    """Return `value` as an int if it is a whole number, else raise `error`.

    Whole floats such as ``5.0`` are accepted (JSON does not tell 5 from 5.0).
    """
    message = problem(name, value, integer=True)
    if message:
        raise error(message)
    return int(value)
