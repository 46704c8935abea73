"""The serve flags become a ServeConfig; batching settings are checked and a replica always
accepts a full batch."""

import argparse

import pytest

from porelab.errors import ConfigError
from porelab.serve import BatchConfig, DeploymentConfig, add_serve_arguments, config_from_args


def _parse(*flags):
    parser = argparse.ArgumentParser()
    add_serve_arguments(parser)
    return config_from_args(parser.parse_args(list(flags)))


def test_batching_flags_reach_the_deployment_config(tmp_path):
    default = _parse("--registry", str(tmp_path)).deployment.batching
    assert default == BatchConfig() and (default.max_batch_size, default.batch_wait_timeout_s) == (8, 0.01)
    assert default.max_voxels is None  # one inference window of the model
    config = _parse(
        "--registry",
        str(tmp_path),
        "--max-batch-size",
        "16",
        "--batch-wait-timeout-s",
        "0.2",
        "--batch-max-voxels",
        "262144",
    )
    assert config.deployment.batching == BatchConfig(16, 0.2, 262144)
    assert config.deployment.ongoing_requests == 16  # a replica takes a full batch


@pytest.mark.parametrize("settings", [{"max_batch_size": 0}, {"batch_wait_timeout_s": -1.0}, {"max_voxels": -5}])
def test_bad_batching_settings_are_refused(settings):
    with pytest.raises(ConfigError, match="batching"):
        BatchConfig(**settings)


def test_ongoing_requests_keep_the_larger_limit():
    assert DeploymentConfig(max_ongoing_requests=32).ongoing_requests == 32
    assert DeploymentConfig(batching=BatchConfig(max_batch_size=1)).ongoing_requests == 4


def test_limit_flags_reach_the_configs_and_serves_options(tmp_path):
    from porelab.serve.app import _model_options

    default = _parse("--registry", str(tmp_path))
    assert (default.max_voxels, default.request_timeout_s, default.results_max_bytes) == (2**28, 600.0, 16 * 2**30)
    assert default.in_memory_max_bytes == 64 * 2**20
    assert _model_options(default.deployment)["max_queued_requests"] == 16
    config = _parse(
        "--registry",
        str(tmp_path),
        "--max-queued-requests",
        "2",
        "--request-timeout-s",
        "30",
        "--max-voxels",
        "1000000",
        "--results-max-gb",
        "0.5",
        "--in-memory-max-mb",
        "1",
    )
    assert _model_options(config.deployment)["max_queued_requests"] == 2
    assert (config.max_voxels, config.request_timeout_s, config.results_max_bytes) == (10**6, 30.0, 2**29)
    assert config.in_memory_max_bytes == 2**20


@pytest.mark.parametrize(
    "flags", [("--max-queued-requests", "-2"), ("--request-timeout-s", "0"), ("--max-voxels", "0")]
)
def test_bad_limits_are_refused_naming_the_field(tmp_path, flags):
    with pytest.raises(ConfigError, match=flags[0][2:].replace("-", "_")):
        _parse("--registry", str(tmp_path), *flags)
