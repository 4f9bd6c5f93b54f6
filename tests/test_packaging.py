"""Packaging: every shipped file is package data (wheel and sdist), and the smoke test's own helpers work.

The wheel and the bundle themselves are built and smoke-tested by ``make wheel-check`` (CI) and
``make bundle``; these tests keep the declarations that feed them honest.
"""

import importlib.util
import subprocess
import sys

import numpy as np
from PIL import Image

from ganpaint import paths
from tests.conftest import REPO

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the TOML reader pip vendors
    from pip._vendor import tomli as tomllib

PACKAGE = REPO / "ganpaint"


def shipped_files():
    """Every file under ganpaint/models and ganpaint/resources that git tracks (what a clone has)."""
    listed = subprocess.run(["git", "ls-files", "ganpaint/models", "ganpaint/resources"], cwd=REPO,
                            capture_output=True, text=True, check=True).stdout.split()
    return {REPO / name for name in listed}


def test_package_data_globs_cover_every_shipped_file():
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["ganpaint"]
    covered = {path for pattern in patterns for path in PACKAGE.glob(pattern) if path.is_file()}
    files = shipped_files()
    assert files, "no shipped files found"
    assert files <= covered, sorted(str(p.relative_to(REPO)) for p in files - covered)


def test_sdist_manifest_grafts_the_package_data():
    manifest = (REPO / "MANIFEST.in").read_text().splitlines()
    assert "graft ganpaint/models" in manifest and "graft ganpaint/resources" in manifest


def test_paths_point_inside_the_package():
    assert paths.SHIPPED_MODELS == PACKAGE / "models" and paths.APP_ICON.is_file()
    assert (paths.RESOURCES / "desktop" / "ganpaint.desktop").is_file()


def load_smoke():
    spec = importlib.util.spec_from_file_location("smoke", REPO / "packaging" / "smoke.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_smoke_mask_writer_makes_a_png_with_a_box_hole(tmp_path):
    smoke = load_smoke()
    path = tmp_path / "mask.png"
    smoke.write_box_mask(path, 30, 12)
    mask = np.array(Image.open(path))
    assert mask.shape == (12, 30) and mask.dtype == np.uint8
    assert mask[6, 15] == 255 and mask[0, 0] == 0 and (mask > 0).sum() == 10 * 4
    assert smoke.png_size(path) == (30, 12)


def test_smoke_refuses_a_missing_executable(tmp_path):
    done = subprocess.run([sys.executable, str(REPO / "packaging" / "smoke.py"), str(tmp_path / "nothing")],
                          capture_output=True, text=True)
    assert done.returncode == 1 and "does not exist" in done.stderr
