"""Small synthetic scans with exact pore labels, shared by tests (no simulator: fast)."""

import json

import numpy as np

from porelab import volume


def sphere_scan(shape, centres, radius, seed):
    """Grey part (1000) with dark spherical pores (200) plus noise; labels = pore ids."""
    rng = np.random.default_rng(seed)
    grid = np.indices(shape)
    labels = np.zeros(shape, np.int32)
    for i, centre in enumerate(centres, start=1):
        inside = sum((g - c) ** 2 for g, c in zip(grid, centre)) <= radius**2
        labels[inside] = i
    scan = np.where(labels > 0, 200.0, 1000.0) + rng.normal(0, 60, shape)
    return scan.astype(np.float32), labels


def write_dataset(root, scans):
    """A dataset directory in the manifest format: scan, labels, materials (the whole block is
    part) and the ground-truth pore table of each scan."""
    from porelab.label import pore_table

    entries = []
    for scan_id, role, scan, labels in scans:
        (root / scan_id).mkdir(parents=True)
        volume.write(scan, root / scan_id / "scan.npy", voxel_size=0.01)
        volume.write(labels, root / scan_id / "labels.npy", voxel_size=0.01)
        volume.write(np.ones(scan.shape, np.uint8), root / scan_id / "materials.npy", voxel_size=0.01)
        pore_table(labels, voxel_size=(0.01,) * 3).table.to_parquet(root / scan_id / "pores.parquet")
        files = {name: f"{scan_id}/{name}.npy" for name in ("scan", "labels", "materials")}
        entries.append({"id": scan_id, "role": role, "files": {**files, "pores": f"{scan_id}/pores.parquet"},
                        "sha256": {}})
    (root / "manifest.json").write_text(json.dumps({"format": "porelab-dataset/1", "scans": entries}))
    return root
