"""Border modes: where a filter reads when its window leaves the image.

Every filter in Filter Lab reads pixels outside the image through one index rule,
:func:`index`. The same rule, line by line, lives in ``shaders/lib/border.wgsl``, so the
CPU reference and the GPU engine agree on every pixel. The modes and their names are those
of :mod:`scipy.ndimage`; for a row ``a b c d`` (``n = 4``) they extend as follows::

    reflect    d c b a | a b c d | d c b a     the edge pixel is repeated
    mirror       d c b | a b c d | c b a       the edge pixel is not repeated
    nearest    a a a a | a b c d | d d d d
    wrap       a b c d | a b c d | a b c d
    constant   k k k k | a b c d | k k k k     k is ``cval``

The rule maps any integer coordinate ``i``, however far outside ``[0, n)``, to a valid
index, using integer arithmetic only. ``floormod(i, p)`` below is the non-negative
remainder; WGSL's ``%`` truncates towards zero, so there it is ``m = i % p`` followed by
``m += p`` when ``m < 0``::

    reflect:   p = 2n;      m = floormod(i, p);  result = m          if m < n else p - 1 - m
    mirror:    n == 1 -> 0; p = 2n - 2;  m = floormod(i, p);  result = m  if m < n else p - m
    nearest:   result = clamp(i, 0, n - 1)
    wrap:      result = floormod(i, n)
    constant:  result = i if 0 <= i < n else -1   (-1 means: use cval)

Both reflections are periodic: ``reflect`` with period ``2n`` and ``mirror`` with period
``2n - 2``, so a kernel radius larger than the image needs no special case. ``mirror`` on a
single pixel has period 0; scipy.ndimage then reads the one pixel, and so does this rule.

Examples
--------
>>> index(range(-3, 7), 4, "reflect").tolist()
[2, 1, 0, 0, 1, 2, 3, 3, 2, 1]
>>> index(range(-3, 7), 4, "mirror").tolist()
[3, 2, 1, 0, 1, 2, 3, 2, 1, 0]
>>> index([-1, 4], 4, "constant").tolist()
[-1, -1]
"""

import numpy as np

__all__ = ["MODES", "index", "check_mode"]

#: The border modes, in the order the user interface lists them.
MODES = ("reflect", "mirror", "nearest", "wrap", "constant")


def check_mode(mode):
    """Return `mode` if it is one of :data:`MODES`, else raise ``ValueError``.

    Parameters
    ----------
    mode : str
        A border mode name.

    Returns
    -------
    str
        The same name.

    Examples
    --------
    >>> check_mode("wrap")
    'wrap'
    """
    if not isinstance(mode, str) or mode not in MODES:
        raise ValueError(
            f"unknown border mode {mode!r}; expected one of: {', '.join(MODES)}"
        )
    return mode


def index(i, n, mode):
    """Map integer coordinates to valid indices into an axis of length `n`.

    Parameters
    ----------
    i : int or array_like of int
        Coordinates, anywhere on the integer line.
    n : int
        Length of the axis, at least 1.
    mode : {"reflect", "mirror", "nearest", "wrap", "constant"}
        Border mode, as in :mod:`scipy.ndimage`.

    Returns
    -------
    ndarray of intp
        Same shape as `i`. Values are in ``[0, n)``, except ``-1`` where ``mode`` is
        ``"constant"`` and the coordinate lies outside the axis (read ``cval`` there).

    Examples
    --------
    >>> index([-2, -1, 0, 1, 2], 2, "wrap").tolist()
    [0, 1, 0, 1, 0]
    >>> index([-5, 9], 3, "nearest").tolist()
    [0, 2]
    >>> index([-4, 4], 1, "mirror").tolist()
    [0, 0]
    """
    check_mode(mode)
    n = int(n)
    if n < 1:
        raise ValueError(f"axis length must be at least 1, got {n}")
    i = np.asarray(i, dtype=np.intp)
    if mode == "reflect":
        p = 2 * n
        m = np.mod(i, p)
        return np.where(m < n, m, p - 1 - m)
    if mode == "mirror":
        if n == 1:
            return np.zeros_like(i)
        p = 2 * n - 2
        m = np.mod(i, p)
        return np.where(m < n, m, p - m)
    if mode == "nearest":
        return np.clip(i, 0, n - 1)
    if mode == "wrap":
        return np.mod(i, n)
    return np.where((i >= 0) & (i < n), i, -1)
