"""The latent-space engine (iGAN, Zhu et al. 2016): random samples, projection of a photo region, edits
by colour and sketch strokes with K candidates and morphs, and the transfer of an edit back onto the
photo. One engine per GAN model (architecture ``stylegan2-lite``, task ``"manifold"``) serves the four
requests of :mod:`ganpaint.inference.requests` (:class:`SampleRequest`, :class:`ProjectRequest`,
:class:`LatentEditRequest`, :class:`EditTransferRequest`); it keeps no state between requests, so a
studio mode holds the latent codes and pictures it gets back and sends them with the next request.

Weights (one safetensors file): the generator's keys as :class:`~ganpaint.nets.stylegan2_lite.Generator`
(or, for architecture ``dcgan``, :class:`~ganpaint.nets.dcgan.DCGANGenerator`) names them, and the encoder's
under ``encoder.`` (optional). Card ``config``: ``options`` (the
:class:`~ganpaint.nets.stylegan2_lite.GANOptions`), ``encoder`` (the
:class:`~ganpaint.nets.latent_encoder.EncoderOptions`, when trained), ``truncation_psi``, ``projection``
and ``edit`` (defaults for steps, learning rates and loss weights, see :mod:`ganpaint.engines.latent`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

import numpy as np

from ganpaint.engines.base import Engine, EngineOutput, ProgressCallback
from ganpaint.errors import EngineError, ModelError

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from ganpaint.engines.latent import ManifoldModel
    from ganpaint.inference.cancel import CancelToken
    from ganpaint.inference.requests import (EditTransferRequest, LatentEditRequest, ManifoldRequest, ProjectRequest,
                                             SampleRequest)

#: Prefix of the encoder's keys in the weights file.
ENCODER_PREFIX = "encoder."


def build_model(state: "dict[str, torch.Tensor]", config: dict[str, Any], device: "torch.device",
                architecture: str = "stylegan2-lite") -> "ManifoldModel":
    """A :class:`~ganpaint.engines.latent.ManifoldModel` from a weights dict and a card's ``config`` and
    ``architecture`` (``"stylegan2-lite"``: :mod:`ganpaint.nets.stylegan2_lite`; ``"dcgan"``:
    :mod:`ganpaint.nets.dcgan`, imported by :mod:`ganpaint.engines.gan_import`).

    Raises:
        ModelError: the config lacks ``options`` or the weights do not fit it.
    """
    from ganpaint.engines.latent import ManifoldModel
    from ganpaint.nets.gan_architectures import build_gan, gan_options
    from ganpaint.nets.latent_encoder import EncoderOptions, LatentEncoder

    try:
        G = build_gan(architecture, gan_options(architecture, config["options"]))
        G.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()
                           if not k.startswith(ENCODER_PREFIX)})
        E = None
        if config.get("encoder"):
            E = LatentEncoder(EncoderOptions.from_dict(config["encoder"]))
            n = len(ENCODER_PREFIX)
            E.load_state_dict({k[n:]: v.float() for k, v in state.items() if k.startswith(ENCODER_PREFIX)})
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"GAN weights do not fit the model card's configuration ({first})") from exc
    G.to(device)
    if E is not None:
        E.to(device)
    return ManifoldModel(G, E)


class ManifoldEngine(Engine):
    """Serves :class:`~ganpaint.inference.requests.ManifoldRequest` subclasses with one GAN (see the module
    docstring for what each returns)."""

    task = "manifold"
    architectures = ("stylegan2-lite", "dcgan")  # the keys of nets.gan_architectures.ARCHITECTURES (torch-free here)
    supports_half = False

    def __init__(self, card) -> None:
        super().__init__(card)
        self.model: Optional["ManifoldModel"] = None

    def load(self, device: "torch.device", half: bool = False) -> None:  # noqa: D102
        from ganpaint.engines.registry import load_state_dict

        self.model = build_model(load_state_dict(self.card), self.card.config, device, self.card.architecture)
        self.device, self.half = device, False

    def _defaults(self, section: str) -> dict[str, Any]:
        value = self.card.config.get(section, {}) if isinstance(self.card.config, dict) else {}
        return value if isinstance(value, dict) else {}

    def run(self, request: "ManifoldRequest", cancel: "CancelToken", progress: ProgressCallback) -> EngineOutput:
        """Dispatch on the request's class (module docstring).

        Raises:
            Cancelled: ``cancel`` was set.
            EngineError: an unknown request, a region outside the photo, a latent of the wrong size.
        """
        from ganpaint.inference import requests as rq

        if self.model is None:
            raise EngineError("the GAN model is not loaded")
        handlers = {rq.SampleRequest: self._sample, rq.ProjectRequest: self._project,
                    rq.LatentEditRequest: self._edit, rq.EditTransferRequest: self._transfer}
        handler = handlers.get(type(request))
        if handler is None:
            raise EngineError(f"the GAN engine cannot serve a {type(request).__name__}")
        cancel.raise_if_cancelled()
        return handler(request, cancel, progress)

    # ---------------------------------------------------------------------------------- handlers

    def _sample(self, request: "SampleRequest", cancel: "CancelToken", progress: ProgressCallback) -> EngineOutput:
        if not 0.0 < request.psi <= 1.0:
            raise EngineError(f"truncation psi must be in (0, 1], got {request.psi}")
        w = self.model.sample(request.seed, 1, request.psi)
        return EngineOutput(self.model.render(w)[0], {"latent": w[0]})

    def _project(self, request: "ProjectRequest", cancel: "CancelToken", progress: ProgressCallback) -> EngineOutput:
        from ganpaint.engines.transfer import check_rect, crop_region

        if request.steps < 0:
            raise EngineError(f"projection steps must be >= 0, got {request.steps}")
        rect = check_rect(request.photo.shape, request.rect)
        target = crop_region(request.photo, rect, self.model.resolution)
        defaults = self._defaults("projection")

        def callback(step: int, total: int, pictures: np.ndarray, losses: np.ndarray) -> None:
            cancel.raise_if_cancelled()
            progress(step / max(total, 1), pictures[0])

        result = self.model.project(target, steps=request.steps, lr=float(defaults.get("lr", 0.1)),
                                    prior=float(defaults.get("prior", 1e-3)), callback=callback,
                                    time_limit_s=request.time_limit_s)
        return EngineOutput(result.image, {
            "latent": result.w, "target": target, "encoder_image": result.encoder_image, "psnr": result.psnr,
            "encoder_psnr": result.encoder_psnr, "mse": result.mse, "steps": result.steps, "rect": rect})

    def _edit(self, request: "LatentEditRequest", cancel: "CancelToken", progress: ProgressCallback) -> EngineOutput:
        from ganpaint.engines.constraints import color_error, rasterize_strokes

        model = self.model
        if request.latent.shape != model.w_avg.shape:
            raise EngineError(f"the latent code has {request.latent.shape[0]} values; model '{self.card.name}' "
                              f"uses {model.w_avg.shape[0]}")
        x0, y0, x1, y1 = request.rect
        if x1 <= x0 or y1 <= y0:
            raise EngineError(f"region {request.rect} is empty")
        maps = rasterize_strokes(request.strokes, request.rect, model.resolution)
        defaults = self._defaults("edit")

        def callback(step: int, total: int, pictures: np.ndarray, losses: np.ndarray) -> None:
            cancel.raise_if_cancelled()
            progress(0.9 * step / max(total, 1), pictures[int(np.argmin(losses))])

        edit = model.edit(request.latent, maps, candidates=request.candidates, steps=request.steps,
                          lr=float(defaults.get("lr", 0.1)),
                          closeness=float(defaults.get("closeness", 0.05)) if request.closeness is None else request.closeness,
                          w_color=float(defaults.get("w_color", 1.0)), w_sketch=float(defaults.get("w_sketch", 1.0)),
                          spread=float(defaults.get("spread", 0.5)), seed=request.seed, callback=callback)
        cancel.raise_if_cancelled()
        morphs = model.morph(request.latent, edit.ws, request.morph_frames)
        return EngineOutput(edit.images[0], {
            "candidates": edit.images, "latents": edit.ws, "morphs": morphs, "losses": edit.losses,
            "constraint_losses": edit.constraint_losses,
            "color_error": [color_error(im, maps) for im in edit.images],
            "start_image": morphs[0, 0], "stroke_region": maps.changed_region(), "steps": edit.steps})

    def _transfer(self, request: "EditTransferRequest", cancel: "CancelToken", progress: ProgressCallback) -> EngineOutput:
        from ganpaint.engines.transfer import check_rect, transfer_edit

        rect = check_rect(request.image.shape, request.rect)
        image, weight = transfer_edit(request.image, rect, request.projection, request.edit)
        return EngineOutput(image, {"weight": weight, "rect": rect})


__all__ = ["ENCODER_PREFIX", "ManifoldEngine", "build_model"]
