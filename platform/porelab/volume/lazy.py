"""A stack of 2-D slices read one at a time: TIFF pages and directories of slice files.

tifffile can memory-map only uncompressed, contiguous files; this wrapper makes every other
TIFF lazy too, so `vol[z0:z1]` reads z1 - z0 slices and nothing more.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np


def _normalise_key(key: Any, ndim: int) -> tuple[Any, ...]:
    key = key if isinstance(key, tuple) else (key,)
    if any(k is Ellipsis for k in key):
        at = next(i for i, k in enumerate(key) if k is Ellipsis)
        fill = (slice(None),) * (ndim - (len(key) - 1))
        key = key[:at] + fill + key[at + 1 :]
    return key + (slice(None),) * (ndim - len(key))


class SliceStack:
    """Array-like (shape, dtype, numpy indexing) over `read_slice(z) -> 2-D array`."""

    def __init__(self, shape: tuple[int, int, int], dtype: np.dtype, read_slice: Callable[[int], np.ndarray]) -> None:
        self.shape = tuple(int(n) for n in shape)
        self.dtype = np.dtype(dtype)
        self.ndim = 3
        self._read_slice = read_slice

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key: Any) -> np.ndarray:
        z_key, *rest = _normalise_key(key, 3)
        rest_key = tuple(rest)
        z_indices = np.arange(self.shape[0])[z_key]
        if np.ndim(z_indices) == 0:
            return np.asarray(self._read_slice(int(z_indices)))[rest_key]
        first_shape = np.empty(self.shape[1:], dtype=np.bool_)[rest_key].shape
        out = np.empty((len(z_indices),) + first_shape, dtype=self.dtype)
        for i, z in enumerate(z_indices):
            out[i] = np.asarray(self._read_slice(int(z)))[rest_key]
        return out

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = self[...]
        return out if dtype is None else out.astype(dtype, copy=False)
