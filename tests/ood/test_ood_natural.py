"""Natural-image indications: bundled images only, reproducible from a seed, within the
paper's ranges."""

from __future__ import annotations

import socket

import numpy as np
import pytest

from porelab.errors import ConfigError
from porelab.ood import (
    NATURAL_IMAGES,
    NaturalIndicationConfig,
    grow_region,
    lorentzian_kernel,
    natural_image,
    natural_indication,
)


def test_every_listed_image_is_bundled_with_scikit_image(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("a natural image tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    for name in NATURAL_IMAGES:
        image = natural_image.__wrapped__(name)
        assert image.ndim == 2 and image.dtype == np.float32
        assert 0.0 <= image.min() and image.max() <= 1.0 and image.std() > 0.01


def test_indications_are_reproducible_from_a_seed():
    first = natural_indication((64, 64), np.random.default_rng(7))
    again = natural_indication((64, 64), np.random.default_rng(7))
    other = natural_indication((64, 64), np.random.default_rng(8))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_indications_stay_within_the_intensity_range():
    config = NaturalIndicationConfig(regions=(1, 1))
    for seed in range(10):
        indication = natural_indication((48, 48), np.random.default_rng(seed), config)
        assert indication.min() >= 0
        assert 0.05 - 1e-6 <= indication.max() <= 0.2 + 1e-6


def test_regions_have_the_asked_size_and_elongation():
    rng = np.random.default_rng(0)
    round_region = grow_region((256, 256), 400, 1.0, rng)
    long_region = grow_region((256, 256), 400, 10.0, rng)
    assert round_region.sum() == 400 and long_region.sum() == 400

    def axis_ratio(region):
        eigenvalues = np.linalg.eigvalsh(np.cov(np.argwhere(region).T))
        return np.sqrt(eigenvalues[1] / eigenvalues[0])

    assert axis_ratio(round_region) < 2.0
    assert axis_ratio(long_region) > 4.0


def test_lorentzian_kernel_is_normalised_and_falls_as_one_over_r_squared():
    kernel = lorentzian_kernel(0.3)
    assert kernel.sum() == pytest.approx(1.0, abs=1e-6)
    centre = kernel.shape[0] // 2
    assert kernel[centre, centre + 2] / kernel[centre, centre + 4] == pytest.approx((16 + 0.09) / (4 + 0.09))


def test_bad_config_names_the_field():
    with pytest.raises(ConfigError, match="intensity"):
        NaturalIndicationConfig(intensity=(0.3, 0.1))
    with pytest.raises(ConfigError, match="images"):
        NaturalIndicationConfig(images=("eagle",))
