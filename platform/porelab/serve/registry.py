"""The models a registry directory offers: one folder per model with model.pt, config.json,
metrics.json and model_card.md (written by `porelab.sweep.outputs.write_registry`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from porelab.errors import ConfigError
from porelab.ood.check import OOD_FILE


@dataclass(frozen=True)
class RegistryModel:
    name: str
    path: Path
    config: dict[str, Any]
    metrics: dict[str, Any]
    card: str

    @property
    def threshold(self) -> float:
        return float(self.config.get("threshold", 0.5))

    @property
    def version(self) -> str:
        """The checkpoint's modification time and size: changes whenever the weights are replaced."""
        stat = (self.path / "model.pt").stat()
        return f"{int(stat.st_mtime)}-{stat.st_size}"

    @property
    def ood_detector(self) -> Path | None:
        return self.path / OOD_FILE if (self.path / OOD_FILE).is_file() else None

    def describe(self) -> dict[str, Any]:
        """What GET /v1/models says about the model (the input expectations come from the card)."""
        patch = self.config.get("train_config", {}).get("patches", {}).get("patch")
        return {
            "name": self.name,
            "version": self.version,
            "architecture": self.config.get("model", self.name),
            "threshold": self.threshold,
            "metrics": self.metrics,
            "training_patch_zyx": patch,
            "ood_detector": "autoencoder" if self.ood_detector else "raster-spectrum",
            "input": _card_input(self.card),
            "model_card": self.card,
        }


def _card_input(card: str) -> str:
    for line in card.splitlines():
        if line.strip().startswith("- input:"):
            return line.split(":", 1)[1].strip()
    return "a CT volume (z, y, x)"


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ConfigError(f"registry: {path} is not valid JSON ({err})") from err


def read_registry(root: str | Path) -> list[RegistryModel]:
    """Every folder of `root` holding a model.pt, sorted by name."""
    root = Path(root)
    if not root.is_dir():
        raise ConfigError(f"registry {root}: not a directory")
    models = [
        RegistryModel(
            d.name,
            d,
            _read_json(d / "config.json"),
            _read_json(d / "metrics.json"),
            (d / "model_card.md").read_text(encoding="utf-8") if (d / "model_card.md").is_file() else "",
        )
        for d in sorted(root.iterdir())
        if (d / "model.pt").is_file()
    ]
    if not models:
        raise ConfigError(f"registry {root}: no model folder with a model.pt; expected the output of `make cv`")
    return models
