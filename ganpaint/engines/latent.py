"""Latent-space operations of iGAN (Zhu, Krähenbühl, Shechtman and Efros, ECCV 2016) on a light StyleGAN2:
random samples, projection of a picture (encoder guess + optimisation, the paper's hybrid method),
constrained editing with K candidates, and morph sequences.

Everything works in the generator's intermediate latent space ``w`` through the normalised coordinates
``u = (w - w_avg) / w_std`` (``w_std``: the per-dimension spread of ``w`` over random samples), so learning
rates and the closeness terms do not depend on the scale of each dimension.

* **Projection** (:meth:`ManifoldModel.project`): start from the encoder's ``w`` (without an encoder: the
  nearest of :data:`RANDOM_STARTS` random samples), then minimise
  ``MSE(G(w), x) + PROJ_GRAD * MSE(sobel(G(w)), sobel(x)) + prior * mean(u^2)`` with Adam; the gradient
  term keeps edges, the prior keeps ``w`` where the generator was trained.
* **Editing** (:meth:`ManifoldModel.edit`): ``K`` latent codes start at the projection ``u0`` (the first one
  exactly, the others moved along random directions) and minimise
  ``w_color * color_loss + w_sketch * sketch_loss + closeness * mean((u - u0)^2)`` (see
  :mod:`ganpaint.engines.constraints`), all ``K`` in one batch; candidates come back sorted by their loss.
* **Morph** (:meth:`ManifoldModel.morph`): pictures of ``w0 + t (w1 - w0)``, ``t`` from 0 to 1.

Pictures are ``float (N, 3, R, R)`` in ``[-1, 1]`` inside, ``uint8 (N, R, R, 3)`` outside.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np
import torch
import torch.nn.functional as F

from ganpaint.engines.constraints import ConstraintTensors, StrokeMaps, color_loss, sketch_loss
from ganpaint.nets.latent_encoder import LatentEncoder
from ganpaint.nets.stylegan2_lite import Generator

#: Weight of the Sobel-gradient term of the projection loss.
PROJ_GRAD = 1.0
#: Latent samples used to estimate ``w_std``.
W_STD_SAMPLES = 2048
#: Random latents tried as the start of a projection when the model has no encoder.
RANDOM_STARTS = 32

#: ``callback(step, total_steps, pictures uint8 (N, R, R, 3), losses float (N,))`` during optimisation.
StepCallback = Callable[[int, int, np.ndarray, np.ndarray], None]


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """``float (N, 3, R, R)`` in [-1, 1] -> ``uint8 (N, R, R, 3)`` (clamped, rounded)."""
    t = images.detach().float().clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8)
    return np.ascontiguousarray(t.permute(0, 2, 3, 1).cpu().numpy())


def to_tensor(images: np.ndarray, device: torch.device) -> torch.Tensor:
    """``uint8 (R, R, 3)`` or ``(N, R, R, 3)`` -> ``float (N, 3, R, R)`` in [-1, 1] on ``device``."""
    a = np.asarray(images)
    if a.ndim == 3:
        a = a[None]
    return torch.from_numpy(np.ascontiguousarray(a)).to(device).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB of two ``uint8`` pictures of the same shape (inf when equal)."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(255.0 ** 2 / mse)


def _sobel(images: torch.Tensor) -> torch.Tensor:
    kernel = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]], device=images.device) / 8.0
    k = torch.stack([kernel, kernel.t()])[:, None].repeat(3, 1, 1, 1)  # (6, 1, 3, 3), grouped per channel
    return F.conv2d(F.pad(images, (1, 1, 1, 1), mode="replicate"), k.to(images.dtype), groups=3)


class LatentAdam:
    """Adam (Kingma & Ba 2015) for one latent tensor, in place: ``step()`` after ``backward()``.

    ``torch.optim.Adam`` would do the same, but constructing any ``torch.optim`` optimiser imports
    ``torch._dynamo`` on first use, several seconds on a CPU: too slow for the first projection in the studio.
    """

    def __init__(self, param: torch.Tensor, lr: float, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> None:
        self.param, self.lr, self.betas, self.eps = param, float(lr), betas, eps
        self.m, self.v, self.t = torch.zeros_like(param), torch.zeros_like(param), 0

    def step(self) -> None:
        """Update the parameter from its ``.grad`` and clear the gradient."""
        g = self.param.grad
        if g is None:
            return
        b1, b2 = self.betas
        self.t += 1
        with torch.no_grad():
            self.m.lerp_(g, 1 - b1)
            self.v.mul_(b2).addcmul_(g, g, value=1 - b2)
            denom = (self.v / (1 - b2 ** self.t)).sqrt_().add_(self.eps)
            self.param.addcdiv_(self.m, denom, value=-self.lr / (1 - b1 ** self.t))
        self.param.grad = None


@dataclass
class Projection:
    """The result of :meth:`ManifoldModel.project`.

    Attributes:
        w: ``float32 (w_dim,)`` latent code.
        image: ``uint8 (R, R, 3)`` its picture.
        encoder_image: ``uint8 (R, R, 3)`` the encoder's guess (before optimisation; without an encoder the
            best random start).
        mse, psnr: pixel error of ``image`` against the target (0..255 units; dB).
        encoder_psnr: PSNR of the encoder's guess.
        steps: optimisation steps run.
        history: ``[(seconds since start, PSNR dB)]`` after the encoder and at each preview.
    """

    w: np.ndarray
    image: np.ndarray
    encoder_image: np.ndarray
    mse: float
    psnr: float
    encoder_psnr: float
    steps: int
    history: list[tuple[float, float]] = field(default_factory=list)


@dataclass
class Edit:
    """The result of :meth:`ManifoldModel.edit`, candidates sorted best first.

    Attributes:
        ws: ``float32 (K, w_dim)`` latent codes.
        images: ``uint8 (K, R, R, 3)`` their pictures.
        losses: ``float32 (K,)`` total loss (constraints + closeness) of each.
        constraint_losses: ``float32 (K,)`` constraint part alone.
        steps: optimisation steps run.
    """

    ws: np.ndarray
    images: np.ndarray
    losses: np.ndarray
    constraint_losses: np.ndarray
    steps: int


class ManifoldModel:
    """A generator (and optional encoder) ready for latent-space work on one device.

    The networks are put in eval mode, frozen and converted to channels-last memory format in place.

    Args:
        generator: a :class:`~ganpaint.nets.stylegan2_lite.Generator` or
            :class:`~ganpaint.nets.dcgan.DCGANGenerator`.
        encoder: a :class:`~ganpaint.nets.latent_encoder.LatentEncoder` predicting ``w - w_avg``, or None
            (projection then starts from ``w_avg``).
        w_std: ``float (w_dim,)`` spread of ``w``; None estimates it from :data:`W_STD_SAMPLES` samples of
            a fixed seed.
    """

    def __init__(self, generator: Generator, encoder: Optional[LatentEncoder] = None,
                 w_std: Optional[torch.Tensor] = None) -> None:
        self.G, self.E = generator.eval(), encoder.eval() if encoder is not None else None
        for net in (self.G, self.E):
            if net is not None:
                # in place; channels-last convolutions are about a quarter faster on a CPU (oneDNN)
                net.requires_grad_(False).to(memory_format=torch.channels_last)
        self.device = next(self.G.parameters()).device
        self.resolution = self.G.opt.resolution
        self.w_avg = self.G.mapping.w_avg.detach().clone()
        if w_std is None:
            with torch.no_grad():
                z = torch.randn(W_STD_SAMPLES, self.G.opt.z_dim, generator=torch.Generator().manual_seed(0))
                w_std = self.G.mapping(z.to(self.device)).std(dim=0)
        self.w_std = w_std.to(self.device).clamp_min(1e-3)

    # -------------------------------------------------------------------------------- coordinates

    def to_u(self, w: torch.Tensor) -> torch.Tensor:
        """Normalised coordinates ``(w - w_avg) / w_std`` of ``(N, w_dim)`` latents."""
        return (w - self.w_avg) / self.w_std

    def to_w(self, u: torch.Tensor) -> torch.Tensor:
        """Inverse of :meth:`to_u`."""
        return self.w_avg + u * self.w_std

    def render(self, w: torch.Tensor | np.ndarray) -> np.ndarray:
        """``uint8 (N, R, R, 3)`` pictures of latents ``(N, w_dim)`` (or one ``(w_dim,)``)."""
        w = torch.tensor(w, dtype=torch.float32, device=self.device) if isinstance(w, np.ndarray) else w.to(self.device)
        with torch.no_grad():
            return to_uint8(self.G.synthesis(w.reshape(-1, w.shape[-1]).float()))

    # ------------------------------------------------------------------------------ operations

    def sample(self, seed: int, count: int = 1, psi: float = 0.7) -> np.ndarray:
        """``float32 (count, w_dim)`` random latents (``z ~ N(0, I)`` from ``seed``, truncation ``psi``)."""
        z = torch.randn(count, self.G.opt.z_dim, generator=torch.Generator().manual_seed(int(seed)))
        with torch.no_grad():
            return self.G.w_from_z(z.to(self.device), psi).cpu().numpy().astype(np.float32)

    def encode(self, images: np.ndarray) -> np.ndarray:
        """The encoder's ``float32 (N, w_dim)`` latents for ``uint8 (N, R, R, 3)`` pictures (``w_avg`` without
        an encoder)."""
        x = to_tensor(images, self.device)
        with torch.no_grad():
            if self.E is None:
                w = self.w_avg.expand(x.shape[0], -1)
            else:
                w = self.w_avg + self.E(x)
        return w.cpu().numpy().astype(np.float32)

    def best_sample(self, target: np.ndarray, count: int = RANDOM_STARTS, psi: float = 0.7) -> np.ndarray:
        """``float32 (1, w_dim)``: of ``count`` random latents (fixed seed, truncation ``psi``), the one whose
        picture is nearest ``target`` (``uint8 (R, R, 3)``) in pixels: the start of projection without an
        encoder (the average latent itself can be a flat spot of the generator, e.g. ``z = 0`` of a DCGAN)."""
        ws = self.sample(0, count, psi)
        x = to_tensor(target, self.device)
        with torch.no_grad():
            err = (self.G.synthesis(torch.from_numpy(ws).to(self.device)) - x).square().mean(dim=(1, 2, 3))
        return ws[int(torch.argmin(err))][None]

    def project(self, target: np.ndarray, steps: int = 100, lr: float = 0.1, prior: float = 1e-3,
                callback: Optional[StepCallback] = None, preview_every_s: float = 0.1,
                time_limit_s: Optional[float] = None) -> Projection:
        """Project ``target`` (``uint8 (R, R, 3)``) onto the generator's pictures (module docstring).

        The start is the encoder's guess, or the nearest (in pixels) of :data:`RANDOM_STARTS` random latents
        when that is nearer or there is no encoder (iGAN's hybrid method keeps whichever start is better).
        ``callback`` (e.g. streaming previews and honouring a cancel token, which it may raise from) gets
        the start first (step 0), then the current picture at most every ``preview_every_s`` seconds, and
        the final one. ``time_limit_s`` stops early. ``steps`` 0 returns the start.

        Raises:
            ValueError: ``target`` is not ``uint8 (R, R, 3)`` at the generator's resolution.
        """
        r = self.resolution
        if target.shape != (r, r, 3) or target.dtype != np.uint8:
            raise ValueError(f"target must be uint8 ({r}, {r}, 3), got {target.dtype} {target.shape}")
        t0 = time.perf_counter()
        x = to_tensor(target, self.device)
        x_grad = _sobel(x)
        w0 = torch.from_numpy(self.best_sample(target)).to(self.device)
        start_image = enc_image = self.render(w0)[0]
        if self.E is not None:
            # the encoder's guess, unless one of the random starts is nearer in pixels (a weak encoder, a photo
            # far from its training data); Projection.encoder_image stays the encoder's own guess
            w_enc = torch.from_numpy(self.encode(target)).to(self.device)
            enc_image = self.render(w_enc)[0]
            if psnr(enc_image, target) >= psnr(start_image, target):
                w0, start_image = w_enc, enc_image
        history = [(time.perf_counter() - t0, psnr(start_image, target))]
        if callback is not None:
            callback(0, steps, start_image[None], np.array([np.nan], np.float32))
        u = self.to_u(w0).clone().requires_grad_(True)
        opt = LatentAdam(u, lr)
        last_preview, done = time.perf_counter(), 0
        for step in range(1, steps + 1):
            with torch.enable_grad():
                img = self.G.synthesis(self.to_w(u))
                loss = F.mse_loss(img, x) + PROJ_GRAD * F.mse_loss(_sobel(img), x_grad) + prior * u.square().mean()
                loss.backward()
            opt.step()
            done = step
            now = time.perf_counter()
            out_of_time = time_limit_s is not None and now - t0 >= time_limit_s
            if callback is not None and (now - last_preview >= preview_every_s or step == steps or out_of_time):
                pic = to_uint8(img)
                history.append((now - t0, psnr(pic[0], target)))
                callback(step, steps, pic, np.array([float(loss.detach())], np.float32))
                last_preview = now
            if out_of_time:
                break
        w = self.to_w(u.detach())
        image = self.render(w)[0]
        mse = float(np.mean((image.astype(np.float64) - target) ** 2))
        return Projection(w=w[0].cpu().numpy().astype(np.float32), image=image, encoder_image=enc_image, mse=mse,
                          psnr=psnr(image, target), encoder_psnr=psnr(enc_image, target), steps=done, history=history)

    def edit(self, w0: np.ndarray, maps: StrokeMaps, candidates: int = 8, steps: int = 40, lr: float = 0.1,
             closeness: float = 0.05, w_color: float = 1.0, w_sketch: float = 1.0, spread: float = 0.5,
             seed: int = 0, callback: Optional[StepCallback] = None, preview_every_s: float = 0.1) -> Edit:
        """Optimise ``candidates`` latent codes from the projection ``w0`` (``float (w_dim,)``) towards the
        stroke constraints ``maps`` (module docstring). ``spread`` is the length, in normalised units per
        dimension, of the random start offsets of candidates 2..K (from ``seed``). ``callback`` as in
        :meth:`project` (all ``K`` pictures). Without constraints every candidate is ``w0``'s picture.

        Raises:
            ValueError: ``candidates < 1`` or ``w0`` of the wrong size.
        """
        if candidates < 1:
            raise ValueError(f"candidates must be >= 1, got {candidates}")
        w0_t = torch.tensor(np.asarray(w0, np.float32), device=self.device).reshape(1, -1)
        if w0_t.shape[1] != self.w_avg.shape[0]:
            raise ValueError(f"w0 must have {self.w_avg.shape[0]} values, got {w0_t.shape[1]}")
        c = ConstraintTensors.from_maps(maps, self.device)
        u0 = self.to_u(w0_t)
        noise = torch.randn(candidates, u0.shape[1], generator=torch.Generator().manual_seed(int(seed))).to(self.device)
        noise[0] = 0.0
        u = (u0 + spread * noise).requires_grad_(True)
        opt = LatentAdam(u, lr)
        run_steps = 0 if maps.empty else steps
        last_preview = time.perf_counter()

        def losses(img: torch.Tensor, u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            cons = w_color * color_loss(img, c) + w_sketch * sketch_loss(img, c)
            return cons + closeness * (u - u0).square().mean(dim=1), cons

        for step in range(1, run_steps + 1):
            with torch.enable_grad():
                img = self.G.synthesis(self.to_w(u))
                total, _ = losses(img, u)
                total.sum().backward()
            opt.step()
            now = time.perf_counter()
            if callback is not None and (now - last_preview >= preview_every_s or step == run_steps):
                callback(step, run_steps, to_uint8(img), total.detach().cpu().numpy())
                last_preview = now
        with torch.no_grad():
            u_final = u.detach() if run_steps else u0.expand(candidates, -1)
            img = self.G.synthesis(self.to_w(u_final))
            total, cons = losses(img, u_final)
        order = torch.argsort(total).cpu()
        ws = self.to_w(u_final)[order]
        return Edit(ws=ws.cpu().numpy().astype(np.float32), images=to_uint8(img[order]),
                    losses=total[order].cpu().numpy().astype(np.float32),
                    constraint_losses=cons[order].cpu().numpy().astype(np.float32), steps=run_steps)

    def morph(self, w0: np.ndarray, w1: np.ndarray, frames: int = 8) -> np.ndarray:
        """``uint8 (..., frames, R, R, 3)``: pictures along ``w0 + t (w1 - w0)``, ``t = 0 .. 1``. ``w1`` may hold
        several end points ``(K, w_dim)`` (then the result is ``(K, frames, R, R, 3)``).

        Raises:
            ValueError: ``frames < 2``.
        """
        if frames < 2:
            raise ValueError(f"a morph needs at least 2 frames, got {frames}")
        a = torch.tensor(np.asarray(w0, np.float32), device=self.device).reshape(1, 1, -1)
        b = torch.tensor(np.asarray(w1, np.float32), device=self.device)
        ends = b.reshape(-1, 1, b.shape[-1])
        t = torch.linspace(0.0, 1.0, frames, device=self.device).reshape(1, -1, 1)
        w = (a + t * (ends - a)).reshape(-1, b.shape[-1])
        pics = self.render(w).reshape(ends.shape[0], frames, self.resolution, self.resolution, 3)
        return pics if b.dim() == 2 else pics[0]


__all__ = ["Edit", "LatentAdam", "ManifoldModel", "PROJ_GRAD", "Projection", "StepCallback", "psnr", "to_tensor",
           "to_uint8"]
