"""Per-class Jaccard against scikit-learn, and the ZeroOC / Bin-ZeroOC baselines against
their closed form and an independent numpy.histogram reference."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import jaccard_score

from porelab.errors import VolumeError
from porelab.evaluate import BinZeroOC, ZeroOC, confusion_counts, per_class_jaccard, phase_baselines


@pytest.fixture(scope="module")
def composite():
    """A three-phase volume: matrix (80 %), fibre (19 %), pore (1 %) with overlapping grey
    value distributions, as in a glass-fibre composite scan."""
    rng = np.random.default_rng(1)
    truth = rng.choice(3, size=(32, 48, 48), p=[0.80, 0.19, 0.01])
    centre = np.array([100.0, 150.0, 40.0])[truth]
    return centre + rng.normal(0.0, 20.0, truth.shape), truth


def test_per_class_jaccard_matches_scikit_learn(composite):
    _, truth = composite
    rng = np.random.default_rng(2)
    pred = np.where(rng.random(truth.shape) < 0.85, truth, rng.integers(0, 3, truth.shape))
    reference = jaccard_score(truth.ravel(), pred.ravel(), labels=[0, 1, 2], average=None)
    np.testing.assert_allclose(per_class_jaccard(pred, truth), reference, rtol=1e-12)
    assert confusion_counts(pred, truth).sum() == truth.size


def test_a_class_absent_from_both_is_nan_not_zero():
    # scikit-learn reports 0 (zero_division=0) for such a class; undefined is NaN here so a
    # macro average over present classes (np.nanmean) is not dragged down
    truth, pred = np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1])
    ours = per_class_jaccard(pred, truth)
    reference = jaccard_score(truth, pred, labels=[0, 1, 2], average=None, zero_division=0)
    np.testing.assert_allclose(ours[:2], reference[:2])
    assert np.isnan(ours[2]) and reference[2] == 0


def test_zero_oc_scores_the_closed_form_of_bertoldo(composite):
    image, truth = composite
    model = ZeroOC.fit(truth)
    p_matrix = np.mean(truth == 0)
    assert model.majority == 0
    np.testing.assert_allclose(per_class_jaccard(model.predict(image), truth), [p_matrix, 0.0, 0.0])
    assert ZeroOC.fit(np.array([2, 2, 1])).majority == 2


def test_bin_zero_oc_predicts_the_majority_class_of_each_grey_bin(composite):
    image, truth = composite
    model = BinZeroOC.fit(image, truth, bins=64)
    per_class = np.stack([np.histogram(image[truth == c], bins=model.edges)[0] for c in range(3)])
    overall = int(np.argmax(np.bincount(truth.ravel())))
    decision = np.where(per_class.sum(axis=0) > 0, per_class.argmax(axis=0), overall)
    reference = decision[np.clip(np.digitize(image, model.edges) - 1, 0, 63)]
    assert np.mean(model.predict(image) == reference) > 0.9999  # edge ties aside
    bin_scores = per_class_jaccard(model.predict(image), truth)
    zero_scores = per_class_jaccard(ZeroOC.fit(truth).predict(image), truth)
    assert np.all(bin_scores[1:] > zero_scores[1:]) and bin_scores.mean() > zero_scores.mean()


def test_bin_zero_oc_is_perfect_on_separable_grey_values():
    truth = np.repeat(np.array([0, 1, 2]), 100)
    image = np.array([10.0, 50.0, 90.0])[truth] + np.linspace(0, 5, truth.size)
    model = BinZeroOC.fit(image, truth, bins=256)
    np.testing.assert_array_equal(model.predict(image), truth)
    np.testing.assert_array_equal(model.predict(np.array([-100.0, 1000.0])), [0, 2])  # clipped


def test_phase_baselines_table(composite):
    image, truth = composite
    table = phase_baselines(image, truth, bins=128)
    assert table["baseline"].tolist() == ["ZeroOC"] * 4 + ["Bin-ZeroOC"] * 4
    assert table["name"].tolist()[:4] == ["matrix", "fibre", "pore", "mean"]
    zero = table[table["baseline"] == "ZeroOC"]["jaccard"].to_numpy()
    assert zero[0] == pytest.approx(np.mean(truth == 0)) and zero[3] == pytest.approx(zero[0] / 3)


def test_bad_labels_raise_clear_errors():
    with pytest.raises(VolumeError, match="0..2"):
        per_class_jaccard(np.array([0, 3]), np.array([0, 1]))
    with pytest.raises(VolumeError, match="shape"):
        per_class_jaccard(np.array([0, 1]), np.array([0, 1, 2]))
    with pytest.raises(VolumeError, match="integer"):
        ZeroOC.fit(np.array([0.0, 1.0]))
    with pytest.raises(VolumeError, match="finite"):
        BinZeroOC.fit(np.array([np.nan, 1.0]), np.array([0, 1]))
