"""``craftvision explain``: a heatmap of what drove a model's prediction on one photo."""

from __future__ import annotations

import json
from pathlib import Path

import typer

METHODS = ("auto", "grad-cam", "occlusion")


def explain(
    image: Path = typer.Argument(..., help="The photo to explain."),
    model: str = typer.Option(
        "fibre",
        "--model",
        "-m",
        help="A shipped model name, a .onnx bundle (occlusion, no torch needed) or a .ckpt "
        "checkpoint (Grad-CAM).",
    ),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="PNG to write (default: IMAGE's name with .heat.png, here)."
    ),
    method: str = typer.Option(
        "auto",
        help="auto (grad-cam for checkpoints, occlusion for bundles), grad-cam or occlusion.",
    ),
    target: str | None = typer.Option(
        None, "--class", help="Explain this class instead of the predicted one."
    ),
    device: str = typer.Option("auto", help="auto, cpu or cuda."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as one JSON object."),
) -> None:
    """Write the photo beside a heatmap overlay of the regions that drove the prediction:
    Grad-CAM from a checkpoint, or occlusion sensitivity from a bundle (torch-free).

    Example: `craftvision explain samples/fibre/wool/fibre-s7-00001-0.png --model fibre`
    """
    from craftvision.errors import ImageReadError
    from craftvision.explain import occlusion, save_explanation
    from craftvision.imageio import read_image
    from craftvision.suggest import nearest_path, unknown_choice
    from craftvision.training.loading import is_checkpoint, open_model

    if method not in METHODS:
        raise typer.BadParameter(unknown_choice("method", method, METHODS), param_hint="--method")
    if method == "grad-cam" and not is_checkpoint(model):
        raise typer.BadParameter(
            "grad-cam needs a checkpoint (.ckpt); a bundle is explained by occlusion",
            param_hint="--method",
        )
    if not image.is_file():
        raise ImageReadError(str(image), f"no such file.{nearest_path(image)}")
    photo = read_image(image)
    inspector = open_model(model, device=device)
    if method == "occlusion" or not is_checkpoint(model):
        explained = occlusion(inspector, photo, target=target)
    else:
        from craftvision.training.gradcam import grad_cam

        explained = grad_cam(inspector, photo, target=target)
    written = save_explanation(photo, explained, out or Path(f"{image.stem}.heat.png"))
    if as_json:
        summary = {k: v for k, v in vars(explained).items() if k != "heatmap"}
        typer.echo(json.dumps({"image": str(image), "out": str(written), **summary}))
        return
    typer.echo(
        f"{image.name}: {explained.predicted} ({explained.confidence:.3f}); {explained.method} "
        f"heatmap of {explained.target} → {written}"
    )
