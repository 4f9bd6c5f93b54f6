"""Label-map files: class-id and colour PNGs, palette PNGs, refusals that name the offenders, snapping."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image

from ganpaint.document.labelmaps import load_label_map, save_label_map
from ganpaint.errors import GanpaintError, ImageLoadError
from ganpaint.labelsets import LabelSet, default_labelset

COLORS = {0: (110, 170, 235), 1: (30, 110, 40), 2: (128, 64, 128), 5: (160, 60, 50)}


@pytest.fixture
def labelset():
    """Four classes with a gap in the ids (3 and 4 are not classes)."""
    return LabelSet.from_json({"name": "test", "labels": [
        {"id": i, "name": n, "color": list(COLORS[i])} for i, n in ((0, "sky"), (1, "tree"), (2, "road"), (5, "building"))
    ]})


def _labels(h=24, w=32, seed=0):
    rng = np.random.default_rng(seed)
    return rng.choice(np.array([0, 1, 2, 5], np.uint8), size=(h, w))


def _colorize(labels):
    out = np.zeros(labels.shape + (3,), np.uint8)
    for i, c in COLORS.items():
        out[labels == i] = c
    return out


@pytest.mark.parametrize("mode, pil_mode", [("ids", "L"), ("color", "RGB")])
def test_round_trip(tmp_path, labelset, mode, pil_mode):
    labels = _labels()
    path = tmp_path / f"map_{mode}.png"
    save_label_map(path, labels, labelset, mode=mode)
    with Image.open(path) as im:
        assert im.mode == pil_mode and im.size == (32, 24)
    if mode == "color":
        assert np.array_equal(np.array(Image.open(path)), _colorize(labels))
    else:
        assert np.array_equal(np.array(Image.open(path)), labels)
    back = load_label_map(path, labelset, shape=(24, 32))
    assert back.dtype == np.uint8 and back.shape == (24, 32)
    assert np.array_equal(back, labels)


def test_save_is_atomic_and_refuses_bad_input(tmp_path, labelset):
    path = tmp_path / "m.png"
    save_label_map(path, _labels(), labelset)
    before = path.read_bytes()
    bad = _labels()
    bad[0, :3] = 3
    with pytest.raises(GanpaintError, match=r"class ids not in the test label set: 3 \(3 px\)"):
        save_label_map(path, bad, labelset)
    assert path.read_bytes() == before
    with pytest.raises(GanpaintError, match=r"\.png"):
        save_label_map(tmp_path / "m.jpg", _labels(), labelset)
    with pytest.raises(ValueError):
        save_label_map(path, _labels().astype(np.int32), labelset)
    with pytest.raises(ValueError):
        save_label_map(path, _labels(), labelset, mode="rgb")
    assert not [p.name for p in tmp_path.iterdir() if p.name != "m.png"]


def test_unknown_colours_are_listed_with_counts(tmp_path, labelset):
    rgb = _colorize(np.zeros((20, 30), np.uint8))
    rgb[:5, :] = (255, 0, 255)  # 150 px
    rgb[5, :4] = (1, 2, 3)  # 4 px
    path = tmp_path / "x.png"
    Image.fromarray(rgb).save(path)
    with pytest.raises(ImageLoadError) as info:
        load_label_map(path, labelset)
    msg = str(info.value)
    assert "label map 'x.png' has colours not in the test palette" in msg
    assert "#ff00ff (150 px), #010203 (4 px)" in msg
    assert "--snap" in msg


def test_many_unknown_colours_are_capped(tmp_path, labelset):
    rgb = np.zeros((10, 20, 3), np.uint8)
    rgb[..., 0] = np.arange(200, dtype=np.uint8).reshape(10, 20)  # 200 distinct unknown colours (0,0,0 too)
    rgb[..., 2] = 7
    path = tmp_path / "many.png"
    Image.fromarray(rgb).save(path)
    with pytest.raises(ImageLoadError, match=r"and 192 more"):
        load_label_map(path, labelset)


def test_gray_rgb_id_map_gets_a_hint(tmp_path, labelset):
    ids = np.repeat(_labels()[..., None], 3, axis=2)
    path = tmp_path / "gray.png"
    Image.fromarray(ids).save(path)
    with pytest.raises(ImageLoadError, match="save it as a grayscale PNG"):
        load_label_map(path, labelset)


def test_snap_maps_unknown_colours_to_the_nearest_class(tmp_path, labelset):
    labels = _labels(seed=3)
    rgb = _colorize(labels).astype(np.int16)
    rng = np.random.default_rng(1)
    noisy = np.clip(rgb + rng.integers(-12, 13, rgb.shape), 0, 255).astype(np.uint8)  # like JPEG damage
    path = tmp_path / "noisy.png"
    Image.fromarray(noisy).save(path)
    with pytest.raises(ImageLoadError):
        load_label_map(path, labelset)
    assert np.array_equal(load_label_map(path, labelset, snap=True), labels)
    # a JPEG colour map, the case snapping exists for
    big = np.kron(labels, np.ones((8, 8), np.uint8))
    jpg = tmp_path / "map.jpg"
    Image.fromarray(_colorize(big)).save(jpg, quality=90)
    snapped = load_label_map(jpg, labelset, snap=True)
    assert (snapped == big).mean() > 0.9


def test_unknown_ids_are_refused_even_with_snap(tmp_path, labelset):
    ids = _labels()
    ids[0, :7] = 3
    ids[1, :2] = 200
    path = tmp_path / "ids.png"
    Image.fromarray(ids).save(path)
    for snap in (False, True):
        with pytest.raises(ImageLoadError) as info:
            load_label_map(path, labelset, snap=snap)
        msg = str(info.value)
        assert "class ids not in the test label set: 3 (7 px), 200 (2 px)" in msg
        assert "valid ids are 0, 1, 2, 5" in msg


def test_size_mismatch(tmp_path, labelset):
    path = tmp_path / "small.png"
    save_label_map(path, _labels(24, 32), labelset)
    with pytest.raises(ImageLoadError, match=r"label map 'small.png' is 32x24 but the image is 40x30"):
        load_label_map(path, labelset, shape=(30, 40))


def _voc_palette():
    pal = []
    for i in range(256):
        r = g = b = 0
        c = i
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        pal += [r, g, b]
    return pal


def test_palette_png_with_index_ids(tmp_path, labelset):
    labels = _labels()
    im = Image.frombytes("P", (32, 24), labels.tobytes())
    im.putpalette(_voc_palette())  # PASCAL-VOC-style colours, not the model's: indices are the ids
    path = tmp_path / "voc.png"
    im.save(path)
    with Image.open(path) as check:
        assert check.mode == "P"
    assert np.array_equal(load_label_map(path, labelset), labels)


def test_palette_png_with_class_colours(tmp_path, labelset):
    labels = _labels()
    # palette entries in another order than the ids: the colours decide
    order = [5, 2, 1, 0]
    index_of = {cid: k for k, cid in enumerate(order)}
    indices = np.vectorize(index_of.get)(labels).astype(np.uint8)
    im = Image.frombytes("P", (32, 24), indices.tobytes())
    im.putpalette([c for cid in order for c in COLORS[cid]])
    path = tmp_path / "pal.png"
    im.save(path)
    assert np.array_equal(load_label_map(path, labelset), labels)


def test_palette_png_with_unknown_colours_and_indices(tmp_path, labelset):
    indices = np.full((10, 10), 9, np.uint8)  # index 9 is no class id, its colour no class colour
    indices[:2] = 0
    im = Image.frombytes("P", (10, 10), indices.tobytes())
    im.putpalette([0, 0, 0] * 9 + [255, 0, 255] + [0, 0, 0] * 246)
    path = tmp_path / "p.png"
    im.save(path)
    with pytest.raises(ImageLoadError, match=r"#ff00ff \(80 px\), #000000 \(20 px\)"):
        load_label_map(path, labelset)
    snapped = load_label_map(path, labelset, snap=True)
    assert set(np.unique(snapped)) <= {0, 1, 2, 5}


def test_sixteen_bit_ids_and_rgba_colours(tmp_path, labelset):
    labels = _labels()
    path16 = tmp_path / "ids16.png"
    Image.fromarray(labels.astype(np.uint16)).save(path16)
    with Image.open(path16) as im:
        assert im.mode.startswith("I")
    assert np.array_equal(load_label_map(path16, labelset), labels)
    big = labels.astype(np.uint16)
    big[0, 0] = 1000
    Image.fromarray(big).save(path16)
    with pytest.raises(ImageLoadError, match=r"1000 \(1 px\)"):
        load_label_map(path16, labelset)

    rgba = np.dstack([_colorize(labels), np.full(labels.shape, 128, np.uint8)])
    path_rgba = tmp_path / "rgba.png"
    Image.fromarray(rgba).save(path_rgba)
    assert np.array_equal(load_label_map(path_rgba, labelset), labels)  # alpha is ignored


def test_unreadable_files(tmp_path, labelset):
    with pytest.raises(ImageLoadError, match="does not exist"):
        load_label_map(tmp_path / "missing.png", labelset)
    text = tmp_path / "text.png"
    text.write_text("not a png")
    with pytest.raises(ImageLoadError, match="not an image"):
        load_label_map(text, labelset)
    good = tmp_path / "good.png"
    save_label_map(good, np.zeros((64, 64), np.uint8), labelset, mode="color")
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(good.read_bytes()[:-40])
    with pytest.raises(ImageLoadError):
        load_label_map(truncated, labelset)
    floats = tmp_path / "f.tif"
    Image.fromarray(np.zeros((4, 4), np.float32)).save(floats)
    with pytest.raises(ImageLoadError, match="floating-point"):
        load_label_map(floats, labelset)


def test_shipped_landscape_palette_round_trip(tmp_path):
    landscape = default_labelset()
    ids = np.array([[lab.id for lab in landscape.labels]] * 3, np.uint8)
    path = tmp_path / "landscape.png"
    save_label_map(path, ids, landscape, mode="color")
    assert np.array_equal(load_label_map(path, landscape, shape=ids.shape), ids)


def test_labelmaps_import_without_torch_or_qt():
    script = textwrap.dedent(
        """
        import sys
        for name in ("torch", "PySide6", "PyQt5", "PyQt6"):
            sys.modules[name] = None  # any import of them raises ImportError
        import ganpaint.document.labelmaps
        print("OK")
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "OK"
