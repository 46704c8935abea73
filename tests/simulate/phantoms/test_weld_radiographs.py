"""Weld radiographs: bead profile, correlated noise, indications with masks, OK/defect patches."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from porelab.errors import ConfigError
from porelab.simulate.phantoms import INDICATION_CLASSES, WeldSettings, weld_patches, weld_radiograph


@pytest.fixture(scope="module")
def radiograph():
    return weld_radiograph((384, 1024), seed=2, settings=WeldSettings(indications=10))


def test_image_mask_and_table_agree(radiograph):
    r = radiograph
    assert r.image.dtype == np.float32 and r.mask.dtype == np.uint8
    assert r.image.shape == r.mask.shape == (384, 1024)
    assert len(r.indications) == 10
    for _, row in r.indications.iterrows():
        pixels = r.instances == row.id
        assert pixels.sum() == row.area_px
        assert (r.mask[pixels] == row.class_code).all()
        assert INDICATION_CLASSES[row.class_code] == row.kind
    assert r.class_mask("porosity").sum() == (r.mask == 1).sum()


def test_bead_is_darker_than_the_plate_and_indications_brighter(radiograph):
    r = radiograph
    centre = np.rint(r.metadata["bead_centre_row"]).astype(int)
    cols = np.arange(r.image.shape[1])
    bead = r.image[centre, cols]
    plate = r.image[np.clip(centre + 120, 0, 383), cols]
    assert np.median(bead) < np.median(plate) - 0.1
    smooth = ndimage.gaussian_filter(r.image, 1.0)
    background = ndimage.uniform_filter(r.image, size=41)
    for _, row in r.indications.iterrows():
        pixels = r.instances == row.id
        assert (smooth - background)[pixels].mean() > 0


def test_noise_is_correlated_over_the_grain_length():
    settings = WeldSettings(indications=0, cap_height=0.0, grain_px=2.0, white_noise=0.0)
    image = weld_radiograph((384, 512), seed=0, settings=settings).image.astype(float)
    flat = image - image.mean()
    corr = [np.mean(flat[:, :-k] * flat[:, k:]) / flat.var() for k in (1, 4, 12)]
    # a Gaussian filter of sigma s gives exp(-k^2 / (4 s^2)): 0.94 at 1 px, 0.37 at 4, ~0 at 12
    assert corr[0] == pytest.approx(np.exp(-1 / 16), abs=0.05)
    assert corr[1] == pytest.approx(np.exp(-1.0), abs=0.08)
    assert abs(corr[2]) < 0.05


def test_patches_are_192_and_labelled_by_their_masks():
    patches = weld_patches(n_ok=6, n_defect=6, seed=1)
    assert patches.images.shape == (12, 192, 192) and patches.images.dtype == np.float32
    assert patches.labels.sum() == 6
    for image_mask, label in zip(patches.masks, patches.labels):
        assert bool(image_mask.any()) == bool(label)


def test_bad_weld_settings_raise():
    with pytest.raises(ConfigError, match="kinds"):
        WeldSettings(kinds={"spatter": 1.0})
    with pytest.raises(ConfigError, match="shape"):
        weld_radiograph((100, 100))
