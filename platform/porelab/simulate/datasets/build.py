"""Build a dataset: for each planned scan, phantom -> scan -> reconstruction -> files + manifest entry.

Every file is written atomically and the manifest entry last, so a re-run skips scans whose
files match their checksums and redoes the rest.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from porelab import volume
from porelab.errors import ConfigError
from porelab.simulate.datasets.baselines import baseline_metrics
from porelab.simulate.datasets.manifest import (
    FORMAT,
    file_problems,
    read_manifest,
    sha256,
    upsert_entry,
    write_manifest,
)
from porelab.simulate.datasets.lock import dataset_lock
from porelab.simulate.datasets.presets import ScanPlan, preset_plans, select_plans
from porelab.simulate.datasets.randomized import RandomizedConfig
from porelab.simulate.datasets.readme import write_preview, write_readme
from porelab.simulate.datasets.streamed_scan import streamed_scan, streams
from porelab.simulate.datasets.welds import build_welds
from porelab.simulate.phantoms import Phantom
from porelab.simulate.scanner import Executor, degrade, reconstruct, simulate
from porelab.volume import Projections
from porelab.volume.atomic import atomic_target

Report = Callable[[str], None]


def _write_table(phantom: Phantom, target: Path) -> None:
    table = phantom.pores.copy()
    if "type" not in table.columns and "kind" in table.columns:
        table["type"] = table["kind"]
    with atomic_target(target, overwrite=True) as tmp:
        table.to_parquet(tmp, index=False)


def _write_files(root: Path, plan: ScanPlan, phantom: Phantom, scan: volume.Volume) -> dict[str, str]:
    """The scan's files; a degraded copy shares its clean scan's labels, materials and pores
    (the same phantom) when that scan is written, and writes only its own scan and preview."""
    folder = root / plan.id
    folder.mkdir(parents=True, exist_ok=True)
    files = {"scan": f"{plan.id}/scan.tif", "preview": f"{plan.id}/mid_slices.png"}
    shared = plan.source is not None and all(
        (root / plan.source / name).exists() for name in ("labels.tif", "materials.tif", "pores.parquet")
    )
    truth = plan.source if shared else plan.id
    files.update(
        {"labels": f"{truth}/labels.tif", "materials": f"{truth}/materials.tif", "pores": f"{truth}/pores.parquet"}
    )
    volume.write(scan, root / files["scan"], overwrite=True)
    write_preview(np.asarray(scan.data), root / files["preview"])
    if shared:
        return files
    volume.write(
        phantom.pore_labels.astype(np.int32), root / files["labels"], voxel_size=phantom.voxel_size, overwrite=True
    )
    volume.write(phantom.materials, root / files["materials"], voxel_size=phantom.voxel_size, overwrite=True)
    _write_table(phantom, root / files["pores"])
    return files


def _entry(
    root: Path, plan: ScanPlan, phantom: Phantom, files: dict[str, str], baseline: dict[str, Any], seconds: float
) -> dict[str, Any]:
    spec = plan.spec.to_dict()
    return {
        "id": plan.id,
        "role": plan.role,
        "part": plan.part,
        "material": plan.material,
        "shape": list(phantom.materials.shape),
        "voxel_size_mm": list(phantom.voxel_size),
        "phantom_seed": phantom.seed,
        "keep_every": plan.keep_every,
        "exposure_fraction": plan.exposure,
        "source": plan.source,
        "baseline": plan.baseline,
        "porosity_percent": phantom.metadata.get("porosity_percent"),
        "pore_count": int(len(phantom.pores)),
        "scan": spec,
        "files": files,
        "sha256": {role: sha256(root / name) for role, name in files.items()},
        "preview": files["preview"],
        "otsu_baseline": baseline,
        "seconds": round(seconds, 2),
        **({"drawn": plan.drawn} if plan.drawn is not None else {}),
    }


class _Simulations:
    """The phantom and full scan of the current `phantom_key`, so a projection series builds its
    phantom and simulates once (plans of one phantom are adjacent)."""

    def __init__(self) -> None:
        self._key: str | None = None
        self._phantom: Phantom | None = None
        self._full: Projections | None = None

    def phantom(self, plan: ScanPlan) -> Phantom:
        if plan.phantom_key != self._key or self._phantom is None:
            self._key, self._phantom, self._full = plan.phantom_key, plan.build_phantom(), None
        return self._phantom

    def full_scan(self, plan: ScanPlan, executor: Executor) -> Projections:
        phantom = self.phantom(plan)
        if self._full is None:
            self._full = simulate(phantom, plan.spec, executor)
        return self._full


def _scan_in_memory(plan: ScanPlan, simulations: _Simulations, executor: Executor) -> volume.Volume:
    full = simulations.full_scan(plan, executor)
    projections = (
        degrade(full, keep_every=plan.keep_every, exposure=plan.exposure, seed=plan.spec.seed)
        if plan.degraded
        else full
    )
    scan = reconstruct(projections, executor=executor)
    return volume.Volume(np.asarray(scan.data, np.float32), scan.voxel_size, {**scan.metadata, "scan_id": plan.id})


def build_scan(
    root: Path, plan: ScanPlan, executor: Executor, simulations: _Simulations | None = None
) -> dict[str, Any]:
    """Simulate (or reuse), degrade, reconstruct, label and write one scan; its manifest entry.

    Scans over `STREAM_VOXELS` are simulated slab by slab (`streamed_scan`), the rest whole.
    """
    start = time.perf_counter()
    simulations = simulations or _Simulations()
    phantom = simulations.phantom(plan)
    finish = None
    if streams(plan):
        scan, finish = streamed_scan(root, plan, phantom, executor)
    else:
        scan = _scan_in_memory(plan, simulations, executor)
    scan = volume.Volume(scan.data, phantom.voxel_size, scan.metadata)
    baseline = baseline_metrics(plan.baseline, np.asarray(scan.data), phantom)
    files = _write_files(root, plan, phantom, scan)
    if finish is not None:
        finish()
    entry = _entry(root, plan, phantom, files, baseline, time.perf_counter() - start)
    return {**entry, "streaming": scan.metadata["streaming"]} if "streaming" in scan.metadata else entry


def _is_complete(root: Path, manifest: dict[str, Any], plan: ScanPlan) -> bool:
    entry = next((s for s in manifest["scans"] if s["id"] == plan.id), None)
    same_spec = (
        entry is not None
        and entry["scan"] == json.loads(json.dumps(plan.spec.to_dict()))
        and entry.get("keep_every", 1) == plan.keep_every
        and entry.get("exposure_fraction", 1.0) == plan.exposure
    )
    return same_spec and not file_problems(root, entry)


#: Sampling fields a set may be completed with other values of: more scans (each is drawn alone)
#: and more of them for validation, as long as no written scan changes its role (`_check_roles`).
_COUNTS = frozenset({"scans", "validation_scans"})


def _check_same_sampling(root: Path, manifest: dict[str, Any], sampling: dict[str, Any] | None) -> None:
    written = manifest.get("sampling")
    if written is None or sampling is None:
        return
    changed = sorted(k for k in set(written) | set(sampling) if written.get(k) != sampling.get(k) and k not in _COUNTS)
    if changed:
        raise ConfigError(
            f"{root / 'manifest.json'}: field 'sampling' differs in {changed}; the dataset was drawn "
            "with other ranges; expected the same ranges, or a new --out"
        )


def _check_roles(root: Path, manifest: dict[str, Any], plans: list[ScanPlan]) -> None:
    """A written scan keeps its role: a completed set never turns a training scan into a validation one."""
    planned = {p.id: p.role for p in plans}
    moved = sorted(e["id"] for e in manifest["scans"] if e["id"] in planned and e["role"] != planned[e["id"]])
    if moved:
        raise ConfigError(
            f"{root / 'manifest.json'}: scans {moved} have another 'role' in the new plan; expected "
            "the written roles kept (change the counts so that only new scans are validation ones, "
            "or use a new --out)"
        )


def build_dataset(
    out: str | Path,
    preset: str = "am-cylinders",
    profile: str = "demo",
    executor: Executor = Executor(),
    report: Report = lambda message: None,
    only: tuple[str, ...] | None = None,
    sampling: RandomizedConfig | None = None,
) -> dict[str, Any]:
    """Write (or complete) the dataset `preset` at `profile` into `out`; the final manifest.

    `only` restricts the build to some scan ids (tests, partial rebuilds); `sampling` sets the
    ranges of the `am-randomized` preset (recorded in the manifest; default: the ranges an
    existing set records, else `RandomizedConfig()`).
    """
    if preset == "welds":
        with dataset_lock(Path(out)):
            return build_welds(out, profile, report)
    recorded = read_manifest(Path(out)).get("sampling")
    if preset == "am-randomized" and sampling is None and recorded:
        sampling = RandomizedConfig.from_dict(recorded)  # completing a set keeps the ranges it was drawn with
    drawn_from = (sampling or RandomizedConfig()).to_dict() if preset == "am-randomized" else None
    return build_plans(
        out,
        preset_plans(preset, profile, sampling),
        {"preset": preset, "profile": profile},
        executor,
        report,
        only,
        drawn_from,
    )


def build_plans(
    out: str | Path,
    plans: list[ScanPlan],
    fields: dict[str, Any],
    executor: Executor = Executor(),
    report: Report = lambda message: None,
    only: tuple[str, ...] | None = None,
    sampling: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write (or complete) the scans of `plans` into `out`; `fields` (preset, profile, ...) go
    into the manifest, and `sampling`, the ranges drawn scans came from, too; `only` names the
    scans to build (an id no plan has is an error, raised before anything is written)."""
    wanted = {plan.id for plan in select_plans(plans, only, fields.get("preset", "this"))}
    root = Path(out)
    with dataset_lock(root):  # makes the folder
        manifest = {**read_manifest(root), "format": FORMAT, **fields}
        _check_same_sampling(root, manifest, sampling)
        _check_roles(root, manifest, plans)
        if sampling is not None:
            manifest["sampling"] = sampling
        simulations = _Simulations()
        for plan in plans:
            if plan.id not in wanted:
                continue
            if _is_complete(root, manifest, plan):
                report(f"{plan.id}: complete, skipped")
                continue
            entry = build_scan(root, plan, executor, simulations)
            manifest = upsert_entry(manifest, entry)
            write_manifest(root, manifest)
            base = entry["otsu_baseline"]
            streamed = entry.get("streaming")
            report(
                f"{plan.id}: {entry['seconds']:.1f} s, {base.get('method', 'otsu')} Dice {base['dice']:.3f}, "
                f"false calls {base['false_calls']}"
                + (
                    f"; streamed in slabs of {streamed['slab_rows']} rows ({streamed['slabs_resumed']} resumed), "
                    f"slab task peak RSS {streamed['task_peak_rss_mib']:.0f} MiB"
                    if streamed
                    else ""
                )
            )
        write_manifest(root, manifest)
        write_readme(root, manifest)
        return manifest


def summary_rows(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """Per item: id, seconds and the baseline's Dice where the item is a scan."""
    rows = []
    for entry in manifest["scans"]:
        base = entry.get("otsu_baseline") or {}
        rows.append(
            {
                "id": entry["id"],
                "seconds": entry.get("seconds"),
                "baseline": base.get("method"),
                "dice": base.get("dice"),
                "false_calls": base.get("false_calls"),
            }
        )
    return rows
