"""iGAN on a GAN: networks, DiffAugment, projection, constrained editing, morphs and edit transfer, with tiny
random networks; the engine, its requests and the ``project`` / ``igan`` commands on a tiny exported model."""

import json

import numpy as np
import pytest
import torch

from ganpaint.document.vectors import SketchStroke
from ganpaint.engines.constraints import color_error, edge_strength, rasterize_strokes
from ganpaint.engines.latent import LatentAdam, ManifoldModel
from ganpaint.engines.transfer import check_rect, crop_region, square_rect, transfer_edit
from ganpaint.errors import EngineError
from ganpaint.nets.latent_encoder import EncoderOptions, LatentEncoder
from ganpaint.nets.stylegan2_lite import Discriminator, GANOptions, Generator, downsample2, minibatch_stddev
from ganpaint.training.diffaugment import diff_augment, parse_policy

TINY = dict(resolution=16, z_dim=16, w_dim=16, channels=[32, 16, 8], d_channels=[8, 16, 32])


@pytest.fixture
def tiny_model():
    torch.manual_seed(0)
    G = Generator(GANOptions(**TINY)).eval()
    E = LatentEncoder(EncoderOptions(resolution=16, w_dim=16, channels=[8, 16, 32]))
    return ManifoldModel(G, E)


def test_generator_and_discriminator_shapes_and_w_plus():
    torch.manual_seed(0)
    opt = GANOptions(**TINY)
    G, D = Generator(opt), Discriminator(opt)
    z = torch.randn(4, 16)
    img = G(z)
    assert img.shape == (4, 3, 16, 16)
    w = G.w_from_z(z)
    same = G.synthesis(w.unsqueeze(1).repeat(1, G.synthesis.num_ws, 1))
    assert torch.allclose(same, G.synthesis(w), atol=1e-6)
    assert D(img).shape == (4,)
    # the mapping tracks w_avg only in training mode
    G.eval()
    before = G.mapping.w_avg.clone()
    G(z)
    assert torch.equal(before, G.mapping.w_avg)
    G.train()
    G(z)
    assert not torch.equal(before, G.mapping.w_avg)
    # truncation psi 0 gives the average picture for every z
    G.eval()
    avg = G(torch.randn(2, 16), psi=0.0)
    assert torch.allclose(avg[0], avg[1], atol=1e-5)


def test_discriminator_helpers():
    x = torch.randn(6, 3, 8, 8)
    assert torch.allclose(downsample2(x), torch.nn.functional.avg_pool2d(x, 2), atol=1e-6)
    y = minibatch_stddev(x, 4)  # 6 is not a multiple of 4: groups of 3
    assert y.shape == (6, 4, 8, 8)
    assert (y[:, 3] == y[:, 3, :1, :1]).all() and torch.equal(y[:, :3], x), "one value per sample, input kept"


def test_diffaugment_shapes_gradients_and_policies():
    x = torch.rand(4, 3, 16, 16, requires_grad=True)
    y = diff_augment(x * 2 - 1, parse_policy("color,translation,cutout"), torch.Generator().manual_seed(0))
    assert y.shape == x.shape
    y.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert parse_policy("none") == () and torch.equal(diff_augment(x, ()), x)
    with pytest.raises(ValueError):
        parse_policy("rotate")


def test_encoder_starts_at_the_average_latent(tiny_model):
    pics = np.zeros((2, 16, 16, 3), np.uint8)
    assert np.allclose(tiny_model.encode(pics), tiny_model.w_avg.numpy()[None], atol=1e-6)


def test_latent_adam_matches_torch_adam():
    a = torch.randn(3, 5, requires_grad=True)
    b = a.detach().clone().requires_grad_(True)
    mine, ref = LatentAdam(a, 0.1), torch.optim.Adam([b], lr=0.1)
    for _ in range(5):
        (a.square() * torch.arange(5.0)).sum().backward()
        mine.step()
        ref.zero_grad()
        (b.square() * torch.arange(5.0)).sum().backward()
        ref.step()
    assert torch.allclose(a, b, atol=1e-6)


def test_projection_error_falls_with_optimisation_steps(tiny_model):
    target = tiny_model.render(tiny_model.sample(5, psi=1.0))[0]
    errors = [tiny_model.project(target, steps=s).psnr for s in (0, 10, 60)]
    assert errors[0] < errors[1] < errors[2]
    previews = []
    result = tiny_model.project(target, steps=5, callback=lambda *a: previews.append(a), preview_every_s=0.0)
    assert previews[0][0] == 0 and previews[0][2].shape == (1, 16, 16, 3), "the start comes first"
    assert len(previews) == 6 and result.steps == 5
    # the start is the encoder's guess or a nearer random latent (this tiny encoder is untrained): never worse
    assert result.history[0][1] >= result.encoder_psnr
    with pytest.raises(ValueError):
        tiny_model.project(np.zeros((8, 8, 3), np.uint8))


def test_colour_stroke_moves_the_colour_under_the_stroke(tiny_model):
    start = tiny_model.sample(2)[0]
    stroke = SketchStroke([(3, 4), (12, 5)], (250, 20, 20), 3, kind="color")
    maps = rasterize_strokes([stroke], (0, 0, 16, 16), 16)
    before = tiny_model.render(start)[0]
    edit = tiny_model.edit(start, maps, candidates=4, steps=30)
    assert edit.images.shape == (4, 16, 16, 3) and edit.ws.shape == (4, 16)
    assert np.all(np.diff(edit.losses) >= 0), "candidates come sorted, best first"
    assert color_error(edit.images[0], maps) < color_error(before, maps) - 20
    # no stroke: every candidate is the start picture
    empty = tiny_model.edit(start, rasterize_strokes([], (0, 0, 16, 16), 16), candidates=3)
    assert empty.steps == 0 and all(np.array_equal(im, before) for im in empty.images)


def test_sketch_stroke_raises_the_edge_strength_on_the_line(tiny_model):
    start = tiny_model.sample(4)[0]
    maps = rasterize_strokes([SketchStroke([(2, 8), (14, 8)], (0, 0, 0), 2)], (0, 0, 16, 16), 16)
    line = torch.from_numpy(maps.sketch_mask > 0)
    to_t = lambda pic: torch.from_numpy(pic).permute(2, 0, 1)[None].float() / 127.5 - 1  # noqa: E731
    before = edge_strength(to_t(tiny_model.render(start)[0]))[0, 0][line].mean()
    edit = tiny_model.edit(start, maps, candidates=2, steps=30)
    after = edge_strength(to_t(edit.images[0]))[0, 0][line].mean()
    assert after > before + 0.05


def test_morph_runs_from_start_to_candidates(tiny_model):
    w0, w1 = tiny_model.sample(0, 2)
    frames = tiny_model.morph(w0, np.stack([w1, w0]), frames=5)
    assert frames.shape == (2, 5, 16, 16, 3)
    assert np.array_equal(frames[0, 0], tiny_model.render(w0)[0])
    assert np.array_equal(frames[0, -1], tiny_model.render(w1)[0])
    assert tiny_model.morph(w0, w1, frames=3).shape == (3, 16, 16, 3)


def test_strokes_map_from_the_photo_region_to_the_generator_grid():
    strokes = [SketchStroke([(110, 60), (130, 60)], (0, 255, 0), 8, kind="color"),
               SketchStroke([(100, 100), (140, 100)], (0, 0, 0), 3),
               SketchStroke([(0, 0), (5, 5)], (0, 0, 0), 3)]  # outside the region
    maps = rasterize_strokes(strokes, (100, 50, 164, 114), 16)  # 64 px region -> 16 px: scale 1/4
    ys, xs = np.nonzero(maps.color_mask > 0)
    assert 1 <= ys.min() <= ys.max() <= 4 and xs.min() >= 1 and xs.max() <= 9
    assert (maps.color_target[maps.color_mask > 0] == (0, 255, 0)).all()
    ys, xs = np.nonzero(maps.sketch_mask > 0)
    assert 11 <= ys.min() <= ys.max() <= 14 and xs.min() <= 1
    assert not maps.empty and maps.changed_region().sum() == ((maps.color_mask > 0) | (maps.sketch_mask > 0)).sum()


def test_regions():
    assert square_rect((300, 400, 3)) == (50, 0, 350, 300)
    assert square_rect((300, 400, 3), (0, 0, 10, 40)) == (0, 0, 40, 40)
    assert square_rect((300, 400, 3), (380, 280, 400, 300)) == (380, 280, 400, 300)
    with pytest.raises(EngineError):
        check_rect((10, 10, 3), (5, 5, 5, 8))
    with pytest.raises(EngineError):
        check_rect((10, 10, 3), (0, 0, 11, 5))
    photo = np.zeros((40, 60, 3), np.uint8)
    photo[:, 30:] = 200
    assert crop_region(photo, (10, 0, 50, 40), 8).shape == (8, 8, 3)


def test_transfer_keeps_pixels_outside_the_region_bit_exact():
    rng = np.random.default_rng(0)
    photo = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
    rect = (40, 20, 104, 84)
    projection = np.full((16, 16, 3), 120, np.uint8)
    edit = projection.copy()
    edit[4:9, 4:12] = (240, 30, 30)  # a red patch
    out, weight = transfer_edit(photo, rect, projection, edit)
    outside = np.ones(photo.shape[:2], bool)
    outside[20:84, 40:104] = False
    assert np.array_equal(out[outside], photo[outside])
    assert weight.shape == (64, 64) and weight.max() > 0.9
    patch = out[20 + 18:20 + 34, 40 + 18:40 + 46].astype(float)
    orig = photo[20 + 18:20 + 34, 40 + 18:40 + 46].astype(float)
    assert patch[..., 0].mean() > orig[..., 0].mean() + 40 and patch[..., 1].mean() < orig[..., 1].mean() - 20
    assert patch.std() > 20, "the photo's texture survives the colour change"
    # no change: the photo comes back untouched, even inside the region
    same, w0 = transfer_edit(photo, rect, projection, projection)
    assert np.array_equal(same, photo) and not w0.any()


def test_transfer_follows_motion():
    photo = np.zeros((64, 64, 3), np.uint8)
    photo[20:40, 10:30] = 255
    projection = crop_region(photo, (0, 0, 64, 64), 32)
    edit = np.roll(projection, 4, axis=1)  # the square moved 4 GAN pixels = 8 photo pixels right
    out, _ = transfer_edit(photo, (0, 0, 64, 64), projection, edit)
    centre = lambda im: np.nonzero(im[..., 0] > 128)[1].mean()  # noqa: E731
    assert abs(centre(out) - (centre(photo) + 8)) < 3


# --------------------------------------------------------------------------- engine and commands


@pytest.fixture
def tiny_models_dir(tmp_path, monkeypatch):
    """A models folder with ``tiny-gan`` (generator + encoder, architecture stylegan2-lite)."""
    from ganpaint.engines.manifold import ENCODER_PREFIX
    from ganpaint.training.checkpoint import export_model

    torch.manual_seed(0)
    G = Generator(GANOptions(**TINY))
    E = LatentEncoder(EncoderOptions(resolution=16, w_dim=16, channels=[8, 16, 32]))
    state = {**G.state_dict(), **{ENCODER_PREFIX + k: v for k, v in E.state_dict().items()}}
    card = {"task": "manifold", "architecture": "stylegan2-lite", "resolution": 16,
            "config": {"options": G.opt.to_dict(), "encoder": E.opt.to_dict()}}
    models = tmp_path / "models"
    export_model(state, models, "tiny-gan", card, half=False)
    monkeypatch.setenv("GANPAINT_MODELS_DIR", str(models))
    return models


def _engine(models):
    from ganpaint.engines.registry import ModelRegistry

    engine = ModelRegistry([models]).create_engine("tiny-gan")
    engine.load(torch.device("cpu"))
    return engine


def test_engine_serves_sample_project_edit_transfer(tiny_models_dir):
    from ganpaint.engines.base import EngineOutput
    from ganpaint.inference.cancel import Cancelled, CancelToken
    from ganpaint.inference.requests import (EditTransferRequest, LatentEditRequest, ProjectRequest, SampleRequest,
                                             SegmentRequest)

    engine = _engine(tiny_models_dir)
    sample = engine.run(SampleRequest(revision=0, model="tiny-gan", seed=1), CancelToken(), lambda f, p: None)
    assert isinstance(sample, EngineOutput) and sample.image.shape == (16, 16, 3)
    assert sample.extras["latent"].shape == (16,)

    photo = np.random.default_rng(0).integers(0, 256, (50, 70, 3), dtype=np.uint8)
    previews = []
    proj = engine.run(ProjectRequest.snapshot(1, photo, (10, 5, 50, 45), "tiny-gan", steps=8), CancelToken(),
                      lambda f, p: previews.append((f, p)))
    assert previews[0][0] == 0.0 and previews[0][1].shape == (16, 16, 3)
    assert proj.extras["target"].shape == (16, 16, 3) and proj.extras["steps"] == 8
    assert proj.extras["psnr"] >= proj.extras["encoder_psnr"] - 0.5

    strokes = [SketchStroke([(20, 20), (40, 20)], (255, 255, 0), 6, kind="color"),
               SketchStroke([(15, 35), (45, 35)], (0, 0, 0), 2, kind="sketch")]
    request = LatentEditRequest.snapshot(2, proj.extras["latent"], strokes, (10, 5, 50, 45), "tiny-gan",
                                         candidates=3, steps=5, morph_frames=4)
    edit = engine.run(request, CancelToken(), lambda f, p: None)
    x = edit.extras
    assert x["candidates"].shape == (3, 16, 16, 3) and x["latents"].shape == (3, 16)
    assert x["morphs"].shape == (3, 4, 16, 16, 3) and np.array_equal(edit.image, x["candidates"][0])
    assert np.array_equal(x["morphs"][0, -1], x["candidates"][0]) and len(x["color_error"]) == 3

    moved = engine.run(EditTransferRequest.snapshot(3, photo, (10, 5, 50, 45), proj.image, edit.image, "tiny-gan"),
                       CancelToken(), lambda f, p: None)
    assert moved.image.shape == photo.shape
    outside = np.ones(photo.shape[:2], bool)
    outside[5:45, 10:50] = False
    assert np.array_equal(moved.image[outside], photo[outside])

    with pytest.raises(EngineError):
        engine.run(ProjectRequest.snapshot(4, photo, (0, 0, 80, 10), "tiny-gan"), CancelToken(), lambda f, p: None)
    with pytest.raises(EngineError):
        engine.run(SegmentRequest.snapshot(5, photo, "tiny-gan"), CancelToken(), lambda f, p: None)
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        engine.run(ProjectRequest.snapshot(6, photo, (0, 0, 40, 40), "tiny-gan"), token, lambda f, p: None)


def test_requests_are_frozen_and_validated():
    from ganpaint.inference.requests import EditTransferRequest, LatentEditRequest, ProjectRequest

    photo = np.zeros((10, 10, 3), np.uint8)
    req = ProjectRequest.snapshot(0, photo, (0, 0, 10, 10), "m")
    photo[:] = 9
    assert req.photo.max() == 0 and not req.photo.flags.writeable
    with pytest.raises(ValueError):
        ProjectRequest.snapshot(0, photo, (0, 0, 10), "m")
    with pytest.raises(ValueError):
        ProjectRequest.snapshot(0, photo[..., 0], (0, 0, 10, 10), "m")
    stroke = SketchStroke([(1, 1)], (0, 0, 0), 1, kind="color")
    edit = LatentEditRequest.snapshot(0, np.zeros(4), [stroke], (0, 0, 10, 10), "m")
    stroke.points.append((5, 5))
    assert edit.strokes[0].points == [(1.0, 1.0)] and edit.task == "manifold"
    with pytest.raises(ValueError):
        LatentEditRequest.snapshot(0, np.zeros(4), [], (0, 0, 10, 10), "m", candidates=0)
    with pytest.raises(ValueError):
        EditTransferRequest.snapshot(0, photo, (0, 0, 10, 10), photo, photo.astype(np.float32), "m")


def test_project_and_igan_commands(tiny_models_dir, tmp_path, capsys):
    from PIL import Image

    from ganpaint.cli import main

    photo = tmp_path / "photo.png"
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (60, 80, 3), dtype=np.uint8)).save(photo)
    recon, pasted, latent = tmp_path / "recon.png", tmp_path / "paste.png", tmp_path / "w.npy"
    assert main(["project", str(photo), "-o", str(recon), "--steps", "3", "--paste", str(pasted),
                 "--latent", str(latent), "--device", "cpu"]) == 0
    assert Image.open(recon).size == (16, 16) and Image.open(pasted).size == (80, 60) and np.load(latent).shape == (16,)

    strokes = tmp_path / "strokes.json"
    strokes.write_text(json.dumps([{"kind": "color", "points": [[20, 20], [40, 30]], "rgb": [255, 0, 0], "width": 8},
                                   {"kind": "sketch", "points": [[15, 45], [60, 45]], "rgb": [0, 0, 0], "width": 2}]))
    out, gallery = tmp_path / "out.png", tmp_path / "gallery.png"
    assert main(["igan", str(photo), "--strokes", str(strokes), "-o", str(out), "--candidates", "2", "--steps", "2",
                 "--edit-steps", "2", "--rect", "10,0,70,60", "--gallery", str(gallery), "--device", "cpu"]) == 0
    result, original = np.asarray(Image.open(out)), np.asarray(Image.open(photo))
    assert np.array_equal(result[:, :10], original[:, :10]) and np.array_equal(result[:, 70:], original[:, 70:])
    assert Image.open(gallery).size[1] > Image.open(gallery).size[0] / 10
    capsys.readouterr()

    bad = tmp_path / "bad.json"
    for content in ("[1, 2", json.dumps({"kind": "color"}), json.dumps([{"points": [[1, 2]], "rgb": [0, 0, 0], "width": 1}]),
                    json.dumps([{"kind": "warp", "points": [], "rgb": [0, 0, 0], "width": 1}]), "[]"):
        bad.write_text(content)
        assert main(["igan", str(photo), "--strokes", str(bad), "-o", str(out)]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("ganpaint: error: ") and "\n" not in err
    for argv in (["project", str(photo), "-o", str(recon), "--rect", "0,0,500,5"],
                 ["project", str(photo), "-o", str(recon), "--rect", "a,b"],
                 ["project", str(tmp_path / "missing.png"), "-o", str(recon)],
                 ["igan", str(photo), "--strokes", str(tmp_path / "missing.json"), "-o", str(out)],
                 ["project", str(photo), "-o", str(recon), "--model", "nope"]):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("ganpaint: error: ") and "\n" not in err


def test_dcgan_import_and_engine(tmp_path):
    """A DCGAN checkpoint in the gan-face-generate layout imports (weights_only) and serves the GAN engine."""
    from ganpaint.engines.gan_import import import_dcgan
    from ganpaint.engines.registry import ModelRegistry
    from ganpaint.errors import ModelError
    from ganpaint.inference.cancel import CancelToken
    from ganpaint.inference.requests import ProjectRequest, SampleRequest
    from ganpaint.nets.dcgan import DCGANGenerator, DCGANOptions

    torch.manual_seed(0)
    G = DCGANGenerator(DCGANOptions(nz=8, ngf=4))
    ckpt = tmp_path / "weights.tar"
    torch.save({"netG_state_dict": G.state_dict()}, ckpt)
    models = tmp_path / "models"
    card = json.loads(import_dcgan("toy-dcgan", ckpt, models_dir=models).read_text())
    assert card["architecture"] == "dcgan" and card["config"]["options"] == {"nz": 8, "ngf": 4, "nc": 3}
    with pytest.raises(ModelError):
        import_dcgan("toy-dcgan", ckpt, models_dir=models)  # exists
    engine = ModelRegistry([models]).create_engine("toy-dcgan")
    engine.load(torch.device("cpu"))
    sample = engine.run(SampleRequest(revision=0, model="toy-dcgan", seed=0), CancelToken(), lambda f, p: None)
    assert sample.image.shape == (64, 64, 3) and sample.extras["latent"].shape == (8,)
    photo = np.random.default_rng(0).integers(0, 256, (80, 80, 3), dtype=np.uint8)
    proj = engine.run(ProjectRequest.snapshot(0, photo, (0, 0, 80, 80), "toy-dcgan", steps=5), CancelToken(),
                      lambda f, p: None)
    assert proj.extras["psnr"] > proj.extras["encoder_psnr"], "optimisation improves on the best random start"

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    torch.save({"netG_state_dict": G.state_dict(), "x": Evil()}, ckpt)
    with pytest.raises(ModelError, match="safely"):
        import_dcgan("evil", ckpt, models_dir=models)
    torch.save({"main.0.weight": torch.zeros(8, 32, 4, 4)}, ckpt)
    with pytest.raises(ModelError, match="does not match"):
        import_dcgan("partial", ckpt, models_dir=models)


def test_worker_streams_projection_previews_and_delivers_extras(tiny_models_dir):
    """Through the studio's worker thread: progress pictures at the GAN's size, then the result with extras."""
    import queue

    from ganpaint.engines.registry import ModelRegistry
    from ganpaint.inference.events import Finished, Progress
    from ganpaint.inference.requests import ProjectRequest
    from ganpaint.inference.worker import InferenceWorker

    events: queue.Queue = queue.Queue()
    worker = InferenceWorker(ModelRegistry([tiny_models_dir]), device="cpu", on_event=events.put)
    worker.start()
    try:
        photo = np.random.default_rng(2).integers(0, 256, (40, 60, 3), dtype=np.uint8)
        worker.submit(ProjectRequest.snapshot(7, photo, (10, 0, 50, 40), "tiny-gan", steps=4))
        seen = []
        while True:
            event = events.get(timeout=60)
            seen.append(event)
            if isinstance(event, Finished):
                break
        previews = [e for e in seen if isinstance(e, Progress) and e.partial is not None]
        assert previews and previews[0].partial.shape == (16, 16, 3)
        result = seen[-1].result
        assert result.revision == 7 and result.image.shape == (16, 16, 3)
        assert result.extras["latent"].shape == (16,) and not result.extras["latent"].flags.writeable
    finally:
        worker.stop()


def test_project_and_igan_check_outputs_first(tiny_models_dir, tmp_path, capsys):
    """A read-only output is refused before any model runs, and replaced (keeping its mode) with --force;
    an unsupported output format is refused too."""
    import os
    import stat

    from PIL import Image

    from ganpaint.cli import main

    photo = tmp_path / "photo.png"
    Image.fromarray(np.random.default_rng(2).integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(photo)
    recon = tmp_path / "recon.png"
    recon.write_bytes(b"keep")
    os.chmod(recon, 0o444)
    assert main(["project", str(photo), "-o", str(recon), "--steps", "1", "--device", "cpu"]) == 2
    assert "read-only" in capsys.readouterr().err and recon.read_bytes() == b"keep"
    assert main(["project", str(photo), "-o", str(recon), "--steps", "1", "--device", "cpu", "--force"]) == 0
    assert Image.open(recon).size == (16, 16) and stat.S_IMODE(recon.stat().st_mode) == 0o444
    strokes = tmp_path / "s.json"
    strokes.write_text(json.dumps([{"kind": "color", "points": [[5, 5], [30, 5]], "rgb": [255, 0, 0], "width": 4}]))
    assert main(["igan", str(photo), "--strokes", str(strokes), "-o", str(tmp_path / "out.xyz")]) == 2
    assert "ganpaint: error: " in capsys.readouterr().err


def test_one_table_of_gan_architectures():
    """The engine serves exactly the architectures the shared table builds; the table applies DCGAN's
    initialisation to new DCGAN networks and refuses unknown names."""
    from ganpaint.engines.manifold import ManifoldEngine
    from ganpaint.nets.dcgan import DCGANOptions
    from ganpaint.nets.gan_architectures import ARCHITECTURES, build_gan, gan_options

    assert ManifoldEngine.architectures == tuple(ARCHITECTURES)
    torch.manual_seed(0)
    G, D = build_gan("dcgan", gan_options("dcgan", {"nz": 8, "ngf": 4, "ndf": 4}), discriminator=True)
    assert isinstance(G.opt, DCGANOptions) and abs(float(G.main[0].weight.detach().std()) - 0.02) < 0.005
    with pytest.raises(ValueError, match="unknown GAN architecture"):
        build_gan("biggan", None)
