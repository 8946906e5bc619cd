"""``craftvision calibrate``: µm per pixel from a stage micrometer photo, saved as a profile."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from craftvision.cli.console import err_console


def calibrate(
    image: Path = typer.Argument(..., help="Photo of a stage micrometer's ruled scale."),
    division_um: float = typer.Option(
        10.0, "--division-um", min=0.01, help="Distance between neighbouring ruled lines, µm."
    ),
    out: Path | None = typer.Option(
        None,
        "--out",
        "-o",
        help="Profile file to write (default: IMAGE with the suffix .calibration.json).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the profile as JSON."),
) -> None:
    """Measure µm per pixel from a stage micrometer photo and save it as a calibration profile.

    Photograph the micrometer with the objective and camera you measure fibres with (for cloth,
    a ruler in mm: `--division-um 1000`). Later commands take the profile with
    `--calibration FILE`.

    Example: `craftvision calibrate micrometer.png --division-um 10 --out scope40x.json`
    """
    from craftvision.measure import calibrate_micrometer

    calibration = calibrate_micrometer(image, division_um)
    target = out if out is not None else image.with_suffix(".calibration.json")
    calibration.save(target)
    if as_json:
        sys.stdout.write(json.dumps(calibration.to_dict()) + "\n")
    else:
        typer.echo(
            f"{calibration.um_per_px:.5f} µm per pixel ({calibration.px_per_mm:.2f} px per mm) "
            f"from {calibration.n_ticks} ruled lines, RMS {calibration.residual_px:.3f} px"
        )
    err_console.print(f"calibration profile written to {target}", style="dim", highlight=False)
