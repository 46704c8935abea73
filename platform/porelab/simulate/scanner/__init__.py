"""The CT scanner: `ScanSpec`, `simulate`, `reconstruct`, degradations, real projections.

spec = ScanSpec(geometry="fan", n_projections=360, exposure=2e4)
projections = simulate(phantom, spec)           # Poisson counts, flats, dark
volume = reconstruct(projections, algorithm="fbp")
"""

from porelab.simulate.scanner.acquire import simulate
from porelab.simulate.scanner.center import CenterResult, find_center, sharpness
from porelab.simulate.scanner.degradations import (
    PAPER_EXPOSURES,
    PAPER_PROJECTION_STEPS,
    degradation_grid,
    degrade,
    keep_every_for_counts,
)
from porelab.simulate.scanner.geometry import SliceGeometry, slice_geometry
from porelab.simulate.scanner.gpu import cuda_available, resolve_device
from porelab.simulate.scanner.preprocess import read_mat_sinogram, recentre, select_rows, to_line_integrals
from porelab.simulate.scanner.reconstruction import ALGORITHMS, ReconOptions, reconstruct
from porelab.simulate.scanner.slabs import Executor, map_slabs
from porelab.simulate.scanner.spec import (
    AM_CUBE_PAPER,
    AM_CYLINDER_PAPER,
    CAST_PAPER,
    COMPOSITE_PAPER,
    EVAL_SCANNER_PAPER,
    ScanSpec,
    scaled_to_grid,
)

__all__ = [
    "ALGORITHMS",
    "AM_CUBE_PAPER",
    "AM_CYLINDER_PAPER",
    "CAST_PAPER",
    "COMPOSITE_PAPER",
    "EVAL_SCANNER_PAPER",
    "CenterResult",
    "Executor",
    "PAPER_EXPOSURES",
    "PAPER_PROJECTION_STEPS",
    "ReconOptions",
    "ScanSpec",
    "SliceGeometry",
    "cuda_available",
    "degradation_grid",
    "degrade",
    "find_center",
    "keep_every_for_counts",
    "map_slabs",
    "read_mat_sinogram",
    "recentre",
    "reconstruct",
    "resolve_device",
    "scaled_to_grid",
    "select_rows",
    "sharpness",
    "simulate",
    "slice_geometry",
    "to_line_integrals",
]
