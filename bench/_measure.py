"""Helpers shared by the benchmarks: peak resident memory of a block of code, wall time."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


@dataclass
class Measured:
    seconds: float = 0.0
    peak_rss_growth_mib: float = 0.0


@contextlib.contextmanager
def measure() -> Iterator[Measured]:
    """Wall time and the growth of peak RSS (VmHWM, reset first via clear_refs) over the block."""
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS (Linux >= 4.0)
    base = _status_kib("VmRSS")
    result = Measured()
    start = time.perf_counter()
    yield result
    result.seconds = time.perf_counter() - start
    result.peak_rss_growth_mib = (_status_kib("VmHWM") - base) / 1024
