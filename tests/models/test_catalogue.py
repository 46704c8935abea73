"""ModelConfig validation and the architecture catalogue: names, dicts, defaults, clear errors."""

from __future__ import annotations

import pytest
from torch import nn

from porelab.errors import ConfigError
from porelab.models import (
    ModelConfig,
    UNet,
    UNetPlusPlus,
    build_model,
    default_config,
    model_names,
    model_spec,
    register_model,
)
from porelab.models import catalogue

EXPECTED_NAMES = (
    "unet",
    "unetpp",
    "unet3plus",
    "mss_unet",
    "modular_unet",
    "slicewise",
    "deep_defect",
    "dilated_defect",
    "patch_classifier",
)


def test_every_architecture_is_registered_in_table_order():
    assert model_names() == EXPECTED_NAMES


def test_build_from_config_dict_and_name_give_the_same_model():
    config = ModelConfig(name="unetpp", spatial_dims=2, channels=(4, 8))
    from_config = build_model(config)
    from_dict = build_model({"name": "unetpp", "spatial_dims": 2, "channels": [4, 8]})
    from_name = build_model("unetpp", spatial_dims=2, channels=(4, 8))
    assert all(isinstance(m, UNetPlusPlus) for m in (from_config, from_dict, from_name))
    counts = {sum(p.numel() for p in m.parameters()) for m in (from_config, from_dict, from_name)}
    assert len(counts) == 1
    assert from_dict.config == config


def test_overrides_apply_on_top_of_a_config():
    model = build_model(ModelConfig(name="unet"), channels=(2, 4), spatial_dims=2)
    assert model.config.channels == (2, 4) and model.config.spatial_dims == 2


def test_architecture_defaults_apply_to_names_and_dicts_only():
    assert default_config("patch_classifier").channels == (24, 30, 34, 40)
    assert default_config("patch_classifier").spatial_dims == 2
    assert build_model({"name": "patch_classifier"}).config.norm == "none"
    assert default_config("unet").channels == (16, 32, 64, 128)


def test_config_round_trips_through_a_plain_dict():
    config = ModelConfig(name="modular_unet", spatial_dims=2, context_slices=5, input_noise=0.1)
    values = config.to_dict()
    assert values["channels"] == [16, 32, 64, 128]
    assert ModelConfig.from_dict(values) == config
    assert config.depth == 3


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(ConfigError, match="unknown model 'unet4'.*unetpp.*patch_classifier"):
        build_model("unet4")


def test_unknown_field_lists_the_valid_ones():
    with pytest.raises(ConfigError, match="unknown field.*filters.*valid fields.*channels"):
        build_model("unet", filters=(8, 16))
    with pytest.raises(ConfigError, match="unknown field"):
        ModelConfig.from_dict({"name": "unet", "depth": 3})
    with pytest.raises(ConfigError, match="'name' is missing"):
        build_model({"channels": (4, 8)})


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("spatial_dims", 4, "spatial_dims must be one of 2, 3"),
        ("norm", "group", "norm must be one of"),
        ("activation", "tanh", "activation must be one of"),
        ("down_mode", "stride", "down_mode must be one of"),
        ("up_mode", "shuffle", "up_mode must be one of"),
        ("dropout", 1.0, r"dropout must be in \[0, 1\)"),
        ("channels", (), "channels must be a non-empty sequence"),
        ("channels", (8, 0), "channels must be"),
        ("out_channels", 0, "out_channels must be a positive integer"),
        ("context_slices", 4, "context_slices must be odd"),
        ("input_noise", -0.1, "input_noise must be >= 0"),
    ],
)
def test_invalid_values_name_the_field(field, value, message):
    with pytest.raises(ConfigError, match=message):
        ModelConfig(name="unet", **{field: value})


def test_unsupported_combinations_are_refused():
    with pytest.raises(ConfigError, match="'slicewise': spatial_dims must be one of \\(3,\\)"):
        build_model("slicewise", spatial_dims=2)
    with pytest.raises(ConfigError, match="'unet' has no auxiliary heads"):
        build_model("unet", deep_supervision=True)
    with pytest.raises(ConfigError, match="'unet' does not use the field 'context_slices'"):
        build_model("unet", spatial_dims=2, context_slices=5)
    with pytest.raises(ConfigError, match="2.5D\\) needs spatial_dims=2"):
        build_model("modular_unet", spatial_dims=3, context_slices=3)


def test_adding_a_model_is_one_decorator(monkeypatch):
    monkeypatch.setattr(catalogue, "_CATALOGUE", dict(catalogue._CATALOGUE))

    @register_model("toy", summary="one convolution", dims=(2,), defaults={"spatial_dims": 2})
    class Toy(nn.Module):
        def __init__(self, config: ModelConfig) -> None:
            super().__init__()
            self.conv = nn.Conv2d(config.in_channels, config.out_channels, 1)

    assert "toy" in model_names() and model_spec("toy").factory is Toy
    assert isinstance(build_model("toy"), Toy)
    with pytest.raises(ConfigError, match="already registered"):
        register_model("toy", summary="again")(Toy)
    with pytest.raises(ConfigError, match="unknown field"):
        register_model("toy2", summary="bad", uses=("latent",))


def test_unet_is_what_the_unet_name_builds():
    assert type(build_model("unet", channels=(2, 4))) is UNet
