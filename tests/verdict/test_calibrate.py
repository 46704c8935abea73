"""Choosing the operating point on held-out scans: the candidates' figures against an independent
count with scikit-image's hysteresis and scipy's labelling, and the size guard on closed-form
cases (noise specks of one voxel, small true pores whose loss would cost Dice)."""

import numpy as np
import pandas as pd
import pytest
from scipy import ndimage
from skimage.filters import apply_hysteresis_threshold

from porelab.verdict import CalibrationScan, OperatingPoint, calibrate
from porelab.verdict.axis import AXIS_GUARD_VOX
from porelab.verdict.calibrate import _DICE_TOLERANCE, candidate_table, with_size_guard

SHAPE = (40, 40, 40)
FACES = ndimage.generate_binary_structure(3, 1)


def _ball(radius):
    r = int(np.ceil(radius))
    z, y, x = np.mgrid[-r : r + 1, -r : r + 1, -r : r + 1]
    return z**2 + y**2 + x**2 <= radius**2


def _scan(big, small=(), specks=(), seed=0):
    """Truth: balls of radius 3.5 at `big`, 2x2x1 voxel pores at `small`; the score: 0.9 on every
    true pore voxel, 0.95 on one-voxel noise `specks`, low noise elsewhere."""
    truth = np.zeros(SHAPE, np.int32)
    label = 0
    ball = _ball(3.5)
    for z, y, x in big:
        label += 1
        r = ball.shape[0] // 2
        truth[z - r : z + r + 1, y - r : y + r + 1, x - r : x + r + 1][ball] = label
    for z, y, x in small:
        label += 1
        truth[z, y : y + 2, x : x + 2] = label
    score = np.random.default_rng(seed).uniform(0.0, 0.2, SHAPE).astype(np.float32)
    score[truth > 0] = 0.9
    for z, y, x in specks:
        score[z, y, x] = 0.95
    sizes = pd.Series(np.cbrt(6 / np.pi * np.bincount(truth.ravel())[1:]), index=np.arange(1, label + 1))
    ones = np.ones(SHAPE, bool)
    return CalibrationScan("s", score, ones, ones, truth, sizes, (1.0, 1.0, 1.0), None)


BIG = [(8, 8, 8), (8, 30, 30), (30, 10, 28), (28, 28, 10), (20, 20, 20)]
SPECKS = [(2, 20, 2), (37, 2, 37), (15, 37, 20), (2, 2, 30), (35, 35, 35)]
SMALL = [(z, y, 14) for z in (3, 13, 24, 35) for y in (3, 15, 24, 33)][:14]


def _reference(scan, threshold, low, min_diameter):
    """Dice and false calls of an operating point, counted independently: scikit-image's
    hysteresis (6-connected like the verdict), scipy's labelling and sizes, and regions whose
    voxels all lie within AXIS_GUARD_VOX of the grid's z axis through its centre dropped."""
    kept = apply_hysteresis_threshold(scan.score, low, threshold)
    labels, count = ndimage.label(kept, structure=FACES)
    voxels = np.bincount(labels.ravel(), minlength=count + 1)
    small = np.cbrt(6 * voxels / np.pi) < min_diameter
    _, y, x = np.indices(SHAPE)
    away = np.hypot(y - (SHAPE[1] - 1) / 2, x - (SHAPE[2] - 1) / 2) > AXIS_GUARD_VOX
    on_axis = np.bincount(labels.ravel(), weights=away.ravel(), minlength=count + 1) == 0
    small |= on_axis
    small[0] = False
    kept &= ~small[labels]
    truth = scan.true_labels > 0
    dice = 2 * np.count_nonzero(kept & truth) / (np.count_nonzero(kept) + np.count_nonzero(truth))
    regions, count = ndimage.label(kept, structure=FACES)
    false_calls = sum(1 for r in range(1, count + 1) if not truth[regions == r].any())
    return dice, false_calls


@pytest.mark.parametrize("index", [0, 7, 23, 40])
def test_candidate_figures_equal_an_independent_count(index):
    scan = _scan(BIG, SMALL, SPECKS)
    table = candidate_table([scan])
    row = table.iloc[min(index, len(table) - 1)]
    dice, false_calls = _reference(scan, row.threshold, row.low_threshold, row.min_diameter_vox)
    assert row.dice == pytest.approx(dice, abs=1e-12)
    part_cm3 = np.prod(SHAPE) / 1000.0  # 1 mm voxels
    assert row.false_calls_per_cm3 == pytest.approx(false_calls / part_cm3, abs=1e-12)


def test_noise_specks_are_guarded_out_at_the_widest_size_that_costs_no_dice():
    # every true pore is a ball of 179 voxels (equivalent diameter 7.0): all five found, the POD
    # cannot be fitted and sets no limit; five one-voxel specks (1.24) are false calls. Every
    # guard removes them without touching a pore, so the widest, 2.5 voxels, is chosen.
    scan = _scan(BIG, specks=SPECKS)
    point, _ = calibrate([scan])
    assert point.min_diameter_vox == 2.5
    assert point.metrics["false_calls_per_cm3"] == 0.0 and point.metrics["dice"] == pytest.approx(1.0)
    assert "regions under 2.5 voxels are indications" in point.source
    assert _reference(scan, point.threshold, point.low_threshold, 2.5) == (pytest.approx(1.0), 0)


def test_the_guard_stops_below_small_true_pores_whose_loss_costs_dice():
    # 14 true pores of 4 voxels (equivalent diameter 1.97): a guard of 2.0 or more drops them,
    # 56 of 951 true voxels, which costs far more than the tolerance; 1.75 keeps them and still
    # drops the specks
    scan = _scan(BIG, SMALL, SPECKS)
    start = OperatingPoint(threshold=0.5, low_threshold=0.5, min_diameter_vox=0.0, source="test")
    guarded = with_size_guard([scan], start)
    assert guarded.min_diameter_vox == 1.75
    dice, false_calls = _reference(scan, 0.5, 0.5, 1.75)
    assert false_calls == 0 and guarded.metrics["dice"] == pytest.approx(dice) == pytest.approx(1.0)
    assert _reference(scan, 0.5, 0.5, 2.0)[0] < 1.0 - _DICE_TOLERANCE


def test_a_false_call_objective_keeps_its_pick_unguarded():
    from porelab.verdict import CalibrationConfig

    scan = _scan(BIG, SMALL, SPECKS)
    point, table = calibrate([scan], CalibrationConfig("false_calls", max_false_calls_per_cm3=100.0))
    assert point.min_diameter_vox in set(table.min_diameter_vox)
    assert "size guard" not in point.source
