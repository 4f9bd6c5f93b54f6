"""Scaffolding shared by every training loop: stop signals, the step log, the command line of a run."""

from __future__ import annotations

import argparse
import json
import shlex
import signal
import sys
import time
from pathlib import Path
from typing import IO


class StopRequest:
    """SIGTERM / SIGINT set :attr:`requested` instead of killing the run, so the loop can save a
    checkpoint and export before it exits. :meth:`install` and :meth:`restore` bracket the loop."""

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self) -> None:
        self.requested = False
        self._previous: dict = {}

    def _handle(self, signum, frame) -> None:  # noqa: ARG002
        self.requested = True

    def install(self) -> "StopRequest":
        for sig in self.SIGNALS:
            try:
                self._previous[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not in the main thread: signals stay as they were
                pass
        return self

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()


class TrainLog:
    """Appends one JSON object a line to ``OUT/train_log.jsonl`` and echoes it when stderr is not a terminal.

    Call :meth:`tick` once per training step and :meth:`record` at each logging step: the record gets the
    step, the mean seconds per step since the previous record, the training wall time in minutes, and the
    progress bar's running loss values.
    """

    def __init__(self, out: Path) -> None:
        self._file: IO[str] = open(Path(out) / "train_log.jsonl", "a", encoding="utf-8")
        self._since, self._steps = time.perf_counter(), 0

    def tick(self) -> None:
        self._steps += 1

    def record(self, step: int, wall_s: float, bar, **extra) -> dict:
        now = time.perf_counter()
        record = {"step": step, "s_per_step": round((now - self._since) / max(self._steps, 1), 4),
                  "wall_min": round(wall_s / 60, 2), **extra, **{k: round(v, 5) for k, v in bar.values.items()}}
        self._since, self._steps = now, 0
        self.write(record)
        if not sys.stderr.isatty():
            bar.write(json.dumps(record))
        return record

    def write(self, obj: dict) -> None:
        self._file.write(json.dumps(obj) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()


def command_line(task: str, args: argparse.Namespace) -> str:
    """The command that started this training run (``ganpaint train TASK ...``), for the model card."""
    argv = sys.argv
    if "train" in argv and task in argv:
        return f"ganpaint train {task} " + " ".join(shlex.quote(a) for a in argv[argv.index(task) + 1:])
    module = f"train_{task}"
    if argv and Path(argv[0]).stem == module:
        return f"python -m ganpaint.training.{module} " + " ".join(shlex.quote(a) for a in argv[1:])
    data = args.data if isinstance(args.data, (list, tuple)) else [args.data]
    parts = ["--data", *(shlex.quote(str(d)) for d in data), "--out", shlex.quote(str(args.out)),
             "--size", str(args.size), "--batch", str(args.batch), "--steps", str(args.steps)]
    if getattr(args, "resume", False):
        parts.append("--resume")
    return f"ganpaint train {task} " + " ".join(parts)


def save_periodic(step: int, args: argparse.Namespace, out: Path, snapshot) -> None:
    """Write ``OUT/last.pt`` every ``--checkpoint-every`` steps and keep ``OUT/step_NNNNNNN.pt`` every
    ``--keep-every`` steps (0 = never); ``snapshot()`` returns the checkpoint dict."""
    from ganpaint.training import checkpoint as ckpt

    if step % args.checkpoint_every == 0:
        ckpt.save_checkpoint(Path(out) / ckpt.CHECKPOINT_NAME, snapshot())
    if getattr(args, "keep_every", 0) and step % args.keep_every == 0:
        ckpt.save_checkpoint(Path(out) / f"step_{step:07d}.pt", snapshot())


def standalone_main(task: str, add_arguments, run, argv: list[str] | None = None) -> int:
    """``python -m ganpaint.training.train_TASK ...``: the same options as ``ganpaint train TASK``."""
    parser = argparse.ArgumentParser(prog=f"ganpaint train {task}", formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    add_arguments(parser)
    return run(parser.parse_args(argv))


def open_run(args: argparse.Namespace):
    """Start or resume a run: ``(device, out, state, checkpoint_path)``.

    Picks the device (``--device``), sets torch's CPU threads (``--threads``, 0 = all cores), creates
    ``OUT/`` and ``OUT/samples/``, and with ``--resume`` loads ``--checkpoint`` or ``OUT/last.pt``
    (``state`` is None for a new run; a missing ``OUT/last.pt`` starts one, a missing ``--checkpoint``
    exits with a message).
    """
    import torch

    from ganpaint.inference.device import select_device
    from ganpaint.training import checkpoint as ckpt

    device = select_device(args.device)
    if device.type == "cpu":
        import os

        torch.set_num_threads(args.threads or os.cpu_count() or 1)
    out = Path(args.out)
    (out / "samples").mkdir(parents=True, exist_ok=True)
    ckpt_path = Path(args.checkpoint) if args.checkpoint else out / ckpt.CHECKPOINT_NAME
    state = None
    if args.resume:
        if ckpt_path.is_file():
            state = ckpt.load_checkpoint(ckpt_path, map_location="cpu")
        elif args.checkpoint:
            raise SystemExit(f"checkpoint {ckpt_path} does not exist")
        else:
            print(f"no checkpoint at {ckpt_path}; starting a new run", file=sys.stderr)
    return device, out, state, ckpt_path
