"""Result types: plain dataclasses that serialise to the same JSON in the API, CLI and reports.

Example:
    >>> p = Prediction(path="a.png", label="pashmina", verdict=Verdict.GENUINE, confidence=0.97,
    ...                genuine_probability=0.97, probabilities={"pashmina": 0.97, "wool": 0.03},
    ...                modality="fibre", model="fibre")
    >>> p.to_dict()["verdict"]
    'genuine'
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

MODALITIES = ("fibre", "weave", "stitch")


class Verdict(StrEnum):
    """What an inspection concludes. ``INCONCLUSIVE`` means the model abstains."""

    GENUINE = "genuine"
    IMITATION = "imitation"
    INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True)
class Prediction:
    """One image's result.

    ``confidence`` is the calibrated probability of ``label``; ``genuine_probability`` is the
    calibrated probability of the bundle's genuine class, which the verdict compares with the
    bundle's threshold (genuine if it reaches the threshold, imitation if ``1 - p`` does,
    inconclusive otherwise). ``out_of_distribution`` is set when the bundle's feature guard finds
    the image unlike the training data (``ood_score`` above the bundle's ``ood_threshold``), or
    the photo shows no detail to judge (blank, black or burnt out: see
    ``craftvision.preprocess.detail_level``); the verdict is then ``inconclusive`` whatever the
    probabilities say. ``measurements`` holds the
    image's calibrated measurements (``craftvision.measure``) when a calibration was given.
    """

    path: str | None
    label: str
    verdict: Verdict
    confidence: float
    genuine_probability: float
    probabilities: dict[str, float]
    modality: str
    model: str
    ood_score: float | None = None
    out_of_distribution: bool = False
    measurements: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; ``verdict`` as its string value (``measurements`` only if taken)."""
        data = asdict(self)
        data["verdict"] = self.verdict.value
        if self.measurements is None:
            del data["measurements"]
        return data


@dataclass(frozen=True)
class InspectionError:
    """An input that could not be inspected, kept in the results instead of stopping the batch."""

    path: str | None
    error: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)
