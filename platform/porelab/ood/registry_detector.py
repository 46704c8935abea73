"""The OOD detector of a registry model folder (`ood.pt`), which the cross-validation job trains
for the model it selects: an autoencoder (Lindgren & Zach) fitted on z slices of the selected
fold's training scans, cut and normalised exactly as the service cuts and normalises an upload
(`porelab.ood.volumes.volume_slices`, each volume normalised by `fit_normaliser`). Its
thresholds are set on those slices, so a score > 1 means "unlike those scans".

Choices, measured on the demo dataset (data/am: 128 x 40 x 40 cylinders in air, 5 folds) and on
sphere scans:
- one encoder level (16 channels, 8 latent channels at half resolution): it reconstructs pores,
  which a two-level (16, 32) net left in its residual, so that pore slices set the threshold
  above a raster pattern's score;
- residual statistics over 13 x 13 windows (9 x 9 flagged the largest pore of an unseen scan);
- the autoencoder also trains on copies of its slices with grey values scaled by up to +-15 %
  and mirrored, and never sees the last training scan, whose slices only set the thresholds
  (with the others): a new scan of the same kind then stays below 1. Over the 5 folds, three
  seeds on one thread and seed 0 on two (threads change the trajectory), the left-out cylinder
  scored 0.56-0.90, but for cylinder-3 (an unusually large pore) at 1.04 once, and the same
  cylinder under a raster of half the part/air contrast 1.23-3.4. 600 steps of 8 slices take
  10-15 s of one core.

A scan with under ~0.5 % pores and air has its dark voxels normalised far below 0 (the 0.5 %
percentile falls inside the part) and 3x the normalised noise; among ordinary scans such scans
raise the threshold until a raster goes unseen, so they are left out of the training then (and
recorded; uploads like them score > 1); when every scan is like that, all of them train.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from porelab import volume
from porelab.config import to_dict
from porelab.data.normalise import fit_normaliser
from porelab.errors import ConfigError
from porelab.ood.check import OOD_FILE, ring_calibration
from porelab.ood.detector import OODDetector
from porelab.ood.training import OODTrainingConfig, train_detector
from porelab.ood.volumes import CROP, volume_slices
from porelab.simulate.datasets.manifest import read_manifest
from porelab.volume.atomic import atomic_target
from porelab.windows import window_starts

DETECTOR_VERSION = 2  # 2: scans of other sizes give tiles covering their slices (1: central crops only)
FAR_BELOW = -0.5  # normalised grey value no pore or air voxel reaches when >= 0.5 % of a scan is dark
FAR_BELOW_SHARE = 1e-4


def _training() -> OODTrainingConfig:
    """Slices are already normalised grey values (the scan's air-to-material scale), so they
    are not standardised again; the shipped detectors were trained so."""
    return OODTrainingConfig(
        perturbation="none",
        epochs=4,
        steps_per_epoch=150,
        batch_size=8,
        lr=3e-3,
        kernel=13,
        standardise=False,
        model={"channels": (16,), "latent_dim": 8},
    )


@dataclass(frozen=True)
class RegistryDetectorConfig:
    """max_slices: z slices per scan (evenly spaced; every slice of a scan with fewer); crop: each
    slice's central crop, as the service crops (`porelab.ood.volumes.CROP`); copies: augmented
    copies of every slice the autoencoder trains on, grey values scaled by U(1 - gain, 1 + gain),
    shifted by U(-gain / 3, gain / 3) and mirrored at random (thresholds: the slices themselves);
    calibration_scan: the last training scan only sets the thresholds (when there are two or
    more); training.seed seeds the copies and the training."""

    max_slices: int = 128
    crop: int = CROP
    copies: int = 2
    gain: float = 0.15
    calibration_scan: bool = True
    training: OODTrainingConfig = field(default_factory=_training)

    def __post_init__(self) -> None:
        if self.max_slices < 1 or self.crop < 16 or self.copies < 0 or not 0 <= self.gain < 1:
            raise ConfigError(
                f"RegistryDetectorConfig: expected max_slices >= 1, crop >= 16, copies >= 0 and "
                f"0 <= gain < 1, got {self.max_slices}, {self.crop}, {self.copies}, {self.gain}"
            )


def scan_slices(
    root: str | Path, scan_ids: Sequence[str], max_slices: int = 128, crop: int = CROP
) -> dict[str, np.ndarray]:
    """Per scan of the dataset at `root`: float32 (n, rows, cols), up to `max_slices` z slices,
    centre-cropped and normalised per volume as the service does with an upload."""
    root = Path(root)
    entries = {e["id"]: e for e in read_manifest(root)["scans"]}
    if not scan_ids or any(i not in entries for i in scan_ids):
        raise ConfigError(
            f"{root / 'manifest.json'}: training scans {list(scan_ids)}; expected one or more of {sorted(entries)}"
        )
    slices = {}
    for scan_id in scan_ids:
        vol = volume.read(root / entries[scan_id]["files"]["scan"])
        slices[scan_id] = volume_slices(vol, fit_normaliser(vol), max_slices, crop)
    return slices


def accepted_slices(parts: Sequence[np.ndarray]) -> np.ndarray:
    """The slices of all scans in one array. Scans of different sizes are cut into tiles of the
    smallest slice's size that cover each slice (edges and air of the larger parts included,
    the last tile flush with the far edge); scans of one size give their slices as they are."""
    rows, cols = min(p.shape[1] for p in parts), min(p.shape[2] for p in parts)
    tiles = [
        p[:, r : r + rows, c : c + cols]
        for p in parts
        for r in window_starts(p.shape[1], rows, rows)
        for c in window_starts(p.shape[2], cols, cols)
    ]
    return np.concatenate(tiles)


def far_below_share(slices: np.ndarray) -> float:
    """Share of the normalised voxels below `FAR_BELOW` (pores pushed far below 0: see the module doc)."""
    return float(np.mean(slices < FAR_BELOW))


def _augmented(accepted: np.ndarray, config: RegistryDetectorConfig) -> np.ndarray:
    rng = np.random.default_rng(config.training.seed)
    copies = [accepted]
    for _ in range(config.copies):
        n = len(accepted)
        gain = rng.uniform(1 - config.gain, 1 + config.gain, (n, 1, 1)).astype(np.float32)
        shift = rng.uniform(-config.gain / 3, config.gain / 3, (n, 1, 1)).astype(np.float32)
        mirrored = np.where(rng.random((n, 1, 1)) < 0.5, accepted[:, :, ::-1], accepted)
        copies.append(mirrored * gain + shift)
    return np.concatenate(copies)


def train_registry_detector(
    root: str | Path, scan_ids: Sequence[str], config: RegistryDetectorConfig = RegistryDetectorConfig()
) -> tuple[OODDetector, dict[str, Any]]:
    """(detector, what it was trained on) for a model trained on `scan_ids` of the dataset at
    `root`. Seeded: the same scans and config give the same detector on one machine."""
    per_scan = scan_slices(root, scan_ids, config.max_slices, config.crop)
    shares = {i: far_below_share(s) for i, s in per_scan.items()}
    left_out = {
        i: f"{100 * v:.3f} % of its voxels normalise below {FAR_BELOW} (under ~0.5 % of the scan is pore or air)"
        for i, v in shares.items()
        if v > FAR_BELOW_SHARE
    }
    if len(left_out) == len(per_scan):
        left_out = {}  # every scan is like that: the detector learns that representation
    used = [i for i in scan_ids if i not in left_out]
    accepted = accepted_slices([per_scan[i] for i in used])
    unseen = used[-1:] if config.calibration_scan and len(used) > 1 else []
    fitted = accepted_slices([per_scan[i] for i in used if i not in unseen])
    detector = train_detector(_augmented(fitted, config), config.training, calibration=accepted)
    return detector, {
        "scans": used,
        "calibration_only": unseen,
        "left_out": left_out,
        "slices": int(len(accepted)),
        "slice_shape": list(accepted.shape[1:]),
    }


def save_atomic(detector: OODDetector, path: str | Path) -> Path:
    """`detector.save(path)` through a temporary name: an interrupted save leaves no half file."""
    path = Path(path)
    with atomic_target(path, overwrite=True) as partial:
        detector.save(partial)
    return path


def registry_detector(
    folder: str | Path,
    root: str | Path,
    scan_ids: Sequence[str],
    identity: dict[str, Any],
    previous: dict[str, Any] | None = None,
    config: RegistryDetectorConfig = RegistryDetectorConfig(),
) -> dict[str, Any]:
    """Make `folder/ood.pt` for the model trained on `scan_ids` of the dataset at `root`; returns
    the record for the folder's config.json. `identity` names the model (e.g. {"model": "unet",
    "fold": 2}); `previous` is the "ood_detector" record of the folder's config.json before this
    call: when it has the same identity, dataset, training scans and settings and ood.pt is
    there, nothing is retrained."""
    folder = Path(folder)
    path = folder / OOD_FILE
    wanted = {
        **identity,
        "data": str(Path(root).resolve()),
        "training_scans": list(scan_ids),
        "settings": to_dict(config),
        "version": DETECTOR_VERSION,
    }
    if previous and path.is_file() and all(previous.get(k) == v for k, v in wanted.items()):
        return previous if "ring_threshold" in previous else {**previous, **training_rings(root, scan_ids)}
    path.unlink(missing_ok=True)  # a detector of other scans must not outlive its model meanwhile
    start = time.perf_counter()
    detector, trained_on = train_registry_detector(root, scan_ids, config)
    save_atomic(detector, path)
    return {
        "file": OOD_FILE,
        "method": "autoencoder (Lindgren & Zach)",
        **wanted,
        **trained_on,
        "threshold": detector.thresholds.threshold,
        **training_rings(root, scan_ids),
        "seconds": round(time.perf_counter() - start, 1),
    }


def training_rings(root: str | Path, scan_ids: Sequence[str]) -> dict[str, Any]:
    """`porelab.ood.check.ring_calibration` over the scans `scan_ids` of the dataset at `root` (read one at a time)."""
    root = Path(root)
    entries = {e["id"]: e for e in read_manifest(root)["scans"]}
    return ring_calibration(volume.read(root / entries[i]["files"]["scan"]) for i in scan_ids)
