"""Training throughput of ``craftvision train`` against a plain PyTorch + timm loop.

Both train the same architecture on the same rendered images (the run's training split, resized
once to the input size) with the same batch size, optimiser and torch threads, in one process,
round by round. The trainer runs its own code path (``train()``: augmentation in DataLoader
workers, class weights, one-cycle schedule); only its epoch loops are timed (from the end of one
epoch's validation to the start of the next), and the first epoch of each run is left out as
warm-up. The plain loop reads uint8 tensors from memory, flips them and normalises them on the
fly: data loading there costs nothing. The trainer keeps its model and batches in channels-last
memory order; the plain loop is also run that way (a second line), so the cost of the trainer's
own data path (decoding, augmentation, batching) shows on its own.

    python bench/train_throughput.py          # 384 images, 2 rounds of 3 epochs
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import timm
import torch
from _bench import machine, verdict

from craftvision.datasets.synth import render_dataset
from craftvision.imageio import read_image
from craftvision.training import trainer
from craftvision.training.finalize import load_run_data


def trainer_epochs(config: trainer.TrainConfig) -> tuple[list[float], int]:
    """Seconds of each epoch loop after the first, and images per epoch, of one ``train()``."""
    marks: list[float] = []
    images: list[int] = []
    end_epoch = trainer._Fit._end_epoch

    def timed(fit: trainer._Fit, *args, **kwargs) -> None:
        marks.append(time.perf_counter())
        images.append(len(fit.train_set) // config.batch_size * config.batch_size)
        end_epoch(fit, *args, **kwargs)
        marks.append(time.perf_counter())

    trainer._Fit._end_epoch = timed
    try:
        trainer.train(config)
    finally:
        trainer._Fit._end_epoch = end_epoch
    loops = [marks[2 * k] - marks[2 * k - 1] for k in range(1, len(marks) // 2)]
    return loops, images[0]


def plain_epochs(
    config: trainer.TrainConfig, data: str, classes: int, *, channels_last: bool = False
) -> tuple[list[float], int]:
    """Seconds of each epoch after the first, and images per epoch, of a plain training loop
    (with the model and batches in channels-last memory order if asked)."""
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    run = load_run_data(config, data, genuine_class="pashmina")
    names = run.classes
    spec = run.spec
    pixels = torch.from_numpy(
        np.stack([spec.resize(read_image(r.path)) for r in run.splits.train])
    ).permute(0, 3, 1, 2)
    labels = torch.tensor([names.index(r.label) for r in run.splits.train])
    mean = torch.tensor(spec.mean).view(1, 3, 1, 1)
    std = torch.tensor(spec.std).view(1, 3, 1, 1)
    model = timm.create_model(config.model, pretrained=False, num_classes=classes).to(
        memory_format=memory_format
    )
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.lr, weight_decay=config.weight_decay
    )
    loss_fn = torch.nn.CrossEntropyLoss()
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(pixels, labels),
        batch_size=config.batch_size,
        shuffle=True,
        drop_last=True,
    )
    seconds = []
    for _ in range(config.epochs):
        start = time.perf_counter()
        model.train()
        for batch, target in loader:
            batch = (batch.float() / 255 - mean) / std
            flip = torch.rand(len(batch)) < 0.5
            batch[flip] = batch[flip].flip(-1)
            batch = batch.contiguous(memory_format=memory_format)
            loss = loss_fn(model(batch), target)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        seconds.append(time.perf_counter() - start)
    return seconds[1:], len(loader) * config.batch_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=384, help="rendered images (70%% train)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--image-size", type=int, default=128)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = str(render_dataset("fibre", args.n, Path(tmp) / "data", seed=5).parent)
        rates: dict[str, list[float]] = {"trainer": [], "plain": [], "plain_cl": []}
        for round_ in range(args.rounds):
            config = trainer.TrainConfig(
                data=data,
                out=str(Path(tmp) / f"run{round_}"),
                epochs=args.epochs,
                patience=args.epochs,
                image_size=args.image_size,
                batch_size=args.batch_size,
                seed=round_,
                ood_guard=False,
            )
            loops, images = trainer_epochs(config)
            rates["trainer"] += [images / s for s in loops]
            loops, images = plain_epochs(config, data, classes=4)
            rates["plain"] += [images / s for s in loops]
            loops, images = plain_epochs(config, data, classes=4, channels_last=True)
            rates["plain_cl"] += [images / s for s in loops]
    trained, plain, plain_cl = (
        statistics.median(rates[k]) for k in ("trainer", "plain", "plain_cl")
    )
    ratio = trained / plain
    print(
        f"Training throughput: craftnet_s, {args.image_size} px, batch {args.batch_size}, "
        f"{args.n} rendered fibre images; median of {len(rates['plain'])} epochs "
        f"({args.rounds} rounds of {args.epochs} epochs, first epoch of each left out)"
    )
    print(f"  machine: {machine()}; torch threads {torch.get_num_threads()}")
    print(f"  plain PyTorch + timm loop       {plain:8.1f} images/s")
    print(f"  plain loop, channels-last       {plain_cl:8.1f} images/s")
    print(f"  craftvision train (epoch loop)  {trained:8.1f} images/s")
    print(f"  ratio                           {ratio:8.2f}x  (goal >= 0.9x: {verdict(ratio, 0.9)})")
    print(
        f"  vs the channels-last plain loop {trained / plain_cl:8.2f}x  (the trainer's data path "
        "against none)"
    )


if __name__ == "__main__":
    main()
