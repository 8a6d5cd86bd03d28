"""Decoding and encoding rules: the one place that defines the working image format.

Working arrays
--------------
Every image inside Filter Lab is a NumPy ``float32`` array of shape H×W×C, C in 1..4,
with values nominally in [0, 1]:

=====  ===============================
C      channels
=====  ===============================
1      grey
2      grey, alpha
3      red, green, blue
4      red, green, blue, alpha
=====  ===============================

Alpha, when present, is the last channel and is straight (not premultiplied). Filters act
on the colour channels and carry alpha through untouched. Filters may produce values
outside [0, 1] (edges, unsharp masking); they are clipped only on display and export.

Decoding rules, by Pillow mode
------------------------------
Only PNG, JPEG, WebP, GIF, BMP and TIFF are accepted. EXIF orientation is applied, so
the array is upright; :attr:`ImageInfo.exif_orientation` records the tag that was found.
Animated files give their first frame, with :attr:`ImageInfo.animated` set.

=============================  ===========================================================
Pillow mode                    array
=============================  ===========================================================
``1``                          C=1, black 0.0, white 1.0
``L``                          C=1, value / 255
``LA`` (and ``La``)            C=2, value / 255 (premultiplied ``La`` is un-premultiplied)
``P``                          palette expanded: C=3, or C=4 when the file declares
                               transparency (a transparent palette entry gets alpha 0)
``PA``                         palette expanded, C=4
``L`` or ``RGB`` with a        C=2 or C=4: the transparent colour gets alpha 0
transparent colour key
``RGB``, ``RGBX``              C=3, value / 255
``RGBA`` (and ``RGBa``)        C=4, value / 255 (premultiplied ``RGBa`` is un-premultiplied)
``CMYK``, ``YCbCr``, ``HSV``   converted to RGB by Pillow, C=3
``I;16`` (any byte order)      C=1, value / 65535: all 16 bits of precision are kept
``I`` (32-bit integer)         C=1, value / 65535 clipped to [0, 1]. Pillow stores 16-bit
                               greyscale as ``I`` in some versions, so 16-bit precision is
                               kept; values above 65535 saturate, negatives become 0
``F`` (32-bit float)           C=1, the value itself; NaN becomes 0, then clipped to [0, 1]
=============================  ===========================================================

Division is done in float32, correctly rounded. Pillow decodes 16-bit colour PNGs to 8
bits per channel; their precision beyond 8 bits is lost before these rules apply.

Limits and failures
-------------------
The pixel count in the header is checked against ``max_pixels`` before any pixel is
decoded; Pillow's own decompression-bomb limit (:data:`PIL.Image.MAX_IMAGE_PIXELS`) also
applies and its warning is treated as an error. The whole file is decoded up front, so a
truncated file fails at once, whatever :data:`PIL.ImageFile.LOAD_TRUNCATED_IMAGES` says;
PNG chunk checksums are verified up to the final IEND chunk.
Every failure raises :class:`ImageDecodeError` with a message meant for the user.

Encoding
--------
:func:`encode_png` and :func:`to_rgba8` quantise the same way: NaN becomes 0, values are
clipped to [0, 1], multiplied by ``2**bits - 1`` and rounded half to even
(:func:`numpy.rint`).

Examples
--------
>>> import numpy as np
>>> decoded = decode(encode_png(np.full((2, 3, 3), 0.5, np.float32)))
>>> decoded.array.shape, decoded.info.mode, decoded.info.has_alpha
((2, 3, 3), 'RGB', False)
>>> round(float(decoded.array[0, 0, 0]) * 255, 3)  # 127.5 rounds half to even
128.0
"""

import contextlib
import dataclasses
import io
import re
import struct
import warnings
import zlib

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

__all__ = [
    "FORMATS",
    "MAX_PIXELS",
    "ImageDecodeError",
    "Decoded",
    "ImageInfo",
    "SCALE",
    "as_image",
    "to_float",
    "decode",
    "encode_png",
    "to_rgba8",
    "quantise",
]

#: Formats that :func:`decode` accepts, as Pillow names them.
FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF")

#: Default pixel cap of :func:`decode` (64 MP).
MAX_PIXELS = 64_000_000

_UNSUPPORTED = "The file is not a supported image (PNG, JPEG, WebP, GIF, BMP or TIFF)."

_ORIENTATION_TAG = 0x0112

_BIT_DEPTH = {"1": 1, "I": 32, "F": 32}


class ImageDecodeError(ValueError):
    """The file could not be turned into an image; the message says why, for the user."""


@dataclasses.dataclass(frozen=True)
class ImageInfo:
    """What is known about a decoded file's source.

    Attributes
    ----------
    format : str
        Pillow's format name, e.g. ``"PNG"``.
    mode : str
        Pillow mode of the source, before conversion, e.g. ``"P"`` or ``"I;16"``.
    bit_depth : int
        Bits per sample of the source: from the PNG header for PNG files, otherwise
        implied by the mode (1 for ``1``, 16 for ``I;16``, 32 for ``I`` and ``F``, else 8).
    has_alpha : bool
        Whether the decoded array has an alpha channel (C is 2 or 4).
    animated : bool
        Whether the file holds more than one frame; the array is the first.
    exif_orientation : int or None
        The EXIF orientation tag (1..8) found in the file, or None when there was none.
    """

    format: str
    mode: str
    bit_depth: int
    has_alpha: bool
    animated: bool
    exif_orientation: object = None

    @property
    def exif_oriented(self):
        """Whether the file had an EXIF orientation other than 1, now applied to the pixels."""
        return self.exif_orientation not in (None, 1)

    def as_dict(self):
        """JSON-ready copy of the fields, plus ``exif_oriented``.

        Examples
        --------
        >>> ImageInfo("PNG", "L", 8, False, False).as_dict()["exif_oriented"]
        False
        """
        out = dataclasses.asdict(self)
        out["exif_oriented"] = self.exif_oriented
        return out


@dataclasses.dataclass(frozen=True, eq=False)
class Decoded:
    """A decoded image: its samples at native depth and :class:`ImageInfo` about its source.

    Attributes
    ----------
    native : ndarray of uint8, uint16 or float32, shape (H, W, C)
        The pixels, upright, as the file holds them: 8-bit and 16-bit samples as integers,
        32-bit sources (``I`` clipped to 16 bits, ``F``) as described in the module
        docstring. This is what the GPU uploads.
    info : ImageInfo
        Source format, mode, bit depth, alpha, animation and EXIF orientation.
    """

    native: np.ndarray
    info: ImageInfo

    @property
    def array(self):
        """The working array, float32 in [0, 1]: :func:`to_float` of :attr:`native`.

        A new array on every access; code that needs it more than once keeps it.
        """
        return to_float(self.native)

    @property
    def height(self):
        """Height in pixels."""
        return int(self.native.shape[0])

    @property
    def width(self):
        """Width in pixels."""
        return int(self.native.shape[1])

    @property
    def channels(self):
        """Number of channels, 1..4."""
        return int(self.native.shape[2])


#: The full-scale value of each native sample type: integer samples are divided by it.
SCALE = {np.dtype(np.uint8): 255, np.dtype(np.uint16): 65535, np.dtype(np.float32): 1}


def to_float(native, out=None):
    """Native samples as working values: float32, divided by :data:`SCALE` in float32.

    The division is correctly rounded, and the GPU's unpacking applies the same rule, so both
    start from the same values.

    Parameters
    ----------
    native : ndarray of uint8, uint16 or float32
        Samples, any shape.
    out : ndarray of float32, optional
        Where to write the result (same shape).

    Examples
    --------
    >>> import numpy as np
    >>> to_float(np.array([0, 51, 255], np.uint8)).tolist()
    [0.0, 0.20000000298023224, 1.0]
    """
    native = np.asarray(native)
    scale = SCALE.get(native.dtype)
    if scale is None:
        raise ValueError(f"native samples must be uint8, uint16 or float32, got {native.dtype}")
    if out is None:
        out = np.empty(native.shape, np.float32)
    np.copyto(out, native, casting="unsafe")
    if scale != 1:
        out /= np.float32(scale)
    return out


def _size_text(width, height, pixels):
    if pixels >= 1_000_000:
        return f"{width}×{height} = {pixels / 1e6:.4g} MP"
    return f"{width}×{height} = {pixels} pixels"


def _limit_text(limit):
    if limit >= 1_000_000:
        return f"{limit / 1e6:.4g} MP"
    return f"{limit} pixels"


def _effective_limit(max_pixels):
    if Image.MAX_IMAGE_PIXELS is None:
        return max_pixels
    return min(max_pixels, int(Image.MAX_IMAGE_PIXELS))


def _bomb_error(exc, limit):
    match = re.search(r"\((\d+) pixels\)", str(exc))
    if match:
        pixels = int(match.group(1))
        amount = f"{pixels / 1e6:.4g} MP" if pixels >= 1_000_000 else f"{pixels} pixels"
        return ImageDecodeError(f"The image is {amount}; the limit is {_limit_text(limit)}.")
    return ImageDecodeError(f"The image is too large; the limit is {_limit_text(limit)}.")


@contextlib.contextmanager
def _strict_loading():
    """Pin Pillow to failing on truncated data while decoding, then restore the setting."""
    previous = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = previous


def _corrupt(exc):
    detail = str(exc).strip() or type(exc).__name__
    if "truncated" in detail.lower():
        detail = "the data ends before the image is complete"
    detail = detail[0].lower() + detail[1:]
    return ImageDecodeError(f"The file is truncated or corrupt: {detail.rstrip('.')}.")


def decode(data, *, max_pixels=MAX_PIXELS):
    """Decode image file bytes into a working array.

    Parameters
    ----------
    data : bytes-like
        The whole file.
    max_pixels : int, optional
        Largest accepted width × height, checked before pixels are decoded.

    Returns
    -------
    Decoded
        The samples at native depth (H×W×C, see the module docstring; ``.array`` gives the
        float32 working array) and source information.

    Raises
    ------
    ImageDecodeError
        For an empty, unsupported, too large, truncated or corrupt file.

    Examples
    --------
    >>> try:
    ...     decode(b"hello")
    ... except ImageDecodeError as error:
    ...     print(error)
    The file is not a supported image (PNG, JPEG, WebP, GIF, BMP or TIFF).
    """
    if isinstance(max_pixels, bool) or not isinstance(max_pixels, (int, np.integer)):
        raise TypeError(f"max_pixels must be an integer, got {max_pixels!r}")
    if max_pixels < 1:
        raise ValueError(f"max_pixels must be at least 1, got {max_pixels}")
    try:
        data = bytes(data)
    except TypeError:
        raise ImageDecodeError("The file could not be read as bytes.") from None
    if not data:
        raise ImageDecodeError("The file is empty.")
    limit = _effective_limit(int(max_pixels))
    with _strict_loading():
        try:
            image = Image.open(io.BytesIO(data), formats=list(FORMATS))
        except UnidentifiedImageError:
            raise ImageDecodeError(_UNSUPPORTED) from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise _bomb_error(exc, limit) from None
        except Exception as exc:  # Pillow plugins raise many types on broken headers.
            raise _corrupt(exc) from None
        with image:
            width, height = image.size
            pixels = width * height
            if pixels > max_pixels:
                raise ImageDecodeError(
                    f"The image is {_size_text(width, height, pixels)}; "
                    f"the limit is {_limit_text(int(max_pixels))}."
                )
            if width < 1 or height < 1:
                raise ImageDecodeError(f"The image has no pixels ({width}×{height}).")
            try:
                if image.format == "PNG":
                    _verify_png(data)
                animated = bool(getattr(image, "is_animated", False))
                if animated:
                    image.seek(0)
                image.load()
            except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
                raise _bomb_error(exc, limit) from None
            except Exception as exc:
                raise _corrupt(exc) from None
            source_format = image.format or "unknown"
            source_mode = image.mode
            orientation, upright = _orient(image)
            native = _to_native(upright)
    info = ImageInfo(
        format=source_format,
        mode=source_mode,
        bit_depth=_bit_depth(data, source_format, source_mode),
        has_alpha=native.shape[2] in (2, 4),
        animated=animated,
        exif_orientation=orientation,
    )
    return Decoded(native=native, info=info)


def _verify_png(data):
    """Check every chunk's CRC up to IEND: PNG pixels can decode from a cut-off file."""
    with Image.open(io.BytesIO(data), formats=["PNG"]) as probe:
        probe.verify()


def _orient(image):
    """Apply the EXIF orientation; a damaged EXIF block is ignored, not fatal."""
    try:
        orientation = image.getexif().get(_ORIENTATION_TAG)
    except Exception:
        return None, image
    if isinstance(orientation, int) and 1 <= orientation <= 8:
        try:
            return orientation, ImageOps.exif_transpose(image)
        except Exception as exc:
            raise _corrupt(exc) from None
    return None, image


def _bit_depth(data, source_format, mode):
    if source_format == "PNG" and len(data) > 24 and data[12:16] == b"IHDR":
        return int(data[24])
    if mode.startswith("I;16"):
        return 16
    return _BIT_DEPTH.get(mode, 8)


def _u8(image):
    return np.asarray(image, dtype=np.uint8)


def _to_native(image):
    """The image's samples at native depth (see the table in the module docstring)."""
    mode = image.mode
    has_key = "transparency" in image.info
    try:
        if mode == "1":
            array = _u8(image.convert("L"))
        elif mode in ("L", "RGB") and has_key:
            array = _u8(image.convert(mode[0] + ("A" if mode == "L" else "GBA")))
        elif mode in ("L", "LA", "RGB", "RGBA"):
            array = _u8(image)
        elif mode == "La":
            array = _u8(image.convert("LA"))
        elif mode == "P":
            palette_alpha = image.palette is not None and image.palette.mode == "RGBA"
            target = "RGBA" if has_key or palette_alpha else "RGB"
            array = _u8(image.convert(target))
        elif mode in ("PA", "RGBa"):
            array = _u8(image.convert("RGBA"))
        elif mode.startswith("I;16"):
            array = np.asarray(image).astype(np.uint16)
        elif mode == "I":
            array = np.clip(np.asarray(image), 0, 65535).astype(np.uint16)
        elif mode == "F":
            values = np.nan_to_num(np.asarray(image, dtype=np.float32), nan=0.0)
            array = np.clip(values, 0.0, 1.0).astype(np.float32)
        else:
            array = _u8(image.convert("RGBA" if mode.endswith("A") else "RGB"))
    except ImageDecodeError:
        raise
    except Exception:
        raise ImageDecodeError(f"The image's pixel format ({mode}) is not supported.") from None
    if array.ndim == 2:
        array = array[:, :, None]
    return np.ascontiguousarray(array)


# ----------------------------------------------------------------------------------------
# Encoding
# ----------------------------------------------------------------------------------------


def as_image(array):
    """Check that `array` is an image and view it as H×W×C.

    The one check of image arrays in the package: real numbers, H×W or H×W×C with C in 1..4,
    not empty.

    Returns
    -------
    (ndarray, bool)
        The array with a channel axis (a view, not a copy), and whether it was H×W.

    Examples
    --------
    >>> import numpy as np
    >>> view, was_2d = as_image(np.zeros((2, 3)))
    >>> view.shape, was_2d
    ((2, 3, 1), True)
    """
    array = np.asarray(array)
    was_2d = array.ndim == 2
    if array.dtype == bool or not (
        np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)
    ):
        raise ValueError(f"image must hold real numbers, got dtype {array.dtype}")
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3:
        raise ValueError(f"image must be H×W or H×W×C, got shape {array.shape}")
    if not 1 <= array.shape[2] <= 4:
        raise ValueError(f"image must have 1 to 4 channels, got {array.shape[2]}")
    if array.shape[0] < 1 or array.shape[1] < 1:
        raise ValueError(f"image must not be empty, got shape {array.shape}")
    return array, was_2d


def quantise(array, bits=8):
    """Quantise [0, 1] values to unsigned integers of `bits` (8 or 16).

    NaN becomes 0; values are clipped to [0, 1], scaled by ``2**bits - 1`` and rounded
    half to even.

    Examples
    --------
    >>> import numpy as np
    >>> quantise(np.array([-1, 0.5 / 255, 1.5 / 255, 0.5, np.nan, 2]), 8).tolist()
    [0, 0, 2, 128, 0, 255]
    """
    if bits not in (8, 16) or isinstance(bits, bool):
        raise ValueError(f"bits must be 8 or 16, got {bits!r}")
    top = (1 << bits) - 1
    values = np.nan_to_num(np.asarray(array, dtype=np.float64), nan=0.0)
    values = np.clip(values, 0.0, 1.0)
    values *= top
    return np.rint(values).astype(np.uint8 if bits == 8 else np.uint16)


def encode_png(array, *, bits=8):
    """Encode a working array as PNG bytes.

    Parameters
    ----------
    array : array_like
        H×W or H×W×C, C in 1..4 (grey, grey+alpha, RGB, RGBA), values in [0, 1].
    bits : {8, 16}, optional
        Bits per sample in the file.

    Returns
    -------
    bytes
        A PNG file. Samples are quantised as :func:`quantise` describes: clipped to
        [0, 1], scaled by 255 or 65535 and rounded half to even.

    Examples
    --------
    >>> import numpy as np
    >>> encode_png(np.zeros((1, 1), np.float32), bits=16)[:8]
    b'\\x89PNG\\r\\n\\x1a\\n'
    """
    array, _ = as_image(array)
    samples = quantise(array, bits)
    if bits == 8:
        channels = samples.shape[2]
        image = Image.fromarray(samples[:, :, 0] if channels == 1 else samples)
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        return buffer.getvalue()
    return _png16(samples)


def _chunk(kind, payload):
    return (
        struct.pack(">I", len(payload))
        + kind
        + payload
        + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)
    )


def _png16(samples):
    """Write 16-bit PNG (Pillow cannot write 16-bit colour). Rows use the Up filter."""
    height, width, channels = samples.shape
    colour_type = {1: 0, 2: 4, 3: 2, 4: 6}[channels]
    rows = samples.astype(">u2").view(np.uint8).reshape(height, width * channels * 2)
    filtered = rows.copy()
    filtered[1:] -= rows[:-1]  # uint8 arithmetic wraps modulo 256, as PNG requires
    scanlines = np.empty((height, filtered.shape[1] + 1), dtype=np.uint8)
    scanlines[:, 0] = 2
    scanlines[:, 1:] = filtered
    header = struct.pack(">IIBBBBB", width, height, 16, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(scanlines.tobytes(), 6))
        + _chunk(b"IEND", b"")
    )


def to_rgba8(array):
    """Convert a working array to 8-bit RGBA for display.

    Grey is replicated to red, green and blue; alpha is 255 when absent. Values are
    quantised as :func:`quantise` describes.

    Parameters
    ----------
    array : array_like
        H×W or H×W×C, C in 1..4.

    Returns
    -------
    ndarray of uint8, shape (H, W, 4)

    Examples
    --------
    >>> import numpy as np
    >>> to_rgba8(np.array([[0.5]], np.float32)).tolist()
    [[[128, 128, 128, 255]]]
    """
    array, _ = as_image(array)
    samples = quantise(array, 8)
    height, width, channels = samples.shape
    out = np.empty((height, width, 4), dtype=np.uint8)
    if channels <= 2:
        out[:, :, :3] = samples[:, :, :1]
    else:
        out[:, :, :3] = samples[:, :, :3]
    if channels in (2, 4):
        out[:, :, 3] = samples[:, :, -1]
    else:
        out[:, :, 3] = 255
    return out
