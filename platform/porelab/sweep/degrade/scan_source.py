"""What a sweep re-simulates and scores: a dataset scan's phantom and spec.

A dataset stores each scan's labels, not its phantom (the partial-volume pore fractions the
scanner needs); the phantom is rebuilt from the dataset's preset plan, which is seeded, and
checked against the stored labels so a dataset from another porelab version is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from porelab import volume
from porelab.assess import ScanTruth
from porelab.data.scans import require_dataset
from porelab.errors import ConfigError
from porelab.simulate.datasets import preset_plans, read_manifest
from porelab.simulate.phantoms import Phantom
from porelab.simulate.scanner import ScanSpec

CHALLENGING = "challenging"


@dataclass(frozen=True)
class RebuiltScan:
    """A dataset scan as the simulator made it: phantom, acquisition, and the manifest entry."""

    id: str
    phantom: Phantom
    spec: ScanSpec
    entry: dict[str, Any]


def scan_truth(phantom: Phantom) -> ScanTruth:
    """The phantom's pore instances, the part (pores included) and its pore table."""
    return ScanTruth.of_phantom(phantom)


def _entry(manifest: dict[str, Any], root: Path, scan_id: str | None) -> dict[str, Any]:
    scans = manifest["scans"]
    if scan_id is None:
        found = [s for s in scans if s["role"] == CHALLENGING]
        if not found:
            raise ConfigError(f"--data {root}: no scan with role {CHALLENGING!r}; name one with --scan")
        return found[0]
    found = [s for s in scans if s["id"] == scan_id]
    if not found:
        raise ConfigError(
            f"--scan {scan_id!r}: not in {root / 'manifest.json'}; expected one of {[s['id'] for s in scans]}"
        )
    return found[0]


def _plan(manifest: dict[str, Any], root: Path, scan_id: str) -> Any:
    preset, profile = manifest.get("preset"), manifest.get("profile")
    if preset is None or profile is None:
        raise ConfigError(
            f"{root / 'manifest.json'}: no preset/profile; expected a dataset written by "
            "`porelab simulate` (its phantoms are rebuilt from the preset)"
        )
    plans = {p.id: p for p in preset_plans(preset, profile)}
    if scan_id not in plans:
        raise ConfigError(
            f"--scan {scan_id!r}: preset {preset!r} ({profile}) has no such scan; expected one of {sorted(plans)}"
        )
    return plans[scan_id]


def _check_labels(root: Path, entry: dict[str, Any], phantom: Phantom) -> None:
    stored = volume.read(root / entry["files"]["labels"]).to_numpy()
    if stored.shape != phantom.pore_labels.shape or not np.array_equal(stored, phantom.pore_labels):
        raise ConfigError(
            f"{root / entry['files']['labels']}: the rebuilt phantom of {entry['id']!r} differs "
            "from the stored labels; expected a dataset from this porelab version "
            "(re-run `porelab simulate`)"
        )


def rebuilt_scan(data: str | Path, scan_id: str | None = None) -> RebuiltScan:
    """Scan `scan_id` of the dataset at `data` (default: its challenging scan), phantom rebuilt."""
    root = Path(data)
    require_dataset(root)
    manifest = read_manifest(root)
    entry = _entry(manifest, root, scan_id)
    if int(entry.get("keep_every", 1)) != 1 or entry.get("source"):
        raise ConfigError(
            f"--scan {entry['id']!r}: a degraded copy of {entry.get('source') or 'another scan'}; "
            "expected a full scan (the sweep degrades it itself)"
        )
    phantom = _plan(manifest, root, entry["id"]).build_phantom()
    _check_labels(root, entry, phantom)
    return RebuiltScan(entry["id"], phantom, ScanSpec.from_dict(entry["scan"]), entry)
