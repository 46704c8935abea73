"""Bundled detectors as cross-validation candidates, fine-tuned per fold.

`--models porelab-am-tuned` trains, in each fold, the bundled `porelab-am` further on the fold's
training scans, starting from its weights (Fuchs et al.: a detector trained on simulated scans,
then fine-tuned on scans of the part at hand). It keeps the detector's own architecture, patch
size, sampler and augmentation, takes the profile's epoch and patch budget and workers, at
`LR_FACTOR` of the profile's learning rate so the few epochs adapt rather than overwrite it.
The trial is calibrated, scored and selected like every other candidate. When it is served,
the registry copies the bundle's scan check (`ood.pt`, trained on the many scans the detector
learned from) instead of training one on the fold's few cylinders, which would call every other
part shape out of distribution.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

from porelab.bundled import OOD, bundled_config, bundled_model, bundled_names
from porelab.config import apply_overrides
from porelab.train.config import TrainConfig, finetuning_config, profile

SUFFIX = "-tuned"
LR_FACTOR = 0.3


def tuned_base(name: str) -> str | None:
    """The bundled detector a candidate name fine-tunes ('porelab-am-tuned' -> 'porelab-am'),
    None for any other name."""
    stem = name[: -len(SUFFIX)] if name.endswith(SUFFIX) else ""
    return stem if stem and stem in bundled_names() else None


def tuned_train_config(profile_name: str, name: str, overrides: list[str]) -> TrainConfig:
    """The TrainConfig of the candidate `name` at the budget of `profile_name`, then `overrides`
    (train and validation scans are set by the fold)."""
    stem = tuned_base(name)
    if stem is None:
        raise ValueError(f"{name!r} names no bundled detector")
    budget = profile(profile_name)
    base = TrainConfig.from_dict(bundled_config(stem)["train_config"])
    tuned = finetuning_config(
        base,
        str(bundled_model(stem)),
        epochs=budget.loop.max_epochs,
        patches_per_epoch=budget.stream.patches_per_epoch,
        val_patches=budget.stream.val_patches,
        lr=LR_FACTOR * budget.loop.lr,
    )
    tuned = replace(tuned, scaling=budget.scaling)
    return TrainConfig.from_dict(apply_overrides(tuned.to_dict(), overrides))


def copy_bundled_ood(name: str, folder: str | Path) -> dict[str, Any]:
    """Copy the bundle's `ood.pt` next to the served fine-tuned weights; the record for the
    registry folder's config.json."""
    stem = tuned_base(name)
    if stem is None:
        raise ValueError(f"{name!r} names no bundled detector")
    source = bundled_model(stem).parent / OOD  # bundled_model checks both files' sha256 first
    target = Path(folder) / OOD
    shutil.copy(source, target.with_suffix(".partial"))
    target.with_suffix(".partial").replace(target)
    record = json.loads(json.dumps(bundled_config(stem)["ood_detector"]))
    return {**record, "copied_from": f"bundled {stem}"}
