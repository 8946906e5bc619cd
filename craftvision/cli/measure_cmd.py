"""``craftvision measure``: calibrated fibre, weave and stitch figures, per photo and pooled."""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from craftvision.cli.console import err_console
from craftvision.cli.options import check_output_file
from craftvision.cli.scale_options import px_per_mm_option, um_per_px_option
from craftvision.cli.table import figure, folding_table

MODALITIES = ("fibre", "weave", "stitch")
# Per modality: the per-photo columns of the table, as (heading, key in the result's dict);
# headings on two lines leave the width to file names and grades.
_COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "fibre": (
        ("fibres", "n_fibres"),
        ("mean\nµm", "mean_diameter_um"),
        ("mean\npx", "mean_diameter_px"),
        ("scale\nµm", "mean_scale_interval_um"),
        ("scale/\ndiam", "scale_ratio"),
    ),
    "weave": (
        ("warp\n/cm", "threads_per_cm_warp"),
        ("weft\n/cm", "threads_per_cm_weft"),
        ("spacing\nCV", "spacing_cv"),
        ("grade", "grade"),
    ),
    "stitch": (
        ("stitches\n/cm", "stitches_per_cm"),
        ("length\nmm", "stitch_length_mm"),
        ("length\nCV", "stitch_length_cv"),
        ("angle\nSD°", "angle_sd_deg"),
        ("grade", "grade"),
    ),
}
# Without a calibration, the columns in real units show what needs no scale: pitches in px.
_IN_PX = {
    "threads_per_cm_warp": ("warp\npitch px", "warp_pitch_px"),
    "threads_per_cm_weft": ("weft\npitch px", "weft_pitch_px"),
    "stitches_per_cm": ("pitch\npx", "stitch_pitch_px"),
    "stitch_length_mm": ("length\npx", "stitch_length_px"),
}


def _columns(modality: str, calibrated: bool) -> list[tuple[str, str]]:
    """The table's (heading, key) columns: figures per cm in px where there is no scale.

    Example:
        >>> [key for _, key in _columns("weave", calibrated=False)][:2]
        ['warp_pitch_px', 'weft_pitch_px']
    """
    columns = _COLUMNS[modality]
    return list(columns) if calibrated else [_IN_PX.get(key, (h, key)) for h, key in columns]


def _table(modality: str, records: list[dict[str, Any]], calibrated: bool) -> Table:
    columns = _columns(modality, calibrated)
    headings = [heading for heading, _ in columns]
    table = folding_table(["file", *headings], right=set(headings) - {"grade"})
    for record in records:
        name = Path(record["path"]).name if record.get("path") else "-"
        if "error" in record:
            row = ["[bold magenta]error[/]"] + [""] * (len(columns) - 1)
            table.add_row(name, *row)
            continue
        table.add_row(name, *(figure(record.get(key)) for _, key in columns))
    return table


def _warning(result: Any) -> str | None:
    """What a photo's figures should be read with: why a stitch photo's stitches per cm or
    length are withheld, or that a fibre photo had no fibre to measure or may miss coarse
    fibres at its scale."""
    from craftvision.measure import FibreImageResult
    from craftvision.measure.stitch import StitchResult

    if isinstance(result, StitchResult):
        return result.withheld
    if isinstance(result, FibreImageResult):
        return result.warning
    return None


def _fibre_line(sample: Any) -> str:
    """The sample's fibre count and diameter figures, naming those it cannot give."""
    unit = sample.unit
    fibres = "fibre" if sample.n_fibres == 1 else "fibres"
    head = f"{sample.n_fibres} {fibres} in {sample.n_images} image(s)"
    if sample.mean is None:
        return f"{head}: no diameter measured"
    if sample.mean_uncertainty is None:
        return f"{head}: mean {figure(sample.mean)} {unit} (one fibre: no spread or interval)"
    over = (
        f", over 30 µm {figure(sample.over_30_percent)} %"
        if sample.over_30_percent is not None
        else ""
    )
    return (
        f"{head}: mean {figure(sample.mean)} ± {figure(sample.mean_uncertainty)} {unit} (95 %), "
        f"SD {figure(sample.sd)} {unit}, CV {figure(sample.cv_percent)} %{over}"
    )


def _photos(names: list[str], shown: int = 3) -> str:
    """How many photos, naming the first few.

    Example:
        >>> _photos(["a.png"]), _photos(["a.png", "b.png", "c.png", "d.png", "e.png"])
        ('1 photo (a.png)', '5 photos (a.png, b.png, c.png and 2 more)')
    """
    listed = ", ".join(names[:shown])
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return f"{len(names)} photo{'s' if len(names) > 1 else ''} ({listed}{more})"


def _summary_lines(modality: str, sample: Any) -> list[str]:
    summary = sample.to_dict()
    if not sample.n_images:
        lines = ["no photo measured"]
    elif modality == "fibre":
        lines = [
            _fibre_line(sample),
            f"scale interval {figure(sample.mean_scale_interval)} {sample.unit} "
            f"({figure(sample.scale_ratio)} of the diameter)"
            if sample.mean_scale_interval is not None
            else "no cuticle scales seen: smooth fibres, as synthetics are (or scales too faint)",
        ]
    elif modality == "weave":
        density = (
            f"warp {figure(summary['threads_per_cm_warp'])} /cm, weft "
            f"{figure(summary['threads_per_cm_weft'])} /cm"
            if summary["threads_per_cm_warp"] is not None
            else "threads per cm withheld"
        )
        lines = [f"{density}, spacing CV {figure(summary['spacing_cv'])}"]
    else:
        per_cm, length = summary["stitches_per_cm"], summary["stitch_length_mm"]
        lines = [
            ", ".join(
                (
                    "stitches/cm withheld" if per_cm is None else f"{figure(per_cm)} stitches/cm",
                    "length withheld" if length is None else f"length {figure(length)} mm",
                    f"CV {figure(summary['stitch_length_cv'])}",
                    f"angle SD {figure(summary['angle_sd_deg'])}°",
                )
            )
        ]
    rule = str(summary["rule"]).removeprefix(f"{summary['grade']}: ")  # "fails: ..." says it twice
    lines.append(f"grade: {summary['grade']} — {rule}")
    return lines


def measure(
    modality: str = typer.Argument(..., help="What the photos show: fibre, weave or stitch."),
    paths: list[str] = typer.Argument(..., help="Image files, folders (recursive) or globs."),
    calibration: Path | None = typer.Option(
        None, "--calibration", "-c", help="Calibration profile from `craftvision calibrate`."
    ),
    um_per_px: float | None = um_per_px_option(),
    px_per_mm: float | None = px_per_mm_option(),
    as_json: bool = typer.Option(
        False, "--json", help="Print JSON Lines: one object per image, then one summary."
    ),
    plot: Path | None = typer.Option(
        None, "--plot", help="fibre: write the diameter histogram to this PNG."
    ),
    warp_angle: float | None = typer.Option(
        None,
        "--warp-angle",
        help="weave: direction the warp runs in the photos, degrees from the x axis (y down); "
        "threads are sought within 5° of it, and a photo with none there is refused. "
        "Default: the system closer to upright.",
    ),
) -> None:
    """Measure fibre fineness, weave density or stitch regularity in real units, and grade it.

    Give the scale with `--calibration FILE` (from `craftvision calibrate`), `--um-per-px` or
    `--px-per-mm`. Without one, figures in µm / mm / per cm are withheld and only ratios that
    need no scale are given. Unreadable photos are reported and the rest are measured; the exit
    code is then 1.

    Example: `craftvision measure fibre scans/ --calibration scope40x.json --plot hist.png`

    Example: `craftvision measure weave shawl.jpg --px-per-mm 20 --json`
    """
    from craftvision.cli.photos import expand_photos
    from craftvision.cli.progress import progress
    from craftvision.errors import ConfigError
    from craftvision.measure import (
        HOW_TO_CALIBRATE,
        check_scale,
        iter_measure_paths,
        resolve_calibration,
        save_histogram,
        summarise,
    )
    from craftvision.suggest import unknown_choice
    from craftvision.types import InspectionError

    if modality not in MODALITIES:
        raise typer.BadParameter(
            unknown_choice("modality", modality, MODALITIES), param_hint="MODALITY"
        )
    if plot is not None and modality != "fibre":
        raise ConfigError("--plot draws the fibre diameter histogram; it is for `measure fibre`")
    check_output_file(plot, "--plot", suffix=".png")
    scale = resolve_calibration(calibration, um_per_px=um_per_px, px_per_mm=px_per_mm)
    check_scale(modality, scale)
    if scale is None:
        err_console.print(
            f"[yellow]no calibration:[/] figures in real units are withheld; {HOW_TO_CALIBRATE}"
        )
    files, missing = expand_photos(paths)
    results: list[Any] = list(missing)
    options = {"warp_angle_deg": warp_angle} if modality == "weave" else {}
    interrupted = False
    with progress(len(files), f"measuring {modality}", shown=len(files) > 1) as advance:
        try:
            for result in iter_measure_paths(modality, files, scale, **options):
                results.append(result)
                advance()
        except KeyboardInterrupt:  # report what was measured before the interruption
            interrupted = True
    sample = summarise(modality, results)
    records = [r.to_dict() for r in results]
    if as_json:
        sys.stdout.write("".join(json.dumps(r) + "\n" for r in [*records, sample.to_dict()]))
    else:
        Console().print(_table(modality, records, calibrated=scale is not None))
        for line in _summary_lines(modality, sample):
            Console().print(line, highlight=False)
    if plot is not None:
        save_histogram(sample, plot)
        err_console.print(f"histogram written to {plot}", style="dim", highlight=False)
    warned: dict[str, list[str]] = defaultdict(list)
    for result in results:
        if warning := _warning(result):
            warned[warning].append(Path(result.path).name if result.path else "-")
    for warning, names in warned.items():
        err_console.print(f"[yellow]{_photos(names)}:[/] {warning}", highlight=False)
    failures = [r for r in results if isinstance(r, InspectionError)]
    for failure in failures:
        err_console.print(f"[bold red]error:[/] {escape(failure.error)}", highlight=False)
    if interrupted:
        err_console.print(
            f"[yellow]interrupted:[/] {len(results) - len(failures)} of {len(files)} photo(s) "
            "measured; the figures above are theirs"
        )
        raise typer.Exit(130)
    if failures:
        raise typer.Exit(1)
