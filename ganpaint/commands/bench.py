"""``ganpaint bench [--device D] [--json OUT]``: engine latency (median, p95) and peak memory."""

from __future__ import annotations

import argparse
import sys


def _run(args: argparse.Namespace) -> int:
    from ganpaint.bench import format_table, rows_to_json, run_bench
    from ganpaint.document.atomic import atomic_write_bytes
    from ganpaint.engines.registry import ModelRegistry

    from ganpaint.commands.options import check_output, writing

    if args.json:
        check_output(args.json, force=args.force)
    half = {"auto": None, "fp16": True, "fp32": False}[args.precision]
    rows = run_bench(ModelRegistry.default(), args.device, sizes=args.sizes, models=args.model, repeats=args.repeats,
                     warmup=args.warmup, half=half, progress=lambda line: print(line, file=sys.stderr), load=args.load,
                     threads=args.threads)
    print(format_table(rows))
    gui = None
    if args.gui:
        from ganpaint.paths import SAMPLES
        from ganpaint.ui.latency import measure_release_to_fill

        gui = measure_release_to_fill(SAMPLES / "coffee.png", device=args.device)
        print(f"studio, mask stroke release -> fill shown: median {gui['median_total_ms']:.0f} ms "
              f"(engine {gui['median_engine_ms']:.0f} ms + overhead {gui['median_overhead_ms']:.1f} ms, "
              f"worst overhead {gui['max_overhead_ms']:.1f} ms) over {gui['strokes']} strokes")
        gui["large_photo_memory"] = large = large_photo_memory(args.device)
        print(f"studio, {large['width']}x{large['height']} photo, fill + label edit: peak resident memory "
              f"{large['peak_rss_mib']:.0f} MiB (after opening {large['open_rss_mib']:.0f} MiB)")
    if args.json:
        with writing(args.force):
            atomic_write_bytes(args.json, rows_to_json(rows, gui).encode())
        print(f"wrote {args.json}")
    return 0


def large_photo_memory(device: str) -> dict:
    """:mod:`ganpaint.ui.memory_check` in a fresh process (its peak resident size is that edit's alone)."""
    import json
    import subprocess

    done = subprocess.run([sys.executable, "-m", "ganpaint.ui.memory_check", "--device", device],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the large-photo memory check failed:\n{done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def register(subparsers) -> None:
    from ganpaint.commands.options import add_force, int_range, non_negative_int, positive_int

    parser = subparsers.add_parser("bench", help="measure engine latency and memory", formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    parser.add_argument("--json", metavar="OUT", help="also write the results as JSON")
    parser.add_argument("--model", action="append", help="benchmark this model (repeatable); default: each task's default model")
    parser.add_argument("--sizes", type=int_range(8, 8192), nargs="+", default=[256, 512], help="square crop sizes in pixels (8 to 8192)")
    parser.add_argument("--repeats", type=positive_int, default=10)
    parser.add_argument("--warmup", type=non_negative_int, default=2)
    parser.add_argument("--gui", action="store_true", help="also time mask-stroke release to fill in the real (offscreen) studio")
    parser.add_argument("--load", action="store_true",
                        help="measure every case twice: idle, then with one busy-loop process per core")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default: the studio's policy, every core with passive OpenMP waits)")
    parser.add_argument("--precision", choices=("auto", "fp16", "fp32"), default="auto", help="auto: fp16 on CUDA where the engine allows")
    add_force(parser)
    parser.set_defaults(func=_run)
