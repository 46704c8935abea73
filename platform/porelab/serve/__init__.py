"""The Ray Serve endpoint: segment an uploaded scan over HTTP with a registry model, and say
when the scan is unlike the training data.

    from porelab.serve import ServeConfig, DeploymentConfig, BatchConfig, start, serve_forever
"""

from porelab.serve.arguments import add_serve_arguments, config_from_args
from porelab.serve.config import BatchConfig, DeploymentConfig, ServeConfig
from porelab.serve.errors import RequestError
from porelab.ood.check import OODCheck, RasterCheck
from porelab.serve.payload import check_content_length, prepare_input, sniff_format, validate
from porelab.registry import RegistryModel, read_registry
from porelab.serve.results import ResultStore


def build_app(config: ServeConfig):  # noqa: ANN201 - Ray is imported only when a service is built
    from porelab.serve.app import build_app as _build

    return _build(config)


def start(config: ServeConfig) -> dict:
    from porelab.serve.app import start as _start

    return _start(config)


def serve_forever(config: ServeConfig, on_ready=None) -> None:  # noqa: ANN001 - see app.serve_forever
    from porelab.serve.app import serve_forever as _forever

    _forever(config, on_ready)


__all__ = [
    "BatchConfig",
    "DeploymentConfig",
    "OODCheck",
    "RasterCheck",
    "RegistryModel",
    "RequestError",
    "ResultStore",
    "ServeConfig",
    "add_serve_arguments",
    "build_app",
    "check_content_length",
    "config_from_args",
    "prepare_input",
    "read_registry",
    "serve_forever",
    "sniff_format",
    "start",
    "validate",
]
