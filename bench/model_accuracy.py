"""Balanced accuracy of a shipped model on fresh renders, measured through the real CLI.

Renders N images with a seed the training never saw, runs ``craftvision inspect --json`` on them
and scores the JSON Lines against the manifest.

``--hard`` is the held-out setting outside the training range: 320 px renders (a wider field of
view, so every fibre, thread and stitch is 20 % smaller after the model's resize than any seen
in training) photographed under lighting no training image had: alternately a strong
under-exposure (gamma 1.8, 35 % darker) and over-exposure (gamma 0.55), each with a vignette
that darkens the corners by 45 %.

    python bench/model_accuracy.py --modality fibre --n 1000 --seed 2026
    python bench/model_accuracy.py --modality weave --n 1000 --seed 2026 --hard
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import cv2
import numpy as np

HARD_SIZE = 320


def relight(path: Path, index: int) -> None:
    """Rewrite one render under lighting outside the training range (see the module doc)."""
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED).astype(np.float32) / 255.0
    height, width = image.shape[:2]
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    radius = np.hypot((x - width / 2) / (width / 2), (y - height / 2) / (height / 2)) / np.sqrt(2)
    vignette = 1.0 - 0.45 * radius**2
    if image.ndim == 3:
        vignette = vignette[..., None]
    image = 0.65 * image**1.8 if index % 2 else image**0.55
    cv2.imwrite(str(path), np.clip(image * vignette * 255.0 + 0.5, 0, 255).astype(np.uint8))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modality", default="fibre")
    parser.add_argument("--model", default=None, help="bundle name or path (default: the modality)")
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--synth-option",
        action="append",
        default=[],
        help="extra `craftvision synth` options, e.g. --synth-option=--size=320",
    )
    parser.add_argument("--hard", action="store_true", help="the held-out hard setting")
    args = parser.parse_args()
    if args.hard:
        args.synth_option.append(f"--size={HARD_SIZE}")
    cli = [sys.executable, "-m", "craftvision"]
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        subprocess.run(
            [
                *cli,
                "synth",
                args.modality,
                "--n",
                str(args.n),
                "--out",
                str(data),
                "--seed",
                str(args.seed),
                *args.synth_option,
            ],
            check=True,
        )
        if args.hard:
            for index, path in enumerate(sorted(data.rglob("*.png"))):
                relight(path, index)
        start = time.perf_counter()
        inspected = subprocess.run(
            [*cli, "inspect", str(data), "--model", args.model or args.modality, "--json"],
            capture_output=True,
            text=True,
            check=False,
        )
        seconds = time.perf_counter() - start
        with (data / "manifest.csv").open() as handle:
            truth = {
                str((data / row["path"]).resolve()): row["label"] for row in csv.DictReader(handle)
            }
    results = [json.loads(line) for line in inspected.stdout.splitlines() if line.strip()]
    totals, correct, verdicts = Counter(), Counter(), Counter()
    for result in results:
        label = truth[str(Path(result["path"]).resolve())]
        totals[label] += 1
        correct[label] += result.get("label") == label
        verdicts[result.get("verdict", "error")] += 1
    recalls = {label: correct[label] / totals[label] for label in sorted(totals)}
    setting = "hard held-out setting" if args.hard else "training setting"
    print(
        f"{args.modality}: {len(results)} renders (seed {args.seed}, {setting}) "
        f"inspected in {seconds:.1f} s"
    )
    for label, recall in recalls.items():
        print(f"  recall {label:<22} {recall:.4f}  ({correct[label]}/{totals[label]})")
    print(f"  verdicts {dict(verdicts)}")
    print(f"  accuracy          {sum(correct.values()) / max(1, len(results)):.4f}")
    print(f"  balanced accuracy {sum(recalls.values()) / max(1, len(recalls)):.4f}")


if __name__ == "__main__":
    main()
