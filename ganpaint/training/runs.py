"""Scaffolding shared by every training loop: starting or resuming a run, stop signals, the step log, the
outer loop (progress bar, periodic samples and checkpoints), the command line of a run."""

from __future__ import annotations

import argparse
import json
import shlex
import signal
import sys
import time
from pathlib import Path
from typing import IO, Any, Callable, Optional


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
             *(["--size", str(args.size)] if hasattr(args, "size") else []),
             "--batch", str(args.batch), *(["--steps", str(args.steps)] if hasattr(args, "steps") else [])]
    if getattr(args, "resume", False):
        parts.append("--resume")
    return f"ganpaint train {task} " + " ".join(parts)


def frozen_copy(module):
    """A deep copy of ``module`` in eval mode with gradients off: the EMA copy a trainer exports."""
    import copy

    ema = copy.deepcopy(module).eval()
    for p in ema.parameters():
        p.requires_grad_(False)
    return ema


def update_ema(pairs, decay: float, step: int) -> None:
    """Move each ``(ema, model)`` pair's EMA weights towards the model's (buffers are copied).

    The decay is warmed up as ``min(decay, (1 + step) / (10 + step))`` so early steps average less;
    ``decay`` 0 copies the weights (no averaging).
    """
    import torch

    with torch.no_grad():
        for ema, model in pairs:
            if decay <= 0:
                ema.load_state_dict(model.state_dict())
                continue
            rate = 1.0 - min(decay, (1.0 + step) / (10.0 + step))
            for pe, p in zip(ema.parameters(), model.parameters()):
                pe.lerp_(p.detach(), rate)
            for be, b in zip(ema.buffers(), model.buffers()):
                be.copy_(b)


def add_run_arguments(parser: argparse.ArgumentParser, *, sample_every: int, checkpoint_every: int, keep_every: int,
                      log_every: int, models_dir: str) -> None:
    """The options every trainer shares: run folder and resume (``--out``, ``--resume``, ``--checkpoint``), compute
    (``--device``, ``--threads``), the :class:`RunLoop` periods, ``--seed`` and export (``--export``,
    ``--models-dir``, ``--export-fp32``); the defaults given are the trainer's own."""
    parser.add_argument("--out", required=True, metavar="DIR", help="run folder: checkpoints, samples, log")
    parser.add_argument("--resume", action="store_true", help="continue from OUT/last.pt (or --checkpoint)")
    parser.add_argument("--checkpoint", metavar="PT", help="checkpoint to resume from instead of OUT/last.pt")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0: all cores); use 1 on a "
                        "CPU shared with other jobs")
    parser.add_argument("--sample-every", type=int, default=sample_every, help="write a sample grid every N steps")
    parser.add_argument("--checkpoint-every", type=int, default=checkpoint_every, help="write OUT/last.pt every N steps")
    parser.add_argument("--keep-every", type=int, default=keep_every, help="keep a step_N.pt snapshot every N steps "
                        "(0: never)")
    parser.add_argument("--log-every", type=int, default=log_every, help="append to train_log.jsonl every N steps")
    parser.add_argument("--seed", type=int, default=0, help="random seed (new runs)")
    parser.add_argument("--export", metavar="NAME", help="export the network as MODELS_DIR/NAME.{safetensors,json}")
    parser.add_argument("--models-dir", default=models_dir, help="where --export writes")
    parser.add_argument("--export-fp32", action="store_true", help="export fp32 weights instead of fp16")

def optimizer_step(optimizer, loss) -> float:
    """One plain optimisation step: clear ``optimizer``'s gradients (to None), back-propagate the scalar
    tensor ``loss`` and step; returns the loss as a Python float (for the log)."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return float(loss.detach())

def standalone_main(task: str, add_arguments, run, argv: list[str] | None = None) -> int:
    """``python -m ganpaint.training.train_TASK ...``: the same options as ``ganpaint train TASK``."""
    parser = argparse.ArgumentParser(prog=f"ganpaint train {task}", formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    add_arguments(parser)
    return run(parser.parse_args(argv))


def open_run(args: argparse.Namespace):
    """Start or resume a run: ``(device, out, state, checkpoint_path)``.

    Picks the device (``--device``), sets torch's CPU threads (``--threads``, 0 = all cores) or, on CUDA, turns
    on cuDNN's autotuner (the crop size is fixed), and with
    ``--resume`` loads ``--checkpoint`` or ``OUT/last.pt`` (``state`` is None for a new run; a missing
    ``OUT/last.pt`` starts one). Nothing is created yet: :class:`RunLoop` creates ``OUT/`` and
    ``OUT/samples/``, so a run that fails on its data leaves no folders behind.

    Raises:
        GanpaintError: ``OUT`` exists but is not a folder; InputError (from
            :func:`~ganpaint.training.checkpoint.load_checkpoint`): ``--checkpoint`` is missing or unreadable.
    """
    from ganpaint.errors import GanpaintError

    import torch

    from ganpaint.inference.device import select_device
    from ganpaint.training import checkpoint as ckpt

    device = select_device(args.device)
    if device.type == "cpu":
        import os

        torch.set_num_threads(args.threads or os.cpu_count() or 1)
    elif device.type == "cuda":  # fixed crop sizes: let cuDNN pick its fastest convolution once per shape
        torch.backends.cudnn.benchmark = True
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise GanpaintError(f"--out '{out}' exists and is not a folder.")
    ckpt_path = Path(args.checkpoint) if args.checkpoint else out / ckpt.CHECKPOINT_NAME
    state = None
    if args.resume:
        if args.checkpoint or ckpt_path.is_file():  # a named checkpoint must load (InputError otherwise)
            state = ckpt.load_checkpoint(ckpt_path, map_location="cpu")
        else:
            print(f"no checkpoint at {ckpt_path}; starting a new run", file=sys.stderr)
    return device, out, state, ckpt_path


def restore_progress(state: Optional[dict], seed: int):
    """Where a run stands: ``(step, wall_s, rng, commands)``.

    For a new run (``state`` None): step 0, 0 s, ``numpy.random.default_rng(seed)`` and no commands. For a
    resumed one: the checkpoint's step, training wall time in seconds, numpy generator and command history,
    and torch's global RNG state is restored too.
    """
    import numpy as np
    import torch

    from ganpaint.training import checkpoint as ckpt

    if state is None:
        return 0, 0.0, np.random.default_rng(seed), []
    torch.set_rng_state(state["torch_rng"])
    return (int(state["step"]), float(state.get("wall_time", 0.0)), ckpt.restore_rng(state["rng"]),
            list(state.get("commands", [])))


def load_training_state(state: dict, modules: dict, optimizers: dict) -> None:
    """Resume networks and optimisers from a checkpoint dict: ``modules`` maps checkpoint keys to modules
    (``{"generator": G, "generator_ema": G_ema, ...}``), ``optimizers`` maps keys to ``(optimizer, lr)``; every
    optimiser's learning rate is then set to the given one (this run's ``--lr``), not the checkpoint's."""
    for key, module in modules.items():
        module.load_state_dict(state[key])
    for key, (optimizer, lr) in optimizers.items():
        optimizer.load_state_dict(state[key])
        for group in optimizer.param_groups:
            group["lr"] = lr


class RunLoop:
    """The outer loop of a training run: progress bar, step log, stop signal, samples and checkpoints.

    Args:
        args: the run's options; uses ``steps``, ``log_every``, ``sample_every``, ``checkpoint_every`` and
            ``keep_every``.
        out: the run folder (``OUT/last.pt``, ``OUT/train_log.jsonl``, ``OUT/samples/``), created here.
        desc: the progress bar's title.
        step, wall_s: where the run starts (0 and 0.0 for a new run; the checkpoint's values on resume).
        snapshot: returns the trainer's checkpoint dict; :meth:`state` adds ``step``, ``wall_time`` and the
            numpy generator ``rng`` to it.
        rng: the numpy generator the trainer draws batches from (saved with every checkpoint).
        write_samples: ``write_samples(step)`` writes a sample grid; called every ``--sample-every`` steps
            and by :meth:`finish` (None: the trainer writes its own).

    Use::

        with RunLoop(args, out, "spade", step, wall, snapshot, rng, write_samples) as loop:
            while loop.running:
                t0 = time.perf_counter()
                ...  # one optimisation step
                loop.step_done(time.perf_counter() - t0, {"loss": value})
        loop.finish()
    """

    def __init__(self, args: argparse.Namespace, out: Path, desc: str, step: int, wall_s: float,
                 snapshot: Callable[[], dict], rng: Any, write_samples: Optional[Callable[[int], None]] = None) -> None:
        from ganpaint.training.progress import ProgressBar

        self.args, self.out = args, Path(out)
        self.step, self.wall_s = int(step), float(wall_s)
        self.rng = rng
        self._snapshot, self._write_samples = snapshot, write_samples
        self.stop = StopRequest()
        (self.out / "samples").mkdir(parents=True, exist_ok=True)
        self.log = TrainLog(self.out)
        self.bar = ProgressBar(args.steps, start=self.step, desc=desc)

    def __enter__(self) -> "RunLoop":
        self.stop.install()
        return self

    def __exit__(self, *exc) -> None:
        self.bar.close()
        self.log.close()
        self.stop.restore()

    @property
    def running(self) -> bool:
        """True until ``--steps`` is reached or SIGTERM / SIGINT asked the run to stop."""
        return self.step < self.args.steps and not self.stop.requested

    def state(self) -> dict:
        """The checkpoint dict: the trainer's snapshot plus ``step``, ``wall_time`` (s), ``rng`` and ``torch_rng``."""
        import torch

        from ganpaint.training import checkpoint as ckpt

        return {**self._snapshot(), "step": self.step, "wall_time": self.wall_s, "rng": ckpt.rng_state(self.rng),
                "torch_rng": torch.get_rng_state()}

    def save(self, path: Optional[Path] = None) -> Path:
        """Write :meth:`state` to ``path`` (default ``OUT/last.pt``, atomically); returns the path."""
        from ganpaint.training import checkpoint as ckpt

        path = Path(path) if path is not None else self.out / ckpt.CHECKPOINT_NAME
        ckpt.save_checkpoint(path, self.state())
        return path

    def step_done(self, seconds: float, losses: dict[str, float], **log_extra: Any) -> None:
        """Count one optimisation step of ``seconds``: progress bar, log record every ``--log-every`` steps
        (with ``log_extra``), samples every ``--sample-every``, ``OUT/last.pt`` every ``--checkpoint-every``
        and ``OUT/step_NNNNNNN.pt`` every ``--keep-every`` (0 = never)."""
        args = self.args
        self.step += 1
        self.wall_s += seconds
        self.log.tick()
        self.bar.update(losses)
        if self.step % args.log_every == 0 or self.step == args.steps:
            self.log.record(self.step, self.wall_s, self.bar, **log_extra)
        if self._write_samples is not None and args.sample_every and self.step % args.sample_every == 0:
            self._write_samples(self.step)
        if self.step % args.checkpoint_every == 0:
            self.save()
        if getattr(args, "keep_every", 0) and self.step % args.keep_every == 0:
            self.save(self.out / f"step_{self.step:07d}.pt")

    def finish(self) -> None:
        """After the loop: the last checkpoint, a last sample grid, and a line saying where the run stopped."""
        path = self.save()
        if self._write_samples is not None:
            self._write_samples(self.step)
        print(f"stopped at step {self.step} ({self.wall_s / 60:.1f} min of training); checkpoint {path}",
              file=sys.stderr)
