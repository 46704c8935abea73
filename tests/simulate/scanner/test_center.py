"""Centre-of-rotation search on real scans: the tomopy tooth and the ToMoBAR dendrite sinogram."""

from __future__ import annotations

import numpy as np
import pytest

from porelab import volume
from porelab.simulate.scanner import (
    find_center,
    read_mat_sinogram,
    recentre,
    reconstruct,
    select_rows,
    sharpness,
    to_line_integrals,
)
from porelab.simulate.scanner.geometry import SliceGeometry
from porelab.simulate.scanner.reconstruction import ReconOptions, reconstruct_slab


def _binned_slice(lines: np.ndarray, angles: np.ndarray, center: float, b: int) -> np.ndarray:
    """FBP of row 0 with the axis at `center`, detector binned by `b` (keeps the test fast)."""
    cols = lines.shape[2] // b * b
    shifted = recentre(lines[:, :1], center)[:, :, :cols]
    binned = shifted.reshape(lines.shape[0], 1, cols // b, b).mean(-1)
    n = cols // b
    geom = SliceGeometry("parallel", n, n, 1.0, angles, n, 1.0)
    return reconstruct_slab(binned, geom.to_dict(), "fbp", ReconOptions())[0]


def _sharper_at_found_centre(lines: np.ndarray, angles: np.ndarray, center: float, b: int) -> None:
    found = _binned_slice(lines, angles, center, b)
    lo, hi = np.percentile(found, [0.5, 99.5])
    value_range = (lo - 0.5 * (hi - lo), hi + 0.5 * (hi - lo))
    score = sharpness(found, value_range)
    for off in (-10.0, 10.0):
        assert score > sharpness(_binned_slice(lines, angles, center + off, b), value_range)


def test_tooth_centre_is_near_column_292(real_data):
    projections = volume.read(real_data / "tomopy_tooth" / "tooth.h5")
    lines = to_line_integrals(projections)
    result = find_center(lines, projections.angles)
    assert result.center == pytest.approx(292, abs=5)  # found: 295.9
    _sharper_at_found_centre(lines, projections.angles, result.center, b=2)
    vol = reconstruct(select_rows(projections, slice(0, 1)), center="auto")
    assert vol.shape == (1, 640, 640) and vol.metadata["center"] == pytest.approx(result.center, abs=0.5)


def test_dendrite_sinogram_centre_and_sharpness(real_data):
    projections = read_mat_sinogram(real_data / "tomobar_dendrites" / "RealDataDend.mat")
    assert projections.counts.shape == (360, 1, 1260)
    lines = to_line_integrals(projections)
    result = find_center(lines, projections.angles)
    assert 560 < result.center < 700
    assert np.ptp(result.estimates) < 2.0  # the opposed pairs agree
    _sharper_at_found_centre(lines, projections.angles, result.center, b=2)
