"""Small synthetic scans with exact pore labels, shared by tests (no simulator: fast)."""

import json
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from porelab import volume


def sphere_scan(shape, centres, radius, seed):
    """Grey part (1000) with dark spherical pores (200) plus noise; labels = pore ids."""
    rng = np.random.default_rng(seed)
    grid = np.indices(shape)
    labels = np.zeros(shape, np.int32)
    for i, centre in enumerate(centres, start=1):
        inside = sum((g - c) ** 2 for g, c in zip(grid, centre)) <= radius**2
        labels[inside] = i
    scan = np.where(labels > 0, 200.0, 1000.0) + rng.normal(0, 60, shape)
    return scan.astype(np.float32), labels


def in_air(scan, border=4, seed=0):
    """`scan` with its outer `border` voxels in y and x replaced by air (the pores' grey value, 200,
    plus the same noise): a part inside the field of view, as a real scan has it."""
    out = scan.copy()
    noise = np.random.default_rng(seed).normal(0, 60, scan.shape).astype(np.float32)
    ring = np.ones(scan.shape[1:], bool)
    ring[border:-border, border:-border] = False
    out[:, ring] = 200.0 + noise[:, ring]
    return out


def write_dataset(root, scans):
    """A dataset directory in the manifest format: scan, labels, materials (the whole block is
    part) and the ground-truth pore table of each scan."""
    from porelab.label import pore_table

    entries = []
    for scan_id, role, scan, labels in scans:
        (root / scan_id).mkdir(parents=True)
        volume.write(scan, root / scan_id / "scan.npy", voxel_size=0.01)
        volume.write(labels, root / scan_id / "labels.npy", voxel_size=0.01)
        volume.write(np.ones(scan.shape, np.uint8), root / scan_id / "materials.npy", voxel_size=0.01)
        pore_table(labels, voxel_size=(0.01,) * 3).table.to_parquet(root / scan_id / "pores.parquet")
        files = {name: f"{scan_id}/{name}.npy" for name in ("scan", "labels", "materials")}
        entries.append(
            {"id": scan_id, "role": role, "files": {**files, "pores": f"{scan_id}/pores.parquet"}, "sha256": {}}
        )
    (root / "manifest.json").write_text(json.dumps({"format": "porelab-dataset/1", "scans": entries}))
    return root


def trained_tiny_unet(root, path):
    """A small UNet trained for a few seconds on sphere pores, saved as a porelab checkpoint at `path`.

    Returns (path, TrainConfig). Tests use it where a model that really finds pores is needed.
    """
    from dataclasses import replace

    import torch

    from porelab.data import (
        AugmentConfig,
        PatchConfig,
        PatchMaker,
        SamplerConfig,
        load_scans,
        local_batches,
        scan_pores,
    )
    from porelab.models import build_model
    from porelab.train import LoopConfig, SegmentationTask, run_training
    from porelab.checkpoint import save_checkpoint
    from porelab.train.config import profile

    scans = []
    for i in range(2):
        rng = np.random.default_rng(i)
        centres = [tuple(int(c) for c in rng.integers(6, 22, 3)) for _ in range(4)]
        scan, labels = sphere_scan((28, 28, 28), centres, 3, seed=i)
        scans.append((f"scan-{i}", "good", scan, labels))
    write_dataset(root / "ds", scans)
    records = load_scans(root / "ds")
    patches = PatchConfig(patch=(16, 16, 16), sampler=SamplerConfig("balanced", 0.5), augment=AugmentConfig.off())
    maker = PatchMaker(records, scan_pores(records), patches)
    torch.manual_seed(0)
    config = profile("demo")
    config = replace(config, model=replace(config.model, channels=(4, 8)), patches=patches)
    model = build_model(config.model)
    run_training(
        model,
        SegmentationTask(loss="dice"),
        lambda e: local_batches(maker, range(e * 48, e * 48 + 48), 4),
        lambda e: local_batches(maker, range(1000, 1016), 4),
        LoopConfig(max_epochs=12, lr=3e-3),
    )
    return save_checkpoint(path, model, config.to_dict(), epoch=12, metrics={}), config


def tiny_cv_dataset(root, selection=False):
    """Three 'good' scans and one 'challenging' scan of 24^3 with three sphere pores each (and
    one 'selection' scan with `selection`)."""
    scans = []
    for i, role in enumerate(["good", "good", "good", "challenging"] + ["selection"] * selection):
        rng = np.random.default_rng(i)
        centres = [tuple(int(c) for c in rng.integers(5, 19, 3)) for _ in range(3)]
        scan, labels = sphere_scan((24, 24, 24), centres, 3, seed=i)
        scans.append((f"scan-{i}", role, scan, labels))
    return write_dataset(root, scans)


def ct_like(phantom, *, exposure=1.0, seed=0, attenuation=None, halo=0.25, noise=0.06):
    """CT-like grey values of `phantom`: partial volume (a blurred edge), beam-hardening cupping,
    a bright halo in the air along the faces (in proportion to the material's contrast), streaks through the air, and noise whose level
    follows the exposure (sigma ~ 1 / sqrt(exposure)). Air 0, material 1 unless `attenuation`
    maps material labels."""
    rng = np.random.default_rng(seed)
    levels = np.zeros(int(phantom.materials.max()) + 1, np.float32)
    for label in range(1, len(levels)):
        levels[label] = 1.0 if attenuation is None else attenuation[label]
    solid = levels[phantom.materials] * (1.0 - phantom.pore_fraction)
    part = phantom.materials > 0
    depth = ndimage.distance_transform_edt(part)
    outside, nearest = ndimage.distance_transform_edt(~part, return_indices=True)
    grey = solid * (0.85 + 0.15 * np.exp(-depth / 6.0))  # cupping
    contrast = levels[phantom.materials[tuple(nearest)]]  # of the nearest material
    grey = grey + halo * contrast * np.exp(-outside / 2.0) * (~part)  # edge halo in the air
    grey = ndimage.gaussian_filter(grey, 0.8)  # partial volume
    streaks = np.zeros(grey.shape[1:], np.float32)
    streaks[rng.integers(0, grey.shape[1], 3), :] = 0.15  # streaks through the air
    grey = grey + streaks[None] * (~part)
    return (grey + rng.normal(0.0, noise / np.sqrt(exposure), grey.shape)).astype(np.float32)


def unseen_am_scan():
    """(scan, phantom): a turned cube of another seed than every preset's, scanned by the
    evaluation preset's scanner: an AM scan no bundled training saw."""
    from porelab.simulate.phantoms import PorePopulation, am_turned_cube
    from porelab.simulate.scanner import EVAL_SCANNER_PAPER, reconstruct, scaled_to_grid, simulate

    phantom = am_turned_cube(
        (64, 64, 64),
        "316L",
        seed=4321,
        pores=PorePopulation(porosity_percent=1.0, diameter_median_vox=3.5, diameter_sigma=0.4),
    )
    scan = reconstruct(simulate(phantom, scaled_to_grid(EVAL_SCANNER_PAPER, 58, seed=4321)))
    return np.asarray(scan.data, np.float32), phantom


def composite_scan(side=48):
    """A simulated block of glass-fibre PA66 (no air around it): not a scan an AM model can judge."""
    from porelab.simulate.phantoms import composite
    from porelab.simulate.scanner import COMPOSITE_PAPER, reconstruct, scaled_to_grid, simulate

    phantom = composite((side, side, side), seed=7)
    return np.asarray(reconstruct(simulate(phantom, scaled_to_grid(COMPOSITE_PAPER, side, seed=7))).data, np.float32)


@dataclass
class DiscPhantom:
    """The fields `porelab.simulate.scanner.simulate` reads of a phantom."""

    materials: np.ndarray
    material_names: dict
    pore_fraction: np.ndarray
    voxel_size: tuple


def disc_phantom(depth=4, side=32):
    """A Ti-6Al-4V disc of radius 10 voxels off the centre, `depth` slices, no pores."""
    yy, xx = np.mgrid[:side, :side]
    disc = ((yy - 14) ** 2 + (xx - 17) ** 2 < 100).astype(np.uint8)
    return DiscPhantom(
        np.repeat(disc[None], depth, 0),
        {0: "air", 1: "Ti6Al4V"},
        np.zeros((depth, side, side), np.float32),
        (0.05, 0.05, 0.05),
    )


def plain_parallel_scan():
    """A parallel-beam scan at one energy, noise, gain spread, scatter and blur off."""
    from porelab.simulate.scanner import ScanSpec

    return ScanSpec(
        geometry="parallel",
        n_projections=40,
        spectrum_weights=(0.0, 0.0, 0.0, 1.0, 0.0),
        exposure=1e6,
        gain_spread=0.0,
        scatter_fraction=0.0,
        blur_px=0.0,
    )


def collect(shape, channels=1):
    """(array, sink) for the inference passes' sink contract: the sink writes each z block
    into the NaN-filled array and fails when a block is written twice."""
    out = np.full((channels,) + tuple(shape), np.nan, np.float32)

    def sink(z0, block):
        assert np.isnan(out[:, z0 : z0 + block.shape[1]]).all(), "a z block was written twice"
        out[:, z0 : z0 + block.shape[1]] = block

    return out, sink
