"""Fault injection: SIGKILL a process while it writes files atomically, Ctrl-C an inspection.

:func:`kill_during_writes` starts a process that rewrites a checkpoint-like blob, a JSON report
and a model bundle in a loop, kills it at a random moment, and checks that each file under its
final name is absent or complete. :func:`interrupt_inspect` delivers a real SIGINT to
``craftvision inspect`` after a given number of inference batches.

Example:
    >>> report = kill_during_writes(tmp_path, kills=3, seed=0)     # doctest: +SKIP
    >>> report.partial                                              # doctest: +SKIP
    0
"""

from __future__ import annotations

import hashlib
import json
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["KillReport", "interrupt_inspect", "kill_during_writes"]

_TESTS = Path(__file__).resolve().parent
_BODY_WORDS = 2_000_000  # 8 MB per blob, so that a kill often lands inside a write

_WRITER = f"""
import hashlib, json, os, sys, time
from pathlib import Path
import numpy as np
sys.path.insert(0, {str(_TESTS)!r})
from conftest import make_brightness_bundle
import onnx
from onnx import numpy_helper
from craftvision.atomic import atomic_write_bytes, atomic_write_text
from craftvision.models.bundle import read_metadata, write_bundle

folder, stop_at = Path(sys.argv[1]), int(sys.argv[2])
fsync, calls = os.fsync, 0
def fsync_then_hang(fd):
    global calls
    calls += 1
    fsync(fd)
    if calls == stop_at:  # written and flushed, not yet renamed: the parent kills it here
        print("in-write", flush=True)
        time.sleep(600)
os.fsync = fsync_then_hang
template = make_brightness_bundle(folder / "template.onnx")
model, metadata = onnx.load(template), read_metadata(template)
model.graph.initializer.append(numpy_helper.from_array(np.zeros(1, np.float32), "padding"))
print("ready", flush=True)
generation = 0
while True:
    generation += 1
    body = np.full({_BODY_WORDS}, generation, np.int32).tobytes()
    head = generation.to_bytes(8, "little") + hashlib.sha256(body).digest()
    atomic_write_bytes(folder / "checkpoint.bin", head + body)
    atomic_write_text(folder / "report.json", json.dumps([generation] * {_BODY_WORDS // 4}))
    padding = np.full({_BODY_WORDS}, generation, np.float32)
    model.graph.initializer[-1].CopyFrom(numpy_helper.from_array(padding, "padding"))
    write_bundle(model, metadata, folder / "model.onnx")
"""


@dataclass(frozen=True)
class KillReport:
    """What the kills left: files checked whole, partial files (must be 0), temp leftovers."""

    kills: int
    files_checked: int
    partial: int
    mid_write: int
    problems: tuple[str, ...]


def _whole(path: Path) -> str | None:
    """Why the file under its final name is not a complete write, or None if it is."""
    from craftvision.errors import BundleError
    from craftvision.models.bundle import load_bundle

    data = path.read_bytes()
    if path.suffix == ".bin":
        body = data[40:]
        ok = len(body) == 4 * _BODY_WORDS and hashlib.sha256(body).digest() == data[8:40]
        return None if ok else f"{path.name}: {len(data)} bytes, checksum mismatch"
    if path.suffix == ".json":
        try:
            json.loads(data)
        except ValueError as err:
            return f"{path.name}: {err}"
        return None
    try:
        load_bundle(path)
    except BundleError as err:
        return str(err)
    return None


def kill_during_writes(folder: Path, *, kills: int, seed: int, in_write: bool) -> KillReport:
    """SIGKILL the writer ``kills`` times; check what it left each time.

    With ``in_write`` each kill lands inside a write (after a random number of them, between the
    flush and the rename); otherwise at a random moment of the loop.
    """
    rng = random.Random(seed)
    checked = mid_write = 0
    problems: list[str] = []
    for kill in range(kills):
        work = folder / f"kill{kill}"
        work.mkdir(parents=True)
        stop_at = rng.randint(4, 9) if in_write else 0  # after one whole round of the 3 files
        process = subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(work), str(stop_at)],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            if process.stdout is None or process.stdout.readline().strip() != "ready":
                raise RuntimeError("the writer did not start")
            if in_write:
                process.stdout.readline()  # "in-write"
            else:
                time.sleep(rng.uniform(0.3, 2.0))  # a few rounds, then anywhere in the loop
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
        leftovers = list(work.glob(".*.tmp"))
        mid_write += bool(leftovers)
        for name in ("checkpoint.bin", "report.json", "model.onnx"):
            if (work / name).exists():
                checked += 1
                if (problem := _whole(work / name)) is not None:
                    problems.append(problem)
    return KillReport(kills, checked, len(problems), mid_write, tuple(problems))


_INTERRUPTER = """
import signal, sys
from craftvision import inspector
# A shell's background jobs start with SIGINT ignored; a terminal's Ctrl-C is what is tested.
signal.signal(signal.SIGINT, signal.default_int_handler)
after = int(sys.argv[1])
batches = 0
results = inspector.Inspector._results
def interrupting_results(self, *args, **kwargs):
    global batches
    batches += 1
    if batches == after + 1:
        signal.raise_signal(signal.SIGINT)  # a real Ctrl-C, while later batches run in workers
    return results(self, *args, **kwargs)
inspector.Inspector._results = interrupting_results
sys.argv = ["craftvision", *sys.argv[2:]]
from craftvision.cli import main
main()
"""


def interrupt_inspect(args: list[str], *, after_batches: int) -> subprocess.CompletedProcess:
    """Run ``craftvision ARGS`` and send it SIGINT as batch ``after_batches + 1``'s results come
    back: in the main thread, where a terminal's Ctrl-C lands, with later batches in flight."""
    return subprocess.run(
        [sys.executable, "-c", _INTERRUPTER, str(after_batches), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
