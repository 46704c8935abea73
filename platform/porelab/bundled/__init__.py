"""Detectors shipped inside the package, usable without training.

The folder is a read-only model registry (`porelab.registry`: one folder per model, `model.pt`,
`config.json`, `metrics.json`, `model_card.md`), so `porelab serve` can
serve it and `porelab predict --model porelab-am` finds it by name. Each folder's
`config.json` records the sha256 of its `model.pt` and of its out-of-distribution detector
`ood.pt`; both are checked before a model is used (they load with
`torch.load(weights_only=True)` in any case).
`porelab.sweep.detector.pretrain` writes a new bundle.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from porelab.checksum import sha256
from porelab.errors import ConfigError
from porelab.registry import CONFIG, MODEL, OOD, read_model_config

BUNDLED_ROOT = Path(__file__).resolve().parent


def bundled_root() -> Path:
    """The folder of the bundled detectors (a registry `porelab serve` can serve)."""
    return BUNDLED_ROOT


def bundled_names() -> list[str]:
    """The names of the bundled detectors, sorted."""
    return sorted(d.name for d in BUNDLED_ROOT.iterdir() if (d / MODEL).is_file() and (d / CONFIG).is_file())


def bundled_config(name: str) -> dict[str, Any]:
    """The bundle's `config.json` (what it was trained on, its operating point, its figures)."""
    if name not in bundled_names():
        raise ConfigError(f"bundled detector {name!r}: not in this package; expected one of {bundled_names()}")
    return read_model_config(BUNDLED_ROOT / name)


def bundled_model(name: str) -> Path:
    """The checked weights of the bundled detector `name` (a registry folder's model.pt).

    Raises `ConfigError` naming the file when its sha256 differs from the one its config records.
    """
    config = bundled_config(name)
    weights = BUNDLED_ROOT / name / MODEL
    _check(weights, config.get("sha256"), "sha256", name)
    if "ood_sha256" in config:
        _check(BUNDLED_ROOT / name / OOD, config["ood_sha256"], "ood_sha256", name)
    return weights


def _check(path: Path, expected: str | None, field: str, name: str) -> None:
    actual = sha256(path) if path.is_file() else "missing"
    if expected != actual:
        raise ConfigError(
            f"{path}: sha256 {actual}; expected {expected} (field {field!r} of "
            f"{BUNDLED_ROOT / name / CONFIG}): the bundled files are damaged or replaced"
        )


def is_bundled_name(text: str) -> bool:
    """Whether `text` names a bundled detector rather than a path."""
    return "/" not in text and text in bundled_names()
