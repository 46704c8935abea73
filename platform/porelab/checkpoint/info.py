"""`CheckpointInfo`: the fields of a checkpoint that inference, evaluation and the registry read,
typed once (model name and family, sliding window, operating point) instead of as nested dicts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from porelab.errors import ConfigError
from porelab.models import model_spec
from porelab.verdict.operating_point import OperatingPoint, stored_operating_point


@dataclass(frozen=True)
class CheckpointInfo:
    """What a checkpoint says about its model, read from its payload (`read_checkpoint`).

    Example:
        >>> info = CheckpointInfo.from_payload(read_checkpoint("runs/unet/best.pt"))
        >>> info.model_name, info.family, info.window
        ('unet', 'supervised', (64, 64, 64))
    """

    model_name: str
    family: str
    window: tuple[int, int, int]
    operating_point: OperatingPoint
    calibrated: bool
    train_config: dict[str, Any]

    @property
    def anomaly(self) -> bool:
        """True for the unsupervised anomaly models (their score is a post-processed reconstruction error)."""
        return self.family == "anomaly"

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> "CheckpointInfo":
        try:
            train_config = payload["train_config"]
            name = str(payload["model_config"]["name"])
            window = tuple(int(w) for w in train_config["patches"]["patch"])
        except (KeyError, TypeError) as err:
            raise ConfigError(
                f"checkpoint: field {err} missing; expected a checkpoint written by porelab train"
            ) from err
        return cls(
            model_name=name,
            family=model_spec(name).family,
            window=window,  # type: ignore[arg-type]
            operating_point=stored_operating_point(payload),
            calibrated=bool(payload.get("operating_point")),
            train_config=train_config,
        )
