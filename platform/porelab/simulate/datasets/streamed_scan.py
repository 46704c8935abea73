"""A dataset's big scans, simulated slab by slab into a memory-mapped volume that survives interruption.

Scans of more than `STREAM_VOXELS` voxels (the `paper` profile's grids; no demo grid) go
through `scanner.streamed`: the reconstruction grows in `<scan>/scan.partial.npy` (written
row block by row block, never mapped, so the driver's memory does not grow with it), and
`<scan>/scan.partial.json` records the slabs already written, after each slab is flushed to
disk. A build started again continues at the first missing slab; the record also holds the
scan's spec, degradation, grid and slab size, so a partial volume of other settings is
started over, never mixed in.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from porelab import volume
from porelab.progress import counter
from porelab.simulate.datasets.presets import ScanPlan
from porelab.simulate.phantoms import Phantom
from porelab.simulate.scanner import Executor, ReconOptions, resolve_device
from porelab.simulate.scanner.streamed import simulate_streamed, slab_rows_for
from porelab.volume.atomic import write_text_atomic
from porelab.volume.npy import NpyRows

#: Grids larger than this (voxels) are simulated slab by slab: 200^3, above every demo grid.
STREAM_VOXELS = 200**3
PARTIAL_VOLUME = "scan.partial.npy"
PARTIAL_RECORD = "scan.partial.json"


def streams(plan: ScanPlan) -> bool:
    """Whether `plan` is simulated slab by slab (a true cone on a GPU is always simulated whole)."""
    on_gpu = plan.spec.geometry == "cone" and resolve_device(plan.spec.device) == "gpu"
    return int(np.prod(plan.shape)) > STREAM_VOXELS and not on_gpu


@dataclass
class _Partial:
    """The partial volume of one scan and the record of its written slabs."""

    folder: Path
    settings: dict[str, Any]

    @property
    def volume_path(self) -> Path:
        return self.folder / PARTIAL_VOLUME

    @property
    def record_path(self) -> Path:
        return self.folder / PARTIAL_RECORD

    def written(self) -> set[int]:
        """First rows of the slabs a previous run wrote with these settings (none otherwise)."""
        if not (self.volume_path.exists() and self.record_path.exists()):
            return set()
        record = json.loads(self.record_path.read_text())
        return set(record.get("done", [])) if record.get("settings") == self.settings else set()

    def record(self, done: set[int]) -> None:
        write_text_atomic(self.record_path, json.dumps({"settings": self.settings, "done": sorted(done)}) + "\n")

    def remove(self) -> None:
        self.volume_path.unlink(missing_ok=True)
        self.record_path.unlink(missing_ok=True)


def streamed_scan(root: Path, plan: ScanPlan, phantom: Phantom, executor: Executor) -> tuple[volume.Volume, Any]:
    """The reconstructed scan of `plan` (backed by its partial file) and a function that removes
    the partial files once the scan's own files are written."""
    shape = tuple(int(n) for n in phantom.materials.shape)
    # the phantom's named materials bound those present; counting them reads no voxel (the
    # present ones are found once, in `simulate_streamed`)
    materials = sum(1 for name in phantom.material_names.values() if name != "air")
    rows = slab_rows_for(plan.spec, shape, materials)
    settings = {
        "spec": plan.spec.to_dict(),
        "copy": [plan.keep_every, plan.exposure],
        "shape": list(shape),
        "slab_rows": rows,
    }
    partial = _Partial(root / plan.id, json.loads(json.dumps(settings)))
    partial.folder.mkdir(parents=True, exist_ok=True)
    done = partial.written()
    out = NpyRows(partial.volume_path) if done else NpyRows(partial.volume_path, shape, np.float32)
    if not done:
        partial.record(done)

    slabs = -(-shape[0] // rows)
    with counter(slabs, done=len(done), description=f"{plan.id}: slabs of {rows} slices") as advance:

        def on_slab(first: int, _last: int) -> None:
            done.add(first)  # NpyRows has synced the slab to disk before the record says so
            partial.record(done)
            advance()

        result = simulate_streamed(
            phantom,
            plan.spec,
            {(plan.keep_every, plan.exposure): out},
            executor,
            rows,
            done=done,
            on_slab=on_slab,
        )
    metadata = {
        "source": f"simulated:{phantom.name}",
        "algorithm": "fbp",
        "reconstruction_path": "slice-2d-cpu-streamed",
        "noise_streams": "per detector row",
        "center": None,
        "filter": ReconOptions().filter,
        "units": "1/mm",
        "scan_id": plan.id,
        "streaming": {
            "slab_rows": rows,
            "slabs_run": result.slabs,
            "slabs_resumed": len(done) - result.slabs,
            "task_peak_rss_mib": round(result.task_peak_rss_mib, 1),
        },
    }
    scan = np.load(partial.volume_path, mmap_mode="r")
    return volume.Volume(scan, phantom.voxel_size, metadata), partial.remove
