"""Bounded-memory scans: simulated and reconstructed slab by slab of detector rows, to disk.

On the CPU path every detector row sees one slice of the part (a fan per slice), so a slab of
rows needs only its own slices of the phantom, plus `blur_halo` slices on each side for the
detector blur that mixes neighbouring rows. A slab task projects those slices, records its
counts with one random stream per detector row (`record_counts(first_row=...)`: the counts do
not depend on how the rows are cut), thins them into every requested degraded copy the same
way, and reconstructs its slices of each. The caller reads the phantom's slices and writes the
returned slices into the scans' volumes (memory-mapped files) as they come back, at most
`executor.workers` slabs at a time, so no process holds a projection stack or a reconstructed
volume: a slab's frames are (angles x rows x columns) and nothing more.

The in-memory path (`simulate` + `degrade` + `reconstruct`) draws one stream over the whole
stack instead, so the two agree in every noise-free step and in their noise statistics, not
voxel for voxel. Written here because ASTRA's 2D CPU code has no streaming driver of its own.
"""

from __future__ import annotations

import resource
from dataclasses import dataclass, replace
from typing import Any, Callable, Mapping

import numpy as np

from porelab.errors import ConfigError
from porelab.simulate.scanner.degradations import degrade
from porelab.simulate.scanner.exposure import (
    detector_gains,
    detector_signal,
    expected_primary,
    flats_and_darks,
    record_counts,
)
from porelab.simulate.scanner.geometry import SliceGeometry, slice_geometry
from porelab.simulate.scanner.gpu import resolve_device
from porelab.simulate.scanner.preprocess import to_line_integrals
from porelab.simulate.scanner.projector import PhantomLike, attenuating_labels, project_slab, solid_maps
from porelab.simulate.scanner.reconstruction import ReconOptions, reconstruct_slab
from porelab.simulate.scanner.slabs import Executor, slab_bounds, stream_slabs
from porelab.simulate.scanner.spec import ScanSpec
from porelab.volume import Projections

#: One degraded copy: (keep every k-th projection, fraction of the exposure); (1, 1.0) is the scan itself.
Degradation = tuple[int, float]
#: Fewest rows per slab; a blurred scan takes 16 per halo row, so its halos cost at most 1/8 more
#: projection, unless that would hold more than `TASK_MEMORY_BYTES` in one task.
DEFAULT_SLAB_ROWS = 8
TASK_MEMORY_BYTES = 2 << 30


@dataclass(frozen=True)
class PhantomSlab:
    """The phantom slices a slab task projects: its rows and `halo` slices each side (fewer at the ends)."""

    materials: np.ndarray
    pore_fraction: np.ndarray
    first_row: int
    halo_before: int
    rows: int


def blur_halo(spec: ScanSpec) -> int:
    """Detector rows each side that the blur reaches (scipy's Gaussian is cut at four sigmas)."""
    return int(4.0 * spec.blur_px + 0.5) if spec.blur_px > 0 else 0


def slab_rows_for(spec: ScanSpec, shape: tuple[int, int, int], materials: int = 1) -> int:
    """Rows per slab task: 16 per blur halo row (at least `DEFAULT_SLAB_ROWS`), fewer where a
    task would otherwise hold more than `TASK_MEMORY_BYTES` (never under `DEFAULT_SLAB_ROWS`)."""
    rows = max(DEFAULT_SLAB_ROWS, 16 * blur_halo(spec))
    while rows > DEFAULT_SLAB_ROWS and _task_bytes(spec, shape, rows, materials, 1) > TASK_MEMORY_BYTES:
        rows -= 1
    return rows


def slab_signal(
    slab: PhantomSlab, labels: list[int], keys: list[str], spec: ScanSpec, geometry: dict[str, Any]
) -> np.ndarray:
    """Expected counts (angles, rows, cols) of the slab's own rows: projected, polychromatic,
    blurred and scattered, before gain and noise. Equal to the same rows of the whole stack's."""
    maps = solid_maps(slab.materials, slab.pore_fraction, labels)
    signal = detector_signal(expected_primary(project_slab(maps, geometry), keys, spec), spec)
    return np.ascontiguousarray(signal[:, slab.halo_before : slab.halo_before + slab.rows])


def simulate_slab(
    slab: PhantomSlab,
    labels: list[int],
    keys: list[str],
    spec: dict[str, Any],
    geometry: dict[str, Any],
    degradations: list[Degradation],
    options: ReconOptions,
) -> dict[str, Any]:
    """The reconstructed slices (copies, rows, ny, nx) of one slab, one per degradation, and the
    task's peak RSS in MiB."""
    scan_spec, geom = ScanSpec.from_dict(spec), SliceGeometry.from_dict(geometry)
    signal = slab_signal(slab, labels, keys, scan_spec, geometry)
    _, gain = detector_gains(signal.shape[2], scan_spec)
    counts = record_counts(signal, gain, scan_spec, stream=2, first_row=slab.first_row)
    del signal
    flats, darks = flats_and_darks(slab.rows, counts.shape[2], scan_spec, first_row=slab.first_row)
    full = Projections(counts=counts, angles=geom.angles, flats=flats, darks=darks, metadata={})
    slices = np.empty((len(degradations), slab.rows, geom.ny, geom.nx), np.float32)
    for index, (keep_every, exposure) in enumerate(degradations):
        copy = degrade(full, keep_every, exposure, seed=scan_spec.seed, first_row=slab.first_row)
        lines = to_line_integrals(copy, options.min_transmission)
        copy_geometry = replace(geom, angles=np.asarray(copy.angles)).to_dict()
        slices[index] = reconstruct_slab(lines, copy_geometry, "fbp", options)
    return {"slices": slices, "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


@dataclass
class StreamedResult:
    """What a streamed scan reports: its geometry, the slabs this call ran (resumed ones
    excluded) and the largest peak RSS of a process that ran them."""

    geometry: SliceGeometry
    slabs: int
    task_peak_rss_mib: float = 0.0


def simulate_streamed(
    phantom: PhantomLike,
    spec: ScanSpec,
    outputs: Mapping[Degradation, np.ndarray],
    executor: Executor = Executor(),
    slab_rows: int | None = None,
    options: ReconOptions = ReconOptions(),
    done: set[int] | None = None,
    on_slab: Callable[[int, int], None] | None = None,
) -> StreamedResult:
    """Simulate `phantom` with `spec` and write the FBP reconstruction of each degraded copy into
    `outputs[(keep_every, exposure)]` (writable (z, ny, nx) float32 arrays, e.g. memory maps).

    Args:
        phantom: materials, pore fraction (arrays or memory maps, read a slab at a time).
        spec: the scan; CPU path only (a true cone on a GPU is `simulate`'s).
        outputs: where each copy's slices go.
        executor: local or Ray; `executor.workers` slabs in flight at most.
        slab_rows: detector rows (slices) per task (default `slab_rows_for`).
        options: FBP filter and transmission floor.
        done: first rows of slabs already written (a resumed scan skips them).
        on_slab: called with (first_row, last_row) after a slab is written (progress, resume records).

    Example:
        >>> out = {(1, 1.0): np.lib.format.open_memmap("scan.npy", "w+", np.float32, (z, ny, nx))}
        >>> simulate_streamed(phantom, spec, out, Executor(kind="ray", workers=4))
    """
    if resolve_device(spec.device) == "gpu" and spec.geometry == "cone":
        raise ConfigError("simulate_streamed: a true cone scan on a GPU is simulated whole; use device='cpu' to stream")
    shape = phantom.materials.shape
    geom = slice_geometry(spec, shape, phantom.voxel_size)
    labels = attenuating_labels(phantom)
    keys = [phantom.material_names[label] for label in labels]
    halo, depth = blur_halo(spec), shape[0]
    rows = slab_rows or slab_rows_for(spec, shape, len(labels))
    bounds = [b for b in slab_bounds(depth, replace(executor, slab_rows=rows)) if b[0] not in (done or set())]
    result = StreamedResult(geometry=geom, slabs=len(bounds))

    def read(a: int, b: int) -> PhantomSlab:
        lo, hi = max(a - halo, 0), min(b + halo, depth)
        return PhantomSlab(
            materials=np.asarray(phantom.materials[lo:hi]),
            pore_fraction=np.asarray(phantom.pore_fraction[lo:hi], np.float32),
            first_row=a,
            halo_before=a - lo,
            rows=b - a,
        )

    def write(a: int, b: int, part: dict[str, Any]) -> None:
        for index, key in enumerate(outputs):
            outputs[key][a:b] = part["slices"][index]
        result.task_peak_rss_mib = max(result.task_peak_rss_mib, float(part["peak_rss_mib"]))
        if on_slab is not None:
            on_slab(a, b)

    stream_slabs(
        simulate_slab,
        bounds,
        read,
        write,
        executor=executor,
        task_memory=_task_bytes(spec, shape, rows, len(labels), len(outputs)),
        labels=labels,
        keys=keys,
        spec=spec.to_dict(),
        geometry=geom.to_dict(),
        degradations=list(outputs),
        options=options,
    )
    return result


def _task_bytes(spec: ScanSpec, shape: tuple[int, int, int], rows: int, materials: int, copies: int) -> int:
    geom = slice_geometry(spec, shape, (1.0, 1.0, 1.0))
    halo_rows = rows + 2 * blur_halo(spec)
    frames = geom.angles.size * halo_rows * geom.detector_cols * 4
    return int(
        frames * (materials + 5) + halo_rows * geom.ny * geom.nx * 5 + rows * geom.ny * geom.nx * 4 * (copies + 1)
    )


def slab_task_bytes(spec: ScanSpec, shape: tuple[int, int, int], materials: int = 1, copies: int = 1) -> int:
    """Bytes one slab task holds at its peak: its phantom slices (uint8 + float32), the line
    integrals of each material, the primary, signal and counts frames, a degraded copy's
    counts and line integrals, and its reconstructed slices (float32)."""
    return _task_bytes(spec, shape, slab_rows_for(spec, shape, materials), materials, copies)
