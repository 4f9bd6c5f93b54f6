"""Shared fixtures: headless Qt, isolated user data, a fake inpainting model, ../shared discovery."""

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("GANPAINT_SHARED", REPO.parent / "shared"))
DATASETS = SHARED / "datasets"
SAMPLES = REPO / "ganpaint" / "resources" / "samples"


@pytest.fixture(autouse=True)
def isolated_user_data(tmp_path_factory, monkeypatch):
    """Autosaves, user models and settings of every test go to a fresh folder, never the user's."""
    data_dir = tmp_path_factory.mktemp("userdata")
    monkeypatch.setenv("GANPAINT_DATA_DIR", str(data_dir))
    monkeypatch.setenv("GANPAINT_CONFIG_DIR", str(data_dir / "config"))
    return data_dir


@pytest.fixture
def shared_datasets():
    """Path of ../shared/datasets; skips the test when the shared folder is absent (a user's clone)."""
    if not DATASETS.is_dir():
        pytest.skip("../shared/datasets is not present")
    return DATASETS


@pytest.fixture
def fake_models(tmp_path, monkeypatch):
    """A models folder holding one card ``fake-inpaint`` served by :class:`tests.fakes.FakeInpaintEngine`.

    Returns the fake engine class, whose class attributes let a test hold or fail runs.
    """
    import json

    from tests.fakes import FakeInpaintEngine, FakeSegmentEngine, FakeSynthesisEngine, write_fake_model

    from ganpaint.engines.registry import register_engine_class, unregister_engine_class

    models = tmp_path / "models"
    models.mkdir()
    labels = json.loads((REPO / "ganpaint" / "resources" / "palettes" / "landscape.json").read_text())["labels"]
    write_fake_model(models, "fake-inpaint")
    write_fake_model(models, "fake-segment", "segment", "fake-segment", labels)
    write_fake_model(models, "fake-spade", "synthesize", "fake-spade", labels)
    monkeypatch.setenv("GANPAINT_MODELS_DIR", str(models))
    FakeInpaintEngine.reset()
    engines = (FakeInpaintEngine, FakeSegmentEngine, FakeSynthesisEngine)
    for engine in engines:
        register_engine_class(engine)
    yield FakeInpaintEngine
    FakeInpaintEngine.release.set()
    for engine in engines:
        unregister_engine_class(engine)


@pytest.fixture
def window(qtbot, fake_models):
    """The real main window on a sample photo, with fake engines; closed after the test."""
    from ganpaint.ui.app import create_window

    win = create_window(str(SAMPLES / "chelsea.png"), device="cpu", offer_recovery=False)
    win.confirm_discard = False
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.close()
