"""The z slices of a CT volume that an OOD check looks at: evenly spaced slices, centre-cropped,
optionally normalised. The scan check (`porelab.ood.check`: `porelab predict` and the service) scores volumes on them and
`porelab.ood.registry_detector` trains the registry's detector on them, so both see the same
crops in the same grey-value units."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

SLICES = 16  # slices the service scores per upload
CROP = 128  # the central crop of each slice, at most CROP x CROP


def volume_slices(
    data: Any,
    normaliser: Callable[[np.ndarray], np.ndarray] | None = None,
    slices: int | None = SLICES,
    crop: int = CROP,
) -> np.ndarray:
    """float32 (n, rows, cols): up to `slices` evenly spaced z slices of `data` (every slice when
    None), each cropped to its central at most `crop` x `crop` pixels, passed through
    `normaliser` (e.g. `porelab.data.normalise.fit_normaliser(data)`; None keeps the grey
    values). `data` is an array or a `porelab.volume.Volume` (only those slices are read)."""
    depth, rows, cols = (int(n) for n in data.shape)
    r0, c0 = max(0, (rows - crop) // 2), max(0, (cols - crop) // 2)
    r1, c1 = r0 + min(rows, crop), c0 + min(cols, crop)
    if slices is None or slices >= depth:
        out = np.asarray(data[:, r0:r1, c0:c1])
    else:
        chosen = np.unique(np.linspace(0, depth - 1, max(1, slices)).astype(int))
        out = np.stack([np.asarray(data[int(z), r0:r1, c0:c1]) for z in chosen])
    out = np.array(out, dtype=np.float32) if normaliser is None else np.asarray(normaliser(out), dtype=np.float32)
    release = getattr(data, "release_pages", None)
    if release is not None:
        release()  # a memory-mapped file's pages read here leave this process's resident memory
    return out
