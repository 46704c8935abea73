"""Slab-streamed scans against the in-memory path: the noise-free steps exactly, the noise by
its statistics, and slab boundaries that change nothing."""

from __future__ import annotations

import numpy as np
import pytest

from porelab.simulate.phantoms import am_cylinder
from porelab.simulate.scanner import Executor, ScanSpec, degrade, reconstruct, simulate, slice_geometry
from porelab.simulate.scanner.exposure import detector_signal, expected_primary
from porelab.simulate.scanner.projector import attenuating_labels, line_integrals, material_maps
from porelab.simulate.scanner.streamed import PhantomSlab, blur_halo, simulate_streamed, slab_signal

SPEC = ScanSpec(geometry="fan", n_projections=60, exposure=5e3, blur_px=0.8, scatter_fraction=0.05, seed=4)
COPIES = [(1, 1.0), (2, 0.5)]


@pytest.fixture(scope="module")
def cylinder():
    return am_cylinder((24, 24, 24), seed=2)


def _streamed(phantom, slab_rows: int, executor: Executor = Executor()) -> dict:
    shape = phantom.materials.shape
    outputs = {copy: np.zeros(shape, np.float32) for copy in COPIES}
    simulate_streamed(phantom, SPEC, outputs, executor, slab_rows=slab_rows)
    return outputs


def test_a_slab_signal_equals_those_rows_of_the_whole_stack(cylinder):
    """Rows 9-14 with a blur halo of 3: projection, spectrum, blur and scatter equal the
    in-memory chain's rows to float32 rounding."""
    keys, maps = material_maps(cylinder)
    geom = slice_geometry(SPEC, cylinder.materials.shape, cylinder.voxel_size)
    whole = detector_signal(expected_primary(line_integrals(maps, geom), keys, SPEC), SPEC)
    halo = blur_halo(SPEC)
    assert halo == 3
    slab = PhantomSlab(
        cylinder.materials[9 - halo : 15 + halo], cylinder.pore_fraction[9 - halo : 15 + halo], 9, halo, 6
    )
    part = slab_signal(slab, attenuating_labels(cylinder), keys, SPEC, geom.to_dict())
    np.testing.assert_allclose(part, whole[:, 9:15], rtol=1e-6)


@pytest.mark.parametrize("slab_rows", [1, 5, 7])
def test_slab_boundaries_change_no_voxel(cylinder, slab_rows):
    """Noise is drawn per detector row, so any cut of the rows gives the same scan."""
    one_slab, cut = _streamed(cylinder, 24), _streamed(cylinder, slab_rows)
    for copy in COPIES:
        np.testing.assert_array_equal(cut[copy], one_slab[copy])


def test_streamed_scans_match_the_in_memory_path_in_statistics(cylinder):
    """Same phantom and spec: the mean attenuation in the part within 1 % and the noise
    (voxel spread in the part's core) within 15 % of `simulate` + `degrade` + `reconstruct`."""
    streamed = _streamed(cylinder, 8)
    full = simulate(cylinder, SPEC)
    core = cylinder.materials > 0
    core[:4], core[-4:] = False, False
    for keep_every, exposure in COPIES:
        memory = np.asarray(reconstruct(degrade(full, keep_every, exposure, seed=SPEC.seed)).data)
        ours = streamed[(keep_every, exposure)]
        assert ours[core].mean() == pytest.approx(memory[core].mean(), rel=0.01)
        assert ours[core].std() == pytest.approx(memory[core].std(), rel=0.15)
        assert not np.array_equal(ours, memory)  # the noise streams differ by design


def test_resumed_scans_skip_written_slabs_and_equal_a_whole_run(cylinder):
    shape = cylinder.materials.shape
    whole = _streamed(cylinder, 8)
    written: list[tuple[int, int]] = []
    outputs = {copy: np.zeros(shape, np.float32) for copy in COPIES}
    for copy in COPIES:
        outputs[copy][:8] = whole[copy][:8]  # the first slab survived an interruption
    simulate_streamed(cylinder, SPEC, outputs, slab_rows=8, done={0}, on_slab=lambda a, b: written.append((a, b)))
    assert written == [(8, 16), (16, 24)]
    for copy in COPIES:
        np.testing.assert_array_equal(outputs[copy], whole[copy])


@pytest.mark.ray
def test_ray_slab_tasks_match_in_process(cylinder, ray_session):
    local = _streamed(cylinder, 6)
    remote = _streamed(cylinder, 6, Executor(kind="ray", workers=2))
    for copy in COPIES:
        np.testing.assert_array_equal(remote[copy], local[copy])
