"""Keeping a streaming pass's memory bounded in the allocator, not only in the algorithm.

glibc raises its mmap threshold each time a large block is freed, after which big
temporary arrays come from the heap and are not handed back to the system: resident memory
ratchets up slab after slab although each slab is freed. Fixing the threshold keeps every
large array in its own mapping, returned to the system when it is freed.
"""

from __future__ import annotations

import ctypes
import ctypes.util

_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number
_THRESHOLD_BYTES = 1 << 20


def release_large_blocks() -> bool:
    """Pin glibc's mmap threshold at 1 MiB (no-op elsewhere); True when it took effect."""
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        return bool(libc.mallopt(_M_MMAP_THRESHOLD, _THRESHOLD_BYTES))
    except (OSError, AttributeError):
        return False
