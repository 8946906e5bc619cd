"""``craftvision explain``: a heatmap of what drove a model's prediction on one photo."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from craftvision.cli.options import check_output_file, device_option
from craftvision.cli.photos import AUTO, DEFAULT_MODEL, model_for

METHODS = ("auto", "grad-cam", "occlusion")


def explain(
    image: Path = typer.Argument(..., help="The photo to explain."),
    model: str = typer.Option(
        AUTO,
        "--model",
        "-m",
        help="`auto` (the shipped model of the photo's fibre/, weave/ or stitch/ folder; fibre "
        "otherwise), a shipped model name, a .onnx bundle (occlusion, no torch needed) or a "
        ".ckpt checkpoint (Grad-CAM).",
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
    device: str = device_option(),
    as_json: bool = typer.Option(False, "--json", help="Print the result as one JSON object."),
) -> None:
    """Write the photo beside a heatmap overlay of the regions that drove the prediction:
    Grad-CAM from a checkpoint, or occlusion sensitivity from a bundle (torch-free).

    A photo the model finds unlike its training photos (out of distribution) is explained
    all the same, with a warning: its verdict would be inconclusive.

    Example: `craftvision explain samples/fibre/wool/fibre-s7-00001-0.png`
    """
    from craftvision.errors import ImageReadError
    from craftvision.explain import occlusion, save_explanation
    from craftvision.imageio import read_image
    from craftvision.suggest import nearest_path, unknown_choice
    from craftvision.training.loading import is_checkpoint, open_model

    model = model_for(image, model) or DEFAULT_MODEL
    check_output_file(out, "--out", suffix=".png")
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
    unlike = inspector.predict(photo).out_of_distribution
    if as_json:
        summary = {k: v for k, v in vars(explained).items() if k != "heatmap"}
        record = {"image": str(image), "out": str(written), "model": model, **summary}
        typer.echo(json.dumps({**record, "out_of_distribution": unlike}))
        return
    typer.echo(
        f"{image.name}: {explained.predicted} ({explained.confidence:.3f}) by the {model} model; "
        f"{explained.method} heatmap of {explained.target} → {written}"
    )
    if unlike:
        from craftvision.cli.console import err_console

        err_console.print(
            f"[yellow]warning:[/] {image.name} is unlike the {model} model's training photos "
            "(out of distribution): its verdict would be inconclusive, and the heatmap explains "
            "a guess; is it a photo of this modality?"
        )
