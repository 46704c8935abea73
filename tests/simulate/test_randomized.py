"""The am-randomized preset: draws inside their ranges, seeded per scan, recorded and resumable."""

import json
from dataclasses import replace

import numpy as np
import pytest

from porelab.errors import ConfigError
from porelab.simulate.datasets import RandomizedConfig, build_dataset, draw_scan, preset_plans
from porelab.simulate.scanner.spec import AM_CYLINDER_PAPER, PAPER_GRID_SIDE


def _inside(value, bounds, slack=0.0):
    return bounds[0] - slack <= value <= bounds[1] + slack


def test_every_draw_lies_inside_its_range():
    config = RandomizedConfig(scans=200)
    draws = [draw_scan(config, i, "demo") for i in range(config.scans)]
    for d in draws:
        full = AM_CYLINDER_PAPER.n_projections * round(d.side * 0.9) / PAPER_GRID_SIDE["am-cylinder-good"]
        assert _inside(d.spec.n_projections / full, config.projections, slack=1.0 / full)
        assert _inside(d.spec.exposure / AM_CYLINDER_PAPER.exposure, config.exposure, slack=1e-4)
        assert _inside(d.spec.blur_px, config.blur_px) and _inside(d.spec.gain_spread, config.gain_spread)
        assert _inside(d.spec.scatter_fraction, config.scatter_fraction)
        assert _inside(d.spec.source_object_mm, config.source_object_mm)
        assert _inside(d.spec.source_detector_mm / d.spec.source_object_mm, config.magnification)
        assert _inside(d.pores.diameter_median_vox, config.pore_median_vox)
        assert d.pores.porosity_percent == 0 or _inside(d.pores.porosity_percent, config.porosity_percent)
        assert d.part in config.parts and d.material in config.materials and d.side in config.grid_sides
    # every part and material is drawn; the pore-free share is near its setting (binomial, 200 draws)
    assert {d.part for d in draws} == set(config.parts) and {d.material for d in draws} == set(config.materials)
    assert 0.03 <= np.mean([d.pores.porosity_percent == 0 for d in draws]) <= 0.2
    # a soft unfiltered tube and a hard filtered one: the mean energy spans the beam-hardening range
    energies = [np.dot(d.spec.spectrum_weights, d.spec.energies_kev) / sum(d.spec.spectrum_weights) for d in draws]
    assert max(energies) - min(energies) > 10.0


def test_draws_are_seeded_per_scan():
    config = RandomizedConfig()
    assert draw_scan(config, 5, "demo") == draw_scan(config, 5, "demo")
    assert draw_scan(RandomizedConfig(scans=40), 5, "demo") == draw_scan(config, 5, "demo")  # adding scans keeps it
    assert draw_scan(RandomizedConfig(seed=1), 5, "demo") != draw_scan(config, 5, "demo")
    plans = preset_plans("am-randomized", "demo")
    assert [p.role for p in plans].count("validation") == config.validation_scans == 12
    assert len({p.id for p in plans}) == len(plans) == config.scans
    assert draw_scan(config, 5, "paper").side == 4 * draw_scan(config, 5, "demo").side


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"exposre": [0.1, 1]}, r"unknown settings \['exposre'\]"),
        ({"blur_px": [1.0, 0.5]}, r"blur_px=\[1.0, 0.5\]: expected \[low, high\]"),
        ({"parts": ["sphere"]}, r"parts=\['sphere'\]: expected a non-empty subset"),
        ({"scans": 4, "validation_scans": 4}, r"validation_scans=4"),
    ],
)
def test_bad_ranges_are_named(settings, message):
    with pytest.raises(ConfigError, match=message):
        RandomizedConfig.from_dict(settings)


def test_a_tiny_randomized_set_is_built_recorded_and_resumed(tmp_path):
    sampling = RandomizedConfig(
        scans=2, validation_scans=1, grid_sides=(32,), parts=("cube", "thin-wall"), projections=(0.25, 0.3)
    )
    messages = []
    manifest = build_dataset(tmp_path, "am-randomized", sampling=sampling, report=messages.append)
    assert manifest["sampling"] == json.loads(json.dumps(sampling.to_dict()))
    assert [s["role"] for s in manifest["scans"]] == ["train", "validation"]
    for entry in manifest["scans"]:
        assert entry["drawn"]["side"] == 32 and entry["shape"] == [32, 32, 32]
        assert (tmp_path / entry["files"]["scan"]).exists()
    again = []
    build_dataset(tmp_path, "am-randomized", sampling=sampling, report=again.append)
    assert all(m.endswith("complete, skipped") for m in again)
    with pytest.raises(ConfigError, match=r"manifest.json: field 'sampling' differs in \['seed'\]"):
        build_dataset(tmp_path, "am-randomized", sampling=replace(sampling, seed=1))
    with pytest.raises(ConfigError, match=r"manifest.json: scans \['rand-001-.*'\] have another 'role'"):
        build_dataset(tmp_path, "am-randomized", sampling=replace(sampling, scans=3))  # would make rand-001 train
    grown = build_dataset(tmp_path, "am-randomized", sampling=replace(sampling, scans=3, validation_scans=2))
    assert [s["role"] for s in grown["scans"]] == ["train", "validation", "validation"]
    assert [s["sha256"] for s in grown["scans"][:2]] == [s["sha256"] for s in manifest["scans"]]  # kept as written
