"""``craftvision export``: a training checkpoint as a bundle, optionally quantised to int8."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console

from craftvision.cli.console import err_console


def export(
    checkpoint: Path = typer.Argument(..., help="A run's best.ckpt or last.ckpt."),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Bundle file (default: the checkpoint's name, .onnx/.int8.onnx)."
    ),
    int8: bool = typer.Option(
        False,
        "--int8",
        help="Static int8 quantisation (QDQ, per-channel), checked on the test split.",
    ),
    opset: int = typer.Option(17, min=13, max=20, help="ONNX opset."),
    data: Path | None = typer.Option(
        None, help="The run's dataset, if it moved (default: where the run found it)."
    ),
    calib_data: Path | None = typer.Option(
        None, help="Images to calibrate int8 on (default: the run's training split)."
    ),
    force: bool = typer.Option(
        False,
        help="Keep an int8 bundle that loses more than 1 point of balanced accuracy on the test "
        "split, or whose OOD guard flags over 1 point more of it.",
    ),
    tta: str | None = typer.Option(
        None,
        "--tta",
        help="Test-time augmentation built into the bundle: none or dihedral (default: the "
        "run's own setting).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the export report as JSON."),
) -> None:
    """Export a checkpoint as a self-describing ONNX bundle with its model card (.md).

    The run's validation split calibrates it, its training split fits the out-of-distribution
    guard, and onnxruntime must match torch within 1e-4 (batch 1 and 32). With --int8 the
    bundle is refused (nothing is written) when, on the test split, int8 loses more than 1 point
    of balanced accuracy or its OOD guard flags more than 1 point more images, unless --force.

    Example: `craftvision export runs/fibre/best.ckpt --int8`

    Example: `craftvision export runs/fibre/best.ckpt --tta dihedral`
    """
    from craftvision.errors import BundleError
    from craftvision.training.export import export_checkpoint
    from craftvision.training.loading import is_checkpoint

    if not is_checkpoint(checkpoint):
        raise BundleError(
            f"{checkpoint}: export takes a training checkpoint (best.ckpt or last.ckpt); "
            "bundles (.onnx) are already exported"
        )
    report = export_checkpoint(
        checkpoint,
        out,
        data=data,
        opset=opset,
        int8=int8,
        calib_data=calib_data,
        force=force,
        test_time_augmentation=tta,
    )
    quantized = report.int8
    if as_json:
        document = {
            "path": str(report.path),
            "card": str(report.card),
            "size_bytes": report.size_bytes,
            "parity_max_abs_diff": report.max_abs_diff,
            "int8": None if quantized is None else quantized.to_dict(),
        }
        typer.echo(json.dumps(document))
        return
    console = Console(highlight=False)
    console.print(f"bundle  {report.path} ({report.size_bytes / 1e6:.2f} MB), card {report.card}")
    console.print(f"parity  float32 vs torch: max |Δp| {report.max_abs_diff:.1e} (batch 1 and 32)")
    if quantized is None:
        return
    flags = (
        ""
        if quantized.int8_ood_flag_rate is None
        else f"; OOD flags {quantized.fp32_ood_flag_rate:.2%} → {quantized.int8_ood_flag_rate:.2%}"
    )
    console.print(
        f"int8    {quantized.size_ratio:.1%} of float32 ({quantized.fp32_bytes:,} → "
        f"{quantized.int8_bytes:,} bytes); balanced accuracy "
        f"{quantized.fp32_balanced_accuracy:.2%} → {quantized.int8_balanced_accuracy:.2%} "
        f"({-100 * quantized.accuracy_drop:+.2f} points) on {quantized.test_images} test "
        f"images{flags}"
    )
    for problem in quantized.problems():
        err_console.print(f"[yellow]warning:[/] kept with --force although {problem}")
