"""The scans of a dataset directory, as training and validation code needs them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from porelab.data.normalise import PercentileNormaliser, fit_normaliser
from porelab.errors import ConfigError


@dataclass(frozen=True)
class ScanRecord:
    """One scan: where its grey values and pore labels are, and how to normalise it."""

    id: str
    role: str
    scan_path: str
    label_path: str
    shape: tuple[int, int, int]
    normaliser: PercentileNormaliser
    voxel_size: tuple[float, float, float] = (1.0, 1.0, 1.0)


def _manifest(root: Path) -> dict[str, Any]:
    from porelab.simulate.datasets.manifest import read_manifest

    if not (root / "manifest.json").exists():
        raise ConfigError(f"{root}: no manifest.json; expected a dataset directory (`porelab simulate --out`)")
    return read_manifest(root)


def _intensity(root: Path, entry: dict[str, Any]) -> PercentileNormaliser:
    """From the manifest when stored there, else fitted now and written back (once per scan)."""
    stored = entry.get("intensity")
    if stored:
        return PercentileNormaliser.from_dict(stored)
    from porelab import volume

    return fit_normaliser(volume.read(root / entry["files"]["scan"]))


def store_intensity_stats(root: str | Path) -> None:
    """Write each scan's normaliser into the manifest (entries that already have one are kept)."""
    from porelab.simulate.datasets.manifest import write_manifest

    root = Path(root)
    manifest = _manifest(root)
    changed = False
    for entry in manifest["scans"]:
        if not entry.get("intensity"):
            entry["intensity"] = _intensity(root, entry).to_dict()
            changed = True
    if changed:
        write_manifest(root, manifest)


def load_scans(root: str | Path, *, roles: Sequence[str] | None = None,
               ids: Sequence[str] | None = None) -> list[ScanRecord]:
    """Scans of the dataset at `root`, filtered by role and/or id, in manifest order."""
    from porelab import volume

    root = Path(root)
    store_intensity_stats(root)
    manifest = _manifest(root)
    known = [e["id"] for e in manifest["scans"]]
    for wanted in ids or ():
        if wanted not in known:
            raise ConfigError(f"{root / 'manifest.json'}: scan id {wanted!r} not found; expected one of {known}")
    records = []
    for entry in manifest["scans"]:
        if (roles and entry["role"] not in roles) or (ids and entry["id"] not in ids):
            continue
        scan_path = root / entry["files"]["scan"]
        vol = volume.read(scan_path)
        records.append(ScanRecord(entry["id"], entry["role"], str(scan_path), str(root / entry["files"]["labels"]),
                                  vol.shape, PercentileNormaliser.from_dict(entry["intensity"]), vol.voxel_size))
    if not records:
        raise ConfigError(f"{root}: no scans with roles {list(roles or [])} / ids {list(ids or [])}; "
                          f"the manifest has {known}")
    return records
