"""The dataset manifest: one entry per scan, with sha256 of every file.

The manifest is rewritten atomically after each scan's files are complete, so an entry
present in it means the scan's files were whole when it was written; a re-run trusts an
entry only when the files still match their checksums.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from porelab.checksum import sha256
from porelab.errors import ConfigError
from porelab.volume.atomic import write_text_atomic

MANIFEST = "manifest.json"
FORMAT = "porelab-dataset/1"


def read_manifest(root: Path) -> dict[str, Any]:
    """The manifest of `root`, or an empty one when the directory has none yet."""
    path = root / MANIFEST
    if not path.exists():
        return {"format": FORMAT, "scans": []}
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ConfigError(f"{path}: not valid JSON ({err}); expected a porelab dataset manifest") from err
    if manifest.get("format") != FORMAT:
        raise ConfigError(f"{path}: format {manifest.get('format')!r}; expected {FORMAT!r}")
    return manifest


def degraded_copies(root: Path, ids: list[str] | tuple[str, ...]) -> list[str]:
    """Ids of the dataset's degraded re-simulations (role "degraded") of the scans `ids`."""
    return [s["id"] for s in read_manifest(Path(root))["scans"] if s["role"] == "degraded" and s.get("source") in ids]


def selection_scans(root: Path) -> list[str]:
    """Ids of the dataset's selection scans (role "selection": parts of other shapes than the
    training ones, clean and degraded), which operating points are calibrated on and the
    cross-validation chooses its served model on."""
    return [s["id"] for s in read_manifest(Path(root))["scans"] if s["role"] == "selection"]


def calibration_scans(root: Path, validation_ids: list[str] | tuple[str, ...]) -> list[str]:
    """The held-out scans a model trained with `validation_ids` held out is calibrated on: those,
    their degraded copies and the selection scans (never a training or challenging scan)."""
    return [*validation_ids, *degraded_copies(root, validation_ids), *selection_scans(root)]


def with_absolute_files(root: Path, entry: dict[str, Any]) -> dict[str, Any]:
    """A copy of `entry` whose files are absolute paths into `root`, for a derived dataset's manifest
    (a label set, a cross-validation arm) that points at another dataset's scans."""
    return {**entry, "files": {k: str((Path(root) / v).resolve()) for k, v in entry["files"].items()}}


def write_manifest(root: Path, manifest: dict[str, Any]) -> None:
    write_text_atomic(root / MANIFEST, json.dumps(manifest, indent=2, default=str) + "\n")


def upsert_entry(manifest: dict[str, Any], entry: dict[str, Any]) -> dict[str, Any]:
    """The manifest with `entry` replacing any entry of the same id, entries kept in order of id."""
    scans = [s for s in manifest["scans"] if s["id"] != entry["id"]] + [entry]
    return {**manifest, "scans": sorted(scans, key=lambda s: s["id"])}


def file_problems(root: Path, entry: dict[str, Any]) -> list[str]:
    """Missing or changed files of one entry (empty when the scan is complete)."""
    problems = []
    for role, name in entry["files"].items():
        path = root / name
        if not path.exists():
            problems.append(f"{entry['id']}: {role} file {name} is missing")
        elif sha256(path) != entry["sha256"][role]:
            problems.append(f"{entry['id']}: {role} file {name} does not match its sha256")
    return problems


def verify(root: str | Path) -> dict[str, Any]:
    """Check every file of every scan against its sha256: {"ok", "scans", "problems"}."""
    root = Path(root)
    if not (root / MANIFEST).exists():
        raise ConfigError(f"{root}: no {MANIFEST}; expected a directory written by `porelab simulate`")
    manifest = read_manifest(root)
    problems = [p for entry in manifest["scans"] for p in file_problems(root, entry)]
    return {"dataset": str(root), "ok": not problems, "scans": len(manifest["scans"]), "problems": problems}
