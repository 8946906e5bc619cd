"""Training runs that survive and scale: SIGKILL + ``--resume``, ``torchrun`` with 2 processes,
reproducible records, full-resolution training windows."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

from craftvision import Inspector
from craftvision.errors import ConfigError
from craftvision.training.trainer import TrainConfig, World, resolve_device, train

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

OPTIONS = {"epochs": 3, "image_size": 32, "batch_size": 8, "workers": 0, "seed": 3}


@pytest.fixture(scope="module")
def strips(tmp_path_factory, strip_dataset_maker):
    return strip_dataset_maker(tmp_path_factory.mktemp("strips"), samples=40, shots=4)


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "craftvision", "train", *args]


def _options() -> list[str]:
    return [f"--{key.replace('_', '-')}={value}" for key, value in OPTIONS.items()]


def _wait_for(path: Path, process: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert process.poll() is None, process.stderr.read().decode()
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)


def test_killed_run_resumes_to_the_same_weights(strips, tmp_path):
    interrupted = tmp_path / "interrupted"
    process = subprocess.Popen(
        _cli("--data", str(strips), "--out", str(interrupted), *_options()),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _wait_for(interrupted / "last.ckpt", process)
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed_at = torch.load(interrupted / "last.ckpt", weights_only=True)["epoch"]
    assert killed_at < OPTIONS["epochs"] and not (interrupted / "model.onnx").exists()

    resumed = subprocess.run(
        _cli("--resume", str(interrupted)), capture_output=True, text=True, check=False
    )
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming {interrupted} after epoch {killed_at}" in " ".join(resumed.stderr.split())

    reference = train(TrainConfig(data=str(strips), out=str(tmp_path / "reference"), **OPTIONS))
    ours = torch.load(interrupted / "last.ckpt", weights_only=True)
    theirs = torch.load(reference.run_dir / "last.ckpt", weights_only=True)
    assert ours["epoch"] == theirs["epoch"] == OPTIONS["epochs"]
    for name, tensor in theirs["model"].items():
        assert torch.equal(ours["model"][name], tensor), name
    metrics = json.loads((interrupted / "metrics.json").read_text())
    assert metrics["balanced_accuracy"] == reference.metrics["balanced_accuracy"]
    assert [row["val_accuracy"] for row in ours["history"]] == [
        row["val_accuracy"] for row in reference.history
    ]


def test_resume_refuses_what_it_cannot_continue(strips, tmp_path):
    config = TrainConfig(data=str(strips), out=str(tmp_path / "none"), **OPTIONS)
    with pytest.raises(ConfigError, match="nothing to resume"):
        train(config, resume=True)
    result = subprocess.run(
        _cli("--resume", str(tmp_path), "--epochs", "9"), capture_output=True, text=True
    )
    assert result.returncode == 2 and "keeps its own settings" in result.stderr


def test_run_records_what_reproduces_it(strips, tmp_path):
    result = train(
        TrainConfig(data=str(strips), out=str(tmp_path / "run"), train_crop=24, **OPTIONS)
    )
    provenance = json.loads((result.run_dir / "provenance.json").read_text())
    assert provenance["seed"] == OPTIONS["seed"] and len(provenance["data_fingerprint"]) == 64
    assert torch.__version__.startswith(provenance["packages"]["torch"].split("+")[0])
    transforms = provenance["augmentation"]["transform"]["transforms"]
    assert transforms[0]["__class_fullname__"].endswith("RandomCrop")
    assert transforms[0]["height"] == 24
    config = yaml.safe_load((result.run_dir / "config.yaml").read_text())
    assert config["train_crop"] == 24 and config["seed"] == OPTIONS["seed"]
    assert (result.run_dir / "learning_curves.png").stat().st_size > 1000
    again = train(
        TrainConfig(
            data=str(strips),
            out=str(tmp_path / "again"),
            train_crop=24,
            tensorboard=True,
            **OPTIONS,
        )
    )
    assert again.metrics == result.metrics
    assert list((again.run_dir / "tensorboard").glob("events.out.tfevents.*"))


def test_train_crop_must_fit_the_input(strips, tmp_path):
    with pytest.raises(ConfigError, match="train_crop"):
        train(TrainConfig(data=str(strips), out=str(tmp_path), train_crop=64, **OPTIONS))


def test_torchrun_trains_with_two_processes(strips, tmp_path):
    run = tmp_path / "ddp"
    torchrun = Path(sys.executable).with_name("torchrun")
    result = subprocess.run(
        [
            str(torchrun),
            "--standalone",
            "--nproc_per_node=2",
            "-m",
            "craftvision",
            "train",
            "--data",
            str(strips),
            "--out",
            str(run),
            *_options(),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads((run / "provenance.json").read_text())["world_size"] == 2
    state = torch.load(run / "last.ckpt", weights_only=True)
    assert state["epoch"] == OPTIONS["epochs"] and len(state["history"]) == OPTIONS["epochs"]
    assert result.stderr.count("test balanced accuracy") == 1  # only rank 0 reports and writes
    predictions = Inspector(run / "model.onnx").predict(sorted(strips.rglob("*.png"))[:8])
    assert {p.label for p in predictions} <= {"pashmina", "wool"}
    losses = [row["train_loss"] for row in state["history"]]
    assert losses[-1] < losses[0]  # the shards' gradients are averaged and training progresses


@pytest.mark.parametrize(
    ("gpus", "world", "asked", "expected"),
    [
        (0, World(), "auto", "cpu"),
        (1, World(), "auto", "cuda"),
        (1, World(rank=1, size=2, local_rank=1, local_size=2), "auto", "cpu"),
        (2, World(rank=1, size=2, local_rank=1, local_size=2), "auto", "cuda:1"),
        (2, World(rank=3, size=4, local_rank=1, local_size=2), "cuda", "cuda:1"),
        (1, World(rank=1, size=2, local_rank=1, local_size=2), "cpu", "cpu"),
    ],
)
def test_each_process_gets_a_gpu_of_its_own_or_the_cpu(monkeypatch, gpus, world, asked, expected):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: gpus > 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: gpus)
    assert str(resolve_device(asked, world)) == expected


@pytest.mark.parametrize(
    ("gpus", "world", "advice"),
    [
        (0, World(), "no GPU that torch can use; use --device cpu or auto"),
        (1, World(rank=0, size=2, local_rank=0, local_size=2), "torchrun --nproc_per_node 1"),
    ],
)
def test_cuda_without_a_gpu_per_process_says_what_to_do(monkeypatch, gpus, world, advice):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: gpus > 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: gpus)
    with pytest.raises(ConfigError, match="device 'cuda' asked for") as raised:
        resolve_device("cuda", world)
    assert advice in str(raised.value)


def test_training_imports_never_reach_the_network():
    code = (
        "import socket\n"
        "calls = []\n"
        "def refuse(*args, **kwargs):\n"
        "    calls.append(args)\n"
        "    raise OSError('offline')\n"
        "socket.getaddrinfo = socket.create_connection = refuse\n"
        "import craftvision.training.trainer\n"
        "print(len(calls))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "NO_ALBUMENTATIONS_UPDATE"}
    result = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True, env=env
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "0"
