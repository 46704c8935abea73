"""Patch augmentation: the artefact-model transforms against their closed-form properties."""

import numpy as np
from scipy import stats

from porelab.data.augment import AugmentConfig, augment

ONLY = dict(flip=0, rotate90=0, elastic=0, intensity=0, blur=0, gaussian_noise=0, poisson_noise=0)


def _patch(seed=1):
    return np.random.default_rng(seed).random((12, 20, 20)).astype(np.float32), np.zeros((12, 20, 20), np.uint8)


def test_off_is_the_identity_and_labels_never_change():
    image, label = _patch()
    out, out_label = augment(image, label, AugmentConfig.off(), np.random.default_rng(0))
    np.testing.assert_array_equal(out, image)
    _, out_label = augment(image, label, AugmentConfig(**{**ONLY, "gamma": 1, "rings": 1}), np.random.default_rng(0))
    np.testing.assert_array_equal(out_label, label)


def test_gamma_keeps_the_range_and_the_order_of_grey_values():
    image, label = _patch()
    out, _ = augment(image, label, AugmentConfig(**ONLY, gamma=1.0, gamma_range=(0.5, 0.5)), np.random.default_rng(0))
    low, high = image.min(), image.max()
    np.testing.assert_allclose(out, low + (high - low) * ((image - low) / (high - low)) ** 0.5, rtol=1e-5)
    assert stats.spearmanr(out.ravel(), image.ravel()).statistic > 0.9999


def test_rings_are_the_same_on_every_slice_and_bounded():
    image = np.zeros((6, 24, 24), np.float32)
    image[0, 0, 0] = 1.0  # a range of 1, so the ring amplitude is in those units
    out, _ = augment(
        image, image.astype(np.uint8), AugmentConfig(**ONLY, rings=1.0, ring_amplitude=0.2), np.random.default_rng(3)
    )
    offset = out - image
    np.testing.assert_allclose(offset[1:], np.broadcast_to(offset[1], offset[1:].shape))
    assert np.abs(offset).max() > 0 and np.abs(offset).max() <= 0.2 * 4  # normal draws, sigma 0.1


def test_the_noise_level_is_drawn_within_its_range():
    image = np.zeros((16, 32, 32), np.float32)
    config = AugmentConfig(**{**ONLY, "gaussian_noise": 1.0}, gaussian_std=0.02, noise_levels=(0.5, 4.0))
    stds = [augment(image, image.astype(np.uint8), config, np.random.default_rng(s))[0].std() for s in range(40)]
    # 16k voxels a patch: each std is within 3 % of its level; the levels span the range
    assert 0.02 * 0.5 * 0.97 <= min(stds) and max(stds) <= 0.02 * 4.0 * 1.03
    assert max(stds) / min(stds) > 3.0
