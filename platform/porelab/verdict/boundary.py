"""Pore boundaries drawn where the grey values say, not where the network's score fades.

A network trained on one scanner draws the pores of another one too small: its score fades
before the pore's edge (on the evaluation preset the demo UNet found the pores but covered
about half of their voxels). Metrology draws a void's surface at the local ISO-50 grey value,
halfway between the void's own level and the material around it (the local surface
determination of industrial CT software). The refinement does that around every candidate
region: a part voxel within `radius` voxels of a region (6-connected, grown from it) joins
it when its grey value is under

    pore level + iso * (material level - pore level)

where the pore level is the darkest region voxel within `radius` and the material level the
Gaussian-weighted mean (sigma `MATERIAL_SIGMA`) of the part voxels away from every region.
The radius only guards against growing through noise; the grey surface bounds the pore.
Written here because scikit-image's and scipy's segmentations have no local ISO surface of
this kind; the filters are scipy's.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

MATERIAL_SIGMA = 2.0
_FACES = ndimage.generate_binary_structure(3, 1)


def refinement_halo(radius: int) -> int:
    """Planes a slab needs on each side for its refined candidates to equal the whole volume's:
    a voxel's outcome depends on the candidates within `radius` (its growth path and pore
    level) and on the material level, a Gaussian (cut at four sigmas) over voxels whose own
    status depends on candidates within `radius` again."""
    return 0 if radius <= 0 else 2 * radius + math.ceil(4 * MATERIAL_SIGMA)


def candidate_voxels(
    score: np.ndarray,
    inspected: np.ndarray,
    grow: float,
    scan: np.ndarray | None = None,
    radius: int = 0,
    iso: float = 0.5,
) -> np.ndarray:
    """The voxels a verdict's regions are made of: inspected voxels scoring at least `grow`,
    grown to their grey-value surface when `radius` > 0 (`refine_candidates`)."""
    mask = (score >= grow) & inspected
    return refine_candidates(mask, scan, inspected, radius, iso) if radius else mask


def refine_candidates(
    candidates: np.ndarray, scan: np.ndarray, inspected: np.ndarray, radius: int, iso: float = 0.5
) -> np.ndarray:
    """`candidates` grown to the local ISO surface of the grey `scan` (see the module docstring).

    Args:
        candidates: bool, the voxels the score puts in a region (within `inspected`).
        scan: the grey values, same shape; any linear scale.
        inspected: bool, where pores are looked for.
        radius: the farthest a region grows, in voxels (0: no refinement).
        iso: where between the pore level (0) and the material level (1) the surface lies.

    Example:
        >>> refined = refine_candidates(score >= 0.5, scan, seg.inspected, radius=2)
    """
    if radius <= 0 or not candidates.any():
        return candidates
    grey = np.asarray(scan, dtype=np.float32)
    reach = ndimage.binary_dilation(candidates, _FACES, iterations=radius) & inspected
    away = (inspected & ~reach).astype(np.float32)
    weight = ndimage.gaussian_filter(away, MATERIAL_SIGMA)
    material = ndimage.gaussian_filter(grey * away, MATERIAL_SIGMA)
    material = np.divide(material, weight, out=np.full_like(material, -np.inf), where=weight > 1e-3)
    pore = ndimage.minimum_filter(np.where(candidates, grey, np.inf), size=2 * radius + 1)
    darker = np.zeros_like(candidates)
    open_ = reach & ~candidates & np.isfinite(material) & np.isfinite(pore)
    darker[open_] = grey[open_] < pore[open_] + iso * (material[open_] - pore[open_])
    grown = candidates.copy()
    for _ in range(radius):
        step = ndimage.binary_dilation(grown, _FACES) & darker
        if not (step & ~grown).any():
            break
        grown |= step
    return grown
