"""The trained-model registry: one folder per model, written by `make cv` (`runs/registry`), by
`jobs/pretrain.py` (the bundled detectors) and by the fine-tuning, read by `porelab predict
--model`, the service and the scan check. This module is the only one that knows the layout:

    <root>/<name>/model.pt        the checkpoint (`porelab.checkpoint`)
    <root>/<name>/config.json     what the model is, its operating point, its out-of-distribution
                                  detector's record and the input it expects ("input")
    <root>/<name>/metrics.json    its figures
    <root>/<name>/model_card.md   the same for people
    <root>/<name>/ood.pt          its out-of-distribution detector, when one was trained

("Registry" means this folder only; the catalogue of architectures is `porelab.models`.)
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from porelab.errors import ConfigError
from porelab.volume.atomic import write_text_atomic

MODEL, CONFIG, METRICS, CARD, OOD = "model.pt", "config.json", "metrics.json", "model_card.md", "ood.pt"
#: The input description of a model folder whose config.json has none (written before it was recorded).
DEFAULT_INPUT = "a CT volume (z, y, x)"


def read_model_config(folder: str | Path) -> dict[str, Any]:
    """A model folder's config.json ({} when the folder has none).

    Raises `ConfigError` naming the file when it is not a JSON object.
    """
    path = Path(folder) / CONFIG
    if not path.is_file():
        return {}
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ConfigError(f"registry: {path} is not valid JSON ({err}); expected the model folder's config") from err
    if not isinstance(config, dict):
        raise ConfigError(f"registry: {path} holds a {type(config).__name__}; expected a JSON object")
    return config


def write_model_folder(
    folder: str | Path,
    config: dict[str, Any],
    *,
    checkpoint: str | Path | None = None,
    metrics: dict[str, Any] | None = None,
    card: str | None = None,
) -> Path:
    """Write (or update) the model folder `folder`: a copy of `checkpoint` as model.pt, then
    config.json, metrics.json and model_card.md, each replaced atomically so a reader never
    sees half a file. `config` should say what input the model expects ("input"); a folder
    without it is described with `DEFAULT_INPUT`.

    Example:
        >>> write_model_folder("runs/registry/unet", {"model": "unet", "input": "a CT volume"},
        ...                    checkpoint="runs/cv-demo/trials/unet-fold0/best.pt", card="# unet\\n")
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if checkpoint is not None and Path(checkpoint).resolve() != (folder / MODEL).resolve():
        partial = folder / f".{MODEL}.partial"
        shutil.copy(checkpoint, partial)
        os.replace(partial, folder / MODEL)
    write_text_atomic(folder / CONFIG, json.dumps(config, indent=2, default=float) + "\n")
    if metrics is not None:
        write_text_atomic(folder / METRICS, json.dumps(metrics, indent=2, default=float) + "\n")
    if card is not None:
        write_text_atomic(folder / CARD, card)
    return folder


@dataclass(frozen=True)
class RegistryModel:
    """One model folder as the service and `porelab models` see it."""

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
        stat = (self.path / MODEL).stat()
        return f"{int(stat.st_mtime)}-{stat.st_size}"

    @property
    def ood_detector(self) -> Path | None:
        return self.path / OOD if (self.path / OOD).is_file() else None

    @property
    def checkpoint(self) -> Path:
        return self.path / MODEL

    @property
    def input(self) -> str:
        """The input the model expects, as config.json states it."""
        return str(self.config.get("input") or DEFAULT_INPUT)

    def describe(self) -> dict[str, Any]:
        """What GET /v1/models says about the model."""
        patch = self.config.get("train_config", {}).get("patches", {}).get("patch")
        return {
            "name": self.name,
            "version": self.version,
            "architecture": self.config.get("model", self.name),
            "threshold": self.threshold,
            "metrics": self.metrics,
            "training_patch_zyx": patch,
            "ood_detector": "autoencoder" if self.ood_detector else "raster-spectrum",
            "input": self.input,
            "model_card": self.card,
        }


def read_model(folder: str | Path) -> RegistryModel:
    """The model folder `folder` (its model.pt must exist)."""
    folder = Path(folder)
    if not (folder / MODEL).is_file():
        raise ConfigError(f"registry: {folder / MODEL} not found; expected a model folder written by `make cv`")
    metrics_path = folder / METRICS
    try:
        metrics = json.loads(metrics_path.read_text(encoding="utf-8")) if metrics_path.is_file() else {}
    except json.JSONDecodeError as err:
        raise ConfigError(f"registry: {metrics_path} is not valid JSON ({err})") from err
    card = (folder / CARD).read_text(encoding="utf-8") if (folder / CARD).is_file() else ""
    return RegistryModel(folder.name, folder, read_model_config(folder), metrics, card)


def read_registry(root: str | Path) -> list[RegistryModel]:
    """Every folder of `root` holding a model.pt, sorted by name."""
    root = Path(root)
    if not root.is_dir():
        raise ConfigError(f"registry {root}: not a directory")
    models = [read_model(d) for d in sorted(root.iterdir()) if (d / MODEL).is_file()]
    if not models:
        raise ConfigError(f"registry {root}: no model folder with a model.pt; expected the output of `make cv`")
    return models


def find_model(root: str | Path, name: str | None = None) -> RegistryModel:
    """The model `name` of the registry `root`; without a name, the one written last (newest model.pt)."""
    root = Path(root)
    found = sorted(root.glob(f"*/{MODEL}"), key=lambda p: p.stat().st_mtime) if root.is_dir() else []
    if not found:
        raise ConfigError(f"registry {root}: no <model>/{MODEL}; expected a model registry (run `make cv` first)")
    if name is None:
        return read_model(found[-1].parent)
    names = [p.parent.name for p in found]
    if name not in names:
        raise ConfigError(f"model {name!r}: not in the registry {root}; expected one of {names}")
    return read_model(root / name)
