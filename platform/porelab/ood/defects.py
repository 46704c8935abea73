"""Real defect indications cut from labelled weld radiographs, and pasting them into patches."""

from __future__ import annotations

import numpy as np

from porelab.errors import ConfigError
from porelab.simulate.phantoms import WeldRadiograph


def cut_indications(radiograph: WeldRadiograph, margin: int = 1) -> list[np.ndarray]:
    """One float32 cut-out per labelled indication: its bounding box grown by `margin`
    pixels, minus the mean of the box's 1-pixel border (the local background), so that
    added to another patch it carries the indication and not the grey level around it."""
    rows, cols = radiograph.image.shape
    cutouts = []
    for _, ind in radiograph.indications.iterrows():
        r0, c0 = max(int(ind.bbox_r0) - margin, 0), max(int(ind.bbox_c0) - margin, 0)
        r1, c1 = min(int(ind.bbox_r1) + margin, rows), min(int(ind.bbox_c1) + margin, cols)
        box = radiograph.image[r0:r1, c0:c1].astype(np.float32)
        if min(box.shape) < 3:
            continue
        cutouts.append(box - _border_mean(box))
    return cutouts


def paste(
    patch: np.ndarray, cutout: np.ndarray, rng: np.random.Generator, contrast: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """(patch + contrast * cutout at a random position, mask of the pasted box).

    A cut-out larger than the patch is cropped around its centre.
    """
    if patch.ndim != 2 or cutout.ndim != 2:
        raise ConfigError(f"paste: expected a 2D patch and cut-out, got {patch.shape} and {cutout.shape}")
    cutout = _crop_centre(cutout, patch.shape)
    r = int(rng.integers(0, patch.shape[0] - cutout.shape[0] + 1))
    c = int(rng.integers(0, patch.shape[1] - cutout.shape[1] + 1))
    out = patch.astype(np.float32, copy=True)
    mask = np.zeros(patch.shape, dtype=bool)
    window = (slice(r, r + cutout.shape[0]), slice(c, c + cutout.shape[1]))
    out[window] += np.float32(contrast) * cutout
    mask[window] = True
    return out, mask


def _border_mean(box: np.ndarray) -> float:
    border = np.concatenate([box[0], box[-1], box[1:-1, 0], box[1:-1, -1]])
    return float(border.mean())


def _crop_centre(cutout: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    starts = [max((n - s) // 2, 0) for n, s in zip(cutout.shape, shape)]
    return cutout[starts[0] : starts[0] + shape[0], starts[1] : starts[1] + shape[1]]
