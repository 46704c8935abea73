"""The guard about the rotation axis: its zone in closed form, and regions wholly inside it
reported as indications while pores reaching beyond it stay pores."""

import numpy as np
import pytest

from porelab.verdict import OperatingPoint, class_mask
from porelab.verdict.axis import AXIS_GUARD_VOX, axis_zone
from porelab.verdict.decide import BELOW_LIMIT, ON_AXIS
from porelab.verdict.part import PartSegmentation


@pytest.mark.parametrize(
    "shape, radius, count",
    [
        ((4, 4), 1.0, 4),  # even grid: the 2 x 2 voxels 0.71 from the centre
        ((5, 5), 1.0, 5),  # odd grid: the centre and its 4 face neighbours
        ((5, 5), 1.5, 9),  # and the diagonals at 1.41
        ((6, 6), 2.0, 12),  # 4 at 0.71 and 8 at 1.58; the 2.12 corners stay out
        ((6, 8), 0.0, 0),  # no guard
    ],
)
def test_zone_holds_the_voxels_within_the_radius(shape, radius, count):
    zone = axis_zone(shape, radius)
    assert zone.shape == shape and int(zone.sum()) == count
    assert zone.sum() == 0 or zone[shape[0] // 2, shape[1] // 2]


def _whole(shape):
    ones = np.ones(shape, bool)
    return PartSegmentation(ones, ones, np.zeros(shape, bool), None, "test")


def _ball(shape, centre, radius):
    z, y, x = np.indices(shape)
    return (z - centre[0]) ** 2 + (y - centre[1]) ** 2 + (x - centre[2]) ** 2 <= radius**2


SHAPE = (24, 20, 20)  # axis through y = x = 9.5


def test_a_dot_on_the_axis_is_an_indication_and_the_same_dot_beside_it_a_pore():
    score = np.zeros(SHAPE, np.float32)
    score[6, 9:11, 9:11] = 0.9  # 2 x 2 x 1 on the axis, as a centre ring artefact
    score[6, 2:4, 2:4] = 0.9  # the same beside it
    mask, verdict = class_mask(score, _whole(SHAPE), OperatingPoint(0.5))
    assert len(verdict.pores) == 1 and verdict.pores.centroid_y.item() == pytest.approx(2.5)
    assert verdict.indications.reason.tolist() == [ON_AXIS]
    assert mask[6, 9:11, 9:11].max() == 0 and (mask[6, 2:4, 2:4] > 0).all()
    summary = verdict.summary()
    assert summary["indications_on_rotation_axis"] == 1 and summary["indications_below_detection_limit"] == 0
    assert summary["pore_count"] == 1 and summary["operating_point"]["axis_guard_vox"] == AXIS_GUARD_VOX


def test_a_pore_wider_than_the_zone_on_the_axis_is_a_pore():
    score = np.where(_ball(SHAPE, (12, 9.5, 9.5), 3.2), 0.9, 0.0).astype(np.float32)
    _, verdict = class_mask(score, _whole(SHAPE), OperatingPoint(0.5))
    assert len(verdict.pores) == 1 and len(verdict.indications) == 0


def test_without_the_guard_the_dot_is_a_pore_and_small_regions_keep_their_reason():
    score = np.zeros(SHAPE, np.float32)
    score[6, 9:11, 9:11] = 0.9
    score[15, 3, 3] = 0.9  # one voxel: below a 2-voxel minimum size
    point = OperatingPoint(0.5, min_diameter_vox=1.5).overridden(axis_guard_vox=0.0)
    _, verdict = class_mask(score, _whole(SHAPE), point)
    assert len(verdict.pores) == 1 and verdict.indications.reason.tolist() == [BELOW_LIMIT]


def test_points_stored_before_the_guard_read_with_it():
    stored = {"threshold": 0.6, "low_threshold": 0.4, "min_diameter_vox": 1.5}
    assert OperatingPoint.from_dict(stored).axis_guard_vox == AXIS_GUARD_VOX
    assert OperatingPoint.from_dict(OperatingPoint(0.6).overridden(axis_guard_vox=0).to_dict()).axis_guard_vox == 0
