"""Reading casting patch folders and the real-data check: a sound-vs-defect set with a known
difference (a bright disc), so the supervised classifier must separate it."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import ndimage
from skimage import io

from porelab.errors import ConfigError
from porelab.ood import ClassifierConfig, OODTrainingConfig, evaluate_castings, read_casting_patches

SIZE = 32


def _sound(rng: np.random.Generator, count: int) -> np.ndarray:
    return np.stack(
        [np.clip(0.5 + ndimage.gaussian_filter(rng.normal(0, 0.2, (SIZE, SIZE)), 1.5), 0, 1) for _ in range(count)]
    ).astype(np.float32)


def _with_disc(patches: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    rows, cols = np.mgrid[:SIZE, :SIZE]
    out = patches.copy()
    for patch in out:
        centre = rng.uniform(8, SIZE - 8, 2)
        patch[np.hypot(rows - centre[0], cols - centre[1]) < 4] += 0.3
    return np.clip(out, 0, 1)


def _write(folder, patches: np.ndarray) -> None:
    folder.mkdir(parents=True)
    for i, patch in enumerate(patches):
        io.imsave(folder / f"p{i:03d}.png", (patch * 255).round().astype(np.uint8), check_contrast=False)


@pytest.fixture(scope="module")
def castings(tmp_path_factory):
    root = tmp_path_factory.mktemp("castings")
    rng = np.random.default_rng(0)
    for split, count in (("train", 120), ("test", 40)):
        _write(root / split / "class_0", _sound(rng, count))
        _write(root / split / "class_1", _with_disc(_sound(rng, count), rng))
    return root


def test_folders_are_read_as_grey_values_in_0_1(castings):
    patches = read_casting_patches(castings)
    assert patches.train_sound.shape == (120, SIZE, SIZE) and patches.test_defect.shape == (40, SIZE, SIZE)
    first = io.imread(castings / "train" / "class_0" / "p000.png")
    np.testing.assert_allclose(patches.train_sound[0], first / 255.0, atol=1e-6)


def test_missing_folder_and_mixed_sizes_are_named(castings, tmp_path):
    with pytest.raises(ConfigError, match="class_0"):
        read_casting_patches(tmp_path)
    bad = tmp_path / "bad"
    for split in ("train", "test"):
        for folder in ("class_0", "class_1"):
            _write(bad / split / folder, np.zeros((2, SIZE, SIZE), np.float32))
    io.imsave(bad / "test" / "class_1" / "p002.png", np.zeros((16, 16), np.uint8), check_contrast=False)
    with pytest.raises(ConfigError, match="one size"):
        read_casting_patches(bad)


def test_the_classifier_separates_a_known_difference(castings):
    torch.set_num_threads(1)
    patches = read_casting_patches(castings)
    training = OODTrainingConfig(epochs=1, steps_per_epoch=20, model={"channels": (4, 8), "latent_dim": 4})
    classifier = ClassifierConfig(epochs=2, steps_per_epoch=40)
    table = evaluate_castings(patches, training, classifier, seed=0)
    assert set(table) == {"ae_none", "ae_natural", "supervised_classifier"}
    assert all(set(row) == {"sound (FPR)", "defect (TPR)", "auroc"} for row in table.values())
    assert table["supervised_classifier"]["auroc"] >= 0.95
    assert all(0.0 <= row["sound (FPR)"] <= 1.0 for row in table.values())
