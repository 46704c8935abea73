"""What `porelab info` reports: shape, dtype, voxel size, value range, a coarse histogram and memory.

Statistics are streamed slab by slab (two passes: range, then histogram), so a volume larger
than memory is described in bounded memory.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from porelab.progress import track
from porelab.volume.core import Projections, Volume

_SLAB_BYTES = 64 << 20


def _slabs(vol: Volume, description: str, progress: bool):
    thickness = vol.slab_thickness(_SLAB_BYTES)
    total = -(-vol.shape[0] // thickness)

    def read(z0: int) -> np.ndarray:
        slab = np.array(vol.data[z0 : z0 + thickness])
        vol.release_pages()
        return slab

    return track(
        (read(z0) for z0 in range(0, vol.shape[0], thickness)), total=total, description=description, enabled=progress
    )


def _finite(slab: np.ndarray) -> np.ndarray:
    return slab[np.isfinite(slab)] if np.issubdtype(slab.dtype, np.floating) else slab.ravel()


def _value_range(vol: Volume, progress: bool) -> tuple[float, float, float, int]:
    low, high, total, count = np.inf, -np.inf, 0.0, 0
    for slab in _slabs(vol, "range", progress):
        values = _finite(slab)
        if values.size:
            low, high = min(low, float(values.min())), max(high, float(values.max()))
            total += float(values.sum(dtype=np.float64))
            count += values.size
    return low, high, (total / count if count else float("nan")), count


def _histogram(vol: Volume, low: float, high: float, bins: int, progress: bool) -> np.ndarray:
    counts = np.zeros(bins, dtype=np.int64)
    if not np.isfinite(low):
        return counts
    for slab in _slabs(vol, "histogram", progress):
        counts += np.histogram(_finite(slab), bins=bins, range=(low, high if high > low else low + 1))[0]
    return counts


def describe(vol: Volume, *, bins: int = 10, progress: bool = False) -> dict[str, Any]:
    """A JSON-ready description of `vol`."""
    low, high, mean, finite = _value_range(vol, progress)
    counts = _histogram(vol, low, high, bins, progress)
    voxels = int(np.prod(vol.shape, dtype=np.int64))
    edges = np.linspace(low, high if high > low else low + 1, bins + 1) if np.isfinite(low) else []
    return {
        "path": vol.source,
        "format": vol.metadata.get("format"),
        "shape_zyx": list(vol.shape),
        "dtype": str(vol.dtype),
        "voxel_size_mm_zyx": list(vol.voxel_size),
        "voxel_size_source": vol.metadata.get("voxel_size_source"),
        "extent_mm_zyx": [n * s for n, s in zip(vol.shape, vol.voxel_size)],
        "min": low,
        "max": high,
        "mean": mean,
        "nonfinite_voxels": voxels - finite,
        "histogram": {"edges": [float(e) for e in edges], "counts": counts.tolist()},
        "memory_bytes": vol.nbytes,
        "memory_bytes_float32": voxels * 4,
        "lazy": vol.is_lazy,
    }


def describe_projections(proj: Projections) -> dict[str, Any]:
    """A JSON-ready description of projection data (data-exchange files)."""
    angles = np.rad2deg(proj.angles)
    return {
        "path": proj.metadata.get("source"),
        "format": proj.metadata.get("format"),
        "kind": "projections",
        "shape_angles_rows_cols": list(proj.shape),
        "dtype": str(proj.counts.dtype),
        "angles_deg": {"count": int(angles.size), "first": float(angles[0]), "last": float(angles[-1])},
        "angles_from": proj.metadata.get("angles_from"),
        "flats": 0 if proj.flats is None else int(proj.flats.shape[0]),
        "darks": 0 if proj.darks is None else int(proj.darks.shape[0]),
        "min": float(np.min(proj.counts)),
        "max": float(np.max(proj.counts)),
        "memory_bytes": int(proj.counts.nbytes),
    }


def _format_projections(desc: dict[str, Any]) -> str:
    angles = desc["angles_deg"]
    return "\n".join(
        [
            f"path        {desc['path']} ({desc['format']})",
            f"kind        projections: {' x '.join(map(str, desc['shape_angles_rows_cols']))} (angles, rows, cols)",
            f"dtype       {desc['dtype']}",
            f"angles      {angles['count']} from {angles['first']:g} to {angles['last']:g} deg ({desc['angles_from']})",
            f"flats/darks {desc['flats']} / {desc['darks']}",
            f"counts      min {desc['min']:g}  max {desc['max']:g}",
            f"memory      {_human_bytes(desc['memory_bytes'])}",
        ]
    )


def _human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.1f} TiB"


def format_description(desc: dict[str, Any], width: int = 40) -> str:
    """The human-readable form of `describe`'s result, with a text histogram."""
    if desc.get("kind") == "projections":
        return _format_projections(desc)
    z, y, x = desc["voxel_size_mm_zyx"]
    lines = [
        f"path        {desc['path']} ({desc['format']})",
        f"shape       {' x '.join(map(str, desc['shape_zyx']))} (z, y, x)",
        f"dtype       {desc['dtype']}",
        f"voxel size  {z:g} x {y:g} x {x:g} mm (from {desc['voxel_size_source']})",
        f"extent      {' x '.join(f'{e:g}' for e in desc['extent_mm_zyx'])} mm",
        f"values      min {desc['min']:g}  max {desc['max']:g}  mean {desc['mean']:g}",
        f"memory      {_human_bytes(desc['memory_bytes'])} as stored, "
        f"{_human_bytes(desc['memory_bytes_float32'])} as float32",
    ]
    if desc["nonfinite_voxels"]:
        lines.append(f"non-finite  {desc['nonfinite_voxels']} voxels (NaN or inf)")
    counts, edges = desc["histogram"]["counts"], desc["histogram"]["edges"]
    peak = max(counts) if counts else 0
    lines.append("histogram")
    for i, count in enumerate(counts):
        bar = "#" * (round(width * count / peak) if peak else 0)
        lines.append(f"  {edges[i]:>12.6g} .. {edges[i + 1]:<12.6g} {count:>12d} {bar}")
    return "\n".join(lines)
