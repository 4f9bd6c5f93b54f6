"""Image reading (mode conversions, EXIF, damaged files, bombs), masks and saving."""

import struct
import warnings
import zlib

import numpy as np
import pytest
from PIL import Image

from ganpaint.document import imageio
from ganpaint.document.imageio import image_size, load_gray, load_mask, load_rgb, save_image
from ganpaint.errors import GanpaintError, ImageLoadError


def _png_with_header(path, width, height):
    """A tiny 1-bit PNG whose header declares ``width`` x ``height`` (its pixel data is bogus)."""

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    body = chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + body)
    return path


def test_rgb_png_exact(tmp_path):
    pixels = np.random.default_rng(1).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "a.png")
    out = load_rgb(tmp_path / "a.png")
    assert out.dtype == np.uint8 and out.flags.writeable
    np.testing.assert_array_equal(out, pixels)


def test_cmyk_jpeg(tmp_path):
    Image.new("CMYK", (8, 6), (0, 255, 255, 0)).save(tmp_path / "c.jpg", quality=95)
    out = load_rgb(tmp_path / "c.jpg")
    assert out.shape == (6, 8, 3)
    r, g, b = out[3, 4].astype(int)
    assert r > 230 and g < 25 and b < 25


def test_16bit_png_scaled_not_clipped(tmp_path):
    values = np.array([[0, 257, 32768, 65535]], np.uint16)
    Image.fromarray(values).save(tmp_path / "g16.png")
    assert Image.open(tmp_path / "g16.png").mode.startswith("I")
    np.testing.assert_array_equal(load_gray(tmp_path / "g16.png"), [[0, 1, 128, 255]])
    rgb = load_rgb(tmp_path / "g16.png")
    assert rgb.shape == (1, 4, 3)
    np.testing.assert_array_equal(rgb[0, :, 1], [0, 1, 128, 255])


def test_float_tiff_in_unit_range(tmp_path):
    Image.fromarray(np.array([[0.0, 0.5, 1.0]], np.float32)).save(tmp_path / "f.tif")
    np.testing.assert_array_equal(load_gray(tmp_path / "f.tif"), [[0, 128, 255]])


def test_palette_with_transparency(tmp_path):
    image = Image.new("P", (2, 1))
    image.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    image.putpixel((0, 0), 0)
    image.putpixel((1, 0), 1)
    image.save(tmp_path / "p.png", transparency=0)
    np.testing.assert_array_equal(load_rgb(tmp_path / "p.png"), [[[255, 255, 255], [0, 0, 255]]])


def test_rgba_composited_over_white(tmp_path):
    rgba = np.array([[[0, 0, 0, 0], [0, 0, 0, 255], [0, 0, 0, 128], [200, 100, 50, 255]]], np.uint8)
    Image.fromarray(rgba).save(tmp_path / "a.png")
    out = load_rgb(tmp_path / "a.png")
    np.testing.assert_array_equal(out[0, 0], [255, 255, 255])
    np.testing.assert_array_equal(out[0, 1], [0, 0, 0])
    np.testing.assert_array_equal(out[0, 2], [127, 127, 127])
    np.testing.assert_array_equal(out[0, 3], [200, 100, 50])


def test_la_and_bilevel(tmp_path):
    Image.fromarray(np.array([[[0, 128], [90, 255]]], np.uint8), "LA").save(tmp_path / "la.png")
    np.testing.assert_array_equal(load_rgb(tmp_path / "la.png")[0, :, 0], [127, 90])
    bilevel = Image.new("1", (2, 1))
    bilevel.putpixel((1, 0), 1)
    bilevel.save(tmp_path / "b.png")
    np.testing.assert_array_equal(load_rgb(tmp_path / "b.png")[0], [[0, 0, 0], [255, 255, 255]])


def test_exif_orientation_applied(tmp_path):
    pixels = np.zeros((4, 8, 3), np.uint8)  # W=8, H=4: left half red, right half blue
    pixels[:, :4] = (255, 0, 0)
    pixels[:, 4:] = (0, 0, 255)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    Image.fromarray(pixels).save(tmp_path / "r.jpg", exif=exif, quality=95)
    out = load_rgb(tmp_path / "r.jpg")
    assert out.shape == (8, 4, 3)
    assert out[0, 2, 0] > 200 and out[0, 2, 2] < 60  # the left (red) side is now on top
    assert out[7, 2, 2] > 200 and out[7, 2, 0] < 60
    assert image_size(tmp_path / "r.jpg") == (4, 8)
    assert load_gray(tmp_path / "r.jpg").shape == (8, 4)


def test_truncated_png(tmp_path):
    noise = np.random.default_rng(2).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(noise).save(tmp_path / "full.png")
    data = (tmp_path / "full.png").read_bytes()
    (tmp_path / "t.png").write_bytes(data[: len(data) // 2])
    assert image_size(tmp_path / "t.png") == (64, 64)  # the header is intact
    with pytest.raises(ImageLoadError, match=r"^cannot read 't\.png': .*(damaged|truncated)"):
        load_rgb(tmp_path / "t.png")


def test_text_file_is_not_an_image(tmp_path):
    (tmp_path / "x.png").write_text("hello, not a picture")
    with pytest.raises(ImageLoadError, match=r"^cannot read 'x\.png': not an image file\.$"):
        load_rgb(tmp_path / "x.png")
    with pytest.raises(ImageLoadError, match="not an image file"):
        load_gray(tmp_path / "x.png")


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ImageLoadError, match=r"^cannot read 'nope\.jpg': the file does not exist\.$"):
        load_rgb(tmp_path / "nope.jpg")
    with pytest.raises(ImageLoadError, match="folder"):
        load_rgb(tmp_path)


def test_decompression_bomb_refused(tmp_path):
    bomb = _png_with_header(tmp_path / "bomb.png", 20000, 20000)
    assert bomb.stat().st_size < 1000
    with pytest.raises(ImageLoadError, match="bomb.png.*pixels"):
        load_rgb(bomb)
    with pytest.raises(ImageLoadError):
        load_mask(bomb, (20000, 20000))


def test_just_above_limit_refused_before_decoding(tmp_path):
    big = _png_with_header(tmp_path / "big.png", 12000, 9000)  # 108 Mpx: above MAX_PIXELS, below 2x
    assert 12000 * 9000 > imageio.MAX_PIXELS
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with pytest.raises(ImageLoadError, match="12000x9000"):
            load_rgb(big)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with pytest.raises(ImageLoadError, match="big.png"):
            load_rgb(big)


def test_mask_thresholding(tmp_path):
    Image.fromarray(np.array([[0, 127, 128, 255]], np.uint8)).save(tmp_path / "m.png")
    mask = load_mask(tmp_path / "m.png", (1, 4))
    assert mask.dtype == np.uint8
    np.testing.assert_array_equal(mask, [[0, 0, 255, 255]])
    Image.fromarray(np.array([[[0, 0, 0, 255], [255, 255, 255, 0]]], np.uint8)).save(tmp_path / "m4.png")
    np.testing.assert_array_equal(load_mask(tmp_path / "m4.png", (1, 2)), [[0, 255]])


def test_mask_size_mismatch_message(tmp_path):
    Image.new("L", (4, 3)).save(tmp_path / "m.png")
    with pytest.raises(ImageLoadError, match=r"^mask 'm\.png' is 4x3 but the image is 5x6\.$"):
        load_mask(tmp_path / "m.png", (6, 5))


@pytest.mark.parametrize("name", ["o.png", "o.bmp", "o.tif", "o.webp", "O.PNG"])
def test_save_lossless_round_trip(tmp_path, name):
    pixels = np.random.default_rng(3).integers(0, 256, (6, 9, 3), dtype=np.uint8)
    if name == "o.webp":
        save_image(tmp_path / name, pixels, quality=100)
        assert load_rgb(tmp_path / name).shape == (6, 9, 3)
        return
    save_image(tmp_path / name, pixels)
    np.testing.assert_array_equal(load_rgb(tmp_path / name), pixels)


def test_save_gray_and_jpeg(tmp_path):
    gray = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    save_image(tmp_path / "g.png", gray)
    assert Image.open(tmp_path / "g.png").mode == "L"
    np.testing.assert_array_equal(load_gray(tmp_path / "g.png"), gray)
    flat = np.full((16, 16, 3), (10, 200, 90), np.uint8)
    save_image(tmp_path / "j.jpeg", flat, quality=90)
    assert Image.open(tmp_path / "j.jpeg").format == "JPEG"
    assert np.abs(load_rgb(tmp_path / "j.jpeg").astype(int) - flat).max() <= 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.png", "j.jpeg"]  # no temp files left


def test_save_refusals(tmp_path):
    with pytest.raises(GanpaintError, match="unknown file extension"):
        save_image(tmp_path / "x.gif2", np.zeros((2, 2), np.uint8))
    with pytest.raises(ValueError):
        save_image(tmp_path / "x.png", np.zeros((2, 2, 4), np.uint8))
    with pytest.raises(ValueError):
        save_image(tmp_path / "x.png", np.zeros((2, 2), np.float32))
    with pytest.raises(GanpaintError, match="cannot save"):
        save_image(tmp_path / "no_such_dir" / "x.png", np.zeros((2, 2), np.uint8))
    assert list(tmp_path.iterdir()) == []


def test_save_keeps_old_file_when_encoding_fails(tmp_path, monkeypatch):
    target = tmp_path / "keep.png"
    target.write_bytes(b"old")

    def broken_save(self, fp, *args, **kwargs):
        fp.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", broken_save)
    with pytest.raises(GanpaintError, match="keep.png"):
        save_image(target, np.zeros((2, 2), np.uint8))
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.png"]


def test_image_size_from_header(tmp_path):
    Image.new("RGB", (33, 11)).save(tmp_path / "s.png")
    assert image_size(tmp_path / "s.png") == (33, 11)
    with pytest.raises(ImageLoadError):
        image_size(tmp_path / "missing.png")


def test_image_size_of_rotated_png_without_decoding(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 8
    noise = np.random.default_rng(4).integers(0, 256, (20, 60, 3), dtype=np.uint8)
    Image.fromarray(noise).save(tmp_path / "r.png", exif=exif)
    data = (tmp_path / "r.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])  # pixel data cut: size is still known
    assert image_size(tmp_path / "cut.png") == (20, 60)
    assert load_rgb(tmp_path / "r.png").shape == (60, 20, 3)
