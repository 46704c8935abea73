"""The rotation axis, where a scan's ring artefacts converge.

Ring artefacts (detector pixels whose gain differs from their neighbours') are circles about
the rotation axis in every reconstructed plane. The innermost ones shrink to a dot on the axis,
a few voxels wide, dark or bright in the planes of the detector rows whose central pixels are
off: the size and darkness of a small pore, at the same place in every scan of that scanner.
Measured on the am-eval prism (tilted, so its thickest chords run through the axis): every
false call of the bundled detector and of the fine-tuned model `make cv` served lay on the axis
(0-0.2 voxels from it, at the same plane in the clean scan and three degraded ones), and the
plane-to-plane grey variation there was 2-3.3 times that 12 voxels away.

A region lying wholly within `radius` voxels of the axis is therefore an indication, never a
pore: a pore is only called there when it reaches beyond the zone (a pore wider than about
twice the radius). The axis is the grid's z axis through the (y, x) centre, where
reconstructions (ASTRA, FDK) put it unless told otherwise; a scan reconstructed elsewhere is
judged with the guard off (`axis_guard_vox` 0).
"""

from __future__ import annotations

import numpy as np

#: Radius (voxels) of the zone about the rotation axis where a region is an indication: holds
#: the 4 x 4 voxels about the axis of an even grid (corners excluded), 3 x 3 of an odd one.
AXIS_GUARD_VOX = 2.0


def axis_zone(shape_yx: tuple[int, int], radius: float) -> np.ndarray:
    """bool (y, x): the voxels whose centres lie within `radius` of the rotation axis (the
    grid's centre); all False when `radius` is 0.

    Example:
        >>> axis_zone((4, 4), 1.0).sum()  # the 2 x 2 voxels about the centre of an even grid
        4
    """
    rows, cols = int(shape_yx[0]), int(shape_yx[1])
    if radius <= 0:
        return np.zeros((rows, cols), bool)
    y = np.arange(rows) - (rows - 1) / 2.0
    x = np.arange(cols) - (cols - 1) / 2.0
    return np.hypot(y[:, None], x[None, :]) <= radius


def off_axis(shape: tuple[int, ...], radius: float) -> np.ndarray:
    """bool, broadcast to `shape` (z, y, x): voxels outside the axis zone (all True at radius 0)."""
    return np.broadcast_to(~axis_zone(shape[-2:], radius), shape)  # type: ignore[arg-type]
