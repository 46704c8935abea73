"""The pore table of a phantom: the label package's measurements plus what only the generator
knows (kind, rendered void volume, internal or surface class)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from porelab.label import pore_table
from porelab.simulate.phantoms.canvas import PoreCanvas


def phantom_pores(canvas: PoreCanvas, voxel_size: tuple[float, float, float]) -> pd.DataFrame:
    """One row per placed pore (ids 1..n in placement order)."""
    table = pore_table(canvas.labels, voxel_size=voxel_size, object_mask=canvas.solid).table
    index = table["id"].to_numpy() - 1
    table.insert(1, "kind", np.asarray(canvas.kinds, dtype=object)[index])
    table["defect_class"] = np.where(table["touches_surface"], "surface", "internal")
    table["void_volume_vox"] = np.asarray(canvas.void_volumes)[index]
    return table


def achieved_porosity(canvas: PoreCanvas) -> float:
    """Void volume (partial-volume fractions) over the part volume, in %."""
    return 100.0 * float(canvas.fraction.sum()) / max(float(canvas.solid.sum()), 1.0)
