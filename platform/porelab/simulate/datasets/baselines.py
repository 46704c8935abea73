"""The filter-based baselines reported in the manifest: voxel Dice, false calls, POD per size."""

from __future__ import annotations

from typing import Any

import numpy as np

from porelab.errors import ConfigError
from porelab.evaluate import detection_by_size, dice, false_calls
from porelab.label import otsu_pores
from porelab.simulate.phantoms import Phantom


def _multi_otsu_pores(scan: np.ndarray) -> np.ndarray:
    """Three-phase Otsu (pore < matrix < fibre): the darkest class is pore.

    For a block with no air around it, where Algorithm 1's object mask has nothing to find.
    """
    from skimage.filters import threshold_multiotsu

    low, _ = threshold_multiotsu(scan, classes=3)
    return scan < low


def _pore_mask(name: str, scan: np.ndarray) -> np.ndarray:
    if name == "otsu":
        return otsu_pores(scan).pore_mask
    if name == "multi-otsu":
        return _multi_otsu_pores(scan)
    raise ConfigError(f"baseline {name!r}: expected 'otsu' or 'multi-otsu'")


def _records(table: Any) -> list[dict[str, Any]]:
    rows = table.astype(object).to_dict(orient="records")
    return [{k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in row.items()} for row in rows]


def baseline_metrics(name: str, scan: np.ndarray, phantom: Phantom) -> dict[str, Any]:
    """Dice against the exact pore mask, false calls, and POD per equivalent-diameter bin."""
    mask = _pore_mask(name, scan)
    pod = detection_by_size(mask, phantom.pore_labels, phantom.pores)
    return {
        "method": name,
        "dice": float(dice(mask, phantom.pore_labels > 0)),
        "false_calls": int(false_calls(mask, phantom.pore_labels)),
        "pod": _records(pod),
    }
