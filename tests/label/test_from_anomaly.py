"""Labels from an anomaly map: threshold, object mask, and the paper's small-pore suppression."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage
from skimage.filters import threshold_otsu

from porelab.errors import ConfigError, VolumeError
from porelab.label.from_anomaly import AnomalyLabelConfig, anomaly_labels, anomaly_threshold


@pytest.fixture
def anomaly_map() -> np.ndarray:
    """A 3^3 blob, a 5-voxel line one voxel thick, a lone voxel, a 2^3 cube, and faint noise."""
    a = np.zeros((20, 20, 20), dtype=np.float32)
    a[2:5, 2:5, 2:5] = 1.0
    a[10, 10, 3:8] = 0.9
    a[15, 15, 15] = 0.95
    a[12:14, 2:4, 12:14] = 0.8
    a += np.random.default_rng(0).uniform(0, 0.05, a.shape).astype(np.float32)
    return a


def test_thin_and_lone_components_are_dropped(anomaly_map):
    result = anomaly_labels(anomaly_map, AnomalyLabelConfig(threshold=0.5))
    assert result.pore_count == 2  # the blob and the 2^3 cube
    _, found = ndimage.label(anomaly_map > 0.5)
    assert found == 4
    assert result.mask[3, 3, 3] and result.mask[12, 2, 12]
    assert not result.mask[10, 10, 5] and not result.mask[15, 15, 15]
    assert set(np.unique(result.labels)) == {0, 1, 2}


def test_min_voxels_and_object_mask(anomaly_map):
    assert anomaly_labels(anomaly_map, AnomalyLabelConfig(threshold=0.5, min_voxels=9)).pore_count == 1
    inside = np.zeros(anomaly_map.shape, dtype=bool)
    inside[10:, :, :] = True
    result = anomaly_labels(anomaly_map, AnomalyLabelConfig(threshold=0.5), object_mask=inside)
    assert result.pore_count == 1 and result.mask[12, 2, 12]


def test_automatic_threshold_is_otsu_of_the_positive_scores(anomaly_map):
    cleaned = np.maximum(anomaly_map - 0.03, 0)
    assert anomaly_threshold(cleaned) == pytest.approx(threshold_otsu(cleaned[cleaned > 0]))
    assert anomaly_labels(cleaned).pore_count == 2


def test_bad_inputs_name_the_problem(anomaly_map):
    with pytest.raises(VolumeError, match="3D array"):
        anomaly_labels(anomaly_map[0])
    with pytest.raises(VolumeError, match="give AnomalyLabelConfig.threshold"):
        anomaly_labels(np.zeros((4, 4, 4)))
    with pytest.raises(VolumeError, match="object_mask shape"):
        anomaly_labels(anomaly_map, object_mask=np.ones((4, 4, 4), dtype=bool))
    with pytest.raises(ConfigError, match="connectivity"):
        AnomalyLabelConfig(connectivity=8)
