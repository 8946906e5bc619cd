"""``craftvision inspect``: run bundles over files, folders and globs, or over one product."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from craftvision.cli.options import check_output_file, device_option
from craftvision.cli.photos import AUTO, DEFAULT_MODEL, model_for
from craftvision.cli.scale_options import px_per_mm_option, um_per_px_option
from craftvision.types import InspectionError, Prediction

if TYPE_CHECKING:
    from rich.table import Table

    from craftvision.sample import SampleResult

# A product's photos come from more than one set of optics: its scales are given per modality.
_UM_PER_PX = um_per_px_option(per_modality=True)
_PX_PER_MM = px_per_mm_option(per_modality=True)
_DEVICE = device_option()
VERDICT_STYLE = {"genuine": "bold green", "imitation": "bold red", "inconclusive": "yellow"}


def _styled(verdict: str) -> str:
    return f"[{VERDICT_STYLE[verdict]}]{verdict}[/]"


def _figures(measurements: dict[str, Any]) -> str:
    """A photo's headline measurement, for the table."""
    from craftvision.cli.table import figure

    if "error" in measurements:
        return "not measured"

    def show(key: str) -> str:
        return figure(measurements.get(key))

    if measurements.get("modality") == "fibre":
        return f"{measurements['n_fibres']} fibre(s), mean {show('mean_diameter_um')} µm"
    if measurements.get("modality") == "weave":
        return f"{show('threads_per_cm_warp')} × {show('threads_per_cm_weft')} threads/cm"
    return f"{show('stitches_per_cm')} stitches/cm, CV {show('stitch_length_cv')}"


def _table(results: list[Prediction | InspectionError]) -> Table:
    from craftvision.cli.table import folding_table

    measured = any(isinstance(r, Prediction) and r.measurements for r in results)
    columns = ("file", "class", "verdict", "confidence", "p(genuine)")
    table = folding_table(
        (*columns, "measured") if measured else columns, right={"confidence", "p(genuine)"}
    )
    for result in results:
        name = Path(result.path).name if result.path else "-"
        if isinstance(result, InspectionError):
            error = result.error.split(": ", 1)[-1]
            table.add_row(name, "-", "[bold magenta]error[/]", "-", error, *[""] * measured)
            continue
        table.add_row(
            name,
            result.label,
            _styled(result.verdict.value)
            + (" [dim](unlike the training photos)[/]" if result.out_of_distribution else ""),
            f"{result.confidence:.3f}",
            f"{result.genuine_probability:.3f}",
            *([_figures(result.measurements or {})] if measured else []),
        )
    return table


def _tab_separated(results: list[Prediction | InspectionError]) -> str:
    """The table for scripts: a header line, then one tab-separated line per input."""
    measured = any(isinstance(r, Prediction) and r.measurements for r in results)
    columns = ["path", "class", "verdict", "confidence", "p_genuine"]
    lines = ["\t".join([*columns, *["measured"] * measured, "error"])]
    for result in results:
        path = "" if result.path is None else str(result.path)
        if isinstance(result, InspectionError):
            cells = [path, "", "error", "", "", *[""] * measured, result.error]
        else:
            cells = [
                path,
                result.label,
                result.verdict.value,
                f"{result.confidence:.3f}",
                f"{result.genuine_probability:.3f}",
                *([_figures(result.measurements or {})] if measured else []),
                "",
            ]
        lines.append("\t".join(cell.replace("\t", " ").replace("\n", " ") for cell in cells))
    return "\n".join(lines) + "\n"


def _print_results(
    results: list[Prediction | InspectionError], sample: SampleResult | None = None
) -> None:
    """A table in a terminal, tab-separated lines when piped (scripts can cut columns, and a
    one-photo run starts without importing rich); then ``sample``'s verdict and reasons."""
    summary = []
    if sample is not None:
        named = f"sample {sample.sample_id}" if sample.sample_id else "sample"
        summary = [f"{named}: {sample.verdict.value}"]
        summary += [f"  • {reason}" for reason in sample.reasons]
    if not sys.stdout.isatty():
        sys.stdout.write(_tab_separated(results) + "".join(f"{line}\n" for line in summary))
        return
    from rich.console import Console
    from rich.markup import escape

    console = Console(highlight=False)
    console.print(_table(results))
    if sample is not None:
        console.print(f"{escape(named)}: {_styled(sample.verdict.value)}")
        for line in summary[1:]:
            console.print(escape(line))


def _say(message: str, **options: Any) -> None:
    """Print a message (rich markup) on stderr; rich is imported only when there is one."""
    from craftvision.cli.console import err_console

    err_console.print(message, **options)


def _inspect_files(
    files: list[Path], model: str, threshold: float | None, device: str, batch_size: int
) -> list[Prediction | InspectionError]:
    from craftvision.cli.progress import progress
    from craftvision.inspector import Inspector

    groups: dict[str, list[int]] = {}
    unplaced = 0
    for index, path in enumerate(files):
        name = model_for(path, model)
        unplaced += name is None
        groups.setdefault(name or DEFAULT_MODEL, []).append(index)
    if unplaced:
        _say(
            f"{unplaced} photo(s) outside fibre/, weave/ or stitch/ folders: using the "
            f"{DEFAULT_MODEL} model (choose another with --model)",
            style="dim",
        )
    inspectors = {
        name: Inspector(name, threshold=threshold, device=device, batch_size=batch_size)
        for name in groups
    }
    results: list[Prediction | InspectionError | None] = [None] * len(files)
    with progress(len(files), "inspecting", shown=len(files) > batch_size) as advance:
        try:
            for name, indices in groups.items():
                stream = inspectors[name].predict_iter(
                    [files[i] for i in indices], on_error="record"
                )
                for index, result in zip(indices, stream, strict=False):
                    results[index] = result
                    advance()
        except KeyboardInterrupt:
            raise _Interrupted([r for r in results if r is not None]) from None
    return [r for r in results if r is not None]


class _Interrupted(Exception):
    """Ctrl-C during inspection, carrying the results finished before it."""

    def __init__(self, finished: list[Prediction | InspectionError]) -> None:
        super().__init__(f"{len(finished)} image(s) finished")
        self.finished = finished


def _emit(results: list[Prediction | InspectionError], *, as_json: bool, out: Path | None) -> None:
    from craftvision.atomic import atomic_write_text

    lines = "".join(json.dumps(r.to_dict()) + "\n" for r in results)
    if as_json:
        sys.stdout.write(lines)
    else:
        _print_results(results)
    if out is not None:
        atomic_write_text(out, lines)


def _inspect_sample(
    paths: list[str],
    model: str,
    threshold: float | None,
    as_json: bool,
    out: Path | None,
    calibration: Any = None,
) -> None:
    from craftvision.atomic import atomic_write_text
    from craftvision.sample import inspect_sample

    models = None if model == AUTO else {_modality_of_model(model): model}
    result = inspect_sample(
        paths[0] if len(paths) == 1 else paths,
        models=models,
        threshold=threshold,
        calibration=calibration,
    )
    document = json.dumps(result.to_dict())
    if as_json:
        sys.stdout.write(document + "\n")
    else:
        _print_results(result.images, result)
    if out is not None:
        atomic_write_text(out, document + "\n")
    if not result.images:
        _say(f"[bold red]no photos to inspect[/] in {', '.join(paths)}", highlight=False)
    if not result.images or any(isinstance(r, InspectionError) for r in result.images):
        raise typer.Exit(1)


def _explain(
    files: list[Path],
    results: list[Prediction | InspectionError],
    model: str,
    folder: Path,
    device: str,
    batch_size: int,
) -> None:
    """Write an occlusion heatmap of every inspected photo as ``folder/<stem>.heat.png``."""
    from craftvision.explain import occlusion, save_explanation
    from craftvision.imageio import read_image
    from craftvision.inspector import Inspector

    inspectors: dict[str, Inspector] = {}
    written: set[str] = set()
    for path, result in zip(files, results, strict=True):
        if isinstance(result, InspectionError):
            continue
        name = model_for(path, model) or DEFAULT_MODEL
        if name not in inspectors:
            inspectors[name] = Inspector(name, device=device, batch_size=batch_size)
        target, copy = f"{path.stem}.heat.png", 1
        while target in written:
            target, copy = f"{path.stem}-{copy}.heat.png", copy + 1
        written.add(target)
        image = read_image(path)
        save_explanation(image, occlusion(inspectors[name], image), folder / target)
    _say(f"{len(written)} heatmap(s) written to {folder}", highlight=False)


def _measured(
    results: list[Prediction | InspectionError], scales: Any
) -> list[Prediction | InspectionError]:
    """Each prediction with its photo's calibrated measurements, at its modality's scale (a
    photo whose modality has none is left unmeasured)."""
    from dataclasses import replace

    from craftvision.measure import measure_paths

    out: list[Prediction | InspectionError] = []
    for result in results:
        scale = scales.of(result.modality) if isinstance(result, Prediction) else None
        if isinstance(result, Prediction) and result.path is not None and scale is not None:
            (figures,) = measure_paths(result.modality, [result.path], scale)
            result = replace(result, measurements=figures.to_dict())
        out.append(result)
    return out


def _modality_of_model(model: str) -> str:
    """The modality a bundle serves."""
    from craftvision.models import read_metadata, resolve_model

    return read_metadata(resolve_model(model)).modality


def inspect(
    paths: list[str] = typer.Argument(
        ...,
        help="Image files, folders (searched recursively) or globs; with --sample, one "
        "product's folder (photos under fibre/, weave/, stitch/) or its CSV manifest.",
    ),
    model: str = typer.Option(
        AUTO,
        "--model",
        "-m",
        help="`auto` (each photo's modality folder picks the shipped model; fibre otherwise), "
        "a shipped model name (see `craftvision models`) or a .onnx bundle.",
    ),
    sample: bool = typer.Option(
        False, "--sample", help="Treat all the photos as one product and print its verdict."
    ),
    as_json: bool = typer.Option(
        False, "--json", help="Print JSON Lines (one object per image, or one per sample)."
    ),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Also write the JSON results to this file."
    ),
    threshold: float | None = typer.Option(
        None, min=0.5, max=1.0, help="Abstain threshold (default: each bundle's own)."
    ),
    batch_size: int = typer.Option(32, min=1, help="Images per inference batch."),
    device: str = _DEVICE,
    explain: Path | None = typer.Option(
        None, "--explain", help="Also write each photo's occlusion heatmap into this folder."
    ),
    calibration: list[str] | None = typer.Option(
        None,
        "--calibration",
        help="Calibration profile (`craftvision calibrate`): adds each photo's measurements, "
        "which a sample's verdict then cites. FILE for every photo, or MODALITY=FILE for one "
        "modality's (repeat for each).",
    ),
    um_per_px: list[str] | None = _UM_PER_PX,
    px_per_mm: list[str] | None = _PX_PER_MM,
) -> None:
    """Inspect images: class, verdict (genuine / imitation / inconclusive), calibrated confidence.

    Bad files are reported as error records and the rest are still inspected; the exit code is 1
    if any file failed. Results are a table in a terminal, tab-separated lines when piped (one
    header line: path, class, verdict, confidence, p_genuine, error) and JSON Lines with --json.

    Example: `craftvision inspect samples/fibre --out results.jsonl`

    Example: `craftvision inspect --sample samples/product`

    Example: `craftvision inspect samples/fibre --explain heatmaps`

    Example: `craftvision inspect --sample samples/product --calibration fibre=scope40x.json
    --px-per-mm weave=12.3 --px-per-mm stitch=19.4`
    """
    check_output_file(out, "--out")
    scale = None
    if calibration or um_per_px or px_per_mm:
        from craftvision.measure import Scales  # only when measuring: fast start

        scale = Scales.parse(
            calibration or (), um_per_px=um_per_px or (), px_per_mm=px_per_mm or ()
        )
    if model != AUTO:
        from craftvision.models import resolve_model

        resolve_model(model)
    if sample:
        if explain is not None:
            raise typer.BadParameter(
                "heatmaps are per photo; drop --sample", param_hint="--explain"
            )
        _inspect_sample(paths, model, threshold, as_json, out, scale)
        return
    from craftvision.cli.photos import expand_photos

    files, missing = expand_photos(paths)
    try:
        inspected = _inspect_files(files, model, threshold, device, batch_size)
    except _Interrupted as stop:
        _say(f"interrupted: {len(stop.finished)} of {len(files)} image(s) finished")
        _emit(missing + stop.finished, as_json=as_json, out=out)
        raise typer.Exit(130) from None
    if scale is not None:
        inspected = _measured(inspected, scale)
    results = missing + inspected
    _emit(results, as_json=as_json, out=out)
    if explain is not None:
        _explain(files, inspected, model, explain, device, batch_size)
    failures = sum(isinstance(r, InspectionError) for r in results)
    if failures:
        _say(f"[bold red]{failures} of {len(results)} input(s) could not be inspected[/]")
        raise typer.Exit(1)
