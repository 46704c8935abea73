"""`porelab simulate --plan`: the needs of a build against closed forms, and the memory model
of a slab task against what numpy actually allocates in it."""

from __future__ import annotations

import json
import math
import tracemalloc
from functools import partial

import numpy as np
import pytest

from porelab import cli
from porelab.simulate.datasets import dataset_needs, preset_plans
from porelab.simulate.datasets.presets import ScanPlan
from porelab.simulate.phantoms import am_cylinder
from porelab.simulate.scanner import ScanSpec, slice_geometry
from porelab.simulate.scanner.projector import attenuating_labels
from porelab.simulate.scanner.streamed import PhantomSlab, simulate_slab, slab_rows_for, slab_task_bytes
from porelab.simulate.scanner.reconstruction import ReconOptions

SPEC = ScanSpec(geometry="fan", n_projections=300, exposure=5e3, blur_px=0.5, seed=1)


def _plan(shape, keep_every=1, source=None, material="316L") -> ScanPlan:
    return ScanPlan(
        "p",
        "train",
        "cube",
        material,
        "cube",
        partial(am_cylinder, shape=shape),
        SPEC,
        shape,
        keep_every,
        source=source,
    )


@pytest.mark.parametrize(
    ("shape", "streamed"),
    [((96, 96, 96), False), ((256, 256, 256), True)],  # 200^3 is the threshold
)
def test_needs_of_a_clean_scan_and_its_copy_in_closed_form(shape, streamed):
    clean, copy = dataset_needs([_plan(shape), _plan(shape, keep_every=3, source="p")])
    voxels = math.prod(shape)
    assert clean.voxels == voxels and clean.streamed == copy.streamed == streamed
    assert (clean.projections, clean.kept_projections, copy.kept_projections) == (300, 300, 100)
    assert clean.disk_bytes == voxels * (4 + 5 + (4 if streamed else 0))  # scan, labels + materials, partial
    assert copy.disk_bytes == voxels * (4 + (4 if streamed else 0))
    if streamed:
        assert 0 < copy.cpu_hours < clean.cpu_hours  # a streamed copy projects again, with fewer FBP angles
        assert copy.cpu_hours > 0.5 * clean.cpu_hours
    else:
        assert copy.cpu_hours < 0.2 * clean.cpu_hours  # a whole copy shares its phantom's projections


def test_composite_phases_double_the_projection_work():
    one, two = dataset_needs([_plan((256,) * 3)])[0], dataset_needs([_plan((256,) * 3, material="PA66+E-glass")])[0]
    assert 1.5 < two.cpu_hours / one.cpu_hours < 2.0


def test_slab_rows_respect_the_task_memory_budget():
    big = ScanSpec(geometry="fan", n_projections=6000, blur_px=1.0)
    assert slab_rows_for(SPEC, (256,) * 3) == 32  # 16 per halo row
    assert 8 <= slab_rows_for(big, (1500, 600, 600)) < 64
    assert slab_task_bytes(big, (1500, 600, 600)) <= 2 << 30


def test_a_slab_task_allocates_within_its_estimate():
    """tracemalloc sees numpy's buffers (not ASTRA's per-slice copies): the peak stays under
    the estimate and above half of it, so the estimate is neither loose nor short."""
    shape = (40, 64, 64)
    phantom = am_cylinder(shape, seed=1)
    rows, halo = slab_rows_for(SPEC, shape), 2
    slab = PhantomSlab(phantom.materials[: rows + halo], phantom.pore_fraction[: rows + halo], 0, 0, rows)
    geom = slice_geometry(SPEC, shape, phantom.voxel_size)
    labels = attenuating_labels(phantom)
    tracemalloc.start()
    simulate_slab(slab, labels, ["316L"], SPEC.to_dict(), geom.to_dict(), [(1, 1.0)], ReconOptions())
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    estimate = slab_task_bytes(SPEC, shape)
    assert 0.5 * estimate < peak <= estimate


def test_the_cli_prints_the_plan_of_a_paper_preset(capsys):
    assert cli.main(["simulate", "--preset", "cast-aluminium", "--profile", "paper", "--plan"]) == 0
    out = capsys.readouterr().out
    assert "housing-1-series-33" in out and "streamed" in out and "CPU-hours" in out
    assert cli.main(["--json", "simulate", "--preset", "am-eval", "--plan", "--scans", "bushing-316L"]) == 0
    scans = json.loads(capsys.readouterr().out)["scans"]
    assert [s["id"] for s in scans] == ["bushing-316L"] and scans[0]["voxels"] == 96**3
    assert not scans[0]["streamed"]


def test_unknown_scan_ids_are_named(capsys):
    assert cli.main(["simulate", "--preset", "am-eval", "--plan", "--scans", "bushing-9"]) != 0
    assert "bushing-9" in capsys.readouterr().err


def test_the_paper_presets_stream_every_scan():
    for preset in ("am-cylinders", "am-eval", "cast-aluminium", "composite"):
        assert all(n.streamed for n in dataset_needs(preset_plans(preset, "paper")))
    assert np.all([not n.streamed for n in dataset_needs(preset_plans("am-cylinders", "demo"))])
