"""ganpaint.engines.registry: model cards, verification, safe weights loading, engine lookup."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from ganpaint import engines
from ganpaint.engines import registry as reg
from ganpaint.engines.base import Engine
from ganpaint.errors import ModelError


class NotATensor:
    """A custom class: a pickle holding it must be refused by weights_only loading."""

    def __init__(self) -> None:
        self.payload = "arbitrary object"


def make_model(folder: Path, name: str, *, task="inpaint", architecture="fake-arch", weights=None, **extra) -> Path:
    """Write ``<name>.safetensors`` (unless ``weights`` is given as a file name already there) and a
    valid card ``<name>.json`` with the file's sha256; return the card path."""
    if weights is None:
        weights = f"{name}.safetensors"
        save_file({"w": torch.arange(4, dtype=torch.float32)}, str(folder / weights))
    card = {
        "name": name,
        "task": task,
        "architecture": architecture,
        "resolution": 256,
        "weights": weights,
        "sha256": reg.sha256_file(folder / weights),
        "config": {"channels": 8},
        "labels": None,
        "dataset": "none",
        "licence": "MIT",
        "training": {"command": "ganpaint train", "steps": 1},
        "metrics": {},
        "description": "test model",
        **extra,
    }
    return reg.write_card(card, folder / f"{name}.json")


@pytest.fixture
def models(tmp_path) -> Path:
    folder = tmp_path / "models"
    folder.mkdir()
    make_model(folder, "beta")
    make_model(folder, "alpha", task="colorize", architecture="other-arch")
    return folder


def test_cards_listed_sorted_and_filtered(models):
    r = reg.ModelRegistry([models])
    assert [c.name for c in r.cards()] == ["alpha", "beta"]
    assert [c.name for c in r.cards("inpaint")] == ["beta"]
    card = r.get("beta")
    assert card.resolution == 256 and card.config == {"channels": 8} and card.licence == "MIT"
    assert card.card_path == models / "beta.json"
    assert card.weights_path == models / "beta.safetensors"
    assert r.default_for("inpaint") is card and r.default_for("segment") is None
    assert not [p for p in r.problems if "model card" in p]


def test_unknown_model_message(models):
    with pytest.raises(ModelError) as info:
        reg.ModelRegistry([models]).get("gamma")
    assert str(info.value) == "unknown model 'gamma' (available: alpha, beta)"


def test_load_state_dict_and_verify(models):
    r = reg.ModelRegistry([models])
    state = r.load_state_dict("beta")
    assert list(state) == ["w"] and torch.equal(state["w"], torch.arange(4, dtype=torch.float32))
    assert r.verify("beta")[0] is True
    assert r.verify_all() == {"alpha": r.verify("alpha"), "beta": r.verify("beta")}


def test_missing_weights_message_names_the_file(models):
    (models / "beta.safetensors").unlink()
    r = reg.ModelRegistry([models])
    path = models / "beta.safetensors"
    with pytest.raises(ModelError) as info:
        r.load_state_dict(r.get("beta"))
    assert str(info.value) == f"weights file '{path}' for model 'beta' is missing"
    ok, message = r.verify("beta")
    assert not ok and str(path) in message
    assert r.default_for("inpaint").name == "beta"  # still the only inpaint card


def test_sha256_mismatch_message_names_the_file(models):
    r = reg.ModelRegistry([models])
    assert r.verify("beta")[0]  # hash now cached for this file's (mtime, size)
    path = models / "beta.safetensors"
    save_file({"w": torch.zeros(8)}, str(path))  # different content and size: the cache must not hide it
    with pytest.raises(ModelError) as info:
        r.load_state_dict(r.get("beta"))
    message = str(info.value)
    assert message.startswith(f"weights file '{path}' does not match its model card (sha256 ")
    assert f"!= expected {r.get('beta').sha256[:12]}..." in message
    assert r.verify("beta")[0] is False


def test_corrupt_safetensors_with_matching_hash(models):
    path = models / "junk.safetensors"
    path.write_bytes(b"\xff" * 64 + b"not a safetensors file")
    make_model(models, "junk", weights="junk.safetensors")
    r = reg.ModelRegistry([models])
    assert r.verify("junk")[0]  # the hash matches: only loading can tell
    with pytest.raises(ModelError, match="corrupt") as info:
        r.load_state_dict("junk")
    assert str(path) in str(info.value)


def test_broken_cards_go_to_problems_and_others_still_work(models):
    (models / "broken.json").write_text("{ not json", encoding="utf-8")
    (models / "typed.json").write_text(json.dumps({"name": "typed", "task": "inpaint", "architecture": "a",
                                                   "resolution": "big", "weights": "x.pt", "sha256": "0" * 64}))
    (models / "partial.json").write_text(json.dumps({"name": "partial"}))
    r = reg.ModelRegistry([models])
    assert r.names() == ["alpha", "beta"]
    problems = "\n".join(r.problems)
    assert f"model card '{models / 'broken.json'}' is not valid JSON" in problems
    assert f"model card '{models / 'typed.json'}': field 'resolution' must be an integer from 8 to 8192" in problems
    assert f"model card '{models / 'partial.json'}': missing required fields 'task'" in problems
    assert r.load_state_dict("beta")["w"].shape == (4,)


@pytest.mark.parametrize(
    "patch, complaint",
    [
        ({"weights": "../outside.safetensors"}, "field 'weights'"),
        ({"weights": "/abs/w.safetensors"}, "field 'weights'"),
        ({"sha256": "abc"}, "field 'sha256'"),
        ({"config": []}, "field 'config' must be an object"),
        ({"labels": [{"id": 1, "name": "sky", "color": [1, 2]}]}, "labels[0].color"),
        ({"resolution": True}, "field 'resolution'"),
    ],
)
def test_card_field_validation(tmp_path, patch, complaint):
    data = {"name": "m", "task": "t", "architecture": "a", "resolution": 64, "weights": "m.safetensors",
            "sha256": "a" * 64, **patch}
    with pytest.raises(ModelError) as info:
        reg.ModelCard.from_dict(data, tmp_path / "m.json")
    assert str(info.value).startswith(f"model card '{tmp_path / 'm.json'}': ") and complaint in str(info.value)


def test_labels_and_round_trip_through_write_card(tmp_path):
    labels = [{"id": 0, "name": "sky", "color": [0, 0, 255]}, {"id": 1, "name": "tree", "color": "#00ff00"}]
    data = {"name": "m", "task": "t", "architecture": "a", "resolution": 64, "weights": "m.safetensors",
            "sha256": "A" * 64, "labels": labels}
    card = reg.ModelCard.from_dict(data, tmp_path / "m.json")
    assert card.sha256 == "a" * 64 and card.labels == labels
    reg.write_card(card, tmp_path / "m.json")
    assert reg.ModelCard.from_json(tmp_path / "m.json") == card
    assert [p.name for p in tmp_path.iterdir()] == ["m.json"]  # no temp file left behind


def test_pt_weights_loaded_with_weights_only(models):
    torch.save({"w": torch.ones(3)}, models / "plain.pt")
    make_model(models, "plain", weights="plain.pt")
    torch.save({"w": torch.ones(3), "evil": NotATensor()}, models / "evil.pt")
    make_model(models, "evil", weights="evil.pt")
    r = reg.ModelRegistry([models])
    assert torch.equal(r.load_state_dict("plain")["w"], torch.ones(3))
    with pytest.raises(ModelError, match="could not be loaded safely") as info:
        r.load_state_dict("evil")
    assert str(models / "evil.pt") in str(info.value)


def test_duplicate_names_first_folder_wins(tmp_path, models):
    other = tmp_path / "user"
    other.mkdir()
    make_model(other, "beta", description="user copy")
    r = reg.ModelRegistry([models, tmp_path / "missing", other])
    assert r.get("beta").card_path == models / "beta.json"
    assert any("repeats the name 'beta'" in p for p in r.problems)


def test_env_dirs(monkeypatch, tmp_path, models):
    monkeypatch.setenv("GANPAINT_MODELS_DIR", f"{tmp_path / 'nothing'}{reg.os.pathsep}{models}")
    assert reg.ModelRegistry.default().names() == ["alpha", "beta"]
    monkeypatch.setenv("GANPAINT_DATA_DIR", str(tmp_path / "data"))
    assert reg.user_models_dir() == tmp_path / "data" / "models"
    assert reg.shipped_models_dir() == Path(__file__).resolve().parent.parent / "ganpaint" / "models"


class FakeArchEngine(Engine):
    task = "inpaint"
    architectures = ("fake-arch",)

    def load(self, device, half=False):
        self.device = device

    def run(self, request, cancel, progress):
        return np.zeros((1, 1, 3), np.uint8)


def test_create_engine_and_engine_module_problems(models, monkeypatch):
    monkeypatch.setattr(engines, "ENGINE_MODULES", ("ganpaint.engines.no_such_engine_module",))
    r = reg.ModelRegistry([models])
    with pytest.raises(ModelError) as info:
        r.create_engine("beta")
    assert "architecture 'fake-arch'" in str(info.value) and "no_such_engine_module" in str(info.value)
    assert any("engine module 'ganpaint.engines.no_such_engine_module' could not be imported" in p
               for p in r.problems)
    reg.register_engine_class(FakeArchEngine)
    try:
        engine = r.create_engine("beta")
        assert isinstance(engine, FakeArchEngine) and engine.card is r.get("beta")
        with pytest.raises(ModelError, match="no engine can run model 'alpha'"):
            r.create_engine("alpha")
    finally:
        reg.unregister_engine_class(FakeArchEngine)
    with pytest.raises(ModelError):
        r.create_engine("beta")


def test_task_mismatch_between_card_and_engine(tmp_path):
    make_model(tmp_path, "wrong", task="colorize", architecture="fake-arch")
    reg.register_engine_class(FakeArchEngine)
    try:
        with pytest.raises(ModelError, match="says task 'colorize'"):
            reg.ModelRegistry([tmp_path]).create_engine("wrong")
    finally:
        reg.unregister_engine_class(FakeArchEngine)


def test_a_card_marked_default_wins_over_the_first_by_name(models):
    make_model(models, "zeta", config={"channels": 8, "default": True})
    r = reg.ModelRegistry([models])
    assert r.default_for("inpaint").name == "zeta"
    (models / "zeta.safetensors").unlink()  # without its weights it cannot be the default
    assert reg.ModelRegistry([models]).default_for("inpaint").name == "beta"


# ------------------------------------------------------------------ issue #8.3: one bad card bricks nothing


def _shipped_inpaint_card(folder: Path, name: str, **config_changes) -> Path:
    """A copy of the shipped inpainting card (real architecture), pointing at tiny fake weights."""
    shipped = json.loads((Path(reg.shipped_models_dir()) / "inpaint-gated-v1.json").read_text())
    save_file({"w": torch.zeros(1)}, str(folder / f"{name}.safetensors"))
    shipped.update(name=name, weights=f"{name}.safetensors", sha256=reg.sha256_file(folder / f"{name}.safetensors"))
    shipped["config"] = {**shipped["config"], **config_changes}
    return reg.write_card(shipped, folder / f"{name}.json")


def test_deeply_nested_card_is_reported_once_and_others_work(models, capsys, monkeypatch):
    (models / "deep.json").write_text('{"name": ' + "[" * 100_000 + "]" * 100_000 + "}")
    (models / "deep2.json").write_text(json.dumps({"name": "deep2", "config": _nested_list(40)}))
    r = reg.ModelRegistry([models])
    assert r.names() == ["alpha", "beta"]
    deep = [p for p in r.problems if "deep.json" in p]
    assert len(deep) == 1 and "nests deeper" in deep[0] and len(deep[0]) < 300
    assert any("deep2.json" in p and "nests deeper" in p for p in r.problems)
    from ganpaint.cli import main

    monkeypatch.setenv("GANPAINT_MODELS_DIR", str(models))
    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    assert "beta" in out and out.count("deep.json") == 1


def _nested_list(depth):
    value = 1
    for _ in range(depth):
        value = [value]
    return value


def test_absurd_network_size_refused_before_anything_is_built(tmp_path, monkeypatch):
    from ganpaint.nets import gated_conv

    built = []
    real_init = gated_conv.InpaintGenerator.__init__
    monkeypatch.setattr(gated_conv.InpaintGenerator, "__init__",
                        lambda self, *a, **k: (built.append(k), real_init(self, *a, **k))[1])
    _shipped_inpaint_card(tmp_path, "huge", base_channels=2048)
    _shipped_inpaint_card(tmp_path, "fine")
    r = reg.ModelRegistry([tmp_path])
    assert r.names() == ["fine"]
    [problem] = [p for p in r.problems if "huge.json" in p]
    assert "config 'base_channels' must be a number from 1 to 128, got 2048" in problem
    # the late path too: a card parsed before its engine class was known is checked by create_engine
    card = reg.ModelCard.from_json(tmp_path / "huge.json")
    r._cards["huge"] = card
    with pytest.raises(ModelError, match="base_channels"):
        r.create_engine("huge")
    # weights that fail their sha256 are refused before the network is built
    engine = r.create_engine("fine")
    (tmp_path / "fine.safetensors").write_bytes(b"tampered")
    with pytest.raises(ModelError, match="does not match its model card"):
        engine.load(torch.device("cpu"))
    assert built == []


@pytest.mark.parametrize("change, complaint", [
    ({"channel_mult": [1, 2, 4000]}, "channel_mult"),
    ({"channel_mult": [1] * 100}, "channel_mult"),
    ({"dilations": "big"}, "dilations"),
    ({"work_size": 10**400}, "work_size"),
    ({"max_hole_radius": True}, "max_hole_radius"),
    ({"ffc_blocks": 1000}, "ffc_blocks"),
    ({"native_detail": -1}, "native_detail"),
    ({"detail_cells": 0}, "detail_cells"),
])
def test_config_ranges(tmp_path, change, complaint):
    _shipped_inpaint_card(tmp_path, "bad", **change)
    r = reg.ModelRegistry([tmp_path])
    assert r.names() == []
    assert any(f"config '{complaint}'" in p and "bad.json" in p for p in r.problems)


def test_segment_and_spade_limits_accept_the_shipped_cards_and_refuse_absurd_ones(tmp_path):
    shipped = reg.ModelRegistry([reg.shipped_models_dir()])
    assert not [p for p in shipped.problems if "config" in p]
    card = json.loads((Path(reg.shipped_models_dir()) / "spade-landscape.json").read_text())
    card["config"]["options"]["ngf"] = 4096
    card["name"] = "spade-huge"
    reg.write_card(card, tmp_path / "spade-huge.json")
    r = reg.ModelRegistry([tmp_path])
    assert any("config 'options.ngf'" in p for p in r.problems) and r.names() == []


@pytest.mark.parametrize("resolution", [10**400, 0, 100_000, 1.5])
def test_resolution_range(tmp_path, resolution):
    make_model(tmp_path, "m", resolution=resolution)
    r = reg.ModelRegistry([tmp_path])
    assert r.names() == [] and any("resolution" in p for p in r.problems)


def test_huge_card_file_refused(tmp_path):
    make_model(tmp_path, "m", description="x" * (reg.MAX_CARD_BYTES + 10))
    r = reg.ModelRegistry([tmp_path])
    assert r.names() == [] and any("larger than" in p for p in r.problems)
