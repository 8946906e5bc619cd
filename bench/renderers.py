"""Renderer speed: 256x256 images per second per core, for every modality.

Each renderer draws samples of 1-4 images (as ``craftvision synth`` does) in this one process with
OpenCV and BLAS held to one thread, so images per CPU-second is the rate of one core (and the
wall rate is printed beside it). Modalities alternate round by round; medians are quoted.

    python bench/renderers.py                 # 64 images per modality, 5 rounds
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import argparse  # noqa: E402
import itertools  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from _bench import interleaved, machine, verdict  # noqa: E402

from craftvision.datasets.synth import RENDERERS, fibre  # noqa: E402

GOAL = 100.0  # images per second per core


def render(modality: str, n: int, seed: int) -> None:
    """Render ``n`` 256x256 images of ``modality`` in samples of 1-4, cycling the classes (fibre:
    whole fields; its 125-px-high strips are another layout)."""
    renderer = RENDERERS[modality]
    rng = np.random.default_rng(seed)
    labels = itertools.cycle(renderer.classes)
    done = 0
    while done < n:
        shots, label = min(int(rng.integers(1, 5)), n - done), next(labels)
        if modality == "fibre":
            population = fibre.draw_population(rng, label)
            images = [
                fibre.render_fibre(
                    rng, label, um_per_px=0.5, size=256, population=population, layout="field"
                )
                for _ in range(shots)
            ]
        else:
            images = renderer.render_sample(rng, label, shots, size=256)
        assert all(image.shape[:2] == (256, 256) for image, _ in images)
        done += shots


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=64, help="images per modality per round")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    tasks = {modality: (lambda m=modality: render(m, args.n, seed=1)) for modality in RENDERERS}
    for task in tasks.values():  # warm caches (tiles, palettes)
        task()
    seconds = interleaved(tasks, args.repeats)
    print(
        f"Renderers: 256x256 images, {args.n} per modality per round, one thread; "
        f"median of {args.repeats} rounds"
    )
    print(f"  machine: {machine()}")
    print("  modality   images/s per core (= images per CPU-second)   wall images/s   goal")
    for modality, (wall, cpu) in seconds.items():
        rate = args.n / cpu
        print(
            f"  {modality:8s} {rate:12.1f} {'':33s} {args.n / wall:10.1f}   "
            f">= {GOAL:.0f}: {verdict(rate, GOAL)}"
        )


if __name__ == "__main__":
    main()
