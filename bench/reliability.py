"""Reliability counts: the bad-input corpus through every consumer, and injected faults.

Builds the corpus of ``tests/bad_inputs.py`` (60+ kinds: broken, truncated, disguised, exotic,
oversized, special files, bad arrays) and runs it through ``read_image``, ``Inspector.predict``
(recorded and raising), ``craftvision inspect`` (sockets refused), the dataset loader and
``craftvision.measure`` (fibre, weave and stitch, where installed); then
SIGKILLs writers inside and between atomic writes (``tests/faults.py``) and interrupts an
inspection with Ctrl-C. Prints what was tried and how many results were lost (must be 0); exits
1 otherwise.

    python bench/reliability.py
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import sys
import tempfile
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1] / "tests"
sys.path.insert(0, str(TESTS))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from bad_inputs import (  # noqa: E402
    build_corpus,
    cli_problems,
    dataset_problems,
    inspector_problems,
    measure_problems,
    read_image_problems,
)
from conftest import make_brightness_bundle  # noqa: E402
from faults import interrupt_inspect, kill_during_writes  # noqa: E402

from craftvision import Inspector  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=6, help="SIGKILLs of each kind")
    args = parser.parse_args()
    lost: dict[str, dict[str, str]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "corpus").mkdir()
        cases = build_corpus(root / "corpus")
        bundle = make_brightness_bundle(root / "brightness.onnx")
        inspector = Inspector(bundle, batch_size=4)
        references = {
            c.kind: inspector.predict(c.expected).probabilities for c in cases if c.readable
        }
        lost["read_image"] = read_image_problems(cases)
        lost["Inspector.predict"] = inspector_problems(cases, inspector)
        lost["craftvision inspect"], run = cli_problems(
            cases, root / "corpus", str(bundle), references
        )
        lost["dataset loader"], dataset_tried = dataset_problems(root / "dataset")
        if importlib.util.find_spec("craftvision.measure") is not None:
            lost["craftvision.measure"] = measure_problems(cases)
        in_write = kill_during_writes(root / "kill-in", kills=args.kills, seed=1, in_write=True)
        anywhere = kill_during_writes(root / "kill-any", kills=args.kills, seed=2, in_write=False)
        photos = root / "photos"
        photos.mkdir()
        for index in range(40):
            cv2.imwrite(str(photos / f"{index:02d}.png"), np.full((30, 40, 3), index * 6, np.uint8))
        done = interrupt_inspect(
            ["inspect", str(photos), "--model", str(bundle), "--batch-size", "4", "--json"],
            after_batches=3,
        )
    found = re.search(r"interrupted: (\d+) of 40", done.stderr)
    finished = int(found.group(1)) if found else 0
    printed = len(done.stdout.splitlines())
    readable = sum(c.readable for c in cases)
    files = sum(c.is_path for c in cases)
    print(
        f"Reliability: {len(cases)} kinds of bad or awkward input ({files} as paths, "
        f"{len(cases) - files} in memory; {readable} must be read, {len(cases) - readable} refused "
        "with an error naming the input)"
    )
    tried = {
        "read_image": len(cases),
        "Inspector.predict": 2 * len(cases),
        "craftvision inspect": files,
        "dataset loader": dataset_tried,
        "craftvision.measure": 3 * len(cases),
    }
    for consumer, problems in lost.items():
        print(f"  {consumer:22s} inputs tried {tried[consumer]:4d}   results lost {len(problems)}")
        for kind, problem in problems.items():
            print(f"      {kind}: {problem}")
    print(
        f"  CLI peak memory {run.max_rss_mb:.0f} MB, network attempts {len(run.network)}, "
        f"heavy modules {list(run.heavy_modules)}"
    )
    faults = in_write.kills + anywhere.kills + 1
    partial = in_write.partial + anywhere.partial
    print(
        f"Faults injected: {faults} — {in_write.kills} SIGKILLs inside atomic writes "
        f"({in_write.mid_write} left a temp file), {anywhere.kills} at random moments, "
        f"1 Ctrl-C during inspect"
    )
    print(
        f"  files checked after the kills {in_write.files_checked + anywhere.files_checked}, "
        f"partial files under the final name {partial}"
    )
    print(f"  Ctrl-C: exit {done.returncode}, {finished} of 40 finished, {printed} printed as JSON")
    total = sum(len(p) for p in lost.values()) + partial + (printed != finished)
    print(f"Results lost: {total}")
    sys.exit(1 if total or done.returncode != 130 else 0)


if __name__ == "__main__":
    main()
