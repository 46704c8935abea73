"""The task registry: each model's default task, the options a training configuration passes,
and a clear error for an unknown task."""

from __future__ import annotations

import pytest
import torch

from porelab.errors import ConfigError
from porelab.tasks import SegmentationTask, build_task, task_for_model, task_from_config
from porelab.tasks.anomaly import VAETask
from porelab.train.config import profile


@pytest.mark.parametrize(("model", "task"), [("unet", "segmentation"), ("vae", "vae"), ("gmvae", "gmvae")])
def test_models_train_with_their_own_task(model, task):
    assert task_for_model(model) == task


def test_a_config_gives_the_same_task_as_train_config():
    config = profile("demo").with_model("unet3plus", deep_supervision=True)
    task = task_from_config(config.to_dict())
    assert isinstance(task, SegmentationTask) and task.deep_supervision
    assert type(config.build_task()) is type(task)


def test_an_explicit_task_and_its_options_win():
    config = profile("demo").with_model("vae").to_dict()
    task = task_from_config({**config, "task": "vae", "task_options": {"beta": 0.25}})
    assert isinstance(task, VAETask) and task.beta == pytest.approx(0.25)


def test_segmentation_score_is_the_sigmoid_of_the_logit():
    class Logit(torch.nn.Module):
        def forward(self, x):
            return x

    x = torch.linspace(-3, 3, 8).reshape(1, 1, 2, 2, 2)
    torch.testing.assert_close(build_task("segmentation").score(Logit(), {"image": x}), torch.sigmoid(x))


def test_an_unknown_task_is_named():
    with pytest.raises(ConfigError, match="task 'nope' is unknown"):
        build_task("nope")
