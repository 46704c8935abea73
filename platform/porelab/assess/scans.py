"""Scans with known pores, ready to be scored: grey values, normaliser, truth, and the part
found in them exactly as `porelab predict` finds it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from porelab import volume
from porelab.assess.truth import ScanTruth
from porelab.data.normalise import PercentileNormaliser, fit_normaliser
from porelab.data.scans import require_dataset
from porelab.errors import ConfigError
from porelab.simulate.datasets.manifest import read_manifest
from porelab.verdict import PartConfig, PartSegmentation, segment_part


@dataclass(frozen=True, eq=False)  # holds arrays
class EvaluationScan:
    """One scan to score: `role` is the dataset's ("good", "degraded", "evaluation", ...),
    `source` the clean scan a degraded copy was made from."""

    id: str
    role: str
    volume: np.ndarray
    normaliser: PercentileNormaliser
    voxel_size: tuple[float, float, float]
    truth: ScanTruth
    part: PartSegmentation
    entry: dict[str, Any] = field(default_factory=dict)

    @property
    def source(self) -> str | None:
        return self.entry.get("source")

    @classmethod
    def of_array(
        cls,
        scan_id: str,
        role: str,
        scan: np.ndarray,
        truth: ScanTruth,
        voxel_size: tuple[float, float, float],
        part_config: PartConfig = PartConfig(),
        entry: dict[str, Any] | None = None,
    ) -> "EvaluationScan":
        scan = np.asarray(scan, np.float32)
        return cls(
            scan_id,
            role,
            scan,
            fit_normaliser(scan),
            tuple(float(v) for v in voxel_size),  # type: ignore[arg-type]
            truth,
            segment_part(scan, part_config),
            entry or {},
        )

    @classmethod
    def of_dataset(cls, root: Path, entry: dict[str, Any], part_config: PartConfig = PartConfig()) -> "EvaluationScan":
        vol = volume.read(root / entry["files"]["scan"])
        return cls.of_array(
            entry["id"], entry["role"], vol.to_numpy(), ScanTruth.load(root, entry), vol.voxel_size, part_config, entry
        )


def manifest_entries(
    data: str | Path, ids: Sequence[str] | None = None, roles: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """The manifest entries of a dataset, filtered by id and/or role, in manifest order."""
    root = require_dataset(data)
    entries = read_manifest(root)["scans"]
    known = [e["id"] for e in entries]
    missing = [i for i in ids or () if i not in known]
    if missing:
        raise ConfigError(f"{root / 'manifest.json'}: scan ids {missing} not found; expected some of {known}")
    chosen = [e for e in entries if (not ids or e["id"] in ids) and (not roles or e["role"] in roles)]
    if not chosen:
        raise ConfigError(
            f"{root}: no scan with ids {list(ids or [])} / roles {list(roles or [])}; the manifest has {known}"
        )
    for entry in chosen:
        if not {"labels", "materials", "pores"} <= set(entry.get("files", {})):
            raise ConfigError(
                f"{root / 'manifest.json'}: scan {entry['id']!r} has no labels, materials and pores "
                "files; expected a simulated scan with its ground truth"
            )
    return chosen


def dataset_scans(
    data: str | Path,
    ids: Sequence[str] | None = None,
    roles: Sequence[str] | None = None,
    part_config: PartConfig = PartConfig(),
) -> list[EvaluationScan]:
    """Every chosen scan of a dataset, loaded (small datasets: each scan is held in memory)."""
    root = Path(data)
    return [EvaluationScan.of_dataset(root, entry, part_config) for entry in manifest_entries(root, ids, roles)]
