"""Smoke test of an installed GANPaint Studio: a PyInstaller bundle or a wheel installed in a venv.

Usage::

    python3 packaging/smoke.py dist/GANPaintStudio/GANPaintStudio     # the desktop bundle
    python3 packaging/smoke.py /tmp/venv/bin/ganpaint                   # a wheel installed in a venv

Runs the given ``ganpaint`` executable from a temporary folder (so nothing comes from the checkout),
with its own user data folder and ``QT_QPA_PLATFORM=offscreen``, and checks, one line per step:

1. ``--version`` names the version;
2. ``models verify`` passes (the shipped weights travelled with the artefact);
3. ``inpaint`` fills a box in the sample photo shipped inside the artefact, and the output PNG has
   the photo's size;
4. ``segment`` then ``synthesize`` turn that photo into a label map and back into a picture;
5. the studio window opens offscreen on the sample photo and closes itself cleanly
   (``GANPAINT_SMOKE_EXIT_MS``); its wall time is the start-up time;
6. ``desktop-install`` into a temporary XDG data folder writes a menu entry that runs this executable,
   and ``--uninstall`` removes it.

Exit status 0 when every step passed, else 1. Standard library only: it runs with any Python 3.8+,
also on a machine where the bundle is the only GANPaint Studio.
"""

from __future__ import annotations

import argparse
import glob
import os
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

SAMPLE = "ganpaint/resources/samples/coffee.png"


class StepFailed(Exception):
    pass


def find_sample(executable: Path) -> Path:
    """The sample photo shipped inside the artefact that ``executable`` belongs to."""
    candidates = [executable.parent / "_internal" / SAMPLE]  # PyInstaller one-folder bundle
    candidates += [Path(p) for p in glob.glob(str(executable.parent.parent / "lib" / "python3*" / "site-packages" / SAMPLE))]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise StepFailed(f"no {SAMPLE} inside the artefact of {executable} (looked at {', '.join(map(str, candidates))})")


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk."""
    header = path.read_bytes()[:24]
    if header[:8] != b"\x89PNG\r\n\x1a\n" or header[12:16] != b"IHDR":
        raise StepFailed(f"{path} is not a PNG file")
    return struct.unpack(">II", header[16:24])


def write_box_mask(path: Path, width: int, height: int) -> None:
    """A grayscale PNG mask with a hole (255) over the middle ninth of a ``width`` x ``height`` image."""
    x0, x1, y0, y1 = width // 3, 2 * width // 3, height // 3, 2 * height // 3
    hole_row = b"\x00" + bytes(x0) + b"\xff" * (x1 - x0) + bytes(width - x1)
    keep_row = b"\x00" + bytes(width)
    raw = b"".join(hole_row if y0 <= y < y1 else keep_row for y in range(height))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


class Smoke:
    def __init__(self, executable: Path, work: Path, timeout: float) -> None:
        self.executable = executable
        self.work = work
        self.timeout = timeout
        self.env = dict(os.environ, QT_QPA_PLATFORM="offscreen", GANPAINT_DATA_DIR=str(work / "userdata"))
        self.env.pop("PYTHONPATH", None)  # nothing may come from a checkout
        self.env.pop("GANPAINT_MODELS_DIR", None)
        self.failures = 0

    def run(self, *args: str, env: dict | None = None) -> tuple[str, float]:
        """Run the executable with ``args``; its stdout+stderr and wall time; StepFailed unless status 0."""
        start = time.perf_counter()
        try:
            done = subprocess.run([str(self.executable), *args], cwd=self.work, env=env or self.env,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=self.timeout)
        except subprocess.TimeoutExpired as error:
            raise StepFailed(f"'{' '.join(args)}' did not finish within {self.timeout:.0f} s") from error
        elapsed = time.perf_counter() - start
        if done.returncode != 0:
            raise StepFailed(f"'{' '.join(args)}' exited with status {done.returncode}:\n{done.stdout}")
        return done.stdout, elapsed

    def step(self, name: str, check) -> None:
        start = time.perf_counter()
        try:
            detail = check()
        except StepFailed as error:
            self.failures += 1
            print(f"FAIL  {name}: {error}", flush=True)
            return
        print(f"ok    {name} ({time.perf_counter() - start:.1f} s){': ' + detail if detail else ''}", flush=True)

    # ------------------------------------------------------------------ steps
    def version(self) -> str:
        out, elapsed = self.run("--version")
        if not out.startswith("ganpaint "):
            raise StepFailed(f"unexpected --version output {out!r}")
        return f"{out.strip()}, {elapsed:.2f} s"

    def verify(self) -> str:
        out, _ = self.run("models", "verify")
        if "all models verified" not in out:
            raise StepFailed(out)
        return f"{out.count('OK  ')} models"

    def inpaint(self) -> str:
        sample = find_sample(self.executable)
        width, height = png_size(sample)
        mask, output = self.work / "mask.png", self.work / "filled.png"
        write_box_mask(mask, width, height)
        out, elapsed = self.run("inpaint", str(sample), str(mask), "-o", str(output))
        if not output.is_file() or png_size(output) != (width, height):
            raise StepFailed(f"no {width}x{height} output: {out}")
        return f"{width}x{height} in {elapsed:.1f} s (process)"

    def semantic(self) -> str:
        sample = find_sample(self.executable)
        labels, picture = self.work / "labels.png", self.work / "synth.png"
        self.run("segment", str(sample), "-o", str(labels), "--model", "segment-landscape")
        self.run("synthesize", str(labels), "-o", str(picture), "--model", "spade-landscape", "--photo", str(sample))
        if png_size(picture) != png_size(sample):
            raise StepFailed("the synthesized picture does not have the photo's size")
        return "segment-landscape -> spade-landscape"

    def gui(self) -> str:
        env = dict(self.env, GANPAINT_SMOKE_EXIT_MS="0")
        out, elapsed = self.run(env=env)
        line = next((line for line in out.splitlines() if line.startswith("smoke: ")), None)
        if line is None or "coffee.png" not in line or "visible=True" not in line:
            raise StepFailed(f"the window did not show the sample photo:\n{out}")
        return f"start-up to shown window and clean exit {elapsed:.1f} s; {line[7:]}"

    def desktop(self) -> str:
        home = self.work / "xdg"
        self.run("desktop-install", "--data-home", str(home), "--no-refresh")
        entry = home / "applications" / "ganpaint.desktop"
        text = entry.read_text(encoding="utf-8") if entry.is_file() else ""
        exec_line = next((line for line in text.splitlines() if line.startswith("Exec=")), "")
        wanted = [home / "icons/hicolor/scalable/apps/ganpaint.svg", home / "mime/packages/ganpaint.xml"]
        if not any(str(path) in exec_line for path in (self.executable, self.executable.resolve())):
            raise StepFailed(f"the menu entry does not run {self.executable}: {exec_line!r}")
        if not all(path.is_file() for path in wanted):
            raise StepFailed("the icon or the MIME type was not installed")
        self.run("desktop-install", "--data-home", str(home), "--uninstall", "--no-refresh")
        if entry.exists() or any(path.exists() for path in wanted):
            raise StepFailed("--uninstall left files behind")
        return exec_line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("executable", type=Path, help="the bundle's GANPaintStudio or a venv's bin/ganpaint")
    parser.add_argument("--timeout", type=float, default=300, help="seconds allowed per command")
    parser.add_argument("--skip", action="append", default=[], choices=["semantic", "gui", "desktop"],
                        help="leave a step out (repeatable)")
    args = parser.parse_args(argv)
    executable = args.executable.absolute()
    if not executable.is_file():
        print(f"smoke: {executable} does not exist", file=sys.stderr)
        return 1
    print(f"smoke test of {executable}")
    with tempfile.TemporaryDirectory(prefix="ganpaint-smoke-") as work:
        smoke = Smoke(executable, Path(work), args.timeout)
        steps = [("--version", smoke.version), ("models verify", smoke.verify), ("inpaint", smoke.inpaint),
                 ("semantic", smoke.semantic), ("gui", smoke.gui), ("desktop", smoke.desktop)]
        for name, check in steps:
            if name not in args.skip:
                smoke.step(name, check)
    print("smoke: all steps passed" if not smoke.failures else f"smoke: {smoke.failures} step(s) failed")
    return 1 if smoke.failures else 0


if __name__ == "__main__":
    sys.exit(main())
