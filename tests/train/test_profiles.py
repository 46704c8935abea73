"""Training profiles: what each kind of model is trained with."""

import pytest

from porelab.models import model_spec
from porelab.train.config import profile, training_config


@pytest.mark.parametrize("name", ["demo", "paper"])
@pytest.mark.parametrize("model", ["vae", "cevae", "gmvae", "vqvae"])
def test_anomaly_models_never_see_pore_labels_through_their_sampler(name, model):
    assert profile(name, model).patches.sampler.kind == "uniform"


@pytest.mark.parametrize("model", ["unet", "unetpp", "unet3plus", "mss_unet"])
def test_segmenters_oversample_pores_and_train_every_supervision_head(model):
    config = profile("demo", model)
    assert config.patches.sampler.kind == "balanced" and config.patches.sampler.pore_fraction == 0.5
    assert config.model.deep_supervision == model_spec(model).deep_supervision
    assert config.build_task().deep_supervision == model_spec(model).deep_supervision


def test_overrides_apply_over_the_profile():
    config = training_config("demo", "unet", overrides=["patches.sampler.kind=uniform", "loop.max_epochs=2"])
    assert config.patches.sampler.kind == "uniform" and config.loop.max_epochs == 2


@pytest.mark.parametrize("raw, expected", [("3e-4", 3e-4), ("1E3", 1000.0), ("2.5e-3", 2.5e-3), ("0.01", 0.01)])
def test_a_float_override_in_exponent_form_is_a_float(raw, expected):
    # PyYAML (YAML 1.1) reads 3e-4 as a string; the help's own example must work
    assert training_config("demo", "unet", overrides=[f"loop.lr={raw}"]).loop.lr == expected


def test_a_word_for_a_float_field_names_the_field():
    with pytest.raises(Exception, match="loop.lr: expected float"):
        training_config("demo", "unet", overrides=["loop.lr=fast"])
