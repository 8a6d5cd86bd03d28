"""Decoder corpus and encoder rules. Every input is made here, with Pillow or by hand."""

import io
import struct
import warnings
import zlib

import cv2
import numpy as np
import pytest
from filterlab import imageio
from filterlab.imageio import ImageDecodeError
from PIL import Image, ImageFile

UNSUPPORTED = "The file is not a supported image (PNG, JPEG, WebP, GIF, BMP or TIFF)."
TRUNCATED = "The file is truncated or corrupt: "


def save(img, fmt, **options):
    buffer = io.BytesIO()
    img.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def chunk(kind, payload):
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(
        ">I", zlib.crc32(kind + payload)
    )


def png_claiming(width, height):
    """A PNG whose header claims width × height RGB pixels, with almost no data."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
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
    assert decode_error(png_claiming(30000, 30000)) == "The image is 900 MP; the limit is 64 MP."


def test_header_beyond_default_cap():
    assert decode_error(png_claiming(9000, 8000)) == (
        "The image is 9000×8000 = 72 MP; the limit is 64 MP."
    )


def test_small_cap_checked_before_decoding():
    # The data is far too short for 20×20, so only a header check can give this message.
    assert decode_error(png_claiming(20, 20), max_pixels=399) == (
        "The image is 20×20 = 400 pixels; the limit is 399 pixels."
    )
    with pytest.raises(ImageDecodeError, match="truncated or corrupt"):
        imageio.decode(png_claiming(20, 20), max_pixels=400)


def test_bomb_warning_is_an_error(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 50)
    data = save(Image.fromarray(rgb8(8, 8)), "PNG")  # 64 pixels: Pillow only warns
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert decode_error(data) == "The image is 64 pixels; the limit is 50 pixels."


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
