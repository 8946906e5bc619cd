import numpy as np
import pytest

from craftvision.training.calibration import fit_temperature, negative_log_likelihood
from craftvision.training.metrics import classification_metrics, roc_auc


def test_metrics_against_hand_counts():
    targets = np.array([0, 0, 0, 0, 1, 1, 2, 2])
    predicted = np.array([0, 0, 0, 1, 1, 1, 2, 0])
    probs = np.eye(3)[predicted] * 0.7 + 0.1
    m = classification_metrics(targets, probs, ["pashmina", "wool", "yak"], "pashmina")
    assert m["accuracy"] == pytest.approx(6 / 8)
    assert m["balanced_accuracy"] == pytest.approx((3 / 4 + 1 + 1 / 2) / 3)
    assert m["per_class"]["pashmina"]["precision"] == pytest.approx(3 / 4)
    assert m["per_class"]["wool"]["recall"] == 1.0
    assert m["confusion_matrix"] == [[3, 1, 0], [0, 2, 0], [1, 0, 1]]


def test_roc_auc_matches_pairwise_definition():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 200).astype(bool)
    scores = np.round(rng.normal(labels * 1.0, 1.0), 1)  # rounding creates ties
    pos, neg = scores[labels], scores[~labels]
    expected = ((pos[:, None] > neg[None]).sum() + 0.5 * (pos[:, None] == neg[None]).sum()) / (
        len(pos) * len(neg)
    )
    assert roc_auc(labels, scores) == pytest.approx(expected)
    assert roc_auc(np.ones(3, bool), np.arange(3.0)) is None


def test_temperature_recovers_the_generating_temperature():
    rng = np.random.default_rng(0)
    true_logits = rng.normal(0, 3, (4000, 4))
    probs = np.exp(true_logits) / np.exp(true_logits).sum(1, keepdims=True)
    targets = np.array([rng.choice(4, p=p) for p in probs])
    temperature = fit_temperature(true_logits * 2.5, targets)  # model is over-confident by 2.5x
    assert temperature == pytest.approx(2.5, rel=0.1)
    assert negative_log_likelihood(
        true_logits * 2.5, targets, temperature
    ) < negative_log_likelihood(true_logits * 2.5, targets, 1.0)
