"""Real casting radiograph patches as a real-data check of the weld OOD detectors.

The patches are 32 x 32 grey JPEGs cut from GDXray casting radiographs (as the pyxvis
examples distribute them), in the layout

    DIR/train/class_0/*.jpg   sound patches        DIR/train/class_1/*.jpg   defect patches
    DIR/test/class_0/*.jpg                         DIR/test/class_1/*.jpg

The autoencoders learn the sound training patches only (no perturbation, and natural-image
indications; there are no defect masks to cut real perturbations from), the supervised
classifier learns sound against defect training patches. Each is thresholded at the
target FPR on the sound training patches, then counted on the test patches.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from skimage import io

from porelab.errors import ConfigError
from porelab.evaluate import roc_auc
from porelab.ood.classifier import ClassifierConfig, train_labelled_classifier
from porelab.ood.training import OODTrainingConfig, train_detector

SPLITS = ("train", "test")
CLASSES = {"class_0": "sound", "class_1": "defect"}
CASTING_PERTURBATIONS = ("none", "natural")


@dataclass
class CastingPatches:
    """float32 (N, rows, cols) grey values in [0, 1] per split and class."""

    train_sound: np.ndarray
    train_defect: np.ndarray
    test_sound: np.ndarray
    test_defect: np.ndarray


def read_casting_patches(root: str | Path) -> CastingPatches:
    """The four folders of `root` (see the module docstring), each read in name order."""
    root = Path(root)
    found = {
        (split, label): _read_folder(root / split / folder) for split in SPLITS for folder, label in CLASSES.items()
    }
    shapes = {array.shape[1:] for array in found.values()}
    if len(shapes) != 1:
        raise ConfigError(f"casting patches {root}: every patch must have one size, got sizes {sorted(shapes)}")
    return CastingPatches(
        found["train", "sound"], found["train", "defect"], found["test", "sound"], found["test", "defect"]
    )


def _read_folder(folder: Path) -> np.ndarray:
    files = sorted(p for p in folder.glob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".tif", ".tiff"))
    if not files:
        raise ConfigError(f"casting patches {folder}: expected image files (.jpg, .png, .tif), found none")
    images = []
    for path in files:
        image = io.imread(path)
        if image.ndim == 3:
            image = image[..., :3].mean(axis=-1)
        if image.ndim != 2:
            raise ConfigError(f"casting patch {path}: expected a grey 2D image, got shape {image.shape}")
        images.append(image)
    if len({image.shape for image in images}) != 1:
        raise ConfigError(
            f"casting patches {folder}: every patch must have one size, got {sorted({image.shape for image in images})}"
        )
    scale = 65535.0 if max(float(image.max()) for image in images) > 255 else 255.0
    return (np.stack(images).astype(np.float32) / np.float32(scale)).astype(np.float32)


def evaluate_castings(
    patches: CastingPatches, training: OODTrainingConfig, classifier: ClassifierConfig, seed: int
) -> dict[str, dict[str, float]]:
    """{detector: {"sound (FPR)", "defect (TPR)", "auroc"}} for one training of each detector:
    fractions of test patches flagged, and the test ROC AUC of its score."""
    table: dict[str, dict[str, float]] = {}
    for perturbation in CASTING_PERTURBATIONS:
        detector = train_detector(patches.train_sound, replace(training, perturbation=perturbation, seed=seed))
        sound, defect = (
            detector.decide(torch.from_numpy(p[:, None])).scores for p in (patches.test_sound, patches.test_defect)
        )
        table[f"ae_{perturbation}"] = _row(sound, defect, 1.0)
    model = train_labelled_classifier(patches.train_sound, patches.train_defect, replace(classifier, seed=seed))
    sound, defect = (model.probabilities(p) for p in (patches.test_sound, patches.test_defect))
    table["supervised_classifier"] = _row(sound, defect, model.threshold)
    return table


def _row(sound_scores: np.ndarray, defect_scores: np.ndarray, threshold: float) -> dict[str, float]:
    labels = np.r_[np.zeros(len(sound_scores)), np.ones(len(defect_scores))]
    return {
        "sound (FPR)": float((sound_scores > threshold).mean()),
        "defect (TPR)": float((defect_scores > threshold).mean()),
        "auroc": roc_auc(np.r_[sound_scores, defect_scores], labels),
    }
