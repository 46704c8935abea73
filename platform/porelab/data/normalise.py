"""Grey-value normalisation from robust percentiles of a volume."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from porelab.errors import ConfigError

_MAX_SAMPLES = 1_000_000  # ~5000 voxels below a 0.5 % percentile: plenty


@dataclass(frozen=True)
class PercentileNormaliser:
    """Maps grey value `low` to 0 and `high` to 1 (values outside are kept, not clipped).

    `low`/`high` are robust percentiles (default 0.5 % and 99.5 %) of the whole volume, so
    one bright artefact or a few dead pixels do not set the scale.
    """

    low: float
    high: float

    def __post_init__(self) -> None:
        if not np.isfinite([self.low, self.high]).all() or self.high <= self.low:
            raise ConfigError(f"normaliser: low = {self.low}, high = {self.high}; expected finite low < high")

    def __call__(self, values: np.ndarray) -> np.ndarray:
        """A new float32 array (one allocation: slabs of big volumes pass through here)."""
        out = np.subtract(values, np.float32(self.low), dtype=np.float32)
        out *= np.float32(1.0 / (self.high - self.low))
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "percentile", **asdict(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "PercentileNormaliser":
        if data.get("kind", "percentile") != "percentile":
            raise ConfigError(f"normaliser kind {data.get('kind')!r}; expected 'percentile'")
        return cls(float(data["low"]), float(data["high"]))


def strided_sample(vol: Any, max_samples: int = _MAX_SAMPLES) -> np.ndarray:
    """At most ~`max_samples` voxels on a regular grid, read slab by slab (bounded memory)."""
    shape = tuple(int(n) for n in vol.shape)
    total = int(np.prod(shape, dtype=np.int64))
    step = max(1, int(np.ceil((total / max_samples) ** (1 / 3))))
    parts = []
    for z in range(0, shape[0], step):
        parts.append(np.asarray(vol[z, ::step, ::step]).ravel())
        if hasattr(vol, "release_pages"):
            vol.release_pages()
    return np.concatenate(parts)


def fit_normaliser(vol: Any, percentiles: tuple[float, float] = (0.5, 99.5)) -> PercentileNormaliser:
    """A `PercentileNormaliser` from a regular sample of `vol` (array or `Volume`)."""
    sample = strided_sample(vol)
    sample = sample[np.isfinite(sample)] if np.issubdtype(sample.dtype, np.floating) else sample
    low, high = np.percentile(sample, percentiles)
    if high <= low:  # a (nearly) constant volume: keep a unit scale rather than divide by zero
        high = low + 1.0
    return PercentileNormaliser(float(low), float(high))
