"""Issue #8.8: every bad command line is one line 'ganpaint: error: ...' and exit status 2."""

import os
import stat
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from ganpaint import cli
from tests.conftest import REPO, SAMPLES

PHOTO = str(SAMPLES / "chelsea.png")


def _mask(tmp_path, holes=False):
    width, height = Image.open(PHOTO).size
    mask = np.zeros((height, width), np.uint8)
    if holes:
        mask[10:20, 10:20] = 255
    path = tmp_path / ("holes.png" if holes else "empty.png")
    Image.fromarray(mask).save(path)
    return str(path)


def _one_error_line(capsys, code, *fragments):
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("ganpaint: error: "), err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def no_models(monkeypatch):
    """Fail the test if a command reaches the model registry (output checks come first)."""
    from ganpaint.engines import registry

    def refuse(*args, **kwargs):
        raise AssertionError("the model was reached before the output path was checked")

    monkeypatch.setattr(registry.ModelRegistry, "default", classmethod(refuse))
    from ganpaint import bench

    monkeypatch.setattr(bench, "run_bench", refuse)


def test_seed_beyond_64_bits(tmp_path, capsys):
    code = cli.main(["inpaint", PHOTO, _mask(tmp_path), "-o", str(tmp_path / "o.png"), "--seed", str(2**64)])
    _one_error_line(capsys, code, "--seed", "64 bits")
    code = cli.main(["synthesize", PHOTO, "-o", str(tmp_path / "o.png"), "--seed", "-1"])
    _one_error_line(capsys, code, "--seed")
    code = cli.main(["inpaint", PHOTO, _mask(tmp_path), "-o", str(tmp_path / "o.png"), "--seed", str(2**64 - 1)])
    assert code == 0  # the largest 64-bit seed is fine (no hole: no model run)


@pytest.mark.parametrize("args, fragment", [
    (["bench", "--repeats", "0"], "--repeats"),
    (["bench", "--sizes", "-5"], "--sizes"),
    (["bench", "--sizes", "100000"], "--sizes"),
    (["bench", "--warmup", "-1"], "--warmup"),
    (["bench", "--json", "/no/such/folder/out.json"], "does not exist"),
])
def test_bench_arguments(no_models, capsys, args, fragment):
    _one_error_line(capsys, cli.main(args), fragment)


def test_output_path_checked_before_the_model_runs(tmp_path, capsys, no_models):
    holes = _mask(tmp_path, holes=True)
    code = cli.main(["inpaint", PHOTO, holes, "-o", str(tmp_path / "missing" / "o.png")])
    _one_error_line(capsys, code, "does not exist")
    code = cli.main(["inpaint", PHOTO, holes, "-o", str(tmp_path / "o.xyz")])
    _one_error_line(capsys, code, "extensions")
    code = cli.main(["synthesize", PHOTO, "-o", str(tmp_path)])
    _one_error_line(capsys, code)
    code = cli.main(["segment", PHOTO, "-o", str(tmp_path / "missing" / "labels.png")])
    _one_error_line(capsys, code, "does not exist")


@pytest.mark.skipif(os.name != "posix", reason="permission bits")
def test_read_only_output_needs_force(tmp_path, capsys):
    out = tmp_path / "o.png"
    out.write_bytes(b"old")
    os.chmod(out, 0o444)
    code = cli.main(["inpaint", PHOTO, _mask(tmp_path), "-o", str(out)])
    _one_error_line(capsys, code, "read-only", "--force")
    assert out.read_bytes() == b"old"
    assert cli.main(["inpaint", PHOTO, _mask(tmp_path), "-o", str(out), "--force"]) == 0
    assert Image.open(out).size == Image.open(PHOTO).size and stat.S_IMODE(out.stat().st_mode) == 0o444


@pytest.mark.parametrize("command", [["train", "inpaint"], ["train", "segment"], ["train", "spade"],
                                     ["eval", "inpaint"], ["eval", "spade"]])
@pytest.mark.parametrize("data", ["missing", "empty", "file", "bad-splits"])
def test_train_and_eval_with_a_bad_data_folder(tmp_path, capsys, command, data):
    folder = tmp_path / "data"
    if data == "empty":
        folder.mkdir()
    elif data == "file":
        folder.write_text("not a folder")
    elif data == "bad-splits":
        (folder / "images").mkdir(parents=True)
        Image.new("RGB", (8, 8)).save(folder / "images" / "a.png")
        (folder / "splits.json").write_text('{"train": [')
        (folder / "classes.json").write_text('{"0": {"name": "a", "color": [1, 2, 3]}}')
    out = tmp_path / "run"
    extra = ["--out", str(out)] if command[0] == "train" else []
    code = cli.main([*command, "--data", str(folder), *extra, "--device", "cpu"])
    _one_error_line(capsys, code)
    assert not out.exists()  # no --out/samples created for a run that cannot start


def test_typo_command_is_unknown_but_files_open_the_studio(monkeypatch, capsys, tmp_path):
    opened = []
    monkeypatch.setattr(cli, "_run_gui", lambda args: opened.append(args.file) or 0)
    _one_error_line(capsys, cli.main(["verify"]), "unknown command 'verify'", "ganpaint models verify")
    _one_error_line(capsys, cli.main(["modles", "list"]), "unknown command", "ganpaint models")
    assert cli.main(["photo.png"]) == 0
    assert cli.main([]) == 0
    (tmp_path / "README").write_text("x")
    monkeypatch.chdir(tmp_path)
    assert cli.main(["README"]) == 0  # an existing file without extension is a file
    assert cli.main(["--device", "cpu", "x.ganpaint"]) == 0
    assert opened == ["photo.png", None, "README", "x.ganpaint"]
    _one_error_line(capsys, cli.main(["models", "frobnicate"]), "invalid choice")


def _run(args, *, env=None, timeout=120):
    environment = dict(os.environ, PYTHONPATH=str(REPO), GANPAINT_MODELS_DIR=str(REPO / "ganpaint" / "models"))
    environment.update(env or {})
    return subprocess.run([sys.executable, "-m", "ganpaint", *args], capture_output=True, env=environment,
                          timeout=timeout, cwd=REPO)


@pytest.mark.skipif(sys.platform == "win32", reason="byte file names")
def test_non_utf8_file_name_with_strict_stdout(tmp_path):
    name = os.fsencode(tmp_path) + b"/caf\xe9.png"
    Image.open(PHOTO).save(os.fsdecode(name), format="PNG")
    mask = _mask(tmp_path)
    out = os.fsencode(tmp_path) + b"/out\xff.png"
    strict = {"PYTHONIOENCODING": "utf-8:strict", "LC_ALL": "C.UTF-8"}
    done = _run([b"inpaint", name, mask.encode(), b"-o", out], env=strict)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    assert b"caf\\udce9.png" in done.stdout and os.path.exists(out)
    done = _run([b"inpaint", os.fsencode(tmp_path) + b"/nope\xe9.png", mask.encode(), b"-o", out], env=strict)
    lines = done.stderr.decode(errors="replace").strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and lines[0].startswith("ganpaint: error: cannot read 'nope")


def test_decompression_bomb_warning_not_printed_before_our_line(tmp_path):
    from tests.test_imageio import _png_with_header

    big = _png_with_header(tmp_path / "big.png", 12000, 9000)  # above MAX_PIXELS, below Pillow's 2x error
    done = _run(["inpaint", str(big), str(big), "-o", str(tmp_path / "o.png")])
    lines = done.stderr.decode().strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1, lines
    assert lines[0].startswith("ganpaint: error: cannot read 'big.png'") and "12000x9000" in lines[0]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs")
def test_fifo_input_is_refused_instead_of_blocking(tmp_path):
    fifo = tmp_path / "photo.png"
    os.mkfifo(fifo)
    done = _run(["inpaint", str(fifo), str(fifo), "-o", str(tmp_path / "o.png")], timeout=60)
    lines = done.stderr.decode().strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and "not a regular file" in lines[0]
    project = tmp_path / "p.ganpaint"
    os.mkfifo(project)
    from ganpaint.document.project import load_project
    from ganpaint.errors import ProjectError

    with pytest.raises(ProjectError, match="not a regular file"):
        load_project(project)
    cards = tmp_path / "models"
    cards.mkdir()
    os.mkfifo(cards / "x.json")
    from ganpaint.engines.registry import ModelRegistry

    assert any("not a regular file" in p for p in ModelRegistry([cards]).problems)


def test_missing_or_foreign_checkpoint_is_an_input_error(tmp_path):
    """``--checkpoint`` / ``--editor-checkpoint`` paths that are missing, not checkpoints, or hold a bare tensor
    give one clear error (the CLI prints it as one line), never a traceback."""
    import torch

    from ganpaint.errors import InputError
    from ganpaint.training.checkpoint import load_checkpoint, save_checkpoint

    with pytest.raises(InputError, match="does not exist"):
        load_checkpoint(tmp_path / "step_0001250.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="cannot be read"):
        load_checkpoint(tmp_path / "junk.pt")
    torch.save(torch.zeros(2), tmp_path / "tensor.pt")
    with pytest.raises(InputError, match="not a training checkpoint"):
        load_checkpoint(tmp_path / "tensor.pt")
    save_checkpoint(tmp_path / "ok.pt", {"step": 3})
    assert load_checkpoint(tmp_path / "ok.pt") == {"step": 3}
