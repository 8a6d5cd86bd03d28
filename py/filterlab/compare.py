"""Error metrics and an error heatmap, for comparing the GPU result with the reference.

Examples
--------
>>> import numpy as np
>>> a = np.zeros((2, 2, 3), np.float32)
>>> b = a.copy(); b[0, 0, 1] = 0.5
>>> m = metrics(a, b)
>>> m.max_abs_error, m.fraction_over_tolerance
(0.5, 0.08333333333333333)
>>> heatmap(a, b).shape
(2, 2, 4)
"""

import dataclasses
import math

import numpy as np

from ._checks import real

__all__ = ["Metrics", "metrics", "heatmap", "RAMP", "DEFAULT_TOLERANCE", "DEFAULT_GAIN",
           "MIN_GAIN", "MAX_GAIN"]

#: The tolerance a comparison uses unless told otherwise: GPU and CPU agree to this.
DEFAULT_TOLERANCE = 1e-5
#: The heatmap's gain unless told otherwise, and its smallest and largest value.
DEFAULT_GAIN = 100.0
MIN_GAIN = 1.0
MAX_GAIN = 1000.0

# Colour ramp anchors (position, red, green, blue): black through purple, red and orange
# to pale yellow, brightening steadily so that larger errors always look lighter.
_RAMP_ANCHORS = (
    (0.00, 0, 0, 4),
    (0.20, 60, 9, 102),
    (0.40, 140, 41, 129),
    (0.60, 222, 73, 104),
    (0.80, 254, 159, 109),
    (1.00, 252, 253, 191),
)


def _build_ramp():
    anchors = np.array(_RAMP_ANCHORS, dtype=np.float64)
    positions = np.linspace(0.0, 1.0, 256)
    channels = [np.interp(positions, anchors[:, 0], anchors[:, c]) for c in (1, 2, 3)]
    ramp = np.rint(np.stack(channels, axis=1)).astype(np.uint8)
    ramp.setflags(write=False)
    return ramp


#: The heatmap's 256-entry RGB colour ramp (uint8), from no error to full scale.
RAMP = _build_ramp()


@dataclasses.dataclass(frozen=True)
class Metrics:
    """Differences between two images.

    Attributes
    ----------
    max_abs_error : float
        Largest absolute difference.
    mean_abs_error : float
        Mean absolute difference.
    rmse : float
        Root mean square difference.
    psnr : float
        Peak signal-to-noise ratio in dB for a data range of 1.0; ``math.inf`` when the
        images are identical.
    fraction_over_tolerance : float
        Fraction of samples (pixels × channels) whose difference exceeds `tolerance`.
    tolerance : float
        The tolerance used.
    """

    max_abs_error: float
    mean_abs_error: float
    rmse: float
    psnr: float
    fraction_over_tolerance: float
    tolerance: float

    def as_dict(self):
        """The fields as a dict of floats (``psnr`` may be ``math.inf``)."""
        return dataclasses.asdict(self)


def _pair(a, b):
    a = np.asarray(a)
    b = np.asarray(b)
    if a.shape != b.shape:
        raise ValueError(f"images must have the same shape, got {a.shape} and {b.shape}")
    if a.size == 0:
        raise ValueError("images must not be empty")
    return a.astype(np.float64), b.astype(np.float64)


def metrics(a, b, *, tol=DEFAULT_TOLERANCE):
    """Compare two images sample by sample.

    Parameters
    ----------
    a, b : array_like
        Images of the same shape.
    tol : float, optional
        Threshold for :attr:`Metrics.fraction_over_tolerance`.

    Returns
    -------
    Metrics
        Computed in float64. A NaN in either image makes ``max_abs_error``,
        ``mean_abs_error``, ``rmse`` and ``psnr`` NaN.

    Examples
    --------
    >>> import numpy as np
    >>> metrics(np.zeros(4), np.zeros(4)).psnr
    inf
    >>> round(metrics(np.zeros(4), np.full(4, 0.1)).psnr, 6)
    20.0
    """
    tol = real("tol", tol)
    if tol < 0:
        raise ValueError(f"tol must be a finite number >= 0, got {tol:g}")
    a, b = _pair(a, b)
    diff = np.abs(a - b)
    mse = float(np.mean(diff * diff))
    psnr = math.inf if mse == 0.0 else 10.0 * math.log10(1.0 / mse)
    return Metrics(
        max_abs_error=float(diff.max()),
        mean_abs_error=float(diff.mean()),
        rmse=math.sqrt(mse),
        psnr=psnr,
        fraction_over_tolerance=float(np.mean(diff > tol)),
        tolerance=tol,
    )


def heatmap(a, b, *, gain=DEFAULT_GAIN):
    """Colour-coded absolute difference, for display.

    Parameters
    ----------
    a, b : array_like
        Images of the same shape, H×W or H×W×C.
    gain : float, optional
        Multiplier applied before mapping, 1..1000: with ``gain=100`` a difference of
        0.01 reaches the top of the ramp.

    Returns
    -------
    ndarray of uint8, shape (H, W, 4)
        RGBA: ``|a - b|`` (the largest over channels) × gain, clipped to [0, 1] and mapped
        through :data:`RAMP`; alpha is 255. A NaN or infinite difference shows at full
        scale.

    Examples
    --------
    >>> import numpy as np
    >>> heatmap(np.zeros((1, 2)), np.array([[0.0, 1.0]]))[0].tolist()
    [[0, 0, 4, 255], [252, 253, 191, 255]]
    """
    gain = real("gain", gain)
    if not (MIN_GAIN <= gain <= MAX_GAIN):
        raise ValueError(f"gain must be between {MIN_GAIN:g} and {MAX_GAIN:g}, got {gain:g}")
    a, b = _pair(a, b)
    if a.ndim not in (2, 3):
        raise ValueError(f"images must be H×W or H×W×C, got shape {a.shape}")
    diff = np.abs(a - b)
    if diff.ndim == 3:
        diff = diff.max(axis=2)
    diff = np.nan_to_num(diff, nan=1.0, posinf=1.0)
    level = np.rint(np.clip(diff * gain, 0.0, 1.0) * 255.0).astype(np.intp)
    out = np.empty(level.shape + (4,), dtype=np.uint8)
    out[:, :, :3] = RAMP[level]
    out[:, :, 3] = 255
    return out
