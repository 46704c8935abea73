"""The scans of a dataset directory, as training and validation code needs them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from porelab import volume
from porelab.data.normalise import PercentileNormaliser, fit_normaliser
from porelab.errors import ConfigError
from porelab.simulate.datasets.manifest import read_manifest, write_manifest


@dataclass(frozen=True)
class ScanRecord:
    """One scan: where its grey values, pore labels and materials (empty: none) are, and how to
    normalise it."""

    id: str
    role: str
    scan_path: str
    label_path: str
    shape: tuple[int, int, int]
    normaliser: PercentileNormaliser
    voxel_size: tuple[float, float, float] = (1.0, 1.0, 1.0)
    materials_path: str = ""


def require_dataset(root: str | Path) -> Path:
    """`root` as a Path when it holds a dataset's manifest.json, else a ConfigError that says where
    a relative path was looked for (a `ray job submit --working-dir` job runs in Ray's copy of
    that directory, which lacks git-ignored folders such as data/)."""
    import os

    root = Path(root)
    if (root / "manifest.json").exists():
        return root
    where = (
        ""
        if root.is_absolute()
        else (
            f" (relative to {os.getcwd()}; a job sent with `ray job submit "
            "--working-dir` runs in Ray's copy of that directory, without its "
            "git-ignored files: pass an absolute path the cluster can read)"
        )
    )
    raise ConfigError(
        f"{root}: no manifest.json{where}; expected a dataset directory (`porelab simulate --out {root}`)"
    )


def _manifest(root: Path) -> dict[str, Any]:
    return read_manifest(require_dataset(root))


def _intensity(root: Path, entry: dict[str, Any]) -> PercentileNormaliser:
    """From the manifest when stored there, else fitted now and written back (once per scan)."""
    stored = entry.get("intensity")
    if stored:
        return PercentileNormaliser.from_dict(stored)

    return fit_normaliser(volume.read(root / entry["files"]["scan"]))


def store_intensity_stats(root: str | Path) -> None:
    """Write each scan's normaliser into the manifest (entries that already have one are kept)."""
    root = Path(root)
    manifest = _manifest(root)
    changed = False
    for entry in manifest["scans"]:
        if not entry.get("intensity"):
            entry["intensity"] = _intensity(root, entry).to_dict()
            changed = True
    if changed:
        write_manifest(root, manifest)


def load_scans(
    root: str | Path, *, roles: Sequence[str] | None = None, ids: Sequence[str] | None = None
) -> list[ScanRecord]:
    """Scans of the dataset at `root`, filtered by role and/or id, in manifest order."""
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
        materials = entry["files"].get("materials")
        records.append(
            ScanRecord(
                entry["id"],
                entry["role"],
                str(scan_path),
                str(root / entry["files"]["labels"]),
                vol.shape,
                PercentileNormaliser.from_dict(entry["intensity"]),
                vol.voxel_size,
                str(root / materials) if materials else "",
            )
        )
    if not records:
        raise ConfigError(
            f"{root}: no scans with roles {list(roles or [])} / ids {list(ids or [])}; the manifest has {known}"
        )
    return records
