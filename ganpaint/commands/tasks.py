"""Dispatch for ``ganpaint train TASK`` and ``ganpaint eval TASK``.

Each task module named in :data:`TRAINERS` or :data:`EVALUATORS` exposes
``add_arguments(parser: argparse.ArgumentParser) -> None`` and ``run(args) -> int``.
Modules are imported only when their command runs, so ``ganpaint --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib

TRAINERS: dict[str, tuple[str, str]] = {
    "inpaint": ("ganpaint.training.train_inpaint", "train the inpainting generator (gated convolutions, SN-PatchGAN)"),
    "spade": ("ganpaint.training.train_spade", "train a SPADE semantic synthesis generator (GauGAN)"),
    "segment": ("ganpaint.training.train_segment", "train a semantic segmentation network for a label set"),
    "colorize": ("ganpaint.training.train_colorize", "train a user-guided colorization network (photo or line art)"),
    "gan": ("ganpaint.training.train_gan", "train an unconditional GAN (DCGAN by default, or a light StyleGAN2; DiffAugment) for projection"),
    "encoder": ("ganpaint.training.train_encoder", "train the latent encoder of a GAN (iGAN's hybrid projection)"),
    "sesame": ("ganpaint.training.train_sesame", "train a semantic photo-editing generator (SESAME semantic inpainting)"),
    "judge": ("ganpaint.training.vgg_judge", "train the VGG16-feature segmenter that judges edits in 'eval spade'"),
}
EVALUATORS: dict[str, tuple[str, str]] = {
    "inpaint": ("ganpaint.training.eval_inpaint", "evaluate inpainting on held-out images against baselines"),
    "spade": ("ganpaint.training.eval_spade", "evaluate semantic synthesis: segmenter mIoU and Frechet distance"),
    "colorize": ("ganpaint.training.eval_colorize", "evaluate colorization: PSNR vs hints (photo), region accuracy "
                 "and leaks (line art)"),
    "gan": ("ganpaint.training.eval_gan", "evaluate an unconditional GAN: KID/FD on VGG features, nearest neighbours"),
    "igan": ("ganpaint.training.eval_igan", "evaluate projection and constrained editing on held-out photos"),
}


def _register_group(subparsers, command: str, help_text: str, modules: dict[str, tuple[str, str]]) -> None:
    parser = subparsers.add_parser(command, help=help_text)
    tasks = parser.add_subparsers(dest="task", metavar="TASK", required=True)
    for task, (module_name, task_help) in modules.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name != module_name:
                raise
            continue  # task not implemented in this build
        task_parser = tasks.add_parser(task, help=task_help, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
        module.add_arguments(task_parser)
        task_parser.set_defaults(func=module.run)


def register(subparsers) -> None:
    _register_group(subparsers, "train", "train a model on image folders", TRAINERS)
    _register_group(subparsers, "eval", "evaluate a model on held-out images", EVALUATORS)
