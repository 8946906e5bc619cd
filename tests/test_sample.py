"""Sample verdict rules: one verdict per product across photos and modalities."""

from pathlib import Path

import cv2
import numpy as np
import pytest

from craftvision.errors import ConfigError
from craftvision.sample import aggregate, inspect_sample, modality_of
from craftvision.types import InspectionError, Prediction, Verdict


def _photo(name, modality, verdict, p_genuine):
    label = {"fibre": "pashmina", "weave": "kani_handwoven", "stitch": "sozni_hand"}[modality]
    if verdict is Verdict.IMITATION:
        label = "machine"
    return Prediction(
        path=f"/s/{modality}/{name}",
        label=label,
        verdict=verdict,
        confidence=max(p_genuine, 1 - p_genuine),
        genuine_probability=p_genuine,
        probabilities={},
        modality=modality,
        model=modality,
    )


GEN, IMIT, UNSURE = Verdict.GENUINE, Verdict.IMITATION, Verdict.INCONCLUSIVE


def test_all_modalities_confidently_genuine_is_genuine():
    result = aggregate(
        {
            "fibre": [_photo("a.png", "fibre", GEN, 0.99), _photo("b.png", "fibre", GEN, 0.95)],
            "weave": [_photo("w.jpg", "weave", GEN, 0.97)],
        }
    )
    assert result.verdict is GEN
    assert all(m.verdict is GEN for m in result.modalities.values())
    assert "lowest p(genuine) 0.95, b.png" in result.reasons[0] + result.reasons[1]


def test_genuine_weave_with_machine_embroidered_border_is_imitation():
    result = aggregate(
        {
            "weave": [_photo("body.jpg", "weave", GEN, 0.99)],
            "stitch": [
                _photo("border.jpg", "stitch", IMIT, 0.02),
                _photo("motif.jpg", "stitch", GEN, 0.97),
            ],
        }
    )
    assert result.verdict is IMIT
    assert result.reasons[0].startswith("stitch: imitation") and "border.jpg" in result.reasons[0]
    assert result.modalities["weave"].verdict is GEN


def test_one_imitation_photo_outweighs_genuine_ones_in_a_modality():
    photos = [_photo(f"{i}.png", "fibre", GEN, 0.99) for i in range(5)] + [
        _photo("blend.png", "fibre", IMIT, 0.05)
    ]
    assert aggregate({"fibre": photos}).verdict is IMIT


def test_inconclusive_photo_or_modality_makes_the_sample_inconclusive():
    result = aggregate(
        {
            "fibre": [_photo("a.png", "fibre", GEN, 0.99)],
            "weave": [_photo("w.jpg", "weave", UNSURE, 0.6)],
        }
    )
    assert result.verdict is UNSURE and "w.jpg" in result.reasons[0]


def test_imitation_wins_over_inconclusive():
    result = aggregate(
        {
            "fibre": [_photo("a.png", "fibre", UNSURE, 0.5)],
            "weave": [_photo("w.jpg", "weave", IMIT, 0.01)],
        }
    )
    assert result.verdict is IMIT


def test_unreadable_photo_keeps_a_sample_from_being_genuine():
    error = InspectionError(path="/s/fibre/bad.png", error="/s/fibre/bad.png: file is empty")
    result = aggregate({"fibre": [_photo("a.png", "fibre", GEN, 0.99), error]})
    assert result.verdict is UNSURE
    assert result.reasons[0] == "fibre: inconclusive — could not read bad.png"
    both = aggregate({"fibre": [_photo("w.png", "fibre", UNSURE, 0.6), error]})
    assert both.reasons[0] == "fibre: inconclusive — not confident on w.png; could not read bad.png"
    assert aggregate({}).verdict is UNSURE


def test_modality_from_folder_names():
    assert modality_of("shawl-17/weave/IMG_1.jpg") == "weave"
    assert modality_of("Stitch/border/x.png") == "stitch"
    with pytest.raises(ConfigError, match="cannot tell its modality"):
        modality_of("shawl-17/x.png")


def test_inspect_sample_folder_with_given_models(brightness_bundle, tmp_path):
    (tmp_path / "shawl" / "fibre").mkdir(parents=True)
    cv2.imwrite(str(tmp_path / "shawl" / "fibre" / "a.png"), np.full((20, 20, 3), 250, np.uint8))
    cv2.imwrite(str(tmp_path / "shawl" / "fibre" / "b.png"), np.full((20, 20, 3), 0, np.uint8))
    result = inspect_sample(tmp_path / "shawl", models={"fibre": brightness_bundle})
    assert result.sample_id == "shawl" and result.verdict is IMIT
    assert [r.verdict for r in result.images] == [GEN, IMIT]
    assert result.to_dict()["modalities"]["fibre"]["verdict"] == "imitation"
    with pytest.raises(ConfigError, match="is a fibre model"):
        (tmp_path / "shawl" / "weave").mkdir()
        cv2.imwrite(str(tmp_path / "shawl" / "weave" / "w.png"), np.zeros((9, 9, 3), np.uint8))
        inspect_sample(
            tmp_path / "shawl", models={"fibre": brightness_bundle, "weave": brightness_bundle}
        )


def test_inspect_sample_of_an_empty_folder_fails_and_several_folders_read_as_one_sample(tmp_path):
    from typer.testing import CliRunner

    from craftvision.cli import app

    runner = CliRunner()
    (tmp_path / "empty").mkdir()
    empty = runner.invoke(app, ["inspect", "--sample", str(tmp_path / "empty")])
    assert empty.exit_code == 1 and "no photos to inspect" in empty.stderr
    product = Path(__file__).resolve().parents[1] / "samples/product"
    both = runner.invoke(
        app, ["inspect", "--sample", str(product / "fibre"), str(product / "weave")]
    )
    assert both.exit_code == 0, both.output
    assert "\nsample: genuine\n" in both.stdout and "sample :" not in both.stdout
