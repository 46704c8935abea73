"""Lookups from a spatial dimension (2 or 3) and a name to a torch layer.

They let one block definition serve images and volumes: the dimension is a parameter,
not a copy of the code.
"""

from __future__ import annotations

from torch import nn

from porelab.errors import ConfigError

_CONV = {2: nn.Conv2d, 3: nn.Conv3d}
_CONV_TRANSPOSE = {2: nn.ConvTranspose2d, 3: nn.ConvTranspose3d}
_MAX_POOL = {2: nn.MaxPool2d, 3: nn.MaxPool3d}
_AVG_POOL = {2: nn.AvgPool2d, 3: nn.AvgPool3d}
_BATCH_NORM = {2: nn.BatchNorm2d, 3: nn.BatchNorm3d}
_INSTANCE_NORM = {2: nn.InstanceNorm2d, 3: nn.InstanceNorm3d}
_DROPOUT = {2: nn.Dropout2d, 3: nn.Dropout3d}
_LINEAR_MODE = {2: "bilinear", 3: "trilinear"}
_ACTIVATIONS = {
    "relu": lambda: nn.ReLU(inplace=True),
    "leaky_relu": lambda: nn.LeakyReLU(0.01, inplace=True),
    "elu": lambda: nn.ELU(inplace=True),
    "gelu": lambda: nn.GELU(),
}


def _check_dims(dims: int) -> int:
    if dims not in (2, 3):
        raise ConfigError(f"spatial_dims must be 2 or 3, got {dims!r}")
    return dims


def conv_class(dims: int) -> type[nn.Module]:
    return _CONV[_check_dims(dims)]


def conv_transpose_class(dims: int) -> type[nn.Module]:
    return _CONV_TRANSPOSE[_check_dims(dims)]


def pool_class(dims: int, kind: str) -> type[nn.Module]:
    """Max or average pooling (`kind` "maxpool" | "avgpool")."""
    table = {"maxpool": _MAX_POOL, "avgpool": _AVG_POOL}
    if kind not in table:
        raise ConfigError(f"pooling must be 'maxpool' or 'avgpool', got {kind!r}")
    return table[kind][_check_dims(dims)]


def dropout_class(dims: int) -> type[nn.Module]:
    """Channel dropout: drops whole feature maps, the usual choice for convolutions."""
    return _DROPOUT[_check_dims(dims)]


def linear_interpolation_mode(dims: int) -> str:
    """ "bilinear" or "trilinear", for `torch.nn.functional.interpolate`."""
    return _LINEAR_MODE[_check_dims(dims)]


def make_norm(kind: str, dims: int, channels: int) -> nn.Module:
    """Normalisation layer: "batch" | "instance" (with affine parameters) | "none"."""
    if kind == "batch":
        return _BATCH_NORM[_check_dims(dims)](channels)
    if kind == "instance":
        return _INSTANCE_NORM[_check_dims(dims)](channels, affine=True)
    if kind == "none":
        return nn.Identity()
    raise ConfigError(f"norm must be 'batch', 'instance' or 'none', got {kind!r}")


def make_activation(name: str) -> nn.Module:
    if name not in _ACTIVATIONS:
        raise ConfigError(f"activation must be one of {', '.join(_ACTIVATIONS)}, got {name!r}")
    return _ACTIVATIONS[name]()
