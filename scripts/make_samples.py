"""Regenerate the sample photos shipped in ``samples/`` (used by ``make demo`` and the README).

    python scripts/make_samples.py

``samples/<modality>/<class>/*.png`` hold two renders per class made with seed 7, a seed the
reference models never trained on, and ``samples/product/`` holds one product's photos by
modality: Pashmina fibres and a hand-woven Kani weave, but a machine chain-stitched border.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np

from craftvision.datasets.synth import RENDERERS, render_dataset

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
PRODUCT = {"fibre": ("pashmina", 2), "weave": ("kani_handwoven", 1), "stitch": ("machine_chain", 1)}


def main() -> None:
    for modality, renderer in RENDERERS.items():
        shutil.rmtree(SAMPLES / modality, ignore_errors=True)
        render_dataset(modality, 2 * len(renderer.classes), SAMPLES / modality, seed=7, workers=1)
    shutil.rmtree(SAMPLES / "product", ignore_errors=True)
    rng = np.random.default_rng(11)
    for modality, (label, count) in PRODUCT.items():
        folder = SAMPLES / "product" / modality
        folder.mkdir(parents=True)
        for index, (image, _) in enumerate(RENDERERS[modality].render_sample(rng, label, count)):
            bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR) if image.ndim == 3 else image
            cv2.imwrite(str(folder / f"{modality}-{index + 1}.png"), bgr)


if __name__ == "__main__":
    main()
