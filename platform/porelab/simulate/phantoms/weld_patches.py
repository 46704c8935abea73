"""192 x 192 OK / defect patches cut along simulated welds, as Lindgren & Zach train on."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from porelab.errors import ConfigError
from porelab.simulate.phantoms.welds import WeldRadiograph, WeldSettings, weld_radiograph


@dataclass
class WeldPatches:
    images: np.ndarray  # float32 (n, size, size)
    masks: np.ndarray  # uint8 (n, size, size): indication class codes
    labels: np.ndarray  # uint8 (n,): 1 = defect (an indication in the patch), 0 = OK
    patches: pd.DataFrame  # per patch: radiograph seed, row, col, label, kinds present


def weld_patches(
    n_ok: int = 32,
    n_defect: int = 32,
    size: int = 192,
    seed: int = 0,
    radiograph_shape: tuple[int, int] = (384, 1536),
    settings: WeldSettings | None = None,
) -> WeldPatches:
    """Cut patches centred on the bead: defect patches around indications (shifted at random
    while the whole indication stays inside), OK patches where no indication pixel is within
    `size` / 8 of the patch. Radiographs use seeds seed, seed + 1, ... until both counts are met."""
    if n_ok < 0 or n_defect < 0 or size < 32:
        raise ConfigError(f"weld_patches: expected n_ok, n_defect >= 0 and size >= 32, got {n_ok}, {n_defect}, {size}")
    rows: list[dict] = []
    images, masks = [], []
    rng = np.random.default_rng(seed)
    for offset in range(1000):
        if _count(rows, 1) >= n_defect and _count(rows, 0) >= n_ok:
            break
        radiograph = weld_radiograph(radiograph_shape, seed=seed + offset, settings=settings)
        for corner, label in _corners(radiograph, size, rng):
            if _count(rows, label) >= (n_defect if label else n_ok):
                continue
            window = (slice(corner[0], corner[0] + size), slice(corner[1], corner[1] + size))
            images.append(radiograph.image[window])
            masks.append(radiograph.mask[window])
            kinds = sorted({radiograph.classes[c] for c in np.unique(masks[-1]) if c})
            rows.append(
                {
                    "radiograph_seed": seed + offset,
                    "row": corner[0],
                    "col": corner[1],
                    "label": label,
                    "kinds": ",".join(kinds),
                }
            )
    return WeldPatches(
        np.stack(images).astype(np.float32),
        np.stack(masks).astype(np.uint8),
        np.array([r["label"] for r in rows], dtype=np.uint8),
        pd.DataFrame(rows),
    )


def _count(rows: list[dict], label: int) -> int:
    return sum(1 for r in rows if r["label"] == label)


def _corners(radiograph: WeldRadiograph, size: int, rng: np.random.Generator) -> list[tuple[tuple[int, int], int]]:
    rows, cols = radiograph.image.shape
    centre = np.asarray(radiograph.metadata["bead_centre_row"])
    found = []
    for _, ind in radiograph.indications.iterrows():
        r = _jitter(ind.bbox_r0, ind.bbox_r1, size, rows, rng)
        c = _jitter(ind.bbox_c0, ind.bbox_c1, size, cols, rng)
        if r is not None and c is not None:
            found.append(((r, c), 1))
    margin = size // 8
    for c in range(0, cols - size + 1, size // 2):
        r = int(np.clip(centre[c + size // 2] - size / 2, 0, rows - size))
        near = radiograph.mask[max(r - margin, 0) : r + size + margin, max(c - margin, 0) : c + size + margin]
        if not near.any():
            found.append(((r, c), 0))
    return found


def _jitter(lo: int, hi: int, size: int, limit: int, rng: np.random.Generator) -> int | None:
    """A random window start that keeps [lo, hi) inside the window and the window in the image."""
    first, last = max(hi - size, 0), min(lo, limit - size)
    return None if first > last else int(rng.integers(first, last + 1))
