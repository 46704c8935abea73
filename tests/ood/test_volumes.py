"""The slices an OOD check looks at: evenly spaced, centre-cropped, normalised."""

import numpy as np

from porelab.data.normalise import fit_normaliser
from porelab.ood.volumes import volume_slices
from porelab.volume import Volume


def test_up_to_16_evenly_spaced_central_crops():
    data = np.arange(40 * 150 * 60, dtype=np.float32).reshape(40, 150, 60)
    slices = volume_slices(data)
    z = np.unique(np.linspace(0, 39, 16).astype(int))
    assert slices.shape == (16, 128, 60) and slices.dtype == np.float32
    np.testing.assert_array_equal(slices, data[z, 11:139, :])
    assert volume_slices(data, slices=None).shape == (40, 128, 60)
    assert volume_slices(data[:5], crop=32).shape == (5, 32, 32)  # fewer slices than asked: all of them


def test_normalised_as_the_service_normalises_an_upload_and_volumes_read_lazily():
    rng = np.random.default_rng(0)
    data = rng.normal(100, 10, (20, 30, 30)).astype(np.float32)
    normaliser = fit_normaliser(data)
    expected = normaliser(data[np.unique(np.linspace(0, 19, 16).astype(int))])
    np.testing.assert_allclose(volume_slices(data, normaliser), expected)
    np.testing.assert_allclose(volume_slices(Volume(data), normaliser), expected)
