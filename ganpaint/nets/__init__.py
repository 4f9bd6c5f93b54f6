"""Network definitions, named after the modules of the papers they follow (Qt-free, torch only).

* ``spade``: SPADE / GauGAN (Park et al. 2019) generator, VAE style encoder and multi-scale PatchGAN
  discriminator, with the official NVlabs/SPADE module names and state_dict layout;
  ``spade_fast``: the equivalent inference form of a trained SPADE generator.
"""
