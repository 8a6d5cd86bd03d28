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
``LAB`` (TIFF CIELab)          converted to sRGB here, in NumPy (:func:`lab_to_srgb8`), C=3,
                               so the browser (whose Pillow has no colour management) and
                               the command line give the same pixels
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
The image's size and mode are read from its header, and the pixel count is checked before
any pixel is decoded, against a limit for its channel count (:data:`MAX_PIXELS`):

========  ==========  =================================================================
channels  limit       why
========  ==========  =================================================================
1         143 MP      One browser worker, the GPU worker, holds the whole image (Pyodide
2         122 MP      is 32-bit WebAssembly: about 2 GiB of memory in practice); the
3         90 MP       reference workers hold tiles, and the GPU holds the float32
4         71 MP       working copies. The GPU worker keeps the native samples (C × s
                      bytes a pixel, s = 4 for one channel, which may be float32; 1
                      otherwise), and at the peak of any one task 4 bytes a pixel more
                      (Pillow's own image while decoding, or the 8-bit display image)
                      plus, while exporting, 16-bit samples and their PNG encoding
                      (2 × C × 2): C × (s + 4) + 4 bytes a pixel in all, within
                      :data:`IMAGE_MEMORY` (1.6 GiB; the rest is the runtime and the file)
========  ==========  =================================================================

Decoding itself needs less: the file, Pillow's internal image (1 to 4 bytes a pixel) and
the native copy, which is filled in row blocks (conversions and the LAB conversion never
make a whole-image intermediate; the EXIF rotation copies the native samples once, after
Pillow's image is freed). Pillow's decompression-bomb check is pinned to the largest limit
while decoding, so it still guards what the header cannot show (GIF frame extents), and
its warning is an error.

The whole file is decoded up front, so a truncated file fails at once, whatever
:data:`PIL.ImageFile.LOAD_TRUNCATED_IMAGES` says; PNG chunk checksums are verified up to
the final IEND chunk. A TIFF whose compression the TIFF library lacks (the browser's has no
JPEG, LZMA, WebP or Zstandard) is refused before decoding, naming the compression.

Every failure raises :class:`ImageDecodeError` with a message meant for the user: decoder
errors are mapped to plain sentences (:func:`decode` lists them), never shown raw.

Encoding
--------
:func:`encode_png` and :func:`to_rgba8` quantise the same way: NaN becomes 0, values are
clipped to [0, 1], multiplied by ``2**bits - 1`` and rounded half to even
(:func:`numpy.rint`). They work in row blocks, in float64 within a block, so no
whole-image float64 array is ever made.

Examples
--------
>>> import numpy as np
>>> decoded = decode(encode_png(np.full((2, 3, 3), 0.5, np.float32)))
>>> decoded.array.shape, decoded.info.mode, decoded.info.has_alpha
((2, 3, 3), 'RGB', False)
>>> round(float(decoded.array[0, 0, 0]) * 255, 3)  # 127.5 rounds half to even
128.0
>>> {channels: f"{limit / 1e6:g} MP" for channels, limit in MAX_PIXELS.items()}
{1: '143 MP', 2: '122 MP', 3: '90 MP', 4: '71 MP'}
"""

import contextlib
import dataclasses
import io
import struct
import sys
import warnings
import zlib

import numpy as np
from PIL import Image, ImageFile, UnidentifiedImageError

from ._checks import show

__all__ = [
    "FORMATS",
    "IMAGE_MEMORY",
    "MAX_PIXELS",
    "ImageDecodeError",
    "Decoded",
    "ImageInfo",
    "SCALE",
    "as_image",
    "to_float",
    "decode",
    "lab_to_srgb8",
    "encode_png",
    "encode_samples",
    "to_rgba8",
    "quantise",
]

#: Formats that :func:`decode` accepts, as Pillow names them.
FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF")

#: Memory an image may use in a browser worker, in bytes: 1.6 GiB of the 2 GiB that a 32-bit
#: WebAssembly heap gets in practice; the runtime (about 0.1 GiB with NumPy and Pillow) and
#: the file's bytes take the rest.
IMAGE_MEMORY = int(1.6 * 2**30)

# Bytes a pixel costs in the GPU worker beyond its native samples: per channel, 16-bit export
# samples and their PNG encoding; per pixel, Pillow's image while decoding or the 8-bit display.
_EXPORT_BYTES = 2 * 2
_PIXEL_BYTES = 4


def _max_pixels(channels):
    sample = 4 if channels == 1 else 1  # one channel may be float32 (mode F); colour is 8-bit
    per_pixel = channels * (sample + _EXPORT_BYTES) + _PIXEL_BYTES
    return IMAGE_MEMORY // per_pixel // 1_000_000 * 1_000_000


#: Largest image :func:`decode` accepts, in pixels, by the number of channels it decodes to
#: (see the module docstring for the memory model behind it).
MAX_PIXELS = {channels: _max_pixels(channels) for channels in (1, 2, 3, 4)}

_KINDS = {1: "greyscale", 2: "greyscale-with-alpha", 3: "RGB", 4: "RGBA"}

_UNSUPPORTED = "The file is not a supported image (PNG, JPEG, WebP, GIF, BMP or TIFF)."
_CORRUPT = "The file is truncated or corrupt: "
_TRUNCATED = _CORRUPT + "the data ends before the image is complete."

# The first bytes of each accepted format: a file that starts like one but that Pillow cannot
# open has a damaged header, which is worth saying rather than "not supported".
_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"II+\x00", "TIFF"),
    (b"MM\x00+", "TIFF"),
    (b"BM", "BMP"),
)

_ORIENTATION_TAG = 0x0112

# numpy equivalents of PIL.ImageOps.exif_transpose for each EXIF orientation.
_UPRIGHT = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.transpose(1, 0, 2),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: a[::-1, ::-1].transpose(1, 0, 2),
    8: lambda a: np.rot90(a, 1),
}

_BIT_DEPTH = {"1": 1, "I": 32, "F": 32}

# Samples per block when images are converted, quantised or encoded piecewise.
_BLOCK = 1 << 18


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


def _megapixels(pixels):
    """A pixel count in words: ``400 pixels``, ``72 MP``, ``1.5 MP``, ``274,878 MP``."""
    if pixels >= 1_000_000_000:
        return f"{pixels / 1e6:,.0f} MP"
    if pixels >= 1_000_000:
        return f"{pixels / 1e6:.4g} MP"
    return f"{pixels} pixels"


def _too_large(width, height, limit, kind=None):
    size = f"{width}×{height} = {_megapixels(width * height)}"
    where = f"the limit for {kind} images" if kind else "the limit"
    return ImageDecodeError(f"The image is {size}; {where} is {_megapixels(limit)}.")


@contextlib.contextmanager
def _strict_loading():
    """Pin Pillow's loading rules while decoding, then restore them.

    Truncated data fails; Pillow's bomb check is off while the header is read (the caller
    checks the size itself, with a message that gives the dimensions) and set to the
    largest of :data:`MAX_PIXELS` while pixels are decoded, its warning an error; Pillow's
    other warnings (damaged EXIF, malformed APNG or MPO extras) are dropped: they concern
    metadata the decoder skips.
    """
    previous = ImageFile.LOAD_TRUNCATED_IMAGES, Image.MAX_IMAGE_PIXELS
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    Image.MAX_IMAGE_PIXELS = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES, Image.MAX_IMAGE_PIXELS = previous


def _bomb(exc):
    """Pillow's decompression-bomb error (a frame larger than the header said), in words."""
    digits = "".join(c if c.isdigit() else " " for c in str(exc)).split()
    limit = max(MAX_PIXELS.values())
    if digits:
        pixels = int(digits[0])
        return ImageDecodeError(
            f"The image's frames cover {_megapixels(pixels)}; the limit is {_megapixels(limit)}."
        )
    return ImageDecodeError(f"The image is too large; the limit is {_megapixels(limit)}.")


# What Pillow's and the codecs' errors mean, by words in their text (lower case); the first
# match wins. Their own text is never shown: it is written for programmers ("-2",
# "python int too large to convert to C ssize_t", "decompressed Data Too Large").
_FAILURES = (
    (("incomplete checksum", "truncated", "not enough data", "ended prematurely",
      "premature end", "broken data stream", "buffer is not large enough", "read error",
      "unexpected end", "eof"), _TRUNCATED),
    (("checksum", "crc"), _CORRUPT + "a checksum does not match, so the data is damaged."),
    (("too large", "too much"), "The image holds compressed data that expands beyond the size "
                                "limit."),
    (("seek", "frame"), _CORRUPT + "its sequence of frames is damaged."),
    (("unsupported bmp", "bmp header", "bitfields"), "This BMP file uses a variant (header "
     "version, bit depth, bit fields or compression) that the decoder does not support."),
)


def _failure(exc):
    """An ImageDecodeError for an exception raised by Pillow or a codec while decoding."""
    if isinstance(exc, ImageDecodeError):
        return exc
    if isinstance(exc, (Image.DecompressionBombError, Image.DecompressionBombWarning)):
        return _bomb(exc)
    if isinstance(exc, MemoryError):
        return ImageDecodeError("There is not enough memory to decode this image; try a smaller one.")
    if isinstance(exc, (EOFError, struct.error)):
        return ImageDecodeError(_TRUNCATED)
    text = str(exc).lower()
    if isinstance(exc, OverflowError) or "too large to convert" in text:
        return ImageDecodeError(_CORRUPT + "it declares a size or position out of range.")
    for words, message in _FAILURES:
        if any(word in text for word in words):
            return ImageDecodeError(message)
    return ImageDecodeError(_CORRUPT + "its image data could not be decoded.")


def _unidentified(data):
    for signature, name in _SIGNATURES:
        if data.startswith(signature):
            break
    else:
        if not (data[:4] == b"RIFF" and data[8:12] == b"WEBP"):
            return ImageDecodeError(_UNSUPPORTED)
        name = "WebP"
    return ImageDecodeError(
        f"The file starts like a {name} image, but its header is damaged or of a kind the "
        "decoder does not support."
    )


def decode(data, *, max_pixels=None, on_header=None):
    """Decode image file bytes into samples at native depth and a working array.

    Parameters
    ----------
    data : bytes-like
        The whole file.
    max_pixels : int, optional
        A lower cap on width × height than :data:`MAX_PIXELS`; both are checked before
        pixels are decoded.
    on_header : callable, optional
        Called as ``on_header(height, width, channels, dtype)`` with the shape and type of the
        samples about to be decoded, once the header has passed those checks and before the
        pixels are decoded, so that the caller can get ready for them meanwhile (the GPU
        engine maps its upload buffer, :meth:`filterlab.gpu.engine.Engine.expect`). The
        shape is before any EXIF rotation, which keeps the size. It must not raise.

    Returns
    -------
    Decoded
        The samples at native depth (H×W×C, see the module docstring; ``.array`` gives the
        float32 working array) and source information.

    Raises
    ------
    ImageDecodeError
        With a message for the user, e.g.:

        * ``The file is not a supported image (PNG, JPEG, WebP, GIF, BMP or TIFF).``
        * ``The file starts like a TIFF image, but its header is damaged or of a kind the
          decoder does not support.``
        * ``The image is 9000×8000 = 72 MP; the limit for RGBA images is 71 MP.``
        * ``This TIFF uses JPEG compression, which the browser build cannot decode; ...``
        * ``The file is truncated or corrupt: the data ends before the image is complete.``
          (also "a checksum does not match", "its sequence of frames is damaged", "it
          declares a size or position out of range", "its image data could not be decoded")
        * ``The image holds compressed data that expands beyond the size limit.``
        * ``This BMP file uses a variant (...) that the decoder does not support.``
        * ``There is not enough memory to decode this image; try a smaller one.``

    Examples
    --------
    >>> try:
    ...     decode(b"hello")
    ... except ImageDecodeError as error:
    ...     print(error)
    The file is not a supported image (PNG, JPEG, WebP, GIF, BMP or TIFF).
    """
    if max_pixels is not None:
        if isinstance(max_pixels, bool) or not isinstance(max_pixels, (int, np.integer)):
            raise TypeError(f"max_pixels must be an integer, got {show(max_pixels)}")
        if max_pixels < 1:
            raise ValueError(f"max_pixels must be at least 1, got {show(max_pixels)}")
    try:
        data = bytes(data)
    except TypeError:
        raise ImageDecodeError("The file could not be read as bytes.") from None
    if not data:
        raise ImageDecodeError("The file is empty.")
    with _strict_loading():
        try:
            image = Image.open(io.BytesIO(data), formats=list(FORMATS))
        except UnidentifiedImageError:
            raise _unidentified(data) from None
        except Exception as exc:  # Pillow plugins raise many types on broken headers.
            raise _failure(exc) from None
        with image:
            try:
                plan = _plan(image)
                _check_size(image, plan.channels, max_pixels)
                if image.format == "TIFF":
                    _check_tiff_codec(image)
                if on_header is not None:
                    on_header(image.size[1], image.size[0], plan.channels, np.dtype(plan.dtype))
                Image.MAX_IMAGE_PIXELS = max(MAX_PIXELS.values())
                if image.format == "PNG":
                    _verify_png(data)
                animated = bool(getattr(image, "is_animated", False))
                if animated:
                    image.seek(0)
                image.load()
                native = _to_native(image, plan)
                orientation = _orientation(image)
            except Exception as exc:
                raise _failure(exc) from None
            source_format = image.format or "unknown"
            source_mode = image.mode
    if orientation in _UPRIGHT:  # after Pillow's copy is freed
        native = np.ascontiguousarray(_UPRIGHT[orientation](native))
    info = ImageInfo(
        format=source_format,
        mode=source_mode,
        bit_depth=_bit_depth(data, source_format, source_mode),
        has_alpha=native.shape[2] in (2, 4),
        animated=animated,
        exif_orientation=orientation,
    )
    return Decoded(native=native, info=info)


def _check_size(image, channels, max_pixels):
    width, height = image.size
    if max_pixels is not None and width * height > max_pixels:
        raise _too_large(width, height, int(max_pixels))
    if width * height > MAX_PIXELS[channels]:
        raise _too_large(width, height, MAX_PIXELS[channels], _KINDS[channels])
    if width < 1 or height < 1:
        raise ImageDecodeError(f"The image has no pixels ({width}×{height}).")


def _verify_png(data):
    """Check every chunk's CRC up to IEND: PNG pixels can decode from a cut-off file."""
    with Image.open(io.BytesIO(data), formats=["PNG"]) as probe:
        probe.verify()


def _orientation(image):
    """The EXIF orientation tag (1..8), or None; a damaged EXIF block is ignored."""
    try:
        orientation = image.getexif().get(_ORIENTATION_TAG)
    except Exception:
        return None
    if isinstance(orientation, int) and 1 <= orientation <= 8:
        return orientation
    return None


def _bit_depth(data, source_format, mode):
    if source_format == "PNG" and len(data) > 24 and data[12:16] == b"IHDR":
        return int(data[24])
    if mode.startswith("I;16"):
        return 16
    return _BIT_DEPTH.get(mode, 8)


# -- TIFF compression ---------------------------------------------------------------------

# Compressions that builds of libtiff may leave out, by TIFF code. Old-style JPEG (6) needs
# the JPEG codec too.
_TIFF_CODECS = {6: "old-style JPEG", 7: "JPEG", 34925: "LZMA", 50000: "Zstandard", 50001: "WebP"}
_codec_available = {}

# 64 zero bytes, as an xz stream (lzma.compress(bytes(64)); the browser's Python has no lzma).
_XZ_ZEROS = bytes.fromhex(
    "fd377a585a000004e6d6b4460200210116000000742fe5a3e0003f00065d00006e584698"
    "0000000002243016a57a54de000122409bb2e8f11fb6f37d010000000004595a"
)
# 64 zero bytes, as a Zstandard frame: magic, a single-segment header with content size 64,
# and one last RLE block of 64 copies of the byte 0 (RFC 8878).
_ZSTD_ZEROS = bytes.fromhex("28b52ffd" "20" "40" "030200" "00")


def _tiny_tiff(compression, strip, channels):
    """A one-strip 8×8 TIFF of 8-bit grey (1 channel) or RGB (3) holding `strip`."""
    ifd_at = 8
    entries = 9
    extra_at = ifd_at + 2 + 12 * entries + 4
    bits = struct.pack("<3H", 8, 8, 8)
    strip_at = extra_at + len(bits)
    tags = [
        (256, 3, 1, 8),
        (257, 3, 1, 8),
        (258, 3, channels, 8 if channels == 1 else extra_at),
        (259, 3, 1, compression),
        (262, 3, 1, 1 if channels == 1 else 2),
        (273, 4, 1, strip_at),
        (277, 3, 1, channels),
        (278, 3, 1, 8),
        (279, 4, 1, len(strip)),
    ]
    ifd = struct.pack("<H", entries) + b"".join(
        struct.pack("<HHI", tag, kind, count)
        + (struct.pack("<HH", value, 0) if kind == 3 and count == 1 else struct.pack("<I", value))
        for tag, kind, count, value in tags
    )
    return b"II*\x00" + struct.pack("<I", ifd_at) + ifd + b"\0\0\0\0" + bits + strip


def _probe_strip(compression):
    """A valid strip for a tiny TIFF of this compression, and its channels; None if none."""
    if compression in (6, 7):
        buffer = io.BytesIO()
        Image.new("L", (8, 8), 128).save(buffer, format="JPEG")
        return buffer.getvalue(), 1
    if compression == 34925:
        return _XZ_ZEROS, 1
    if compression == 50000:
        return _ZSTD_ZEROS, 1
    if compression == 50001:
        buffer = io.BytesIO()
        Image.new("RGB", (8, 8), (1, 2, 3)).save(buffer, format="WEBP", lossless=True)
        return buffer.getvalue(), 3
    return None


def _tiff_codec_available(compression):
    """Whether this Pillow's libtiff decodes `compression`: True, False, or None (unknown).

    Found once per process by decoding a tiny valid TIFF of that compression; libtiff says
    nothing else that Python can read (decoding fails with the same code for a missing codec
    and for damaged data). A TIFF is decoded because encoding one with a missing codec can
    crash Pillow.
    """
    if compression not in _codec_available:
        try:
            strip = _probe_strip(compression)
        except Exception:  # the encoder for the probe itself is missing
            strip = None
        if strip is None:
            _codec_available[compression] = None
        else:
            try:
                with Image.open(io.BytesIO(_tiny_tiff(7 if compression == 6 else compression,
                                                      *strip))) as probe:
                    probe.load()
                _codec_available[compression] = True
            except Exception:
                _codec_available[compression] = False
    return _codec_available[compression]


def _check_tiff_codec(image):
    compression = image.tag_v2.get(259, 1)
    if compression in _TIFF_CODECS and _tiff_codec_available(compression) is False:
        build = (
            "the browser build" if sys.platform == "emscripten"
            else "this installation's TIFF library"
        )
        raise ImageDecodeError(
            f"This TIFF uses {_TIFF_CODECS[compression]} compression, which {build} cannot "
            "decode; save it as PNG, or as TIFF with LZW or Deflate compression."
        )


# -- samples at native depth ----------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Plan:
    """How an opened image's samples become native ones (the module docstring's table)."""

    channels: int
    dtype: type
    convert: object = None  # the Pillow mode to convert each block to, or None
    finish: object = None  # a function applied to each block's array, or None


def _plan(image):
    mode = image.mode
    has_key = "transparency" in image.info
    if mode == "1":
        return _Plan(1, np.uint8, "L")
    if mode in ("L", "RGB") and has_key:
        return _Plan(2 if mode == "L" else 4, np.uint8, mode[0] + ("A" if mode == "L" else "GBA"))
    if mode in ("L", "LA", "RGB", "RGBA"):
        return _Plan(len(mode), np.uint8)
    if mode == "La":
        return _Plan(2, np.uint8, "LA")
    if mode == "P":
        palette_alpha = image.palette is not None and image.palette.mode == "RGBA"
        target = "RGBA" if has_key or palette_alpha else "RGB"
        return _Plan(len(target), np.uint8, target)
    if mode in ("PA", "RGBa"):
        return _Plan(4, np.uint8, "RGBA")
    if mode == "I" or mode.startswith("I;16"):  # signed or 32-bit: clipped to 16 bits
        return _Plan(1, np.uint16, finish=_sixteen_bits)
    if mode == "F":
        return _Plan(1, np.float32, finish=_float_samples)
    if mode == "LAB":
        return _Plan(3, np.uint8, finish=lambda block: lab_to_srgb8(block, _white_point(image)))
    target = "RGBA" if mode.endswith("A") else "RGB"  # CMYK, YCbCr, HSV, RGBX, ...
    return _Plan(len(target), np.uint8, target)


def _sixteen_bits(block):
    return block if block.dtype.kind == "u" and block.itemsize <= 2 else np.clip(block, 0, 65535)


def _float_samples(block):
    values = np.nan_to_num(np.asarray(block, np.float32), nan=0.0)
    return np.clip(values, 0.0, 1.0, out=values)


def _to_native(image, plan):
    """The image's samples at native depth, H×W×C, filled in blocks of rows."""
    width, height = image.size
    native = np.empty((height, width, plan.channels), plan.dtype)
    rows = max(1, _BLOCK // width)
    for top in range(0, height, rows):
        bottom = min(height, top + rows)
        part = image.crop((0, top, width, bottom))
        if plan.convert:
            try:
                part = part.convert(plan.convert)
            except ValueError:
                raise ImageDecodeError(
                    f"The image's pixel format ({image.mode}) is not supported."
                ) from None
        block = np.asarray(part)
        if plan.finish:
            block = plan.finish(block)
        native[top:bottom] = block.reshape(bottom - top, width, plan.channels)
    return native


# -- CIE L*a*b* ------------------------------------------------------------------------------

# Chromaticities (x, y): the sRGB primaries and white (IEC 61966-2-1), and D50, the white
# of TIFF CIELab files without a WhitePoint tag (Adobe's TIFF technical note 4, as libtiff).
_SRGB_PRIMARIES = ((0.64, 0.33), (0.30, 0.60), (0.15, 0.06))
_D65 = (0.3127, 0.3290)
_D50 = (0.3457, 0.3585)
# Bradford's cone response matrix, for the chromatic adaptation from the file's white to D65.
_BRADFORD = np.array(
    [[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367], [0.0389, -0.0685, 1.0296]]
)


def _xyz(xy):
    x, y = xy
    return np.array([x / y, 1.0, (1.0 - x - y) / y])


def _lab_matrix(white):
    """XYZ (relative to `white`, chromaticity) → linear sRGB: Bradford adaptation to D65,
    then the sRGB matrix built from its primaries."""
    primaries = np.stack([_xyz(xy) for xy in _SRGB_PRIMARIES], axis=1)
    scale = np.linalg.solve(primaries, _xyz(_D65))
    to_srgb = np.linalg.inv(primaries * scale)
    cones = (_BRADFORD @ _xyz(_D65)) / (_BRADFORD @ _xyz(white))
    adapt = np.linalg.inv(_BRADFORD) @ np.diag(cones) @ _BRADFORD
    return to_srgb @ adapt


def _white_point(image):
    """The TIFF WhitePoint tag as (x, y), or D50 when it is absent or unusable."""
    try:
        x, y = (float(v) for v in image.tag_v2.get(318, _D50))
    except Exception:
        return _D50
    return (x, y) if 0 < x and 0 < y and x + y < 1 else _D50


def lab_to_srgb8(lab, white=_D50):
    """Convert 8-bit CIE L*a*b* samples, as Pillow holds TIFF CIELab, to 8-bit sRGB.

    Pillow's mode "LAB" gives L* scaled to 0..255 and a*, b* as signed bytes. The
    conversion is the CIE one:

    * ``L* = L × 100 / 255``; ``fy = (L* + 16) / 116``, ``fx = fy + a* / 500``,
      ``fz = fy − b* / 200``;
    * ``X, Y, Z = white × f⁻¹(fx, fy, fz)``, with ``f⁻¹(t) = t³`` above 6/29 and
      ``3 (6/29)² (t − 4/29)`` below;
    * Bradford adaptation from `white` to D65, the sRGB matrix (from the sRGB primaries),
      clipping to [0, 1], the sRGB transfer curve (``12.92 v`` up to 0.0031308, else
      ``1.055 v^(1/2.4) − 0.055``), × 255 rounded half to even.

    Computed in float64 on the block given (:func:`decode` passes row blocks). It agrees
    with LittleCMS (Pillow's ImageCms, unoptimised transform) to ±1 level; Pillow's own
    ``convert("RGB")`` uses an 8-bit lookup table and differs by up to about 30 levels near
    the gamut's edge.

    Parameters
    ----------
    lab : ndarray of uint8, shape (..., 3)
        L, a, b bytes (a and b are two's complement).
    white : (float, float), optional
        Chromaticity of the reference white; D50 by default.

    Returns
    -------
    ndarray of uint8, shape (..., 3)

    Examples
    --------
    >>> import numpy as np
    >>> lab_to_srgb8(np.array([[255, 0, 0], [0, 0, 0]], np.uint8)).tolist()
    [[255, 255, 255], [0, 0, 0]]
    """
    lab = np.asarray(lab, np.uint8)
    signed = lab[..., 1:].view(np.int8)
    return _lab_to_srgb8(lab[..., 0] * (100.0 / 255.0), signed[..., 0], signed[..., 1], white)


def _lab_to_srgb8(lightness, a, b, white):
    """:func:`lab_to_srgb8` for L*, a*, b* as numbers (arrays of one shape, or scalars)."""
    fy = (np.asarray(lightness, np.float64) + 16.0) / 116.0
    f = np.stack(np.broadcast_arrays(fy + np.divide(a, 500.0), fy, fy - np.divide(b, 200.0)), -1)
    edge = 6.0 / 29.0
    t = np.where(f > edge, f**3, 3.0 * edge**2 * (f - 4.0 / 29.0))
    linear = (t * _xyz(white)) @ _lab_matrix(white).T
    np.clip(linear, 0.0, 1.0, out=linear)
    srgb = np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055)
    return np.rint(srgb * 255.0).astype(np.uint8)


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


def _row_blocks(array):
    """Slices of the first axis holding about :data:`_BLOCK` samples each."""
    rows = array.shape[0] if array.ndim else 1
    per_row = max(1, array.size // max(1, rows))
    step = max(1, _BLOCK // per_row)
    return [slice(top, min(rows, top + step)) for top in range(0, rows, step)]


def _check_bits(bits):
    if bits not in (8, 16) or isinstance(bits, bool):
        raise ValueError(f"bits must be 8 or 16, got {show(bits)}")


def _quantise_into(out, values, bits):
    """Quantise `values` (any real dtype) into the integer array `out`, in float64."""
    block = np.array(values, dtype=np.float64)
    np.nan_to_num(block, copy=False, nan=0.0)
    np.clip(block, 0.0, 1.0, out=block)
    block *= (1 << bits) - 1
    np.rint(block, out=block)
    out[...] = block


def quantise(array, bits=8):
    """Quantise [0, 1] values to unsigned integers of `bits` (8 or 16).

    NaN becomes 0; values are clipped to [0, 1], scaled by ``2**bits - 1`` and rounded
    half to even. Row blocks are computed in float64 one at a time, so the result is that
    of float64 arithmetic without a whole-image float64 array.

    Examples
    --------
    >>> import numpy as np
    >>> quantise(np.array([-1, 0.5 / 255, 1.5 / 255, 0.5, np.nan, 2]), 8).tolist()
    [0, 0, 2, 128, 0, 255]
    """
    _check_bits(bits)
    array = np.asarray(array)
    out = np.empty(array.shape, np.uint8 if bits == 8 else np.uint16)
    if array.ndim == 0:
        _quantise_into(out, array, bits)
        return out
    for rows in _row_blocks(array):
        _quantise_into(out[rows], array[rows], bits)
    return out


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
    _check_bits(bits)
    array, _ = as_image(array)
    return encode_samples(quantise(array, bits))


def encode_samples(samples):
    """Encode quantised samples (uint8 or uint16, H×W×C, C in 1..4) as PNG bytes of that depth.

    For callers that quantise a band at a time (:func:`quantise`) rather than hold a whole
    float image.

    Examples
    --------
    >>> import numpy as np
    >>> decode(encode_samples(np.full((1, 2, 1), 513, np.uint16))).native.ravel().tolist()
    [513, 513]
    """
    samples = np.asarray(samples)
    if samples.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"samples must be uint8 or uint16, got {samples.dtype}")
    samples, _ = as_image(samples)
    if samples.dtype == np.uint16:
        return _png16(samples)
    channels = samples.shape[2]
    image = Image.fromarray(samples[:, :, 0] if channels == 1 else samples)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _chunk(kind, payload):
    return (
        struct.pack(">I", len(payload))
        + kind
        + payload
        + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)
    )


def _png16(samples):
    """Write 16-bit PNG (Pillow cannot write 16-bit colour), compressing in row blocks, one
    IDAT chunk each. Rows use the Up filter."""
    height, width, channels = samples.shape
    colour_type = {1: 0, 2: 4, 3: 2, 4: 6}[channels]
    header = struct.pack(">IIBBBBB", width, height, 16, colour_type, 0, 0, 0)
    parts = [b"\x89PNG\r\n\x1a\n", _chunk(b"IHDR", header)]
    compressor = zlib.compressobj(6)
    previous = np.zeros(width * channels * 2, np.uint8)  # the row above the first is zero
    for rows in _row_blocks(samples):
        raw = samples[rows].astype(">u2").view(np.uint8).reshape(-1, width * channels * 2)
        scanlines = np.empty((raw.shape[0], raw.shape[1] + 1), np.uint8)
        scanlines[:, 0] = 2
        np.subtract(raw[:1], previous, out=scanlines[:1, 1:])  # wraps modulo 256, as PNG says
        np.subtract(raw[1:], raw[:-1], out=scanlines[1:, 1:])
        previous = raw[-1].copy()
        data = compressor.compress(scanlines)
        if data:
            parts.append(_chunk(b"IDAT", data))
    parts += [_chunk(b"IDAT", compressor.flush()), _chunk(b"IEND", b"")]
    return b"".join(parts)


def to_rgba8(array):
    """Convert a working array to 8-bit RGBA for display.

    Grey is replicated to red, green and blue; alpha is 255 when absent. Values are
    quantised as :func:`quantise` describes, in row blocks.

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
    height, width, channels = array.shape
    out = np.empty((height, width, 4), dtype=np.uint8)
    colour = array[:, :, :1] if channels <= 2 else array[:, :, :3]
    for rows in _row_blocks(array):
        _quantise_into(out[rows, :, :3], colour[rows], 8)
        if channels in (2, 4):
            _quantise_into(out[rows, :, 3], array[rows, :, -1], 8)
        else:
            out[rows, :, 3] = 255
    return out
