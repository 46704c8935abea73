"""The architecture catalogue: `@register_model(...)` on a class, `build_model(...)` to build.
("Registry" names one thing only: the folder of trained models, `porelab.registry`.)

Adding an architecture is one decorator on a class whose constructor takes a
`ModelConfig`:

    @register_model("vae", summary="variational autoencoder", dims=(3,))
    class VAE(nn.Module):
        def __init__(self, config: ModelConfig) -> None: ...
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from torch import nn

from porelab.errors import ConfigError
from porelab.models.config import ModelConfig

# Fields only some architectures read; setting one for a model that ignores it is an error.
SPECIFIC_FIELDS = (
    "context_slices",
    "input_noise",
    "dilations",
    "hidden",
    "latent_dim",
    "patch_size",
    "mixture_components",
    "codebook_size",
    "codebook_dim",
    "codebook_decay",
)

# What a model is trained for: supervised segmenters and classifiers (the default), unsupervised
# anomaly models scored by reconstruction error, and out-of-distribution autoencoders.
FAMILIES = ("supervised", "anomaly", "ood")

ModelClass = TypeVar("ModelClass", bound=Callable[[ModelConfig], nn.Module])


@dataclass(frozen=True)
class ModelSpec:
    """What the catalogue knows about one architecture.

    reference_parameters: parameter count published for this architecture (None when
    there is none) in `reference_dims` dimensions, with `reference_source` naming where
    it comes from.
    """

    name: str
    factory: Callable[[ModelConfig], nn.Module]
    summary: str
    dims: tuple[int, ...] = (2, 3)
    deep_supervision: bool = False
    uses: tuple[str, ...] = ()
    defaults: Mapping[str, Any] = field(default_factory=dict)
    reference_parameters: int | None = None
    reference_source: str | None = None
    reference_dims: int | None = None
    family: str = "supervised"


_CATALOGUE: dict[str, ModelSpec] = {}


def register_model(
    name: str,
    *,
    summary: str,
    dims: tuple[int, ...] = (2, 3),
    deep_supervision: bool = False,
    uses: tuple[str, ...] = (),
    defaults: Mapping[str, Any] | None = None,
    reference_parameters: int | None = None,
    reference_source: str | None = None,
    reference_dims: int | None = None,
    family: str = "supervised",
) -> Callable[[ModelClass], ModelClass]:
    """Class decorator adding an architecture to the catalogue under `name`.

    dims: spatial dimensions it supports; deep_supervision: whether it has auxiliary
    heads; uses: which architecture-specific config fields it reads; defaults: config
    values that differ from `ModelConfig`'s for this architecture; reference_*: a
    published parameter count to print beside ours; family: one of `FAMILIES`.
    """
    unknown = sorted(set(uses) - set(SPECIFIC_FIELDS))
    if unknown:
        raise ConfigError(
            f"register_model({name!r}): uses lists unknown field(s) {unknown}; "
            f"architecture-specific fields are {', '.join(SPECIFIC_FIELDS)}"
        )
    if family not in FAMILIES:
        raise ConfigError(f"register_model({name!r}): family must be one of {', '.join(FAMILIES)}, got {family!r}")

    def decorate(cls: ModelClass) -> ModelClass:
        if name in _CATALOGUE:
            raise ConfigError(f"register_model: the name {name!r} is already registered")
        _CATALOGUE[name] = ModelSpec(
            name,
            cls,
            summary,
            tuple(dims),
            deep_supervision,
            tuple(uses),
            dict(defaults or {}),
            reference_parameters,
            reference_source,
            reference_dims,
            family,
        )
        return cls

    return decorate


def model_names(family: str | None = "supervised") -> tuple[str, ...]:
    """Registered names of one family (None: every family), in registration order.

    The default lists the supervised models, which share the segmentation/classification
    output conventions of `porelab.models.base`.
    """
    if family is not None and family not in FAMILIES:
        raise ConfigError(f"model_names: family must be one of {', '.join(FAMILIES)} or None, got {family!r}")
    return tuple(name for name, spec in _CATALOGUE.items() if family is None or spec.family == family)


def model_spec(name: str) -> ModelSpec:
    if name not in _CATALOGUE:
        raise ConfigError(f"unknown model {name!r}; valid models are {', '.join(_CATALOGUE)}")
    return _CATALOGUE[name]


def default_config(name: str, **overrides: Any) -> ModelConfig:
    """The config of `name` with its architecture defaults, then `overrides`, applied."""
    spec = model_spec(name)
    return ModelConfig.from_dict({**spec.defaults, **overrides, "name": name})


def build_model(config: ModelConfig | Mapping[str, Any] | str, **overrides: Any) -> nn.Module:
    """Build a registered model.

    Accepts a `ModelConfig`, a dict with a "name" key (missing fields take the
    architecture's defaults) or a name; keyword `overrides` change single fields.
    Unknown names or fields, or fields the architecture does not support, raise
    `ConfigError`.
    """
    config = _resolve_config(config, overrides)
    spec = model_spec(config.name)
    _check_supported(spec, config)
    return spec.factory(config)


def _resolve_config(config: ModelConfig | Mapping[str, Any] | str, overrides: Mapping[str, Any]) -> ModelConfig:
    if isinstance(config, ModelConfig):
        return config.replace(**overrides) if overrides else config
    if isinstance(config, str):
        return default_config(config, **overrides)
    if isinstance(config, Mapping):
        values = {**config, **overrides}
        if "name" not in values:
            raise ConfigError(f"model config: the field 'name' is missing; valid models are {', '.join(_CATALOGUE)}")
        return default_config(values.pop("name"), **values)
    raise ConfigError(f"build_model: expected a ModelConfig, a dict or a model name, got {type(config).__name__}")


def _check_supported(spec: ModelSpec, config: ModelConfig) -> None:
    if config.spatial_dims not in spec.dims:
        raise ConfigError(f"model {spec.name!r}: spatial_dims must be one of {spec.dims}, got {config.spatial_dims}")
    if config.deep_supervision and not spec.deep_supervision:
        raise ConfigError(f"model {spec.name!r} has no auxiliary heads: deep_supervision must be False")
    baseline = ModelConfig()
    for name in SPECIFIC_FIELDS:
        if name not in spec.uses and getattr(config, name) != getattr(baseline, name):
            raise ConfigError(
                f"model {spec.name!r} does not use the field {name!r} (it is "
                f"read by other architectures); leave it at its default"
            )
