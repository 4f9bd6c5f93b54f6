"""``ganpaint models import ... --arch spade``: round trip of a (reduced) official-layout checkpoint, and
refusal of checkpoints with wrong keys, wrong shapes or non-tensor pickles."""

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from ganpaint.cli import main
from ganpaint.engines.registry import ModelRegistry, user_models_dir
from ganpaint.engines.synthesis import synthesize_array
from ganpaint.nets.spade import OFFICIAL_OPTIONS, SPADEGenerator


class Payload:
    """An arbitrary class: unpickling it would mean running code, which weights_only=True refuses."""


def small_checkpoint(path, labels="ade20k", ngf=2):
    """``torch.save`` of a generator state dict with the released layout at a reduced width, as
    ``latest_net_G.pth`` holds it."""
    torch.manual_seed(0)
    gen = SPADEGenerator(replace(OFFICIAL_OPTIONS[labels], ngf=ngf))
    state = gen.state_dict()
    torch.save(state, path)
    return state


def run_cli(capsys, *argv):
    code = main(list(argv))
    return code, capsys.readouterr()


def test_import_round_trip(tmp_path, capsys):
    ckpt = tmp_path / "latest_net_G.pth"
    state = small_checkpoint(ckpt)
    code, out = run_cli(capsys, "models", "import", str(ckpt), "--arch", "spade", "--labels", "ade20k",
                        "--name", "tiny-ade", "--ngf", "2")
    assert code == 0, out.err
    card_path = user_models_dir() / "tiny-ade.json"
    card = json.loads(card_path.read_text())
    assert card["task"] == "synthesize" and card["architecture"] == "spade"
    assert len(card["labels"]) == 151 and card["labels"][0]["name"] == "wall"
    assert card["labels"][150]["id"] == 150 and "don't care" in card["labels"][150]["name"]
    pre = card["config"]["preprocess"]
    assert pre["label_nc"] == 150 and pre["contain_dontcare_label"] and pre["dontcare_id"] == 150
    assert pre["num_upsampling_layers"] == "normal" and pre["crop_size"] == 256 and pre["instance_edges"] == "none"

    registry = ModelRegistry.default()
    assert registry.verify("tiny-ade")[0]
    loaded = registry.load_state_dict("tiny-ade")
    assert set(loaded) == set(state) and all(torch.equal(loaded[k], state[k]) for k in state)  # fp32, bit-exact
    engine = registry.create_engine("tiny-ade")
    engine.load(torch.device("cpu"))
    labels = np.zeros((50, 70), np.uint8)
    labels[25:] = 150
    assert synthesize_array(engine, labels).shape == (50, 70, 3)


def test_import_records_instance_edges_for_coco(tmp_path, capsys):
    ckpt = tmp_path / "coco_G.pth"
    small_checkpoint(ckpt, "coco")
    code, out = run_cli(capsys, "models", "import", str(ckpt), "--arch", "spade", "--labels", "coco", "--name", "tiny-coco",
                        "--ngf", "2")
    assert code == 0, out.err
    card = json.loads((user_models_dir() / "tiny-coco.json").read_text())
    assert "zeros" in card["config"]["preprocess"]["instance_edges"]
    assert len(card["labels"]) == 183 and card["config"]["options"]["no_instance"] is False


def test_refuses_wrong_keys(tmp_path, capsys):
    ckpt = tmp_path / "bad.pth"
    state = small_checkpoint(ckpt)
    del state["conv_img.bias"]
    state["extra.weight"] = torch.zeros(1)
    torch.save(state, ckpt)
    code, out = run_cli(capsys, "models", "import", str(ckpt), "--arch", "spade", "--labels", "ade20k", "--name", "bad",
                        "--ngf", "2")
    assert code == 2
    line = out.err.strip()
    assert line.count("\n") == 0 and "missing (conv_img.bias)" in line and "unexpected (extra.weight)" in line
    assert not (user_models_dir() / "bad.json").exists()


def test_refuses_wrong_shapes_and_configuration(tmp_path, capsys):
    ckpt = tmp_path / "small.pth"
    small_checkpoint(ckpt)
    code, out = run_cli(capsys, "models", "import", str(ckpt), "--arch", "spade", "--labels", "ade20k", "--name", "x")
    assert code == 2 and "wrong shape" in out.err and "fc.weight" in out.err
    code, out = run_cli(capsys, "models", "import", str(ckpt), "--arch", "spade", "--labels", "cityscapes", "--name", "x",
                        "--ngf", "2")
    assert code == 2 and "cityscapes" in out.err


def test_refuses_pickled_code_and_duplicates(tmp_path, capsys):
    ckpt = tmp_path / "evil.pth"
    torch.save({"fc.weight": torch.zeros(1), "payload": Payload()}, ckpt)  # weights_only refuses the class
    code, out = run_cli(capsys, "models", "import", str(ckpt), "--arch", "spade", "--labels", "ade20k", "--name", "evil")
    assert code == 2 and "safely" in out.err
    good = tmp_path / "good.pth"
    small_checkpoint(good)
    args = ("models", "import", str(good), "--arch", "spade", "--labels", "ade20k", "--name", "dup", "--ngf", "2")
    assert run_cli(capsys, *args)[0] == 0
    code, out = run_cli(capsys, *args)
    assert code == 2 and "already exists" in out.err
    assert run_cli(capsys, *args, "--overwrite")[0] == 0
    code, out = run_cli(capsys, "models", "import", str(tmp_path / "missing.pth"), "--arch", "spade", "--labels",
                        "ade20k", "--name", "m")
    assert code == 2 and "does not exist" in out.err


@pytest.mark.parametrize("name", ["ade20k", "coco", "cityscapes"])
def test_palettes(name):
    from ganpaint.engines.spade_import import load_palette
    from ganpaint.labelsets import LabelSet

    data = load_palette(name)
    labelset = LabelSet.from_json(data)
    ids = [lab.id for lab in labelset.labels]
    opt = OFFICIAL_OPTIONS[name]
    assert ids == list(range(opt.num_labels))
    if name == "coco":
        assert sum(1 for e in data["labels"] if e.get("unused")) == 11
    if name == "cityscapes":
        assert labelset.by_id(26).name == "car" and labelset.by_id(26).color == (0, 0, 142)
