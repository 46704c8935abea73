"""Patch streams: reproducible rows, balanced sampling, normalisation, Ray twin equals local path."""

import json

import numpy as np
import pytest

from porelab.data import (
    AugmentConfig,
    PatchConfig,
    PatchMaker,
    SamplerConfig,
    StreamConfig,
    load_scans,
    in_memory_patch_dataset,
    local_batches,
    ray_patch_dataset,
    scan_pores,
)
from porelab.errors import ConfigError


def maker(root, kind="balanced", augment=AugmentConfig.off(), fraction=0.5, train=True, patch=16):
    scans = load_scans(root)
    config = PatchConfig(
        patch=(patch,) * 3, sampler=SamplerConfig(kind, pore_fraction=fraction), augment=augment, seed=3
    )
    return PatchMaker(scans, scan_pores(scans), config, train=train)


def test_normaliser_is_stored_in_the_manifest(tiny_dataset):
    scans = load_scans(tiny_dataset)
    manifest = json.loads((tiny_dataset / "manifest.json").read_text())
    stored = manifest["scans"][0]["intensity"]
    assert stored["kind"] == "percentile" and stored["low"] < 300 < 900 < stored["high"]
    assert scans[0].normaliser.low == stored["low"]


def test_rows_are_reproducible_and_distinct(tiny_dataset):
    a, b = maker(tiny_dataset, augment=AugmentConfig()), maker(tiny_dataset, augment=AugmentConfig())
    np.testing.assert_array_equal(a.make(5)[0], b.make(5)[0])
    assert not np.array_equal(a.make(5)[0], a.make(6)[0])


def test_balanced_sampling_enriches_pores(tiny_dataset):
    def pore_share(fraction):
        m = maker(tiny_dataset, fraction=fraction, patch=8)
        return np.mean([m.make(r)[1].mean() for r in range(100)])

    uniform, balanced = pore_share(0.0), pore_share(1.0)
    assert balanced > 2 * uniform > 0  # pores are ~1 % of the voxels here


def test_labels_follow_flips_and_rotations(tiny_dataset):
    m = maker(
        tiny_dataset, augment=AugmentConfig(flip=1.0, rotate90=1.0, intensity=0, blur=0, gaussian_noise=0), fraction=1.0
    )
    for row in range(10):
        image, label = m.make(row)
        assert image[label > 0].mean() < 0.5 < image[label == 0].mean()  # pores dark wherever they moved


def test_grid_sampler_covers_every_scan(tiny_dataset):
    m = maker(tiny_dataset, kind="grid")
    rows = {m._position(r, None)[0] for r in range(len(m._grid))}
    assert rows == {0, 1, 2}


def test_unknown_scan_id(tiny_dataset):
    with pytest.raises(ConfigError, match="scan id 'nope' not found"):
        load_scans(tiny_dataset, ids=["nope"])


def test_local_batches_shapes(tiny_dataset):
    batches = list(local_batches(maker(tiny_dataset), range(0, 10), 4))
    assert [b["image"].shape[0] for b in batches] == [4, 4, 2]
    assert batches[0]["image"].shape == (4, 1, 16, 16, 16) and batches[0]["label"].dtype.is_floating_point


def _assert_same_patches(rows, pairs):
    rows = sorted(rows, key=lambda r: float(r["image"].sum()))
    pairs = sorted(pairs, key=lambda p: float(p[0].sum()))
    assert len(rows) == len(pairs)
    for row, (image, label) in zip(rows, pairs):
        np.testing.assert_array_equal(row["image"][0], image)
        np.testing.assert_array_equal(row["label"][0], label)


@pytest.mark.ray
@pytest.mark.parametrize("readers", [0, 1], ids=["tasks", "actor-pool"])
def test_ray_stream_equals_local_path(tiny_dataset, ray_session, readers):
    m = maker(tiny_dataset, augment=AugmentConfig())
    ds = ray_patch_dataset(m.scans, m.pores, m.config, 12, StreamConfig(rows_per_task=4, readers=readers), train=True)
    _assert_same_patches(ds.take_all(), [m.make(r) for r in range(12)])


@pytest.mark.ray
def test_in_memory_validation_set_equals_the_stream(tiny_dataset, ray_session):
    m = maker(tiny_dataset)
    streamed = ray_patch_dataset(m.scans, m.pores, m.config, 6, StreamConfig(rows_per_task=4), train=False)
    in_memory = in_memory_patch_dataset(m.scans, m.pores, m.config, 6, train=False)
    assert in_memory.count() == 6
    _assert_same_patches(in_memory.take_all(), [(r["image"][0], r["label"][0]) for r in streamed.take_all()])
