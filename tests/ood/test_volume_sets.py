"""The volume OOD test set's transformations and rates, judged by the texture and field-of-view checks."""

import numpy as np
import pandas as pd
import pytest

from porelab.ood.check import OODCheck
from porelab.ood.volume_sets import (
    IN_DISTRIBUTION,
    TestVolume,
    judge_all,
    rates,
    resampled,
    truncated,
    with_raster,
    with_rings,
)

from synthetic import in_air, sphere_scan


def _part(seed, side=40):
    return in_air(
        sphere_scan((24, side, side), [(12, side // 2, side // 2)], 4, seed=seed)[0], border=side // 5, seed=seed
    )


def test_transformations_change_only_what_they_name():
    data = _part(0)
    assert truncated(data, 0.6).shape == (24, 24, 24)
    assert resampled(data, 0.5).shape == (12, 20, 20) and resampled(data, 2.0).shape == (48, 80, 80)
    rings = with_rings(data, 0.1, seed=1) - data
    assert np.allclose(rings, rings[:1], atol=1e-3)  # the same offsets on every slice
    yy, xx = np.indices(data.shape[1:])
    radius = np.hypot(yy - 20, xx - 20).astype(int)
    for r in range(radius.max() + 1):  # constant on each ring about the z axis
        assert np.ptp(rings[0][radius == r]) == pytest.approx(0, abs=1e-3)
    span = np.subtract(*np.percentile(data, [99.5, 0.5]))
    assert np.abs(with_raster(data, 0.1, seed=2) - data).max() <= 0.1 * span * 1.0001


def test_held_out_parts_pass_and_rasters_and_cut_parts_are_flagged():
    volumes = [TestVolume(IN_DISTRIBUTION, f"part {i}", lambda i=i: _part(i)) for i in range(3)]
    volumes += [
        TestVolume("raster artefact", "raster", lambda: with_raster(_part(5, side=96), 0.3, seed=5)),
        TestVolume("truncated field of view", "cut", lambda: truncated(_part(6), 0.6)),
    ]
    rows = pd.DataFrame(list(judge_all(OODCheck(), volumes)))
    assert rows.is_ood.tolist() == [False, False, False, True, True]
    assert rows.truncated.tolist() == [False, False, False, False, True]
    table = rates(rows).set_index("kind")
    assert table.loc[IN_DISTRIBUTION, "flagged_percent"] == 0 and table.loc[IN_DISTRIBUTION, "volumes"] == 3
    assert (
        table.loc["raster artefact", "flagged_percent"]
        == table.loc["truncated field of view", "flagged_percent"]
        == 100
    )
