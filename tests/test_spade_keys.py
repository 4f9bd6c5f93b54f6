"""Our SPADEGenerator has exactly the state_dict keys and shapes of the released NVlabs/SPADE generators.

The fixtures ``tests/fixtures/spade_keys_<config>.json`` are a copy of the key/shape listing produced by
instantiating the original code (``../shared/reference/spade_official_generator_keys.json``), so these
tests run without ``../shared``.
"""

import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from ganpaint.engines.spade_import import ENCODER_PREFIX, expected_shapes
from ganpaint.nets.spade import OFFICIAL_OPTIONS, SPADEGenerator, param_count
from ganpaint.nets.spade_fast import FastSPADEGenerator

FIXTURES = Path(__file__).resolve().parent / "fixtures"
CONFIGS = ("ade20k", "coco", "cityscapes")


def fixture(name):
    return json.loads((FIXTURES / f"spade_keys_{name}.json").read_text())


@pytest.mark.parametrize("name", CONFIGS)
def test_options_match_the_released_configuration(name):
    ref = fixture(name)["options"]
    opt = OFFICIAL_OPTIONS[name]
    for key in ("label_nc", "contain_dontcare_label", "no_instance", "semantic_nc", "ngf", "norm_G",
                "num_upsampling_layers", "crop_size", "aspect_ratio", "use_vae", "z_dim"):
        assert getattr(opt, key) == ref[key], key


@pytest.mark.parametrize("name", CONFIGS)
def test_state_dict_keys_shapes_and_order(name):
    ref = fixture(name)
    with torch.device("meta"):
        gen = SPADEGenerator(OFFICIAL_OPTIONS[name])
    ours = {k: list(v.shape) for k, v in gen.state_dict().items()}
    assert list(ours) == list(ref["state_dict"])  # same keys, same order (incl. batch-norm running stats)
    assert ours == ref["state_dict"]
    assert param_count(gen) == ref["n_params"]
    assert expected_shapes(OFFICIAL_OPTIONS[name]) == {k: tuple(v) for k, v in ref["state_dict"].items()}


def synthetic_state(shapes, seed=0):
    """Random tensors of the listed shapes (small weights, positive variances), like a checkpoint would hold."""
    g = torch.Generator().manual_seed(seed)
    state = {}
    for key, shape in shapes.items():
        if key.endswith("num_batches_tracked"):
            state[key] = torch.tensor(100)
        elif key.endswith("running_var"):
            state[key] = torch.rand(shape, generator=g) + 0.5
        else:
            state[key] = (torch.rand(shape, generator=g) - 0.5) * 0.1
    return state


@pytest.mark.parametrize("name", CONFIGS)
def test_synthetic_checkpoint_loads_strictly_and_runs_reduced(name):
    """A state dict with the configuration's layout loads strictly; the forward pass runs (reduced ngf)."""
    opt = replace(OFFICIAL_OPTIONS[name], ngf=2)
    gen = SPADEGenerator(opt)
    gen.load_state_dict(synthetic_state(expected_shapes(opt)), strict=True)
    fast = FastSPADEGenerator.from_generator(gen.eval())
    m = opt.size_multiple
    labels = torch.zeros(1, m, 2 * m, dtype=torch.long)
    labels[:, m // 2:] = opt.num_labels - 1
    with torch.inference_mode():
        out = fast(labels)
    assert out.shape == (1, 3, m, 2 * m) and torch.isfinite(out).all()


def test_full_size_ade20k_synthetic_checkpoint_runs():
    """The real 96.5 M-parameter ADE20K layout from the fixture: strict load and a 32x32 forward pass."""
    shapes = {k: tuple(v) for k, v in fixture("ade20k")["state_dict"].items()}
    with torch.device("meta"):
        gen = SPADEGenerator(OFFICIAL_OPTIONS["ade20k"])
    gen.load_state_dict(synthetic_state(shapes), strict=True, assign=True)
    fast = FastSPADEGenerator.from_generator(gen.eval(), copy_weights=False)
    with torch.inference_mode():
        out = fast(torch.randint(0, 151, (1, 32, 32)))
    assert out.shape == (1, 3, 32, 32) and torch.isfinite(out).all()


def test_encoder_keys_are_prefixed():
    opt = replace(OFFICIAL_OPTIONS["ade20k"], use_vae=True)
    shapes = expected_shapes(opt, with_encoder=True)
    enc = [k for k in shapes if k.startswith(ENCODER_PREFIX)]
    assert f"{ENCODER_PREFIX}layer1.0.weight_orig" in enc and f"{ENCODER_PREFIX}fc_mu.weight" in enc
    assert shapes["fc.weight"] == (16 * 64 * 8 * 8, 256)  # VAE: fc is Linear(z_dim, 16 ngf sh sw)
