"""The inspection pipeline against the naive PyTorch way of doing the same thing.

Naive: the same architecture as a timm model in eager mode, one image at a time, read with PIL
and prepared with torchvision transforms (resize, centre crop, to tensor, normalise), under
``torch.inference_mode``, averaging the same test-time views as the bundle. Pipeline:
``Inspector.predict`` on the same files (ONNX Runtime, batched, decoding overlapped with
inference). Both run round by round in one process.

    python bench/vs_naive_torch.py            # 256 images, 3 rounds
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import timm
import torch
from _bench import interleaved, machine, verdict
from inspector_throughput import write_images
from PIL import Image
from torchvision import transforms

import craftvision.models.craftnet  # noqa: F401  (registers craftnet_* in timm)
from craftvision import Inspector
from craftvision.models.tta import with_test_time_augmentation


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--model", default="fibre")
    args = parser.parse_args()
    inspector = Inspector(args.model)
    meta = inspector.metadata
    size = meta.preprocess.input_size
    net = timm.create_model(meta.architecture, pretrained=False, num_classes=len(meta.classes))
    net = with_test_time_augmentation(net, meta.test_time_augmentation).eval()
    prepare = transforms.Compose(
        [
            transforms.Resize(size),
            transforms.CenterCrop(size),
            transforms.ToTensor(),
            transforms.Normalize(meta.preprocess.mean, meta.preprocess.std),
        ]
    )
    with tempfile.TemporaryDirectory() as tmp:
        files = write_images(Path(tmp), args.n)

        def naive(paths: list[Path] = files) -> None:
            with torch.inference_mode():
                for path in paths:
                    image = Image.open(path).convert("RGB")
                    torch.softmax(net(prepare(image)[None]), dim=1)

        def pipeline() -> None:
            assert len(inspector.predict(files)) == len(files)

        naive(files[:8])  # warm up both
        inspector.predict(files[:8])
        seconds = interleaved({"naive": naive, "pipeline": pipeline}, args.repeats)
    n = len(files)
    naive_rate, pipeline_rate = n / seconds["naive"][0], n / seconds["pipeline"][0]
    ratio = pipeline_rate / naive_rate
    print(
        f"Inspector vs naive PyTorch: {n} images (1280x960 JPEG fields, 224x224 PNG crops, "
        f"125x50 PNG strips), {meta.architecture}, test-time views: "
        f"{meta.test_time_augmentation}; median of {args.repeats} rounds"
    )
    print(f"  machine: {machine()}; torch threads {torch.get_num_threads()}")
    print(f"  naive (timm eager, PIL + torchvision, 1 image at a time)  {naive_rate:8.1f} images/s")
    print(
        f"  Inspector.predict (ONNX Runtime, batched, overlapped)    {pipeline_rate:8.1f} images/s"
    )
    print(
        f"  ratio                                                   {ratio:8.2f}x  (goal >= 3x: "
        f"{verdict(ratio, 3.0)})"
    )


if __name__ == "__main__":
    main()
