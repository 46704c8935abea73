"""Simulated CT: phantoms with exact pore ground truth, the scanner, and benchmark datasets.

Re-exports both halves: `porelab.simulate.phantoms` (parts, pores, weld radiographs) and
`porelab.simulate.scanner` (acquisition, degradations, reconstruction). Datasets live in
`porelab.simulate.datasets` (imported on use: it pulls in the labeller and metrics).
"""

from porelab.simulate.phantoms import (
    AM_MATERIALS,
    INDICATION_CLASSES,
    MATERIAL_KEYS,
    PORE_KINDS,
    FibreLayout,
    HousingDesign,
    Phantom,
    PorePopulation,
    WeldPatches,
    WeldRadiograph,
    WeldSettings,
    am_cube,
    am_cylinder,
    cast_aluminium,
    composite,
    weld_patches,
    weld_radiograph,
)
from porelab.simulate.scanner import (
    AM_CUBE_PAPER,
    AM_CYLINDER_PAPER,
    CAST_PAPER,
    COMPOSITE_PAPER,
    Executor,
    ReconOptions,
    ScanSpec,
    degradation_grid,
    degrade,
    find_center,
    read_mat_sinogram,
    reconstruct,
    simulate,
)

__all__ = [
    "AM_CUBE_PAPER",
    "AM_CYLINDER_PAPER",
    "AM_MATERIALS",
    "CAST_PAPER",
    "COMPOSITE_PAPER",
    "Executor",
    "FibreLayout",
    "HousingDesign",
    "INDICATION_CLASSES",
    "MATERIAL_KEYS",
    "PORE_KINDS",
    "Phantom",
    "PorePopulation",
    "ReconOptions",
    "ScanSpec",
    "WeldPatches",
    "WeldRadiograph",
    "WeldSettings",
    "am_cube",
    "am_cylinder",
    "cast_aluminium",
    "composite",
    "degradation_grid",
    "degrade",
    "find_center",
    "read_mat_sinogram",
    "reconstruct",
    "simulate",
    "weld_patches",
    "weld_radiograph",
]
