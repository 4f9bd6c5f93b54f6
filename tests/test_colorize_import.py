"""The SIGGRAPH 2017 colorization network (Zhang et al.) has exactly the original's state_dict keys and shapes,
and ``ganpaint models import CKPT --arch siggraph17`` turns a checkpoint of the original into a studio model that
runs with the original's preprocessing.

``tests/fixtures/siggraph17_colorization_keys.json`` is a copy of the key/shape listing produced by instantiating
the original code (``../shared/reference/siggraph17_colorization_keys.json``), so these tests run without
``../shared``.
"""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from ganpaint.cli import main
from ganpaint.document.vectors import ColorHint
from ganpaint.engines.colorize import colorize_array, work_size
from ganpaint.engines.registry import ModelRegistry, user_models_dir
from ganpaint.engines.siggraph17_import import import_checkpoint
from ganpaint.errors import ModelError
from ganpaint.lab import rgb8_to_lab
from ganpaint.nets.colorization import AB_BINS, SIGGRAPHGenerator, ab_bin_centers, encode_ab_bins

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "siggraph17_colorization_keys.json"


class Payload:
    """An arbitrary class: unpickling it would mean running code, which weights_only=True refuses."""


def reference():
    return json.loads(FIXTURE.read_text())["siggraph17_ideepcolor_dist"]


def synthetic_state(seed=0):
    """A state dict with every key of the listing at its shape (as a user's checkpoint holds it)."""
    g = torch.Generator().manual_seed(seed)
    state = {}
    for key, shape in reference()["state_dict"].items():
        if key.endswith("num_batches_tracked"):
            state[key] = torch.tensor(1000, dtype=torch.int64)
        elif key.endswith("running_var"):
            state[key] = torch.rand(shape, generator=g) + 0.5
        elif key.endswith(".weight") and len(shape) == 1:  # batch-norm scale
            state[key] = torch.rand(shape, generator=g) + 0.5
        else:
            fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 1
            state[key] = torch.randn(shape, generator=g) / np.sqrt(fan_in)
    return state


def test_keys_shapes_order_and_parameter_count():
    ref = reference()
    with torch.device("meta"):
        net = SIGGRAPHGenerator()
    sd = net.state_dict()
    assert list(sd) == list(ref["state_dict"])  # same keys in the same order
    assert {k: list(v.shape) for k, v in sd.items()} == ref["state_dict"]
    assert sum(p.numel() for p in net.parameters()) == ref["n_params"] == 34_187_027


def test_synthetic_state_dict_loads_strictly_and_runs():
    net = SIGGRAPHGenerator()
    net.load_state_dict(synthetic_state(), strict=True)
    net.eval()
    with torch.inference_mode():
        out = net(torch.zeros(1, 1, 32, 48), torch.zeros(1, 2, 32, 48), torch.zeros(1, 1, 32, 48))
        logits = net.class_logits(out.class_features)
    assert out.color.shape == (1, 2, 32, 48) and out.color.abs().max() <= 1.0
    assert out.class_features.shape == (1, 256, 8, 12) and logits.shape == (1, AB_BINS, 8, 12)


def test_ab_bins_follow_the_training_code_encoding():
    centres = ab_bin_centers()
    assert centres.shape == (529, 2)
    assert centres[0].tolist() == [-110, -110] and centres[1].tolist() == [-110, -100]  # b varies fastest
    assert centres[23].tolist() == [-100, -110] and centres[528].tolist() == [110, 110]
    ab = torch.tensor([[[[23.0]], [[-41.0]]]])  # a = 23 -> bin 13, b = -41 -> bin 7
    assert encode_ab_bins(ab).item() == 13 * 23 + 7


def test_import_round_trip_and_original_preprocessing(tmp_path, capsys):
    ckpt = tmp_path / "siggraph17.pth"
    state = synthetic_state()
    torch.save({"state_dict": state}, ckpt)
    code = main(["models", "import", str(ckpt), "--arch", "siggraph17", "--name", "sig17", "--mask-center", "0.5"])
    out = capsys.readouterr()
    assert code == 0, out.err
    card = json.loads((user_models_dir() / "sig17.json").read_text())
    assert card["task"] == "colorize" and card["architecture"] == "siggraph17" and card["resolution"] == 256
    assert card["config"]["mode"] == "photo" and card["config"]["mask_center"] == 0.5
    registry = ModelRegistry.default()
    loaded = registry.load_state_dict("sig17")
    assert set(loaded) == set(state) and all(torch.equal(loaded[k], state[k]) for k in state)

    engine = registry.create_engine("sig17")
    engine.load(torch.device("cpu"))
    captured = {}

    def keep_input(module, inputs, output):
        captured["x"] = inputs[0].clone()

    engine.net.model1.register_forward_hook(keep_input)
    image = np.full((60, 80, 3), 90, np.uint8)
    hint = ColorHint(40.0, 30.0, (200, 40, 30), 0.0)
    result = colorize_array(engine, image, [hint], query=[(40.0, 30.0)])
    assert result.image.shape == (60, 80, 3) and result.image.dtype == np.uint8
    x = captured["x"]
    h, w = work_size(60, 80, 256, 8)
    assert x.shape == (1, 4, h, w)
    lightness = rgb8_to_lab(image[:1, :1])[0, 0, 0]
    assert torch.allclose(x[0, 0], torch.full((h, w), (lightness - 50) / 100), atol=1e-4)  # (L - 50) / 100
    hy, hx = int(30 * h / 60), int(40 * w / 80)
    ab = rgb8_to_lab(np.array([[hint.rgb]], np.uint8))[0, 0, 1:]
    assert torch.allclose(x[0, 1:3, hy, hx], torch.from_numpy(ab / 110), atol=1e-4)  # ab / 110
    assert x[0, 3, hy, hx] == 0.5 and x[0, 3, 0, 0] == -0.5  # mask - mask_center
    assert x[0, 1:3, 0, 0].abs().max() == 0  # no hint: ab 0
    (suggestions,) = result.extras["suggestions"]
    assert len(suggestions.rgb) == 9 and sum(suggestions.weights) == pytest.approx(1.0, abs=1e-3)


def test_import_refuses_wrong_keys_shapes_and_pickles(tmp_path):
    state = synthetic_state()
    bad_shape = dict(state, **{"model_out.0.weight": torch.zeros(3, 128, 1, 1)})
    missing = {k: v for k, v in state.items() if not k.startswith("model_class")}
    cases = {"shape.pth": bad_shape, "missing.pth": missing, "pickle.pth": {"x": Payload()}}
    for name, content in cases.items():
        torch.save(content, tmp_path / name)
    messages = {}
    for name in cases:
        with pytest.raises(ModelError) as info:
            import_checkpoint(tmp_path / name, "bad", models_dir=tmp_path / "models")
        messages[name] = str(info.value)
    assert "wrong shape" in messages["shape.pth"] and "model_out.0.weight" in messages["shape.pth"]
    assert "2 missing" in messages["missing.pth"]
    assert "safely" in messages["pickle.pth"]
    assert not (tmp_path / "models" / "bad.json").exists()
