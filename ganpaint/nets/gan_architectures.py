"""The unconditional GAN architectures of the studio by model-card ``architecture`` name: their options
dataclass, generator and discriminator. The GAN engine (:mod:`ganpaint.engines.manifold`), the GAN and
encoder trainers and the evaluations build networks only through :func:`gan_options` and
:func:`build_gan`, so an architecture is added here once.

* ``"stylegan2-lite"``: :mod:`ganpaint.nets.stylegan2_lite` (latent space ``w``).
* ``"dcgan"``: :mod:`ganpaint.nets.dcgan` (latent space ``z``; 64 px; DCGAN's initialisation).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from torch import nn

from ganpaint.nets.dcgan import DCGANDiscriminator, DCGANGenerator, DCGANOptions, init_dcgan_weights
from ganpaint.nets.stylegan2_lite import Discriminator, GANOptions, Generator


class GANArchitecture(NamedTuple):
    """Options dataclass (with ``from_dict``), generator and discriminator classes, and the weight
    initialiser applied to new networks (None: the classes' own)."""

    options: type
    generator: type
    discriminator: type
    init: Any = None


#: Card ``architecture`` -> its classes.
ARCHITECTURES: dict[str, GANArchitecture] = {
    "stylegan2-lite": GANArchitecture(GANOptions, Generator, Discriminator),
    "dcgan": GANArchitecture(DCGANOptions, DCGANGenerator, DCGANDiscriminator, init_dcgan_weights),
}


def _architecture(name: str) -> GANArchitecture:
    try:
        return ARCHITECTURES[name]
    except KeyError:
        raise ValueError(f"unknown GAN architecture '{name}' (known: {', '.join(ARCHITECTURES)})") from None


def gan_options(name: str, data: dict[str, Any]):
    """The options dataclass of architecture ``name`` from its stored dict (checkpoint or card
    ``config["options"]``).

    Raises:
        ValueError: unknown ``name``; TypeError/ValueError: options the dataclass refuses.
    """
    return _architecture(name).options.from_dict(data)


def build_gan(name: str, opt, discriminator: bool = False) -> "nn.Module | tuple[nn.Module, nn.Module]":
    """A new generator of architecture ``name`` with options ``opt`` (or ``(generator, discriminator)`` with
    ``discriminator``), initialised as the architecture trains from scratch.

    Raises:
        ValueError: unknown ``name``.
    """
    arch = _architecture(name)
    nets = [arch.generator(opt)] + ([arch.discriminator(opt)] if discriminator else [])
    if arch.init is not None:
        for net in nets:
            net.apply(arch.init)
    return tuple(nets) if discriminator else nets[0]


__all__ = ["ARCHITECTURES", "GANArchitecture", "build_gan", "gan_options"]
