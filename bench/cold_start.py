"""Cold start of ``craftvision inspect one.png`` against importing what it cannot do without.

Both run in a new process, round by round: ``craftvision inspect PHOTO`` (the shipped fibre
model) with its output piped, as a script runs it (tab-separated lines), and ``python -c "import
numpy, cv2, onnxruntime"``. Wall time is the figure; the CPU time of each process (user +
system) is printed too, as it suffers less from a busy machine. The same command printing its
table to a terminal (a pseudo-terminal) is timed alongside for information. Both start from
compiled bytecode, as an installed package does (pip compiles it at install): the craftvision
package is byte-compiled first, since an editable checkout run with PYTHONDONTWRITEBYTECODE
would otherwise recompile every changed module on every start.

    python bench/cold_start.py               # 9 rounds
"""

from __future__ import annotations

import argparse
import compileall
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _bench import machine, verdict

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples" / "fibre"


def run(command: list[str], *, terminal: bool = False) -> tuple[float, float]:
    """Wall and CPU seconds of one process, its output piped away or shown on a terminal."""
    screen, shown = os.openpty() if terminal else (None, subprocess.DEVNULL)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    try:
        subprocess.run(command, check=True, stdout=shown, stderr=subprocess.DEVNULL)
    finally:
        if terminal:
            os.close(screen)
            os.close(shown)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    photo = sorted(SAMPLES.rglob("*.png"))[0]
    compileall.compile_dir(ROOT / "craftvision", quiet=1)
    script = shutil.which("craftvision", path=os.path.dirname(sys.executable))
    cli = [script] if script else [sys.executable, "-m", "craftvision"]
    commands = {
        "imports": [sys.executable, "-c", "import numpy, cv2, onnxruntime"],
        "inspect": [*cli, "inspect", str(photo)],
        "terminal": [*cli, "inspect", str(photo)],
    }
    for name, command in commands.items():  # warm the file cache
        run(command, terminal=name == "terminal")
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for _ in range(args.repeats):
        for name, command in commands.items():
            times[name].append(run(command, terminal=name == "terminal"))
    wall = {name: statistics.median(w for w, _ in values) for name, values in times.items()}
    cpu = {name: statistics.median(c for _, c in values) for name, values in times.items()}
    ratio = wall["inspect"] / wall["imports"]
    print(f"Cold start: craftvision inspect {photo.name} vs import numpy, cv2, onnxruntime")
    print(f"  machine: {machine()}; median of {args.repeats} rounds")
    print("                                               wall s    CPU s")
    labels = {
        "imports": "python -c 'import numpy, cv2, onnxruntime'",
        "inspect": "craftvision inspect ONE.png | ...",
        "terminal": "craftvision inspect ONE.png (in a terminal)",
    }
    for name, label in labels.items():
        print(f"  {label:43s} {wall[name]:7.3f}  {cpu[name]:7.3f}")
    print(
        f"  ratio (wall)                                {ratio:7.2f}x  (goal <= 1.6x: "
        f"{verdict(ratio, 1.6, higher_is_better=False)}); CPU ratio "
        f"{cpu['inspect'] / cpu['imports']:.2f}x"
    )
    print(
        f"  in a terminal (rich table)                  {wall['terminal'] / wall['imports']:7.2f}x"
    )


if __name__ == "__main__":
    main()
