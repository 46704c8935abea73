"""What building a dataset needs, known before it runs: voxels, projections, CPU-hours,
memory per task and in the driver, and disk (`porelab simulate --plan`).

CPU time is ASTRA's projection and FBP work, the bulk of a scan: seconds per ray and voxel
measured on this project's 2-core CI machine at 256^2 slices with 360 projections, one thread
(strip kernel: 1.46e-8 s parallel, 1.77e-8 s fan; FBP 4.3e-9 s and 4.8e-9 s). Phantom
building, noise and file writing come on top (a few per cent at the demo sizes). A streamed
scan projects its full projection count once per degraded copy, plus its slabs' blur halos;
a whole scan projects once per phantom and shares it with its copies.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from porelab.simulate.datasets.presets import ScanPlan
from porelab.simulate.datasets.streamed_scan import streams
from porelab.simulate.scanner import slice_geometry
from porelab.simulate.scanner.streamed import blur_halo, slab_rows_for, slab_task_bytes

_FP_SECONDS = {"parallel": 1.46e-8, "fan": 1.77e-8}
_FBP_SECONDS = {"parallel": 4.3e-9, "fan": 4.8e-9}
#: Driver bytes per phantom voxel while each part's phantom is built: the peak RSS growth measured
#: at 224^3 (the cylinder at 448 x 140 x 140; the housing at its paper size); parts not measured
#: (the randomized thin wall) take the largest. The finished phantom keeps about 10 (materials,
#: pore fraction, labels).
_PHANTOM_BYTES = {
    "bushing": 79,
    "housing": 69,
    "turned-cube": 48,
    "cylinder": 47,
    "prism": 43,
    "composite": 32,
    "cube": 28,
}
_PHANTOM_BYTES_UNMEASURED = 80


@dataclass(frozen=True)
class ScanNeeds:
    """One planned scan's needs; bytes and CPU-hours are estimates (see the module docstring)."""

    id: str
    shape: tuple[int, int, int]
    projections: int
    kept_projections: int
    streamed: bool
    cpu_hours: float
    task_bytes: int
    driver_bytes: int
    disk_bytes: int

    @property
    def voxels(self) -> int:
        return int(np.prod(self.shape))

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "shape": list(self.shape), "voxels": self.voxels}


def _materials(plan: ScanPlan) -> int:
    """Attenuating materials of the part: a composite names its phases with '+' (PA66+E-glass)."""
    return len(plan.material.split("+"))


def scan_needs(plan: ScanPlan, projects: bool) -> ScanNeeds:
    """`plan`'s needs; `projects`: whether this plan pays for the projections (a whole scan's
    copies share their phantom's; every streamed scan projects its own)."""
    geom = slice_geometry(plan.spec, plan.shape, (1.0, 1.0, 1.0))
    depth, kind = plan.shape[0], geom.kind
    angles, kept = geom.angles.size, -(-geom.angles.size // plan.keep_every)
    pixels, streamed, materials = geom.ny * geom.nx, streams(plan), _materials(plan)
    voxels = int(np.prod(plan.shape))
    halo_share = 1.0 + (2 * blur_halo(plan.spec) / slab_rows_for(plan.spec, plan.shape, materials) if streamed else 0.0)
    project = _FP_SECONDS[kind] * angles * pixels * depth * materials * halo_share
    seconds = (project if streamed or projects else 0.0) + _FBP_SECONDS[kind] * kept * pixels * depth
    stack = angles * depth * geom.detector_cols * 4
    phantom = voxels * _PHANTOM_BYTES.get(plan.part, _PHANTOM_BYTES_UNMEASURED)
    if streamed:
        task, driver = slab_task_bytes(plan.spec, plan.shape, materials), phantom
    else:
        task = 0
        driver = max(phantom, voxels * 10 + stack * (materials + 4) + voxels * 4 * 2)
    own_truth = plan.source is None
    disk = voxels * 4 + (voxels * 5 if own_truth else 0) + (voxels * 4 if streamed else 0)
    return ScanNeeds(plan.id, plan.shape, angles, kept, streamed, seconds / 3600, task, driver, disk)


def dataset_needs(plans: list[ScanPlan]) -> list[ScanNeeds]:
    """Every plan's needs in build order (a whole scan projects once per phantom)."""
    seen: set[str] = set()
    needs = []
    for plan in plans:
        needs.append(scan_needs(plan, plan.phantom_key not in seen))
        seen.add(plan.phantom_key)
    return needs


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def format_needs(needs: list[ScanNeeds], workers: int) -> str:
    """A table of the scans and the totals; the wall time assumes `workers` slab tasks at a time."""
    lines = [
        f"{'scan':<34} {'grid (z, y, x)':<18} {'Mvoxels':>8} {'projections':>12} {'path':<9} "
        f"{'CPU-h':>7} {'task mem':>10} {'driver mem':>11} {'disk':>10}"
    ]
    for n in needs:
        grid = "x".join(str(v) for v in n.shape)
        shown = f"{n.kept_projections}/{n.projections}" if n.kept_projections != n.projections else str(n.projections)
        lines.append(
            f"{n.id:<34} {grid:<18} {n.voxels / 1e6:>8.1f} {shown:>12} {'streamed' if n.streamed else 'whole':<9} "
            f"{n.cpu_hours:>7.2f} {_size(n.task_bytes) if n.streamed else '-':>10} {_size(n.driver_bytes):>11} "
            f"{_size(n.disk_bytes):>10}"
        )
    total = sum(n.cpu_hours for n in needs)
    lines.append(
        f"total: {len(needs)} scans, {sum(n.voxels for n in needs) / 1e9:.2f} Gvoxels, {total:.1f} CPU-hours "
        f"(about {total / workers:.1f} h with {workers} slab tasks at a time), largest task "
        f"{_size(max((n.task_bytes for n in needs), default=0))}, driver up to "
        f"{_size(max((n.driver_bytes for n in needs), default=0))}, disk {_size(sum(n.disk_bytes for n in needs))} "
        "(streamed scans count their temporary partial volume)"
    )
    return "\n".join(lines)
