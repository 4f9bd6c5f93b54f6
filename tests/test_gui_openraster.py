"""File > Export layers and File > Open of OpenRaster files in the real window (offscreen, fake engines)."""

import os
import subprocess
import sys

import numpy as np
import pytest
from PySide6.QtWidgets import QDialogButtonBox, QMessageBox

from ganpaint.document import openraster
from ganpaint.ui import openraster_dialog
from tests.conftest import REPO
from tests.test_openraster import krita_like_file

pytestmark = pytest.mark.gui


def test_export_layers_then_open_them_back(window, qtbot, tmp_path):
    doc = window.controller.doc
    doc.mask[20:60, 30:90] = 255
    doc.labels[:40] = 1
    path = str(tmp_path / "cat.ora")
    assert window.actions_by_name["export_layers"].text().startswith("Export &layers")
    assert window.export_layers_to(path)
    assert openraster.validate(path) == []
    assert [layer.name for layer in openraster.read_stack(path).layers][-1] == "photo"

    photo, mask, labels = doc.photo.copy(), doc.mask.copy(), doc.labels.copy()
    assert window.open_path(path)  # every layer is named: no question asked
    opened = window.controller.doc
    assert opened is not doc
    assert np.array_equal(opened.photo, photo) and np.array_equal(opened.mask, mask)
    assert np.array_equal(opened.labels, labels)
    assert window.windowTitle().startswith("cat.ora")


def test_open_asks_for_unnamed_layers_and_cancel_keeps_the_document(window, monkeypatch, tmp_path):
    photo = np.zeros((4, 6, 4), np.uint8)
    photo[..., :3], photo[..., 3] = 90, 255
    holes = np.zeros((4, 6, 4), np.uint8)
    holes[1:3, 1:3] = 255  # painted white on transparency
    path = str(krita_like_file(tmp_path / "k.ora", [("Layer 2", holes, -1, 0), ("Layer 1", photo, -1, 0)]))
    asked = []

    def answer(parent, stack, roles, name):
        asked.append((roles, name))
        return {"photo": 1, "mask": 0}

    monkeypatch.setattr(openraster_dialog, "ask_layer_roles", answer)
    assert window.open_path(path)
    assert asked == [({"photo": 1}, "k.ora")]
    doc = window.controller.doc
    assert doc.shape == (4, 6) and (doc.photo == 90).all()
    assert doc.mask[1, 1] == 255 and doc.mask[0, 0] == 0

    monkeypatch.setattr(openraster_dialog, "ask_layer_roles", lambda *args: None)
    assert not window.open_path(path)
    assert window.controller.doc is doc


def test_open_broken_ora_shows_a_notice(window, tmp_path):
    before = window.controller.doc
    (tmp_path / "bad.ora").write_bytes(b"PK\x03\x04 nonsense")
    assert not window.open_path(str(tmp_path / "bad.ora"))
    assert window.notice_bar.level == "error" and "bad.ora" in window.notice_bar.text.text()
    assert window.controller.doc is before


def test_unknown_label_colours_can_be_snapped(window, monkeypatch, tmp_path):
    labelset = window.controller.labelset
    colour = np.array(labelset.labels[1].color)
    rgba = np.zeros((4, 6, 4), np.uint8)
    rgba[..., :3], rgba[..., 3] = np.clip(colour + 2, 0, 255), 255
    path = str(krita_like_file(tmp_path / "l.ora", [("labels", rgba, -1, 0), ("photo", rgba, -1, 0)]))
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    assert window.open_path(path)
    assert (window.controller.doc.labels == labelset.labels[1].id).all()


def test_layer_roles_dialog_allows_one_photo_and_one_of_each_role(qtbot):
    layers = tuple(openraster.OraLayerInfo(name, f"data/{i}.png", 0, 0, 1.0, True) for i, name in enumerate(["a", "", "c"]))
    dialog = openraster_dialog.LayerRolesDialog(openraster.OraStack(8, 8, layers), {"photo": 2}, "x.ora")
    qtbot.addWidget(dialog)
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    assert ok.isEnabled() and dialog.roles() == {"photo": 2}
    dialog.combos[2].setCurrentIndex(0)  # no photo
    assert not ok.isEnabled() and "photo" in dialog.problem.text()
    dialog.combos[0].setCurrentIndex(1)
    dialog.combos[1].setCurrentIndex(2)
    dialog.combos[2].setCurrentIndex(2)  # two masks
    assert not ok.isEnabled() and "mask" in dialog.problem.text()
    dialog.combos[2].setCurrentIndex(3)
    assert ok.isEnabled() and dialog.roles() == {"photo": 0, "mask": 1, "labels": 2}


def test_studio_closes_itself_after_showing_the_window_when_asked(tmp_path):
    """GANPAINT_SMOKE_EXIT_MS: the packaging smoke tests open the GUI headless and see it exit cleanly."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", GANPAINT_SMOKE_EXIT_MS="0", PYTHONPATH=str(REPO),
               GANPAINT_DATA_DIR=str(tmp_path))
    done = subprocess.run([sys.executable, "-m", "ganpaint"], env=env, cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "smoke: shown 'coffee.png - GANPaint Studio' 600x400, visible=True" in done.stdout
    bad = subprocess.run([sys.executable, "-m", "ganpaint"], env=dict(env, GANPAINT_SMOKE_EXIT_MS="soon"),
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert bad.returncode != 0 and "GANPAINT_SMOKE_EXIT_MS must be a number" in bad.stderr
