"""The fixed part of every script that :mod:`filterlab.script` exports.

This module is copied, from its first import on, into each exported script, so it imports
nothing from Filter Lab: only the standard library, NumPy, Pillow and scipy. The optional
helpers (:data:`filterlab.script.OPTIONAL_HELPERS`) are copied only into scripts whose chain
calls them. The tests import it as a module and run
exported scripts both in-process and as programs.
"""

import argparse
import struct
import sys
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps
from scipy import ndimage

# -- reading images ------------------------------------------------------------------------
# Filter Lab's decoding rules (filterlab.imageio), for the Pillow modes met in practice.
# Samples become float32 in [0, 1]: 8-bit ones divided by 255, 16-bit ones by 65535.


def read_image(path):
    """The image at `path` as float32 H×W×C in [0, 1], and the depth to write it at: 16 when
    the file has more than 8 bits per sample, else 8.

    C is 1 (grey), 2 (grey, alpha), 3 (RGB) or 4 (RGBA); alpha is straight, the last
    channel. EXIF orientation is applied; an animated file gives its first frame.
    """
    data = Path(path).read_bytes()
    with Image.open(path) as image:
        image.load()
        try:
            upright = ImageOps.exif_transpose(image)
        except Exception:  # a damaged EXIF block is ignored, as in Filter Lab
            upright = image
        samples = _samples(upright)
    scale = {np.dtype(np.uint8): 255, np.dtype(np.uint16): 65535}.get(samples.dtype, 1)
    values = samples.astype(np.float32)
    if scale != 1:
        values /= np.float32(scale)
    return values, 16 if _bits(data, upright.mode) > 8 else 8


def _samples(image):
    """The image's samples at their own depth, H×W×C (uint8, uint16 or float32)."""
    mode = image.mode
    keyed = "transparency" in image.info
    if mode == "LAB":
        raise ValueError("CIE L*a*b* images are not supported by this script; "
                         "save the image as PNG first")
    if mode in ("I", "F") or mode.startswith("I;16"):
        values = np.asarray(image)
        if mode == "F":  # floats: NaN is 0, then [0, 1]
            values = np.clip(np.nan_to_num(values.astype(np.float32), nan=0.0), 0.0, 1.0)
        else:  # 16-bit, or 32-bit integers clipped to 16 bits
            values = np.clip(values, 0, 65535).astype(np.uint16)
        return values[:, :, None]
    if mode == "1":
        target = "L"
    elif mode in ("L", "RGB") and keyed:
        target = "LA" if mode == "L" else "RGBA"  # the transparent colour gets alpha 0
    elif mode in ("L", "LA", "RGB", "RGBA"):
        target = mode
    elif mode == "La":
        target = "LA"
    elif mode == "P":
        alpha = keyed or (image.palette is not None and image.palette.mode == "RGBA")
        target = "RGBA" if alpha else "RGB"
    elif mode in ("PA", "RGBa"):
        target = "RGBA"
    else:  # CMYK, YCbCr, HSV, RGBX: Pillow converts them
        target = "RGBA" if mode.endswith("A") else "RGB"
    if target != mode:
        image = image.convert(target)
    values = np.asarray(image, np.uint8)
    return values[:, :, None] if values.ndim == 2 else values


def _bits(data, mode):
    """Bits per sample: from a PNG's header, else from the mode."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR":
        return int(data[24])
    return 16 if mode in ("I", "F") or mode.startswith("I;16") else 8


# -- writing images ------------------------------------------------------------------------


def quantise(values, bits):
    """float [0, 1] to unsigned integers of `bits`: NaN is 0, values are clipped, scaled by
    2**bits - 1 and rounded half to even, as Filter Lab's export does."""
    values = np.nan_to_num(np.asarray(values, np.float64), nan=0.0)
    scaled = np.rint(np.clip(values, 0.0, 1.0) * ((1 << bits) - 1))
    return scaled.astype(np.uint8 if bits == 8 else np.uint16)


def write_png(path, image, bits):
    """Write a float H×W×C image (C in 1..4) as an 8- or 16-bit PNG."""
    samples = quantise(image, bits)
    if bits == 8:
        Image.fromarray(samples[:, :, 0] if samples.shape[2] == 1 else samples).save(path, "PNG")
    else:  # Pillow cannot write 16-bit colour, so the PNG is put together here
        Path(path).write_bytes(_png16(samples))


def _png16(samples):
    height, width, channels = samples.shape
    colour_type = {1: 0, 2: 4, 3: 2, 4: 6}[channels]  # grey, grey+alpha, RGB, RGBA

    def chunk(kind, payload):
        crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)

    rows = samples.astype(">u2").reshape(height, width * channels).view(np.uint8)
    scanlines = np.hstack([np.zeros((height, 1), np.uint8), rows])  # filter type 0 per row
    header = struct.pack(">IIBBBBB", width, height, 16, colour_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(scanlines.tobytes(), 6)) + chunk(b"IEND", b""))


# -- filtering -----------------------------------------------------------------------------


def apply_chain(image, steps):
    """Run `steps` on a float32 H×W×C image as Filter Lab does.

    Each step filters every colour channel on its own, in float64, and its result is
    rounded to float32 before the next step. Alpha (the last of 2 or 4 channels) is carried
    through unchanged. Results are not clipped.
    """
    result = np.array(image, np.float32)
    channels = result.shape[2]
    colours = channels - 1 if channels in (2, 4) else channels
    for step in steps:
        for c in range(colours):
            result[:, :, c] = step(result[:, :, c].astype(np.float64))
    return result


def separable(plane, column, row, *, mode, cval=0.0):
    """Correlate with the rank-1 kernel outer(column, row), as two 1-D passes: along x
    (axis 1) with `row`, then along y (axis 0) with `column`.

    Outside a "constant" border the 2-D correlation reads `cval` everywhere. The first pass
    does too, but the second pass reads rows lying wholly outside the image, which the first
    pass would have turned into cval * sum(row). scipy.ndimage pads every 1-D pass with the
    same cval, which agrees only when cval is 0 or the weights sum to 1, so the second pass
    is given cval * sum(row) here. Other modes read image pixels only; cval does not matter.
    """
    row = np.asarray(row, np.float64)
    column = np.asarray(column, np.float64)
    across = ndimage.correlate1d(plane, row, axis=1, mode=mode, cval=cval)
    return ndimage.correlate1d(across, column, axis=0, mode=mode, cval=cval * row.sum())


# -- command line ----------------------------------------------------------------------------


def main(steps, argv=None):
    """``python SCRIPT IN OUT [--bits 8|16]``; returns the exit status."""
    parser = argparse.ArgumentParser(
        description="Apply the Filter Lab chain described at the top of this file to an image.")
    parser.add_argument("input", metavar="IN", help="input image (PNG, JPEG, WebP, GIF, BMP, TIFF)")
    parser.add_argument("output", metavar="OUT",
                        help="OUT.png: a PNG at the input's bit depth (8 or 16); "
                             "OUT.npy: the float32 H×W×C result, not clipped")
    parser.add_argument("--bits", type=int, choices=(8, 16),
                        help="bits per sample of a PNG output, instead of the input's")
    args = parser.parse_args(argv)
    suffix = Path(args.output).suffix.lower()
    if suffix not in (".png", ".npy"):
        parser.error(f"OUT must end in .png or .npy, got {args.output!r}")
    if suffix == ".npy" and args.bits is not None:
        parser.error("--bits applies to PNG output only")
    try:
        image, depth = read_image(args.input)
    except (OSError, ValueError) as exc:
        print(f"{parser.prog}: error: cannot read {args.input}: {exc}", file=sys.stderr)
        return 2
    result = apply_chain(image, steps)
    try:
        if suffix == ".npy":
            np.save(args.output, result)
        else:
            write_png(args.output, result, args.bits or depth)
    except OSError as exc:
        print(f"{parser.prog}: error: cannot write {args.output}: {exc}", file=sys.stderr)
        return 2
    return 0
