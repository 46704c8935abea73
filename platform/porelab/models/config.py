"""`ModelConfig`: the one dataclass every registered architecture is built from."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from porelab.errors import ConfigError

NORMS = ("batch", "instance", "none")
ACTIVATIONS = ("relu", "leaky_relu", "elu", "gelu")
DOWN_MODES = ("maxpool", "avgpool", "conv")
UP_MODES = ("transpose", "interpolate")


@dataclass(frozen=True)
class ModelConfig:
    """Hyper-parameters of one network.

    Shared fields:
        name: catalogue name (see `porelab.models.model_names()`).
        spatial_dims: 2 (images) or 3 (volumes): the dimension of the input the model takes.
        in_channels: input channels (1 for a CT grey value).
        out_channels: 1 gives one logit per voxel (binary, sigmoid); C > 1 gives C logits
            (multi-class, softmax). For the patch classifier: logits per patch.
        channels: feature channels per resolution level, finest first; the number of
            levels is the depth (`len(channels) - 1` down-samplings).
        norm: "batch" | "instance" | "none".
        activation: "relu" | "leaky_relu" | "elu" | "gelu".
        dropout: drop probability inside every convolution block (0 switches it off).
        residual: add a (1x1-projected) identity path around every convolution block.
        down_mode: "maxpool" | "avgpool" (rigid) or "conv" (learnable, strided convolution).
        up_mode: "transpose" (learnable) or "interpolate" (rigid, then a 1x1 convolution);
            UNet 3+ interpolates its full-scale skips whatever this says (Huang et al.).
        deep_supervision: return every supervision head in training mode (see
            `porelab.models.base` for the convention).

    Architecture-specific fields:
        context_slices: Modular U-Net 2.5D: neighbouring slices stacked as channels (odd).
        input_noise: Modular U-Net: std of Gaussian noise added to the input in training.
        dilations: dilated defect detector: dilation of each 3^d convolution layer.
        hidden: patch classifier: widths of the dense layers before the output.
        latent_dim: VAE, ceVAE, gmVAE: size of the dense latent vector; OOD autoencoder:
            channels of its latent feature map.
        patch_size: VAE, ceVAE, gmVAE: edge of the (cubic or square) input patch, which fixes
            the size of the dense layers around the latent vector.
        mixture_components: gmVAE: number K of Gaussians in the latent prior.
        codebook_size, codebook_dim: vqVAE: number of codes and their length (channels of
            the quantised latent map).
        codebook_decay: vqVAE: decay of the exponential moving averages updating the codebook.
    """

    name: str = "unet"
    spatial_dims: int = 3
    in_channels: int = 1
    out_channels: int = 1
    channels: tuple[int, ...] = (16, 32, 64, 128)
    norm: str = "batch"
    activation: str = "relu"
    dropout: float = 0.0
    residual: bool = False
    down_mode: str = "maxpool"
    up_mode: str = "transpose"
    deep_supervision: bool = False
    context_slices: int = 1
    input_noise: float = 0.0
    dilations: tuple[int, ...] = (1, 2, 4, 8, 8, 4, 2, 1)
    hidden: tuple[int, ...] = field(default=(60, 50))
    latent_dim: int = 512
    patch_size: int = 64
    mixture_components: int = 10
    codebook_size: int = 512
    codebook_dim: int = 64
    codebook_decay: float = 0.99

    def __post_init__(self) -> None:
        for name in ("channels", "dilations", "hidden"):
            object.__setattr__(self, name, _as_tuple(self, name))
        _check_choice(self, "spatial_dims", (2, 3))
        _check_positive_ints(
            self,
            (
                "in_channels",
                "out_channels",
                "context_slices",
                "latent_dim",
                "patch_size",
                "mixture_components",
                "codebook_size",
                "codebook_dim",
            ),
        )
        _check_positive_tuple(self, "channels")
        _check_positive_tuple(self, "dilations")
        _check_positive_tuple(self, "hidden", allow_empty=True)
        _check_choice(self, "norm", NORMS)
        _check_choice(self, "activation", ACTIVATIONS)
        _check_choice(self, "down_mode", DOWN_MODES)
        _check_choice(self, "up_mode", UP_MODES)
        if not isinstance(self.dropout, (int, float)) or not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"model {self.name!r}: dropout must be in [0, 1), got {self.dropout}")
        if not isinstance(self.input_noise, (int, float)) or self.input_noise < 0:
            raise ConfigError(f"model {self.name!r}: input_noise must be >= 0, got {self.input_noise!r}")
        if not isinstance(self.codebook_decay, (int, float)) or not 0.0 < self.codebook_decay < 1.0:
            raise ConfigError(f"model {self.name!r}: codebook_decay must be in (0, 1), got {self.codebook_decay!r}")
        if self.context_slices % 2 == 0:
            raise ConfigError(
                f"model {self.name!r}: context_slices must be odd (a centre slice "
                f"with neighbours on both sides), got {self.context_slices}"
            )

    @property
    def depth(self) -> int:
        """Number of down-sampling steps."""
        return len(self.channels) - 1

    def replace(self, **changes: Any) -> ModelConfig:
        """A copy with some fields changed (validated like a new config)."""
        _check_field_names(changes)
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable dict (tuples become lists)."""
        return {f.name: _jsonable(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> ModelConfig:
        """Build from a dict (YAML, JSON, CLI); unknown keys raise `ConfigError`."""
        _check_field_names(values)
        return cls(**dict(values))


def field_names() -> tuple[str, ...]:
    return tuple(f.name for f in fields(ModelConfig))


def _check_field_names(values: Mapping[str, Any]) -> None:
    unknown = sorted(set(values) - set(field_names()))
    if unknown:
        raise ConfigError(
            f"model config: unknown field(s) {', '.join(unknown)}; valid fields are {', '.join(field_names())}"
        )


def _jsonable(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _as_tuple(config: ModelConfig, name: str) -> tuple:
    value = getattr(config, name)
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise ConfigError(f"model {config.name!r}: {name} must be a sequence of positive integers, got {value!r}")
    return tuple(value)


def _check_choice(config: ModelConfig, name: str, choices: tuple) -> None:
    value = getattr(config, name)
    if value not in choices:
        valid = ", ".join(repr(c) for c in choices)
        raise ConfigError(f"model {config.name!r}: {name} must be one of {valid}, got {value!r}")


def _check_positive_ints(config: ModelConfig, names: tuple[str, ...]) -> None:
    for name in names:
        value = getattr(config, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"model {config.name!r}: {name} must be a positive integer, got {value!r}")


def _check_positive_tuple(config: ModelConfig, name: str, allow_empty: bool = False) -> None:
    values = getattr(config, name)
    bad = [v for v in values if isinstance(v, bool) or not isinstance(v, int) or v < 1]
    if bad or (not values and not allow_empty):
        raise ConfigError(
            f"model {config.name!r}: {name} must be a "
            f"{'' if allow_empty else 'non-empty '}sequence of positive integers, "
            f"got {values!r}"
        )
