"""Decoder corpus and encoder rules. Every input is made here, with Pillow or by hand."""

import io
import lzma
import struct
import zlib

import cv2
import numpy as np
import pytest
from filterlab import imageio
from filterlab.imageio import ImageDecodeError
from memory import peak_bytes
from PIL import Image, ImageFile

UNSUPPORTED = "The file is not a supported image (PNG, JPEG, WebP, GIF, BMP or TIFF)."
TRUNCATED = "The file is truncated or corrupt: "
TRUNCATED_OR_CORRUPT = TRUNCATED
TRUNCATED_MESSAGE = TRUNCATED + "the data ends before the image is complete."


def save(img, fmt, **options):
    buffer = io.BytesIO()
    img.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def chunk(kind, payload):
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(
        ">I", zlib.crc32(kind + payload)
    )


def png_claiming(width, height, colour_type=2, depth=8):
    """A PNG whose header claims width × height pixels (RGB by default), with almost no data."""
    header = struct.pack(">IIBBBBB", width, height, depth, colour_type, 0, 0, 0)
    palette = chunk(b"PLTE", bytes(3 * 4)) if colour_type == 3 else b""
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + palette
        + chunk(b"IDAT", zlib.compress(b"\0" * 16))
        + chunk(b"IEND", b"")
    )


def from_array(array, mode):
    """Image of `mode` from raw samples (Image.fromarray's mode argument is deprecated)."""
    h, w = array.shape[:2]
    return Image.frombytes(mode, (w, h), np.ascontiguousarray(array).tobytes())


def rgb8(h=5, w=7, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def as8(array):
    """Working array back to the 8-bit integers it was decoded from."""
    return np.rint(np.asarray(array, np.float64) * 255).astype(np.int64)


def decode_error(data, **options):
    with pytest.raises(ImageDecodeError) as info:
        imageio.decode(data, **options)
    assert isinstance(info.value, ValueError)
    return str(info.value)


# -- rejected files ----------------------------------------------------------------------


def test_empty_file():
    assert decode_error(b"") == "The file is empty."


def test_random_bytes():
    data = np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    assert decode_error(data) == UNSUPPORTED


def test_text_file_named_png():
    # Names play no part: decode sees only bytes.
    assert decode_error(b"This is a text file, despite its name photo.png\n") == UNSUPPORTED


@pytest.mark.parametrize("fmt", ["ICO", "PPM", "TGA", "PCX"])
def test_formats_outside_the_allowed_list(fmt):
    assert decode_error(save(Image.fromarray(rgb8(16, 16)), fmt)) == UNSUPPORTED


@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_truncated_png(keep):
    data = save(Image.fromarray(rgb8(64, 64)), "PNG")
    message = decode_error(data[: int(len(data) * keep)])
    assert message == TRUNCATED + "the data ends before the image is complete."


def test_png_missing_its_end():
    data = save(Image.fromarray(rgb8(64, 64)), "PNG")
    assert decode_error(data[:-20]).startswith(TRUNCATED)


def test_png_with_bad_checksum():
    data = bytearray(save(Image.fromarray(rgb8(64, 64)), "PNG"))
    data[100] ^= 0xFF  # inside the first IDAT chunk
    assert decode_error(bytes(data)).startswith(TRUNCATED)


@pytest.mark.parametrize("keep", [0.3, 0.7])
def test_truncated_jpeg(keep):
    data = save(Image.fromarray(rgb8(64, 64)), "JPEG", quality=90)
    assert decode_error(data[: int(len(data) * keep)]) == (
        TRUNCATED + "the data ends before the image is complete."
    )


def test_truncation_fails_even_if_pillow_is_told_to_accept_it(monkeypatch):
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    data = save(Image.fromarray(rgb8(64, 64)), "JPEG")
    assert decode_error(data[: len(data) // 2]).startswith(TRUNCATED)
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True  # the setting is restored


def test_header_beyond_pillow_bomb_limit():
    assert decode_error(png_claiming(30000, 30000)) == (
        "The image is 30000×30000 = 900 MP; the limit for RGB images is 90 MP."
    )


def test_limits_follow_the_memory_model():
    # C × (s + 4) + 4 bytes a pixel must fit IMAGE_MEMORY, s = 4 for one channel (float32), else 1.
    assert imageio.IMAGE_MEMORY == int(1.6 * 2**30)
    for channels, limit in imageio.MAX_PIXELS.items():
        per_pixel = channels * ((4 if channels == 1 else 1) + 4) + 4
        assert limit * per_pixel <= imageio.IMAGE_MEMORY < (limit + 1_000_000) * per_pixel
    assert imageio.MAX_PIXELS == {1: 143_000_000, 2: 122_000_000, 3: 90_000_000, 4: 71_000_000}
    assert imageio.MAX_PIXELS[1] >= 64_000_000 and imageio.MAX_PIXELS[4] >= 8192 * 8192


@pytest.mark.parametrize(
    "colour_type, depth, kind, limit",
    [
        (0, 8, "greyscale", "143 MP"),
        (0, 16, "greyscale", "143 MP"),
        (4, 8, "greyscale-with-alpha", "122 MP"),
        (2, 8, "RGB", "90 MP"),
        (3, 8, "RGB", "90 MP"),  # a palette without transparency decodes to RGB
        (6, 8, "RGBA", "71 MP"),
    ],
)
def test_header_beyond_the_limit_for_its_channels(colour_type, depth, kind, limit):
    channels = {"greyscale": 1, "greyscale-with-alpha": 2, "RGB": 3, "RGBA": 4}[kind]
    side = 13_000
    assert decode_error(png_claiming(side, side, colour_type, depth)) == (
        f"The image is 13000×13000 = 169 MP; the limit for {kind} images is {limit}."
    )
    # Exactly at the limit the header passes, and decoding fails on the missing data.
    width = imageio.MAX_PIXELS[channels] // 1000
    assert decode_error(png_claiming(width, 1000, colour_type, depth)).startswith(TRUNCATED)
    assert decode_error(png_claiming(width + 1, 1000, colour_type, depth)).startswith(
        f"The image is {width + 1}×1000 = "
    )


def test_header_beyond_default_cap():
    assert decode_error(png_claiming(9000, 8000, 6)) == (
        "The image is 9000×8000 = 72 MP; the limit for RGBA images is 71 MP."
    )


def test_small_cap_checked_before_decoding():
    # The data is far too short for 20×20, so only a header check can give this message.
    assert decode_error(png_claiming(20, 20), max_pixels=399) == (
        "The image is 20×20 = 400 pixels; the limit is 399 pixels."
    )
    with pytest.raises(ImageDecodeError, match="truncated or corrupt"):
        imageio.decode(png_claiming(20, 20), max_pixels=400)


def test_pillow_bomb_limit_is_pinned_while_decoding(monkeypatch):
    # Filter Lab's own limits replace Pillow's setting, which is restored afterwards.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 50)
    data = save(Image.fromarray(rgb8(8, 8)), "PNG")
    assert imageio.decode(data).width == 8
    assert Image.MAX_IMAGE_PIXELS == 50
    assert decode_error(data, max_pixels=50) == "The image is 8×8 = 64 pixels; the limit is 50 pixels."


# -- plain messages ----------------------------------------------------------------------

# Text that must never reach a user: Python's and the codecs' own words.
RAW = ("-2", "ssize_t", "Data Too Large", "MAX_TEXT_CHUNK", "NoneType", "index out of range",
       "Error", "b'", "decoder error", "Traceback", "PIL", "Pillow")


def assert_plain(message):
    assert message[0].isupper() and message.endswith("."), message
    assert "\n" not in message
    for text in RAW:
        assert text not in message, (text, message)


@pytest.mark.parametrize(
    "exc, message",
    [
        (OSError("decoder error -2"), TRUNCATED_OR_CORRUPT + "its image data could not be decoded."),
        (OSError("-2"), TRUNCATED_OR_CORRUPT + "its image data could not be decoded."),
        (OverflowError("Python int too large to convert to C ssize_t"),
         TRUNCATED_OR_CORRUPT + "it declares a size or position out of range."),
        (ValueError("Decompressed Data Too Large"),
         "The image holds compressed data that expands beyond the size limit."),
        (ValueError("decompressed data too large for PngImagePlugin.MAX_TEXT_CHUNK"),
         "The image holds compressed data that expands beyond the size limit."),
        (SyntaxError("broken PNG file (bad header checksum in b'IDAT')"),
         TRUNCATED_OR_CORRUPT + "a checksum does not match, so the data is damaged."),
        (SyntaxError("broken PNG file (incomplete checksum in b'IDAT')"), TRUNCATED_MESSAGE),
        (OSError("image file is truncated (3 bytes not processed)"), TRUNCATED_MESSAGE),
        (EOFError(), TRUNCATED_MESSAGE),
        (struct.error("unpack requires a buffer of 4 bytes"), TRUNCATED_MESSAGE),
        (EOFError("no more images in GIF file"), TRUNCATED_MESSAGE),
        (EOFError("Unable to seek to frame"), TRUNCATED_MESSAGE),
        (ValueError("unable to seek to frame"),
         TRUNCATED_OR_CORRUPT + "its sequence of frames is damaged."),
        (SyntaxError("aPNG contains frame sequence errors"),
         TRUNCATED_OR_CORRUPT + "its sequence of frames is damaged."),
        (TypeError("'NoneType' object is not subscriptable"),
         TRUNCATED_OR_CORRUPT + "its image data could not be decoded."),
        (IndexError("list index out of range"),
         TRUNCATED_OR_CORRUPT + "its image data could not be decoded."),
        (OSError("Unsupported BMP header type (52)"),
         "This BMP file uses a variant (header version, bit depth, bit fields or compression) "
         "that the decoder does not support."),
        (MemoryError(), "There is not enough memory to decode this image; try a smaller one."),
        (Image.DecompressionBombError("Image size (4365000000 pixels) exceeds limit of "
                                      "214748364 pixels, could be decompression bomb DOS attack."),
         "The image's frames cover 4,365 MP; the limit is 143 MP."),
    ],
)
def test_decoder_failures_are_told_plainly(exc, message):
    got = str(imageio._failure(exc))
    assert got == message
    assert_plain(got)


def test_compressed_text_bomb_in_a_png():
    pixels = save(Image.fromarray(rgb8(4, 4)), "PNG")
    text = chunk(b"zTXt", b"comment\0\0" + zlib.compress(b" " * (64 << 20), 9))
    data = pixels[:33] + text + pixels[33:]  # after IHDR
    assert decode_error(data) == "The image holds compressed data that expands beyond the size limit."


def test_unsupported_bmp_variant():
    data = bytearray(save(Image.fromarray(rgb8(4, 4)), "BMP"))
    data[30:34] = struct.pack("<I", 4)  # compression 4: a JPEG inside a BMP
    message = decode_error(bytes(data))
    assert message.startswith("This BMP file uses a variant")
    assert_plain(message)


@pytest.mark.parametrize(
    "start, name",
    [(b"II*\x00", "TIFF"), (b"MM\x00*", "TIFF"), (b"\x89PNG\r\n\x1a\n", "PNG"),
     (b"GIF89a", "GIF"), (b"\xff\xd8\xff", "JPEG"), (b"RIFF\x10\0\0\0WEBP", "WebP")],
)
def test_a_damaged_header_of_a_known_format_says_so(start, name):
    data = start + bytes(range(256)) * 4
    assert decode_error(data) == (
        f"The file starts like a {name} image, but its header is damaged or of a kind the "
        "decoder does not support."
    )


# -- TIFF compression ---------------------------------------------------------------------


def test_tiny_probe_tiffs_are_valid():
    for compression, strip in [(1, bytes(64)), (8, zlib.compress(bytes(64)))]:
        with Image.open(io.BytesIO(imageio._tiny_tiff(compression, strip, 1))) as probe:
            assert probe.size == (8, 8) and probe.mode == "L" and probe.getextrema() == (0, 0)
    with Image.open(io.BytesIO(imageio._tiny_tiff(1, bytes(range(192)), 3))) as probe:
        assert probe.mode == "RGB" and probe.getpixel((0, 0)) == (0, 1, 2)
    assert lzma.decompress(imageio._XZ_ZEROS) == bytes(64)


def test_zstandard_probe_frame_holds_64_zeros():
    # RFC 8878: magic, a single-segment frame header with a one-byte content size, then one
    # last RLE block (block type 1) repeating its single byte.
    frame = imageio._ZSTD_ZEROS
    assert frame[:4] == struct.pack("<I", 0xFD2FB528)
    descriptor, size = frame[4], frame[5]
    assert descriptor == 0b0010_0000 and size == 64  # single segment, no checksum, no dict
    block = int.from_bytes(frame[6:9], "little")
    assert (block & 1, (block >> 1) & 3, block >> 3) == (1, 1, 64)
    assert frame[9:] == b"\0"


def test_codecs_of_this_tiff_library():
    # The wheel's libtiff has JPEG and LZMA, not WebP or Zstandard (found by decoding).
    available = {code: imageio._tiff_codec_available(code) for code in imageio._TIFF_CODECS}
    assert available == {6: True, 7: True, 34925: True, 50000: False, 50001: False}


@pytest.mark.parametrize("compression", ["jpeg", "tiff_lzw", "tiff_adobe_deflate", "lzma"])
def test_compressed_tiffs_decode(compression):
    pixels = np.kron(rgb8(2, 2, seed=9), np.ones((16, 16, 1), np.uint8))  # flat 16×16 blocks
    decoded = imageio.decode(save(Image.fromarray(pixels), "TIFF", compression=compression))
    tolerance = 8 if compression == "jpeg" else 0
    assert np.abs(as8(decoded.array) - pixels).max() <= tolerance


@pytest.mark.parametrize(
    "platform, build",
    [("emscripten", "the browser build"), ("linux", "this installation's TIFF library")],
)
def test_a_tiff_codec_the_library_lacks_is_named(monkeypatch, platform, build):
    data = save(Image.fromarray(rgb8(16, 16)), "TIFF", compression="jpeg")
    monkeypatch.setitem(imageio._codec_available, 7, False)
    monkeypatch.setattr(imageio.sys, "platform", platform)
    assert decode_error(data) == (
        f"This TIFF uses JPEG compression, which {build} cannot decode; save it as PNG, or as "
        "TIFF with LZW or Deflate compression."
    )


def test_a_damaged_jpeg_tiff_is_corrupt_not_unsupported():
    data = bytearray(save(Image.fromarray(rgb8(64, 64)), "TIFF", compression="jpeg"))
    with Image.open(io.BytesIO(bytes(data))) as image:
        start = image.tag_v2[273][0]
    data[start:start + 400] = bytes(400)
    message = decode_error(bytes(data))
    assert message.startswith(TRUNCATED_OR_CORRUPT)
    assert_plain(message)


# -- CIE L*a*b* ---------------------------------------------------------------------------


def lab_bytes(lab):
    """Pillow's LAB samples (L × 255/100, signed a and b) for float L*a*b* values."""
    lab = np.asarray(lab, np.float64)
    out = np.empty(lab.shape, np.uint8)
    out[..., 0] = np.rint(lab[..., 0] * 255 / 100)
    out[..., 1:] = np.rint(lab[..., 1:]).astype(np.int8).view(np.uint8)
    return out


def test_lab_known_values_d65():
    # The sRGB primaries, white and black in CIE L*a*b* relative to D65 (the textbook values),
    # given as numbers (8-bit samples cannot hold them).
    cases = {
        (53.2408, 80.0925, 67.2032): (255, 0, 0),
        (87.7347, -86.1827, 83.1793): (0, 255, 0),
        (32.2970, 79.1875, -107.8602): (0, 0, 255),
        (100.0, 0.0, 0.0): (255, 255, 255),
        (0.0, 0.0, 0.0): (0, 0, 0),
    }
    for lab, rgb in cases.items():
        assert tuple(imageio._lab_to_srgb8(*lab, imageio._D65).tolist()) == rgb


def test_lab_bytes_known_values():
    got = imageio.lab_to_srgb8(lab_bytes([[100, 0, 0], [0, 0, 0], [50, 0, 0]]))
    assert got.tolist() == [[255, 255, 255], [0, 0, 0], [119, 119, 119]]
    # Photoshop's values for L*=50, a*=±100, b*=0 (D50), as Pillow's own tests record them.
    red, green = imageio.lab_to_srgb8(np.array([[128, 100, 0], [128, 156, 0]], np.uint8))
    assert np.abs(red.astype(int) - (255, 0, 124)).max() <= 1
    assert np.abs(green.astype(int) - (0, 152, 117)).max() <= 1


def test_lab_matches_littlecms_within_one_level():
    # LittleCMS through Pillow's ImageCms, with its exact (unoptimised) transform, is an
    # independent implementation of the same D50 → sRGB conversion.
    from PIL import ImageCms

    samples = np.random.default_rng(4).integers(0, 256, (128, 256, 3), dtype=np.uint8)
    image = Image.frombytes("LAB", (256, 128), samples.tobytes())
    transform = ImageCms.buildTransform(
        ImageCms.createProfile("LAB"), ImageCms.createProfile("sRGB"), "LAB", "RGB",
        flags=ImageCms.Flags.NOOPTIMIZE,
    )
    expected = np.asarray(transform.apply(image)).astype(int)
    got = imageio.lab_to_srgb8(np.asarray(image)).astype(int)
    assert np.abs(got - expected).max() <= 1


def test_lab_tiff_decodes_in_numpy():
    samples = np.random.default_rng(5).integers(0, 256, (9, 11, 3), dtype=np.uint8)
    data = save(Image.frombytes("LAB", (11, 9), samples.tobytes()), "TIFF")
    decoded = imageio.decode(data)
    assert decoded.info.mode == "LAB" and decoded.channels == 3 and decoded.native.dtype == np.uint8
    with Image.open(io.BytesIO(data)) as image:
        raw = np.asarray(image)
    np.testing.assert_array_equal(decoded.native, imageio.lab_to_srgb8(raw))


def test_lab_tiff_white_point_tag():
    samples = np.random.default_rng(6).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    image = Image.frombytes("LAB", (7, 5), samples.tobytes())
    data = save(image, "TIFF", tiffinfo={318: (0.3127, 0.3290)})
    decoded = imageio.decode(data)
    np.testing.assert_array_equal(
        decoded.native, imageio.lab_to_srgb8(np.asarray(image), imageio._D65)
    )
    assert not np.array_equal(decoded.native, imageio.lab_to_srgb8(np.asarray(image)))


# -- accepted modes ----------------------------------------------------------------------


def test_rgb_png_exact():
    pixels = rgb8()
    decoded = imageio.decode(save(Image.fromarray(pixels), "PNG"))
    assert decoded.array.dtype == np.float32 and decoded.array.shape == (5, 7, 3)
    np.testing.assert_array_equal(decoded.array, pixels.astype(np.float32) / np.float32(255))
    assert decoded.info.as_dict() == {
        "format": "PNG",
        "mode": "RGB",
        "bit_depth": 8,
        "has_alpha": False,
        "animated": False,
        "exif_orientation": None,
        "exif_oriented": False,
    }
    assert (decoded.width, decoded.height, decoded.channels) == (7, 5, 3)


def test_rgba_png_keeps_alpha():
    pixels = np.random.default_rng(2).integers(0, 256, (4, 6, 4), dtype=np.uint8)
    decoded = imageio.decode(save(Image.fromarray(pixels), "PNG"))
    assert decoded.info.has_alpha and decoded.channels == 4
    np.testing.assert_array_equal(as8(decoded.array), pixels)


def test_cmyk_jpeg_becomes_rgb():
    cmyk = np.zeros((16, 16, 4), np.uint8)
    cmyk[:, :8] = (255, 0, 0, 0)  # cyan
    cmyk[:, 8:] = (0, 0, 0, 128)  # half black: grey 127
    decoded = imageio.decode(save(from_array(cmyk, "CMYK"), "JPEG", quality=100))
    assert decoded.info.mode == "CMYK" and decoded.channels == 3
    got = as8(decoded.array)
    np.testing.assert_allclose(got[8, 2], [0, 255, 255], atol=3)
    np.testing.assert_allclose(got[8, 13], [127, 127, 127], atol=3)


def test_sixteen_bit_png_keeps_precision():
    values = np.array([[0, 1000, 1001, 65535]], np.uint16)
    decoded = imageio.decode(save(Image.fromarray(values), "PNG"))
    assert decoded.info.bit_depth == 16 and decoded.channels == 1
    assert decoded.info.mode in ("I;16", "I")  # Pillow versions differ
    np.testing.assert_allclose(
        decoded.array[0, :, 0], values[0] / 65535, rtol=0, atol=1e-9
    )
    assert decoded.array[0, 1, 0] != decoded.array[0, 2, 0]  # finer than 8 bits


def test_sixteen_bit_tiff():
    values = np.array([[0, 1000, 40000, 65535]], np.uint16)
    decoded = imageio.decode(save(Image.fromarray(values), "TIFF"))
    assert decoded.info.mode.startswith("I;16") and decoded.info.bit_depth == 16
    np.testing.assert_allclose(decoded.array[0, :, 0], values[0] / 65535, atol=1e-9)


def test_la_png():
    la = np.stack([np.arange(12, dtype=np.uint8) * 20, np.arange(12, dtype=np.uint8)[::-1] * 21], 1)
    la = la.reshape(3, 4, 2)
    decoded = imageio.decode(save(from_array(la, "LA"), "PNG"))
    assert decoded.info.mode == "LA" and decoded.channels == 2 and decoded.info.has_alpha
    np.testing.assert_array_equal(as8(decoded.array), la)


def test_palette_with_transparency():
    img = Image.new("P", (4, 2))
    img.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255] + [0] * (253 * 3))
    img.putdata([0, 1, 2, 0, 1, 2, 2, 1])
    decoded = imageio.decode(save(img, "PNG", transparency=1))
    assert decoded.info.mode == "P" and decoded.channels == 4 and decoded.info.has_alpha
    expected = {0: [255, 0, 0, 255], 1: [0, 255, 0, 0], 2: [0, 0, 255, 255]}
    got = as8(decoded.array).reshape(-1, 4)
    for pixel, index in zip(got, [0, 1, 2, 0, 1, 2, 2, 1], strict=True):
        assert pixel.tolist() == expected[index]


def test_palette_without_transparency():
    img = Image.fromarray(rgb8(6, 6)).convert("P", palette=Image.Palette.ADAPTIVE, colors=8)
    decoded = imageio.decode(save(img, "PNG"))
    assert decoded.info.mode == "P" and decoded.channels == 3 and not decoded.info.has_alpha
    np.testing.assert_array_equal(as8(decoded.array), np.asarray(img.convert("RGB")))


def test_grey_with_colour_key_gets_alpha():
    grey = np.array([[0, 50, 100], [50, 50, 255]], np.uint8)
    decoded = imageio.decode(save(Image.fromarray(grey), "PNG", transparency=50))
    assert decoded.channels == 2
    np.testing.assert_array_equal(as8(decoded.array[:, :, 1]), (grey != 50) * 255)


def test_animated_gif_gives_first_frame():
    frames = []
    for value in (0, 1, 2):
        img = Image.new("P", (5, 4), value)
        img.putpalette([10, 20, 30, 200, 100, 50, 0, 255, 0] + [0] * (253 * 3))
        frames.append(img)
    data = save(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=50)
    decoded = imageio.decode(data)
    assert decoded.info.animated and decoded.info.format == "GIF"
    np.testing.assert_array_equal(as8(decoded.array), np.broadcast_to([10, 20, 30], (4, 5, 3)))


def test_still_gif_is_not_animated():
    img = Image.new("P", (3, 3), 0)
    img.putpalette([1, 2, 3] + [0] * 765)
    decoded = imageio.decode(save(img, "GIF"))
    assert not decoded.info.animated
    assert as8(decoded.array)[0, 0].tolist() == [1, 2, 3]


def test_one_bit():
    bits = np.array([[0, 1, 1], [1, 0, 0]], bool)
    img = Image.fromarray((bits * 255).astype(np.uint8)).convert("1")
    decoded = imageio.decode(save(img, "PNG"))
    assert decoded.info.mode == "1" and decoded.info.bit_depth == 1
    np.testing.assert_array_equal(decoded.array[:, :, 0], bits.astype(np.float32))


def test_i_mode_tiff():
    values = np.array([[0, 1000, 65535, 70000, -5]], np.int32)
    decoded = imageio.decode(save(from_array(values.astype("<i4"), "I"), "TIFF"))
    assert decoded.info.mode == "I" and decoded.info.bit_depth == 32
    np.testing.assert_allclose(decoded.array[0, :, 0], [0, 1000 / 65535, 1, 1, 0], atol=1e-9)


def test_f_mode_tiff():
    values = np.array([[0.25, -1.0, 2.0, np.nan, 0.7]], np.float32)
    decoded = imageio.decode(save(from_array(values.astype("<f4"), "F"), "TIFF"))
    assert decoded.info.mode == "F" and decoded.info.bit_depth == 32
    np.testing.assert_array_equal(
        decoded.array[0, :, 0], np.array([0.25, 0.0, 1.0, 0.0, 0.7], np.float32)
    )


def test_bmp():
    pixels = rgb8(3, 5)
    decoded = imageio.decode(save(Image.fromarray(pixels), "BMP"))
    assert decoded.info.format == "BMP"
    np.testing.assert_array_equal(as8(decoded.array), pixels)


def test_webp_lossless():
    pixels = np.random.default_rng(3).integers(0, 256, (6, 5, 4), dtype=np.uint8)
    decoded = imageio.decode(save(Image.fromarray(pixels), "WEBP", lossless=True, exact=True))
    assert decoded.info.format == "WEBP" and decoded.channels == 4
    np.testing.assert_array_equal(as8(decoded.array), pixels)


def test_grey_jpeg():
    decoded = imageio.decode(save(Image.new("L", (8, 8), 77), "JPEG", quality=95))
    assert decoded.info.mode == "L" and decoded.channels == 1
    assert np.abs(as8(decoded.array) - 77).max() <= 1


# -- EXIF orientation --------------------------------------------------------------------

UPRIGHT = np.arange(4 * 6 * 3, dtype=np.uint8).reshape(4, 6, 3) * 3


def stored_for(orientation, upright):
    """How a camera stores `upright` under each EXIF orientation (EXIF 2.3, tag 274)."""
    a = upright
    return {
        1: a,
        2: a[:, ::-1],  # row 0 top, column 0 right
        3: a[::-1, ::-1],  # row 0 bottom, column 0 right
        4: a[::-1, :],  # row 0 bottom, column 0 left
        5: a.transpose(1, 0, 2),  # row 0 left, column 0 top
        6: np.rot90(a, 1),  # row 0 right, column 0 top
        7: a[::-1, ::-1].transpose(1, 0, 2),  # row 0 right, column 0 bottom
        8: np.rot90(a, -1),  # row 0 left, column 0 bottom
    }[orientation]


def with_orientation(pixels, orientation, fmt, **options):
    exif = Image.Exif()
    exif[0x0112] = orientation
    return save(Image.fromarray(np.ascontiguousarray(pixels)), fmt, exif=exif.tobytes(), **options)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_gives_upright_pixels(orientation):
    data = with_orientation(stored_for(orientation, UPRIGHT), orientation, "PNG")
    decoded = imageio.decode(data)
    np.testing.assert_array_equal(as8(decoded.array), UPRIGHT)
    assert decoded.info.exif_orientation == orientation
    assert decoded.info.exif_oriented == (orientation != 1)


def test_exif_orientation_in_jpeg():
    upright = np.kron(rgb8(4, 6, seed=5), np.ones((8, 8, 1), np.uint8))
    data = with_orientation(stored_for(6, upright), 6, "JPEG", quality=95)
    raw = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))  # no orientation applied
    decoded = imageio.decode(data)
    assert decoded.array.shape == (32, 48, 3)
    np.testing.assert_array_equal(as8(decoded.array), np.rot90(raw, -1))


# -- telling the caller what is coming ---------------------------------------------------


def _heard(data, **options):
    calls = []
    try:
        decoded = imageio.decode(data, on_header=lambda *shape: calls.append(shape), **options)
    except ImageDecodeError as error:
        return calls, error
    return calls, decoded


@pytest.mark.parametrize("image, fmt, expected", [
    (Image.fromarray(rgb8(5, 7)), "PNG", (5, 7, 3, np.uint8)),
    (Image.fromarray(rgb8(6, 4)).convert("RGBA"), "PNG", (6, 4, 4, np.uint8)),
    (Image.fromarray(rgb8(3, 9)).convert("P"), "GIF", (3, 9, 3, np.uint8)),
    (Image.fromarray(np.arange(12, dtype=np.uint16).reshape(3, 4) * 5000), "PNG", (3, 4, 1, np.uint16)),
    (Image.fromarray(np.linspace(0, 1, 20, dtype=np.float32).reshape(4, 5)), "TIFF", (4, 5, 1, np.float32)),
])
def test_the_header_callback_names_the_samples_that_decode(image, fmt, expected):
    calls, decoded = _heard(save(image, fmt))
    assert calls == [expected]
    assert decoded.native.shape == expected[:3] and decoded.native.dtype == expected[3]


def test_the_header_callback_comes_before_the_pixels_are_decoded():
    # the header is whole, the pixel data is not: the callback has been told, then decoding fails
    calls, error = _heard(save(Image.fromarray(rgb8(64, 64)), "PNG")[:400])
    assert calls == [(64, 64, 3, np.uint8)]
    assert str(error) == TRUNCATED_MESSAGE
    # a header that fails its own checks tells it nothing
    calls, error = _heard(png_claiming(20, 20), max_pixels=399)
    assert calls == [] and "the limit is 399 pixels" in str(error)


def test_the_header_callback_gives_the_stored_shape_of_a_rotated_image():
    upright = rgb8(4, 6, seed=3)
    calls, decoded = _heard(with_orientation(stored_for(6, upright), 6, "PNG"))
    assert calls == [(6, 4, 3, np.uint8)]  # stored on its side: the same number of samples
    assert decoded.native.shape == (4, 6, 3)


# -- encoding ----------------------------------------------------------------------------


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_png8_round_trip(channels):
    values = np.random.default_rng(channels).random((5, 6, channels), dtype=np.float32)
    decoded = imageio.decode(imageio.encode_png(values))
    assert decoded.info.bit_depth == 8 and decoded.channels == channels
    expected = np.rint(values.astype(np.float64) * 255) / 255
    np.testing.assert_allclose(decoded.array, expected, atol=1e-7)
    assert np.abs(decoded.array - values).max() <= 0.5 / 255 + 1e-7


def test_png16_grey_round_trip_through_pillow():
    values = np.random.default_rng(7).random((9, 4), dtype=np.float32)
    decoded = imageio.decode(imageio.encode_png(values, bits=16))
    assert decoded.info.bit_depth == 16
    expected = np.rint(values.astype(np.float64) * 65535) / 65535
    np.testing.assert_allclose(decoded.array[:, :, 0], expected, atol=1e-9)


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_png16_round_trip_through_opencv(channels):
    values = np.random.default_rng(8).random((7, 5, channels), dtype=np.float32)
    png = imageio.encode_png(values, bits=16)
    read = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_UNCHANGED)
    assert read.dtype == np.uint16
    read = read.reshape(7, 5, -1)
    if channels >= 3:  # OpenCV orders colour as BGR
        read = np.concatenate([read[:, :, 2::-1], read[:, :, 3:]], axis=2)
    expected = np.rint(values.astype(np.float64) * 65535).astype(np.uint16)
    if channels == 2:  # OpenCV expands grey + alpha to BGRA
        read = read[:, :, [0, 3]]
    np.testing.assert_array_equal(read, expected)


def test_quantise_rounding_rule():
    values = np.array([-0.5, 0.0, 0.5, 1.0, 1.5, np.nan, np.inf, -np.inf, 0.25])
    assert imageio.quantise(values, 8).tolist() == [0, 0, 128, 255, 255, 0, 255, 0, 64]
    # 0.5 × 65535 = 32767.5 and 0.25 × 65535 = 16383.75: halves go to the even neighbour.
    assert imageio.quantise(values, 16).tolist() == [
        0, 0, 32768, 65535, 65535, 0, 65535, 0, 16384,
    ]
    with pytest.raises(ValueError, match="8 or 16"):
        imageio.quantise(values, 12)


def test_encode_rejects_bad_input():
    with pytest.raises(ValueError, match="8 or 16"):
        imageio.encode_png(np.zeros((2, 2)), bits=12)
    with pytest.raises(ValueError, match="1 to 4 channels"):
        imageio.encode_png(np.zeros((2, 2, 5)))
    with pytest.raises(ValueError, match="empty"):
        imageio.encode_png(np.zeros((0, 2)))


def test_to_rgba8():
    grey = np.array([[0.0, 0.5], [1.2, -0.1]], np.float32)
    out = imageio.to_rgba8(grey)
    assert out.dtype == np.uint8 and out.shape == (2, 2, 4)
    assert out[0, 1].tolist() == [128, 128, 128, 255]
    assert out[1, 0].tolist() == [255, 255, 255, 255] and out[1, 1].tolist() == [0, 0, 0, 255]
    la = np.array([[[0.2, 0.6]]], np.float32)
    assert imageio.to_rgba8(la)[0, 0].tolist() == [51, 51, 51, 153]
    rgb = np.array([[[1.0, 0.0, 0.5]]], np.float32)
    assert imageio.to_rgba8(rgb)[0, 0].tolist() == [255, 0, 128, 255]
    rgba = np.array([[[1.0, 0.0, 0.5, 0.0]]], np.float32)
    assert imageio.to_rgba8(rgba)[0, 0].tolist() == [255, 0, 128, 0]


# -- row blocks: same results, no whole-image float64 -------------------------------------


def whole_image_quantise(array, bits):
    """The rule computed on the whole array at once in float64: the oracle for row blocks."""
    values = np.clip(np.nan_to_num(np.asarray(array, np.float64), nan=0.0), 0.0, 1.0)
    return np.rint(values * ((1 << bits) - 1)).astype(np.uint8 if bits == 8 else np.uint16)


def awkward_values(shape, seed):
    """Values on and next to every rounding boundary, plus NaN, infinities and overshoot."""
    rng = np.random.default_rng(seed)
    values = rng.random(shape, dtype=np.float32)
    flat = values.reshape(-1)
    k = rng.integers(0, 65535, flat.size // 3)
    flat[: k.size] = (k + 0.5) / 65535  # halves in 16 bits
    flat[k.size : 2 * k.size] = np.nextafter(((k % 255) + 0.5) / 255, 2).astype(np.float32)
    flat[-4:] = [np.nan, np.inf, -np.inf, 1.5]
    return values


@pytest.mark.parametrize("bits", [8, 16])
@pytest.mark.parametrize(
    "shape", [(700, 531, 3), (3, 100_003, 1), (1, 300_001), (300_001,), (9, 7, 4)]
)
def test_quantise_in_blocks_equals_whole_image_rule(bits, shape):
    values = awkward_values(shape, seed=len(shape))
    np.testing.assert_array_equal(imageio.quantise(values, bits), whole_image_quantise(values, bits))
    wide = values.astype(np.float64)[..., ::-1]  # float64, not contiguous
    np.testing.assert_array_equal(imageio.quantise(wide, bits), whole_image_quantise(wide, bits))
    assert imageio.quantise(np.float32(0.5), bits) == whole_image_quantise(0.5, bits)


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_to_rgba8_in_blocks(channels):
    values = awkward_values((611, 509, channels), seed=channels)
    q = whole_image_quantise(values, 8)
    expected = np.empty((611, 509, 4), np.uint8)
    expected[..., :3] = q[..., :1] if channels <= 2 else q[..., :3]
    expected[..., 3] = q[..., -1] if channels in (2, 4) else 255
    np.testing.assert_array_equal(imageio.to_rgba8(values), expected)


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_png16_rows_in_blocks(channels):
    values = awkward_values((517, 263, channels), seed=10 + channels)
    png = imageio.encode_png(values, bits=16)
    # The IDAT chunks hold each row as filter type 2 (Up) and the row minus the one above.
    stream, at = b"", 8
    while at < len(png):
        length, kind = struct.unpack(">I4s", png[at : at + 8])
        payload = png[at + 8 : at + 8 + length]
        assert struct.unpack(">I", png[at + 8 + length : at + 12 + length])[0] == zlib.crc32(
            kind + payload
        )
        stream += payload if kind == b"IDAT" else b""
        at += 12 + length
    scanlines = np.frombuffer(zlib.decompress(stream), np.uint8)
    scanlines = scanlines.reshape(517, 1 + 263 * channels * 2)
    assert (scanlines[:, 0] == 2).all()
    raw = np.cumsum(scanlines[:, 1:], axis=0, dtype=np.uint8)  # undo Up, modulo 256
    samples = raw.view(">u2").reshape(517, 263, channels)
    np.testing.assert_array_equal(samples, whole_image_quantise(values, 16))


def test_encoders_make_no_whole_image_float64():
    values = np.random.default_rng(12).random((1024, 1024, 4), dtype=np.float32)  # 16 MiB
    quarter = values.size * 8 // 4  # a quarter of a whole-image float64 copy
    assert peak_bytes(imageio.to_rgba8, values) < values.size + quarter
    assert peak_bytes(imageio.quantise, values, 16) < values.size * 2 + quarter
    assert peak_bytes(imageio.encode_png, values) < values.size + quarter
    # The 16-bit samples (2 bytes each), and the file: random samples do not compress, so it
    # is as large as its samples, held twice at the end (its chunks, and the joined bytes).
    # Still below one whole-image float64 copy (8 bytes a sample).
    assert peak_bytes(lambda: imageio.encode_png(values, bits=16)) < values.size * 6 + quarter


def test_decoding_makes_no_whole_image_intermediate():
    pixels = np.random.default_rng(13).integers(0, 256, (1024, 1024, 3), dtype=np.uint8)
    image = Image.fromarray(pixels).convert("P", palette=Image.Palette.ADAPTIVE, colors=200)
    data = save(image, "PNG", compress_level=1)
    native = pixels.size  # the result: 1024 × 1024 × 3 bytes
    blocks = 4 * imageio._BLOCK * 3  # a few row blocks in flight
    assert peak_bytes(imageio.decode, data) < len(data) + native + blocks
    oriented = with_orientation(pixels, 6, "PNG")  # rotated after Pillow's copy is freed
    assert peak_bytes(imageio.decode, oriented) < len(oriented) + 2 * native + blocks
