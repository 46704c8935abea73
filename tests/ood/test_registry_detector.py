"""The registry's OOD detector (ood.pt): trained on a dataset's scans as the service sees uploads,
it passes a new scan like them and flags the same scan under a raster pattern; it is kept while
the model, fold and scans stay the same and retrained when they change."""

from dataclasses import replace

import numpy as np
import pytest

from porelab.data.normalise import fit_normaliser
from porelab.ood.registry_detector import (
    OOD_FILE,
    RegistryDetectorConfig,
    registry_detector,
    save_atomic,
    train_registry_detector,
)
from porelab.ood.synthetic import raster
from porelab.ood.check import RING_MARGIN, OODCheck, RingCheck, scan_check

from synthetic import sphere_scan, write_dataset

# a few steps: for the bookkeeping tests, not the detector's skill
_QUICK = RegistryDetectorConfig(
    copies=0, training=replace(RegistryDetectorConfig().training, epochs=1, steps_per_epoch=3)
)


def _scan(seed, pores=3, radius=4, shape=(32, 32, 32)):
    """Sphere pores in a block of part, as in the service tests' training data."""
    rng = np.random.default_rng(seed)
    centres = [tuple(int(rng.integers(radius + 1, n - radius - 1)) for n in shape) for _ in range(pores)]
    return sphere_scan(shape, centres, radius, seed=seed)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("ood-registry")
    return write_dataset(root / "ds", [(f"scan-{i}", "good", *_scan(i)) for i in range(4)])


def test_a_scan_like_the_training_scans_passes_and_a_raster_pattern_is_flagged(dataset, tmp_path):
    detector, trained_on = train_registry_detector(dataset, ["scan-0", "scan-1", "scan-2", "scan-3"])
    assert trained_on["scans"] == ["scan-0", "scan-1", "scan-2", "scan-3"] and trained_on["left_out"] == {}
    assert trained_on["slices"] == 4 * 32 and trained_on["slice_shape"] == [32, 32]
    check = OODCheck(save_atomic(detector, tmp_path / OOD_FILE))  # loaded as the service loads it
    for seed in (50, 51):
        scan = _scan(seed)[0]
        like = check(scan, fit_normaliser(scan))
        assert like["method"] == "autoencoder" and not like["is_ood"] and like["score"] < 1 and like["reasons"] == []
        odd = scan + 500 * raster(scan.shape[1:], np.random.default_rng(seed))[None]  # 5/8 of the pore contrast
        result = check(odd, fit_normaliser(odd))
        assert result["is_ood"] and result["score"] > 1
        assert result["reasons"][0].startswith("unlike the model's training scans")  # the texture check may add one
    assert scan_check(tmp_path / "model.pt").detector_path == tmp_path / OOD_FILE  # the folder's own detector


def test_the_detector_is_kept_for_the_same_selection_and_retrained_for_another(dataset, tmp_path):
    path = tmp_path / OOD_FILE
    first = registry_detector(tmp_path, dataset, ["scan-0", "scan-1"], {"model": "unet", "fold": 2}, None, _QUICK)
    assert path.is_file() and first["model"] == "unet" and first["fold"] == 2
    assert first["training_scans"] == ["scan-0", "scan-1"] and first["calibration_only"] == ["scan-1"]
    stamp = path.stat().st_mtime_ns
    again = registry_detector(tmp_path, dataset, ["scan-0", "scan-1"], {"model": "unet", "fold": 2}, first, _QUICK)
    assert again == first and path.stat().st_mtime_ns == stamp  # not retrained
    assert first["ring_threshold"] >= RingCheck.threshold and first["ring_margin"] == RING_MARGIN
    older = {k: v for k, v in first.items() if not k.startswith("ring_")}  # a record from before ring thresholds
    assert (
        registry_detector(tmp_path, dataset, ["scan-0", "scan-1"], {"model": "unet", "fold": 2}, older, _QUICK) == first
    )
    assert path.stat().st_mtime_ns == stamp  # the thresholds are added, the autoencoder kept

    other = registry_detector(tmp_path, dataset, ["scan-2", "scan-3"], {"model": "unet", "fold": 0}, first, _QUICK)
    assert other["fold"] == 0 and other["scans"] == ["scan-2", "scan-3"] and path.stat().st_mtime_ns != stamp
    path.unlink()  # a record without its file: retrained
    assert (
        registry_detector(tmp_path, dataset, ["scan-2", "scan-3"], {"model": "unet", "fold": 0}, other, _QUICK)["fold"]
        == 0
        and path.is_file()
    )


def test_scans_whose_pores_normalise_far_below_zero_are_left_out_among_ordinary_ones(tmp_path):
    few = _scan(7, pores=1, radius=2)  # 0.1 % pore: the 0.5 % percentile falls inside the part
    root = write_dataset(
        tmp_path / "ds", [("ordinary-0", "good", *_scan(0)), ("few", "good", *few), ("ordinary-1", "good", *_scan(1))]
    )
    _, trained_on = train_registry_detector(root, ["ordinary-0", "few", "ordinary-1"], _QUICK)
    assert trained_on["scans"] == ["ordinary-0", "ordinary-1"] and list(trained_on["left_out"]) == ["few"]
    _, alone = train_registry_detector(root, ["few"], _QUICK)  # nothing else to learn from: it trains
    assert alone["scans"] == ["few"] and alone["left_out"] == {}


def test_scans_of_other_sizes_are_cut_into_tiles_that_cover_every_slice():
    from porelab.ood.registry_detector import accepted_slices

    small = np.arange(2 * 8 * 8, dtype=np.float32).reshape(2, 8, 8)
    large = np.arange(12 * 8, dtype=np.float32).reshape(1, 12, 8)
    tiles = accepted_slices([small, large])
    assert tiles.shape == (4, 8, 8)
    np.testing.assert_array_equal(tiles[:2], small)
    np.testing.assert_array_equal(tiles[2], large[0, 0:8])
    np.testing.assert_array_equal(tiles[3], large[0, 4:12])  # the last tile flush with the far edge
