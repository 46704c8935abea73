"""Phantoms: parts on a voxel grid with pores whose shapes, partial volumes and instance ids
are known exactly, and 2D weld radiographs with indication masks. numpy/scipy only: pores are
implicit solids rendered inside their bounding boxes with supersampling near their surfaces.

One module per part family: `am` (Iuso et al.), `cast` (Fuchs et al.), `composite`
(Bertoldo et al.), `welds` and `weld_patches` (Lindgren & Zach).
"""

from porelab.simulate.phantoms.am import (
    AM_MATERIALS,
    BushingDesign,
    am_bushing,
    am_cube,
    am_cylinder,
    am_prism,
    am_turned_cube,
    phantom_from_solid,
)
from porelab.simulate.phantoms.cast import HousingDesign, cast_aluminium
from porelab.simulate.phantoms.composite import FibreLayout, composite
from porelab.simulate.phantoms.model import MATERIAL_KEYS, PORE_KINDS, Phantom, PorePopulation
from porelab.simulate.phantoms.weld_indications import INDICATION_CLASSES
from porelab.simulate.phantoms.weld_patches import WeldPatches, weld_patches
from porelab.simulate.phantoms.welds import WeldRadiograph, WeldSettings, weld_radiograph

__all__ = [
    "AM_MATERIALS",
    "BushingDesign",
    "FibreLayout",
    "HousingDesign",
    "INDICATION_CLASSES",
    "MATERIAL_KEYS",
    "phantom_from_solid",
    "PORE_KINDS",
    "Phantom",
    "PorePopulation",
    "WeldPatches",
    "WeldRadiograph",
    "WeldSettings",
    "am_bushing",
    "am_cube",
    "am_cylinder",
    "am_prism",
    "am_turned_cube",
    "cast_aluminium",
    "composite",
    "weld_patches",
    "weld_radiograph",
]
