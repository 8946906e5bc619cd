"""Model cards: a Markdown file written beside every exported bundle, generated from the run.

Example:
    >>> text = render_model_card(metadata, data_summary, training_stages(config))  # doctest: +SKIP
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from craftvision.models.bundle import BundleMetadata

if TYPE_CHECKING:
    from craftvision.training.trainer import TrainConfig

STAGE_KEYS = ("pretrained", "data", "synth", "image_size", "epochs", "lr")


def training_stages(config: TrainConfig) -> list[dict[str, Any]]:
    """The run's training stages, oldest first: each earlier stage is read from the config saved
    in the checkpoint the next one started from (``pretrained``), the last is ``config``.
    Weights that are not a craftvision checkpoint, or no longer exist, end the chain as a stage
    with only ``weights`` known."""
    stage = {key: getattr(config, key) for key in STAGE_KEYS}
    stages = [stage]
    seen: set[Path] = set()
    while stage["pretrained"]:
        path = Path(stage["pretrained"])
        if path.resolve() in seen:
            break
        seen.add(path.resolve())
        try:
            saved = torch.load(path, map_location="cpu", weights_only=True)
            earlier = saved["config"]
        except (OSError, RuntimeError, EOFError, KeyError, TypeError, pickle.UnpicklingError):
            stages.append({"weights": str(path)})
            break
        stage = {key: earlier.get(key) for key in STAGE_KEYS}
        stages.append(stage)
    return stages[::-1]


def _stage_data(stage: dict[str, Any], modality: str) -> str:
    synth = stage.get("synth")
    if synth:
        return f"renders (`craftvision synth {modality}`, n={synth['n']}, seed={synth['seed']})"
    return f"`{stage.get('data') or 'unknown'}`"


def _stages_section(stages: list[dict[str, Any]], modality: str) -> str:
    if len(stages) < 2:
        return ""
    rows = []
    for number, stage in enumerate(stages, 1):
        if "weights" in stage:
            rows.append(
                f"| {number} | weights `{stage['weights']}` (not a craftvision run) | | | |"
            )
            continue
        rows.append(
            f"| {number} | {_stage_data(stage, modality)} | {stage['image_size']} px "
            f"| {stage['epochs']} | {stage['lr']:g} |"
        )
    return (
        f"\n## Training stages\n\nTrained in {len(stages)} stages, each starting from the best "
        "weights of the one before; the data, split and metrics on this card are the last "
        "stage's.\n\n| stage | data | input | epochs | peak learning rate |\n"
        "| --- | --- | --- | --- | --- |\n" + "\n".join(rows) + "\n"
    )


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.2f} %"


def render_model_card(
    metadata: BundleMetadata,
    data_summary: dict[str, Any],
    stages: list[dict[str, Any]] | None = None,
) -> str:
    """Markdown card: data (and the :func:`training_stages`, when there were several), metrics,
    calibration, intended use and limits."""
    metrics = metadata.metrics
    spec = metadata.preprocess
    rows = "\n".join(
        f"| {name} | {scores['precision']:.3f} | {scores['recall']:.3f} | {scores['f1']:.3f} "
        f"| {scores['support']} |"
        for name, scores in metrics.get("per_class", {}).items()
    )
    counts = ", ".join(f"{name}: {n}" for name, n in data_summary.get("class_counts", {}).items())
    splits = data_summary.get("split_sizes", {})
    rendered = data_summary.get("synth")
    source = (
        f"procedural renders (`craftvision synth {metadata.modality}`, n={rendered['n']}, "
        f"seed={rendered['seed']})"
        if rendered
        else f"`{data_summary.get('data', 'unknown')}`"
    )
    guard = (
        "none"
        if metadata.ood_threshold is None
        else f"feature distance > {metadata.ood_threshold:.1f} makes the verdict `inconclusive` "
        f"(flags {_percent(metrics.get('ood_flag_rate'))} of the test split)"
    )
    views = (
        "dihedral: the mean of the 8 rotations and mirror images of each photo (inside the graph)"
        if metadata.test_time_augmentation == "dihedral"
        else "none"
    )
    weights = (
        "int8 (static, per-channel; the out-of-distribution guard stays float32)"
        if metadata.weights_precision == "int8"
        else "float32"
    )
    auc = "n/a" if metrics.get("roc_auc") is None else f"{metrics['roc_auc']:.4f}"
    warning = (
        "\n> **Trained on procedural renders, not on real photographs.** Retrain it on your lab's "
        "own photos (`craftvision train --data YOUR_PHOTOS ...`) before using it for "
        "certification.\n"
        if rendered
        else ""
    )
    return f"""# {metadata.name} — craftvision {metadata.modality} model
{warning}
| | |
| --- | --- |
| modality | {metadata.modality} |
| classes | {", ".join(metadata.classes)} (genuine: **{metadata.genuine_class}**) |
| architecture | `{metadata.architecture}` (timm) |
| weights | {weights} |
| input | {spec.input_size}x{spec.input_size} {spec.channels}, {spec.resize_policy} (aspect kept) |
| test-time augmentation | {views} |
| calibration | temperature {metadata.temperature:.3f} (fitted on the validation split) |
| abstain threshold | {metadata.threshold:.2f}: below it the verdict is `inconclusive` |
| out-of-distribution guard | {guard} |
| library | craftvision {metadata.library_version} |
| weights SHA-256 | `{metadata.weights_sha256 or "(in the bundle)"}` |

## Training data

Source: {source}. Data fingerprint `{metadata.data_fingerprint[:16]}…`.
Images per class: {counts}. Split by physical sample (`sample_id`), stratified by class:
train {splits.get("train", "?")}, validation {splits.get("val", "?")}, \
test {splits.get("test", "?")} images.
{_stages_section(stages or [], metadata.modality)}
## Test metrics ({metrics.get("n", 0)} images, calibrated)

- accuracy {_percent(metrics.get("accuracy"))}
- balanced accuracy {_percent(metrics.get("balanced_accuracy"))}
- ROC-AUC genuine vs imitation: {auc}

| class | precision | recall | F1 | support |
| --- | --- | --- | --- | --- |
{rows}

## Intended use and limits

Screening of {metadata.modality} photographs for the genuine class `{metadata.genuine_class}` versus
machine imitations, as one input to a lab's decision. It abstains (`inconclusive`) when its
calibrated confidence is below the threshold. Photographs unlike its training data (other
magnifications, stains, lighting or crafts) are outside its scope; metrics above hold only for
data like its test split.
"""
