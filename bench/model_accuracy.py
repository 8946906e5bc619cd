"""Balanced accuracy of a shipped model on fresh renders, measured through the real CLI.

Renders N images with a seed the training never saw, runs ``craftvision inspect --json`` on them
and scores the JSON Lines against the manifest.

    python bench/model_accuracy.py --modality fibre --n 1000 --seed 2026
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
    args = parser.parse_args()
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
    print(
        f"{args.modality}: {len(results)} renders (seed {args.seed}) inspected in {seconds:.1f} s"
    )
    for label, recall in recalls.items():
        print(f"  recall {label:<22} {recall:.4f}  ({correct[label]}/{totals[label]})")
    print(f"  verdicts {dict(verdicts)}")
    print(f"  accuracy          {sum(correct.values()) / max(1, len(results)):.4f}")
    print(f"  balanced accuracy {sum(recalls.values()) / max(1, len(recalls)):.4f}")


if __name__ == "__main__":
    main()
