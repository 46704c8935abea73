"""k-fold cross-validation over the training scans of a dataset: a fold leaves scans out."""

from __future__ import annotations

from dataclasses import dataclass

from porelab.errors import ConfigError


@dataclass(frozen=True)
class Fold:
    index: int
    train_ids: tuple[str, ...]
    val_ids: tuple[str, ...]


def make_folds(scan_ids: list[str], k: int) -> list[Fold]:
    """k folds over `scan_ids` (in order); with k = len(scan_ids) each fold leaves one scan out."""
    if not 2 <= k <= len(scan_ids):
        raise ConfigError(f"folds = {k}; expected between 2 and the {len(scan_ids)} training scans")
    groups = [scan_ids[i::k] for i in range(k)]
    return [Fold(i, tuple(s for s in scan_ids if s not in group), tuple(group)) for i, group in enumerate(groups)]
