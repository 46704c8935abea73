"""Dice, IoU, hits per pore, detection by size and false calls."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import f1_score, jaccard_score

from porelab.errors import ConfigError, VolumeError
from porelab.evaluate import detection_by_size, dice, false_calls, hits, iou
from porelab.label import pore_table


def test_dice_and_iou_match_scikit_learn():
    rng = np.random.default_rng(0)
    pred, truth = rng.random((16, 16, 16)) > 0.7, rng.random((16, 16, 16)) > 0.6
    assert dice(pred, truth) == pytest.approx(f1_score(truth.ravel(), pred.ravel()))
    assert iou(pred, truth) == pytest.approx(jaccard_score(truth.ravel(), pred.ravel()))
    empty = np.zeros((3, 3, 3), bool)
    assert dice(empty, empty) == 1.0 and iou(empty, empty) == 1.0


def _two_pores() -> np.ndarray:
    labels = np.zeros((20, 20, 20), dtype=np.int32)
    labels[2:6, 2:6, 2:6] = 1  # 64 voxels, diameter ~4.96
    labels[10:12, 10:12, 10:12] = 2  # 8 voxels, diameter ~2.48
    return labels


def test_a_pore_is_hit_when_half_its_voxels_are_covered():
    labels = _two_pores()
    pred = np.zeros(labels.shape, dtype=bool)
    pred[2:4, 2:6, 2:6] = True  # 32 of 64
    pred[10, 10, 10:12] = True  # 2 of 8
    hit = hits(pred, labels)
    assert hit.to_dict() == {1: True, 2: False}
    assert hits(pred, labels, min_overlap=0.25).to_dict() == {1: True, 2: True}


def test_detection_by_size_counts_per_bin():
    labels = _two_pores()
    pred = labels == 1
    table = pore_table(labels).table
    result = detection_by_size(pred, labels, table, bins=(0.0, 3.0, 10.0, 20.0))
    assert result["n_true"].tolist() == [1, 1, 0]
    assert result["n_hit"].tolist() == [0, 1, 0]
    assert result["hit_rate"].iloc[1] == 1.0 and np.isnan(result["hit_rate"].iloc[2])


def test_false_calls_count_components_touching_no_pore():
    labels = _two_pores()
    pred = labels > 0
    pred[15:17, 15:17, 15:17] = True
    pred[0, 19, 19] = True
    pred[5, 5, 6] = True  # grows pore 1: not a false call
    assert false_calls(pred, labels) == 2


def test_bad_inputs_raise_clear_errors():
    labels = _two_pores()
    with pytest.raises(VolumeError, match="shape"):
        dice(labels > 0, np.zeros((3, 3, 3)))
    with pytest.raises(ConfigError, match="bins"):
        detection_by_size(labels > 0, labels, pore_table(labels).table, bins=(3.0, 1.0))
    with pytest.raises(ConfigError, match="missing"):
        detection_by_size(labels > 0, labels, pore_table(labels).table.drop(columns="id"))
