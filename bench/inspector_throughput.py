"""Folder inspection throughput of ``Inspector`` against the bound set by its unavoidable stages.

The bound is ``1 / (t_decode + t_runtime)`` images/s, where ``t_decode`` is plain ``cv2.imread``
of the same files and ``t_runtime`` a bare onnxruntime session (default options) on ready
tensors at the same batch size, both measured in the same run. The pipeline (decode,
preprocess, run, postprocess) beats the bound only by overlapping decoding with inference.

    python bench/inspector_throughput.py            # 256 images, 5 rounds
    python bench/inspector_throughput.py --n 48 --repeats 2
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
from _bench import interleaved, machine, verdict

from craftvision import Inspector
from craftvision.datasets.synth.fibre import render_fibre
from craftvision.imageio import read_image
from craftvision.models.bundle import load_bundle

SIZES = {"field": (960, 1280), "crop": (224, 224), "strip": (50, 125)}
SUFFIX = {"field": ".jpg", "crop": ".png", "strip": ".png"}  # camera fields, saved crops


def write_images(folder: Path, n: int, seed: int = 0) -> list[Path]:
    """``n`` fibre micrographs, a third each of 1280x960 JPEG fields, 224x224 PNG crops and
    125x50 PNG strips (renders resized to those sizes, with sensor noise)."""
    rng = np.random.default_rng(seed)
    paths = []
    for index in range(n):
        kind = list(SIZES)[index % 3]
        label = ("pashmina", "wool", "synthetic", "other_animal")[index % 4]
        layout = "strip" if kind == "strip" else "field"
        image, _ = render_fibre(rng, label, um_per_px=0.5, size=256, layout=layout)
        height, width = SIZES[kind]
        image = cv2.resize(image, (width, height), interpolation=cv2.INTER_CUBIC)
        noisy = image.astype(np.int16) + rng.normal(0, 3, image.shape).astype(np.int16)
        path = folder / f"{index:04d}-{kind}{SUFFIX[kind]}"
        cv2.imwrite(str(path), np.clip(noisy, 0, 255).astype(np.uint8))
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--model", default="fibre")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        files = write_images(Path(tmp), args.n)
        inspector = Inspector(args.model, batch_size=args.batch_size)
        session = ort.InferenceSession(
            load_bundle(inspector.path)[0], providers=["CPUExecutionProvider"]
        )
        name = session.get_inputs()[0].name
        spec = inspector.metadata.preprocess
        tensors = np.stack([spec(read_image(path)) for path in files])
        batches = [tensors[i : i + args.batch_size] for i in range(0, len(files), args.batch_size)]

        def decode() -> None:
            for path in files:
                cv2.imread(str(path))

        def runtime() -> None:
            for batch in batches:
                session.run(None, {name: batch})

        def pipeline() -> None:
            results = inspector.predict(files)
            assert len(results) == len(files)

        runtime()  # warm up the session and the inspector's
        inspector.predict(files[: args.batch_size])
        seconds = interleaved(
            {"decode": decode, "runtime": runtime, "pipeline": pipeline}, args.repeats
        )
    n = len(files)
    (t_decode, cpu_decode), (t_runtime, cpu_runtime), (t_pipeline, cpu_pipeline) = (
        (wall / n, cpu / n) for wall, cpu in seconds.values()
    )
    bound, achieved = 1 / (t_decode + t_runtime), 1 / t_pipeline
    ratio = achieved / bound
    print(
        f"Inspector throughput: {n} images (1280x960 JPEG fields, 224x224 PNG crops, 125x50 PNG "
        f"strips), model {args.model}, batch {args.batch_size}; median of {args.repeats} rounds"
    )
    print(f"  machine: {machine()}")
    print("                                          wall ms/image   CPU ms/image")
    print(f"  t_decode  (cv2.imread)              {1e3 * t_decode:14.2f} {1e3 * cpu_decode:14.2f}")
    print(
        f"  t_runtime (bare onnxruntime)        {1e3 * t_runtime:14.2f} {1e3 * cpu_runtime:14.2f}"
    )
    print(
        f"  Inspector.predict (whole pipeline)  {1e3 * t_pipeline:14.2f} {1e3 * cpu_pipeline:14.2f}"
    )
    print(f"  bound 1/(t_decode + t_runtime)      {bound:8.1f} images/s")
    print(f"  Inspector.predict                   {achieved:8.1f} images/s")
    print(
        f"  ratio                               {ratio:8.2f}x  (goal >= 1.0x, floor 0.85x: "
        f"{verdict(ratio, 1.0)})"
    )


if __name__ == "__main__":
    main()
