"""One verdict per product: aggregate every photo of a sample across modalities.

Rules (DESIGN.md §3): a sample is ``imitation`` if any modality is confidently imitation,
``genuine`` only if every modality present is confidently genuine, otherwise ``inconclusive``.
Within a modality, one confidently imitation photo is enough to call it imitation (a blend of
Pashmina with wool is an imitation), and it is genuine only if all its photos are.

Example:
    >>> from craftvision import inspect_sample
    >>> result = inspect_sample("samples/product")           # doctest: +SKIP
    >>> result.verdict, result.reasons[0]                     # doctest: +SKIP
    (<Verdict.IMITATION: 'imitation'>, 'stitch: imitation — border.jpg is machine_chain (0.99)')
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from craftvision.errors import ConfigError
from craftvision.suggest import did_you_mean
from craftvision.types import MODALITIES, InspectionError, Prediction, Verdict


@dataclass(frozen=True)
class ModalityResult:
    """The verdict of one modality of a sample and the photos that drove it."""

    modality: str
    verdict: Verdict
    reason: str
    n_images: int


@dataclass(frozen=True)
class SampleResult:
    """A product's verdict, its reasons, and every photo's result."""

    sample_id: str | None
    verdict: Verdict
    reasons: list[str]
    modalities: dict[str, ModalityResult]
    images: list[Prediction | InspectionError] = field(default_factory=list)
    measurements: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (``measurements``, per modality, when a calibration was given)."""
        data = {
            "sample_id": self.sample_id,
            "verdict": self.verdict.value,
            "reasons": list(self.reasons),
            "modalities": {
                name: {"verdict": m.verdict.value, "reason": m.reason, "n_images": m.n_images}
                for name, m in self.modalities.items()
            },
            "images": [image.to_dict() for image in self.images],
        }
        if self.measurements:
            data["measurements"] = self.measurements
        return data


def _name(result: Prediction | InspectionError) -> str:
    return Path(result.path).name if result.path else "<image>"


def _listed(names: list[str]) -> str:
    """The first three names, and an ellipsis for more."""
    return ", ".join(names[:3]) + (" …" if len(names) > 3 else "")


def _modality_result(
    modality: str, results: Sequence[Prediction | InspectionError]
) -> ModalityResult:
    predictions = [r for r in results if isinstance(r, Prediction)]
    failed = [r for r in results if isinstance(r, InspectionError)]
    imitation = [p for p in predictions if p.verdict is Verdict.IMITATION]
    if imitation:
        worst = max(imitation, key=lambda p: 1 - p.genuine_probability)
        return ModalityResult(
            modality,
            Verdict.IMITATION,
            f"{modality}: imitation — {_name(worst)} is {worst.label} "
            f"(p(genuine) {worst.genuine_probability:.2f})"
            + (f" and {len(imitation) - 1} more photo(s)" if len(imitation) > 1 else ""),
            len(results),
        )
    unsure = [p for p in predictions if p.verdict is Verdict.INCONCLUSIVE]
    if unsure or failed or not predictions:
        names = [
            _name(p) + (" (unlike the training photos)" if p.out_of_distribution else "")
            for p in unsure
        ]
        said = [f"not confident on {_listed(names)}"] if names else []
        if failed:
            said.append(f"could not read {_listed([_name(r) for r in failed])}")
        why = "; ".join(said) or "not confident on any photo"
        return ModalityResult(
            modality, Verdict.INCONCLUSIVE, f"{modality}: inconclusive — {why}", len(results)
        )
    weakest = min(predictions, key=lambda p: p.genuine_probability)
    return ModalityResult(
        modality,
        Verdict.GENUINE,
        f"{modality}: genuine — all {len(predictions)} photo(s) genuine "
        f"(lowest p(genuine) {weakest.genuine_probability:.2f}, {_name(weakest)})",
        len(results),
    )


def _fibre_check(result: ModalityResult, fibre: Mapping[str, Any]) -> tuple[ModalityResult, str]:
    """Weigh a fibre modality's verdict against its measured mean diameter (GI: ≤ 16 µm).

    A mean clearly above the limit (the limit below the mean's 95 % confidence interval) makes
    the fibre an imitation of GI Pashmina whatever the model says; one within the measuring
    uncertainty of the limit, on either side, leaves a genuine verdict inconclusive. Returns
    the result and a reason citing the measurement.
    """
    # Only a calibrated sample is weighed so; the measuring package stays off the start-up path.
    from craftvision.measure.fibre import GI_PASHMINA_MAX_UM, mean_uncertainty

    n, mean, sd = fibre.get("n_fibres") or 0, fibre.get("mean_um"), fibre.get("sd_um")
    if not n or mean is None:
        why = fibre.get("note") if fibre.get("n_images") == 0 else None
        return result, "fibre: no fibre diameter measured" + (f" ({why})" if why else "")
    side = "≤" if mean <= GI_PASHMINA_MAX_UM else ">"
    cited = f"mean diameter {mean:.1f} µm {side} 16 µm GI limit ({n} fibre{'s' if n != 1 else ''})"
    if abs(mean - GI_PASHMINA_MAX_UM) > mean_uncertainty(sd, n):
        if side == ">" and result.verdict is not Verdict.IMITATION:
            result = replace(
                result, verdict=Verdict.IMITATION, reason=f"fibre: imitation — {cited}"
            )
        return result, f"fibre: {cited}"
    cited += ", within the measuring uncertainty"
    if result.verdict is Verdict.GENUINE:
        result = replace(
            result, verdict=Verdict.INCONCLUSIVE, reason=f"fibre: inconclusive — {cited}"
        )
    return result, f"fibre: {cited}"


def _measured_reason(modality: str, summary: Mapping[str, Any]) -> str:
    """One line citing a weave's or an embroidery's measured regularity (or why it was not)."""
    if summary.get("n_images") == 0:
        return f"{modality}: not measured ({summary.get('note') or 'no photo measured'})"
    if modality == "weave":
        return (
            f"weave: {summary.get('threads_per_cm_warp')} warp × "
            f"{summary.get('threads_per_cm_weft')} weft threads/cm, spacing CV "
            f"{100 * (summary.get('spacing_cv') or 0):.1f} % ({summary.get('grade')})"
        )
    per_cm = summary.get("stitches_per_cm")
    density = "" if per_cm is None else f" {per_cm} stitches/cm;"
    return f"stitch:{density} {summary.get('grade')} — {summary.get('rule')}"


def aggregate(
    results_by_modality: Mapping[str, Sequence[Prediction | InspectionError]],
    *,
    sample_id: str | None = None,
    measurements: Mapping[str, Mapping[str, Any]] | None = None,
) -> SampleResult:
    """Combine per-photo results, grouped by modality, into the sample verdict.

    ``measurements`` maps a modality to its calibrated summary (``craftvision.measure``); the
    reasons cite them, and a fibre mean diameter clearly over the GI limit overrides a
    genuine fibre verdict (see :func:`_fibre_check`).
    """
    measurements = dict(measurements or {})
    modalities = {
        name: _modality_result(name, results)
        for name, results in results_by_modality.items()
        if results
    }
    measured: list[str] = []
    for name, summary in measurements.items():
        if name == "fibre" and name in modalities:
            modalities[name], reason = _fibre_check(modalities[name], summary)
            measured.append(reason)
        elif name in modalities and summary.get("grade"):
            measured.append(_measured_reason(name, summary))
    verdicts = [m.verdict for m in modalities.values()]
    if Verdict.IMITATION in verdicts:
        verdict = Verdict.IMITATION
    elif verdicts and all(v is Verdict.GENUINE for v in verdicts):
        verdict = Verdict.GENUINE
    else:
        verdict = Verdict.INCONCLUSIVE
    order = {Verdict.IMITATION: 0, Verdict.INCONCLUSIVE: 1, Verdict.GENUINE: 2}
    reasons = [m.reason for m in sorted(modalities.values(), key=lambda m: order[m.verdict])]
    reasons += [reason for reason in measured if reason not in reasons]
    if not modalities:
        reasons = ["no photos to inspect"]
    images = [r for results in results_by_modality.values() for r in results]
    return SampleResult(sample_id, verdict, reasons, modalities, images, measurements)


def modality_of(path: str | os.PathLike) -> str:
    """The modality named by the nearest enclosing folder (``.../weave/x.jpg`` → ``weave``)."""
    for part in reversed(Path(path).parent.parts):
        if part.lower() in MODALITIES:
            return part.lower()
    raise ConfigError(
        f"{path}: cannot tell its modality; put photos under fibre/, weave/ or stitch/ "
        "folders, or list them in a manifest with a 'modality' column"
    )


def _group_photos(
    source: str | os.PathLike | Iterable[str | os.PathLike],
) -> tuple[str | None, dict[str, list[Path]]]:
    from craftvision.datasets.manifest import load_manifest
    from craftvision.imageio import iter_image_files

    groups: dict[str, list[Path]] = {}
    if isinstance(source, str | os.PathLike) and Path(source).suffix.lower() == ".csv":
        manifest = load_manifest(source)
        for record in manifest.records:
            groups.setdefault(record.modality or modality_of(record.path), []).append(record.path)
        sample_ids = {r.sample_id for r in manifest.records}
        return (sample_ids.pop() if len(sample_ids) == 1 else None), groups
    paths = [source] if isinstance(source, str | os.PathLike) else list(source)
    for path in iter_image_files(paths):
        groups.setdefault(modality_of(path), []).append(path)
    sample_id = Path(paths[0]).name if len(paths) == 1 and Path(paths[0]).is_dir() else None
    return sample_id, groups


def inspect_sample(
    source: str | os.PathLike | Iterable[str | os.PathLike],
    *,
    models: Mapping[str, str | os.PathLike] | None = None,
    threshold: float | None = None,
    calibration: Any = None,
) -> SampleResult:
    """Inspect every photo of one product and return its :class:`SampleResult`.

    ``source`` is a folder (photos under ``fibre/``, ``weave/``, ``stitch/``), a list of such
    photos, or a CSV manifest with a ``modality`` column. ``models`` maps a modality to a bundle
    name or path; by default each modality uses the shipped model of that modality.
    ``calibration`` (a ``craftvision.measure.Calibration``, a profile file, or
    ``craftvision.measure.Scales`` for a scale per modality) adds every photo's measurements
    and the sample's, which the verdict's reasons cite; a modality without a scale is not
    measured.
    """
    from craftvision.inspector import Inspector
    from craftvision.models.zoo import available_models

    sample_id, groups = _group_photos(source)
    chosen = dict(models or {})
    for modality in groups:
        if modality not in chosen:
            shipped = available_models()
            if modality not in shipped:
                raise ConfigError(
                    f"no model for modality {modality!r}.{did_you_mean(modality, shipped)} "
                    "Give one with models={...} / --model"
                )
            chosen[modality] = modality
    results: dict[str, list[Prediction | InspectionError]] = {}
    for modality, paths in groups.items():
        inspector = Inspector(chosen[modality], threshold=threshold)
        if inspector.modality != modality:
            raise ConfigError(
                f"model {chosen[modality]} is a {inspector.modality} model, "
                f"but it was given {modality} photos"
            )
        results[modality] = inspector.predict(paths, on_error="record")
    measurements = _measure(groups, results, calibration) if calibration else {}
    return aggregate(results, sample_id=sample_id, measurements=measurements)


def _measure(
    groups: Mapping[str, list[Path]],
    results: dict[str, list[Prediction | InspectionError]],
    calibration: Any,
) -> dict[str, Any]:
    """Measure every photo; attach each photo's figures to its prediction (in place) and
    return each modality's summary."""
    from craftvision.measure import Scales, measure_paths, resolve_calibration, summarise

    scales = (
        calibration if isinstance(calibration, Scales) else Scales(resolve_calibration(calibration))
    )
    summaries: dict[str, Any] = {}
    for modality, paths in groups.items():
        scale = scales.of(modality)
        if scale is None:
            continue
        measured = measure_paths(modality, paths, scale)
        summaries[modality] = summarise(modality, measured).to_dict()
        failed = [f.error for f in measured if isinstance(f, InspectionError)]
        if failed and len(failed) == len(measured):  # the note says why, not what it would say
            others = len(set(failed)) - 1
            summaries[modality]["note"] = failed[0] + (f" (and {others} other)" if others else "")
        results[modality] = [
            replace(prediction, measurements=figures.to_dict())
            if isinstance(prediction, Prediction)
            else prediction
            for prediction, figures in zip(results[modality], measured, strict=True)
        ]
    return summaries


__all__ = ["ModalityResult", "SampleResult", "aggregate", "inspect_sample"]
