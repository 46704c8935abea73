"""What a scan is scored against: the exact pore instances, the part they lie in, the pore table."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from porelab import volume


@dataclass(frozen=True, eq=False)  # holds arrays
class ScanTruth:
    """`labels`: pore instance ids; `inside`: the part, pores included; `pores`: the pore table
    (id, equivalent_diameter_vox, defect_class, ...)."""

    labels: np.ndarray
    inside: np.ndarray
    pores: pd.DataFrame

    @classmethod
    def load(cls, root: Path, entry: dict[str, Any]) -> "ScanTruth":
        """From a dataset's files (labels.tif, materials.tif, pores.parquet of a manifest entry)."""
        files = entry["files"]
        labels = volume.read(root / files["labels"]).to_numpy().astype(np.int32)
        materials = volume.read(root / files["materials"]).to_numpy()
        return cls(labels, (materials > 0) | (labels > 0), pd.read_parquet(root / files["pores"]))

    @classmethod
    def of_phantom(cls, phantom: Any) -> "ScanTruth":
        """From a phantom (its pore instances, the part and its pore table)."""
        labels = phantom.pore_labels.astype(np.int32)
        return cls(labels, (phantom.materials > 0) | (labels > 0), phantom.pores)

    @property
    def sizes(self) -> pd.Series:
        """Equivalent diameter (voxels) by pore id."""
        return self.pores.set_index("id")["equivalent_diameter_vox"].astype(float)

    @property
    def porosity_percent(self) -> float:
        part = int(np.count_nonzero(self.inside))
        return 100.0 * int(np.count_nonzero(self.labels)) / part if part else float("nan")
