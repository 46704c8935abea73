"""Accepted weld patches and real defect cut-outs for training and testing the OOD detector.

Training and test material come from disjoint radiograph seeds, and the cut-outs pasted
into test patches from radiographs no training patch was cut from.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from porelab.errors import ConfigError
from porelab.ood.defects import cut_indications
from porelab.simulate.phantoms import weld_patches, weld_radiograph

# offsets of the radiograph seeds of each role, far enough apart never to overlap
_TEST_OFFSET, _TRAIN_CUTS, _TEST_CUTS = 100_000, 200_000, 300_000


@dataclass
class WeldOODData:
    train_ok: np.ndarray  # (N, size, size) float32 accepted patches
    test_ok: np.ndarray
    train_cutouts: list[np.ndarray]  # real indications, border mean subtracted
    test_cutouts: list[np.ndarray]


def weld_ood_data(
    n_train: int = 2000, n_test: int = 2000, size: int = 64, cutouts: int = 200, seed: int = 0
) -> WeldOODData:
    """Accepted patches (`size` x `size`) cut along simulated welds and real cut-outs."""
    if min(n_train, n_test, cutouts) < 1:
        raise ConfigError(
            f"weld_ood_data: n_train, n_test and cutouts must be >= 1, got {n_train}, {n_test}, {cutouts}"
        )
    train = weld_patches(n_ok=n_train, n_defect=0, size=size, seed=seed).images[:n_train]
    test = weld_patches(n_ok=n_test, n_defect=0, size=size, seed=seed + _TEST_OFFSET).images[:n_test]
    return WeldOODData(train, test, _cutouts(cutouts, seed + _TRAIN_CUTS), _cutouts(cutouts, seed + _TEST_CUTS))


def _cutouts(count: int, first_seed: int) -> list[np.ndarray]:
    found: list[np.ndarray] = []
    seed = first_seed
    while len(found) < count:
        found += cut_indications(weld_radiograph(seed=seed))
        seed += 1
    return found[:count]
