"""True cone beam on a GPU (ASTRA CUDA projection and FDK) against the exact attenuation map and
the CPU fan-per-slice path.

The GPU tests skip unless `porelab.simulate.scanner.gpu.cuda_available()` (a subprocess probe:
ASTRA's 3D CUDA calls kill a process that has no usable GPU) says yes. The ConfigError tests
fake a failing probe, so they run on every machine, a GPU one included.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pytest

from porelab.errors import ConfigError
from porelab.simulate.scanner import ScanSpec, reconstruct, simulate, slice_geometry
from porelab.simulate.scanner import gpu as scanner_gpu

MONO_100KEV = (0.0, 0.0, 0.0, 1.0, 0.0)  # one energy bin: no beam hardening, so the truth is exact
CLEAN = dict(spectrum_weights=MONO_100KEV, exposure=1e6, gain_spread=0.0, scatter_fraction=0.0, blur_px=0.0)
CONE = dict(geometry="cone", n_projections=240, source_object_mm=10.0, source_detector_mm=40.0)  # ~8 deg half-angle
N = 48
PORES = (
    (22, 16, 28),
    (24, 31, 20),
    (26, 22, 13),
)  # (z, y, x) voxel centres: no symmetry of the grid maps one onto another
PORE_RADIUS = 4
CENTRAL = slice(20, 28)  # slices within 4 voxels (0.2 mm) of the mid-plane, where FDK is nearly exact


@dataclass
class CylinderPhantom:
    name: str
    materials: np.ndarray
    material_names: dict
    pore_fraction: np.ndarray
    voxel_size: tuple


def cylinder_phantom() -> CylinderPhantom:
    """A Ti6Al4V cylinder (radius 17 voxels, slices 8-39) on the rotation axis of a 48^3 grid of
    0.05 mm voxels, with three empty spherical pores of radius 4 voxels near the mid-plane."""
    zz, yy, xx = np.mgrid[:N, :N, :N]
    centre = (N - 1) / 2
    inside = ((yy - centre) ** 2 + (xx - centre) ** 2 <= 17**2) & (zz >= 8) & (zz < 40)
    pores = np.zeros((N, N, N), np.float32)
    for z, y, x in PORES:
        pores[(zz - z) ** 2 + (yy - y) ** 2 + (xx - x) ** 2 <= PORE_RADIUS**2] = 1.0
    return CylinderPhantom(
        "cylinder", inside.astype(np.uint8), {0: "air", 1: "Ti6Al4V"}, pores * inside, (0.05, 0.05, 0.05)
    )


def attenuation_truth(phantom: CylinderPhantom) -> np.ndarray:
    """The mu map (1/mm) a perfect reconstruction shows."""
    from porelab.simulate.materials import effective_attenuation_per_mm

    mu = effective_attenuation_per_mm("Ti6Al4V", np.asarray(MONO_100KEV))
    return (mu * (phantom.materials == 1) * (1 - phantom.pore_fraction)).astype(np.float32)


def psnr(image: np.ndarray, truth: np.ndarray) -> float:
    return float(10 * np.log10(float(truth.max()) ** 2 / np.mean((image - truth) ** 2)))


def relative_error(image: np.ndarray, truth: np.ndarray) -> float:
    return float(np.linalg.norm(image - truth) / np.linalg.norm(truth))


def assert_pores_visible(rec: np.ndarray) -> None:
    """Each pore's core (within 2 voxels of its centre) averages below a tenth of the solid
    material's mean (an H100 measured |core| < 0.01 of it) (the material core: inside radius 14, 2+ voxels away from every pore)."""
    zz, yy, xx = np.mgrid[:N, :N, :N]
    centre = (N - 1) / 2
    material = ((yy - centre) ** 2 + (xx - centre) ** 2 <= 14**2) & (zz >= 16) & (zz < 32)
    for z, y, x in PORES:
        material &= (zz - z) ** 2 + (yy - y) ** 2 + (xx - x) ** 2 > (PORE_RADIUS + 2) ** 2
    solid = float(rec[material].mean())
    for z, y, x in PORES:
        core = (zz - z) ** 2 + (yy - y) ** 2 + (xx - x) ** 2 <= 2**2
        assert float(rec[core].mean()) < 0.1 * solid, f"pore at {(z, y, x)} not visible"


@pytest.fixture(scope="module")
def gpu():
    if not scanner_gpu.cuda_available():
        pytest.skip(
            "no usable CUDA GPU for ASTRA: porelab.simulate.scanner.gpu.cuda_available() is False "
            "(its subprocess probe could not run a 3D cone projection)"
        )


@pytest.fixture(scope="module")
def phantom() -> CylinderPhantom:
    return cylinder_phantom()


def test_cone_projection_and_fdk_reconstruct_the_attenuation(gpu, phantom):
    """Noise-free: project the exact material map with ASTRA CUDA, FDK it back."""
    from porelab.simulate.scanner.cone_gpu import cone_detector_rows, fdk_gpu, project_cone_gpu
    from porelab.simulate.scanner.projector import material_maps

    spec = ScanSpec(**CONE, **CLEAN)
    geom = slice_geometry(spec, phantom.materials.shape, phantom.voxel_size)
    _, maps = material_maps(phantom)
    lines = project_cone_gpu(maps, geom, phantom.voxel_size[0])
    assert lines.shape == (1, 240, cone_detector_rows(N, geom), geom.detector_cols)
    # longest chord: the 34-voxel (1.7 mm) diameter, a little more for the oblique rows
    assert 1.6 < lines.max() < 1.9 and lines.min() >= 0.0

    truth = attenuation_truth(phantom)
    mu = float(truth.max())
    rec = fdk_gpu(lines[0] * mu, geom, N, phantom.voxel_size[0])
    assert rec.shape == truth.shape and rec.dtype == np.float32
    # an H100 measured 22.6 dB and 0.124 (the edge ringing of a binary phantom on a 48^3 grid)
    assert psnr(rec[CENTRAL], truth[CENTRAL]) >= 21.0
    assert relative_error(rec[CENTRAL], truth[CENTRAL]) <= 0.16
    assert_pores_visible(rec)


@pytest.fixture(scope="module")
def gpu_volume(gpu, phantom):
    projections = simulate(phantom, ScanSpec(**CONE, **CLEAN, device="gpu"))
    return projections, reconstruct(projections)


def test_public_gpu_path_reconstructs_the_attenuation(gpu_volume, phantom):
    projections, vol = gpu_volume
    from porelab.simulate.scanner import SliceGeometry
    from porelab.simulate.scanner.cone_gpu import cone_detector_rows

    geom = SliceGeometry.from_dict(projections.metadata["slice_geometry"])
    assert projections.metadata["projection_path"] == "cone-gpu"
    assert projections.counts.shape == (240, cone_detector_rows(N, geom), geom.detector_cols)
    assert projections.counts.shape[1] > N  # the detector is taller than the grid: it sees the whole cone
    assert vol.metadata["reconstruction_path"] == "fdk-gpu" and vol.metadata["units"] == "1/mm"
    rec, truth = np.asarray(vol.data), attenuation_truth(phantom)
    assert rec.shape == truth.shape and vol.voxel_size == (0.05, 0.05, 0.05)
    assert psnr(rec[CENTRAL], truth[CENTRAL]) >= 21.0  # H100: 22.5 dB
    assert relative_error(rec[CENTRAL], truth[CENTRAL]) <= 0.16  # H100: 0.125
    assert_pores_visible(rec)


def test_gpu_mid_plane_matches_the_cpu_fan_path(gpu_volume, phantom):
    """Near the mid-plane the cone is a fan: FDK on the GPU and fan FBP per slice on the CPU
    must agree there. The CPU path treats slices independently, so it scans only slices 22-25."""
    _, vol = gpu_volume
    crop = replace(phantom, materials=phantom.materials[22:26], pore_fraction=phantom.pore_fraction[22:26])
    cpu = reconstruct(simulate(crop, ScanSpec(**CONE, **CLEAN, device="cpu")))
    assert cpu.metadata["reconstruction_path"] == "slice-2d-cpu"
    mu = float(attenuation_truth(phantom).max())
    for z in (23, 24):  # the two slices either side of the mid-plane (z = 23.5)
        on_gpu, on_cpu = np.asarray(vol.data)[z], np.asarray(cpu.data)[z - 22]
        rms = float(np.sqrt(np.mean((on_gpu - on_cpu) ** 2)))
        assert rms <= 0.04 * mu, f"slice {z}: GPU and CPU differ by {rms / mu:.3f} mu (RMS)"  # H100: 0.017
        assert np.corrcoef(on_gpu.ravel(), on_cpu.ravel())[0, 1] > 0.99  # H100: 0.9993 (0.81 if mirrored)


# --- every machine: a GPU request that the probe cannot honour is a ConfigError, never a crash ---


def _small_phantom() -> CylinderPhantom:
    full = cylinder_phantom()
    pick = (slice(22, 25), slice(12, 36), slice(12, 36))
    return replace(full, materials=full.materials[pick], pore_fraction=full.pore_fraction[pick])


@pytest.fixture
def probe_fails(monkeypatch):
    monkeypatch.setattr(scanner_gpu, "cuda_available", lambda *a, **k: False)


def test_gpu_request_without_a_usable_gpu_is_a_config_error(probe_fails):
    spec = ScanSpec(**{**CONE, "n_projections": 20}, **CLEAN, device="gpu")
    with pytest.raises(ConfigError, match="no usable CUDA GPU"):
        simulate(_small_phantom(), spec)
    assert simulate(_small_phantom(), spec.with_(device="auto")).metadata["projection_path"] == "slice-2d-cpu"


def test_true_cone_projections_need_fdk_on_a_gpu(probe_fails):
    spec = ScanSpec(**{**CONE, "n_projections": 20}, **CLEAN, device="cpu")
    simulated = simulate(_small_phantom(), spec)
    as_cone = replace(simulated, metadata={**simulated.metadata, "projection_path": "cone-gpu"})
    with pytest.raises(ConfigError, match="algorithm='fbp'"):
        reconstruct(as_cone, algorithm="sirt")
    with pytest.raises(ConfigError, match="usable GPU"):
        reconstruct(as_cone)  # the scan's own device ("cpu") cannot run FDK
    with pytest.raises(ConfigError, match="no usable CUDA GPU"):
        reconstruct(as_cone, spec.with_(device="gpu"))
