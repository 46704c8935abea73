"""The Serve application: one deployment per registry model behind one FastAPI ingress.

    from porelab.serve import ServeConfig, start, serve_forever
    start(ServeConfig(registry="runs/cv/registry", port=8000))   # returns once healthy

On a cluster a Serve config file (a KubeRay RayService's `serveConfigV2`, `serve deploy`)
names the application builder `porelab.serve.app:app_builder` with `porelab serve`'s flags as
its `args`.
"""

from __future__ import annotations

import argparse
import re
import signal
import threading
import time
from pathlib import Path
from typing import Any, Callable

import ray
from ray import serve

from porelab.errors import ConfigError
from porelab.serve.api import app as _fastapi
from porelab.serve.api import attach, drain, in_flight
from porelab.serve.arguments import add_serve_arguments, config_from_args
from porelab.serve.config import DeploymentConfig, ServeConfig
from porelab.registry import RegistryModel, read_registry
from porelab.serve.results import ResultStore
from porelab.serve.segmenter import Segmenter

_NO_ACCESS_LOG = {"enable_access_log": False}
_ANSWER_DELIVERY_S = 1.0


@serve.deployment(ray_actor_options={"num_cpus": 0}, logging_config=_NO_ACCESS_LOG, max_ongoing_requests=64)
@serve.ingress(_fastapi)
class Ingress:
    """Routes HTTP requests to the model deployments and sweeps expired results in the background."""

    def __init__(self, handles: dict[str, Any], config: ServeConfig, token: str | None) -> None:
        self.store = ResultStore(Path(config.results_dir), config.result_ttl_s, config.results_max_bytes)
        Path(config.results_dir).mkdir(parents=True, exist_ok=True)
        models = {m.name: m for m in read_registry(config.registry)}
        attach(models, handles, self.store, config, token)
        period = max(1.0, min(config.result_ttl_s / 4, 60.0))
        threading.Thread(target=self._sweep_forever, args=(period,), daemon=True, name="result-sweeper").start()

    def _sweep_forever(self, period: float) -> None:
        while True:
            self.store.sweep()
            time.sleep(period)

    def drain(self) -> int:
        """Refuse new uploads (503 with Retry-After); returns how many are still in flight."""
        return drain()

    def in_flight(self) -> int:
        return in_flight()


def _deployment_name(model: str) -> str:
    return "model-" + re.sub(r"[^A-Za-z0-9_-]", "-", model)


def _model_options(config: DeploymentConfig) -> dict[str, Any]:
    options: dict[str, Any] = {
        "ray_actor_options": {"num_cpus": config.cpus, "num_gpus": config.gpus},
        "max_ongoing_requests": config.ongoing_requests,
        "max_queued_requests": config.max_queued_requests,
        "logging_config": _NO_ACCESS_LOG,
    }
    if config.autoscaling:
        options["autoscaling_config"] = {
            "min_replicas": config.min_replicas,
            "max_replicas": config.max_replicas,
            "target_ongoing_requests": max(1, config.ongoing_requests // 2),
        }
    else:
        options["num_replicas"] = config.replicas
    return options


def read_token(path: Path | None) -> str | None:
    """The token in `path` (surrounding whitespace removed), or None when no file is given."""
    if path is None:
        return None
    token = Path(path).read_text(encoding="utf-8").strip() if Path(path).is_file() else ""
    if len(token) < 16:
        raise ConfigError(f"token file {path}: missing, or its token is shorter than 16 characters")
    return token


def build_app(config: ServeConfig) -> Any:
    """The bound application: ingress over one `Segmenter` deployment per registry model."""
    models: list[RegistryModel] = read_registry(config.registry)
    options = _model_options(config.deployment)
    handles = {
        m.name: serve.deployment(Segmenter)
        .options(name=_deployment_name(m.name), **options)
        .bind(m, config.max_memory, config.deployment.batching)
        for m in models
    }
    return Ingress.bind(handles, config, read_token(config.token_file))


def app_builder(args: dict[str, Any]) -> Any:
    """The application a Serve config file deploys: `args` are `porelab serve`'s flags by their
    long names, dashes or underscores (`registry`, `replicas`, `gpus_per_replica`,
    `results_dir`, ...), values as strings or numbers; the address comes from the config's
    `http_options`, not from here.

    Example (a RayService's `serveConfigV2`):
        applications:
        - name: porelab
          import_path: porelab.serve.app:app_builder
          args: {registry: /mnt/porelab/runs/registry, gpus_per_replica: 1}
    """
    parser = argparse.ArgumentParser(prog="porelab.serve.app:app_builder", add_help=False, exit_on_error=False)
    add_serve_arguments(parser)
    allowed = set(vars(parser.parse_args([]))) - {"host", "port"}
    unknown = sorted(k for k in args if k.replace("-", "_") not in allowed)
    if unknown:
        raise ConfigError(
            f"porelab.serve.app:app_builder: unknown args {unknown}; expected some of "
            f"{sorted(allowed)} (the address is the config's http_options)"
        )
    argv = [part for key, value in args.items() for part in (f"--{key.replace('_', '-')}", str(value))]
    try:
        parsed = parser.parse_args(argv)
    except argparse.ArgumentError as error:
        raise ConfigError(f"porelab.serve.app:app_builder: {error}") from None
    return build_app(config_from_args(parsed))


def start(config: ServeConfig) -> dict[str, Any]:
    """Start Serve on `config.host:port` (in the Ray of `ensure_ray`) and deploy; returns the URLs."""
    from porelab.runtime import ensure_ray

    ensure_ray()
    serve.start(http_options={"host": config.host, "port": config.port})
    serve.run(build_app(config), name=config.app_name, route_prefix="/")
    base = f"http://{config.host}:{config.port}"
    return {
        "url": base,
        "health": f"{base}/v1/health",
        "openapi": f"{base}/openapi.json",
        "models": [m.name for m in read_registry(config.registry)],
    }


def _say(line: str) -> None:
    print(line, flush=True)


def serve_forever(
    config: ServeConfig, on_ready: Callable[[dict[str, Any]], None] | None = None, report: Callable[[str], None] = _say
) -> None:
    """`start`, tell `on_ready` the URLs, then serve until SIGTERM or SIGINT, and shut down in
    order: new uploads get 503 (readiness too), in-flight requests get `config.grace_period_s`
    to finish, then Serve and Ray stop; one `report` line per step, and a normal return (exit 0).

    The handlers replace Ray's own for the two signals in this process: Ray's answered SIGTERM
    with a C++ stack dump and an abort, whatever was in flight.
    """
    urls = start(config)
    stop = threading.Event()
    previous = {
        number: signal.signal(number, lambda received, _frame: stop.set()) for number in (signal.SIGTERM, signal.SIGINT)
    }
    if on_ready is not None:
        on_ready(urls)
    try:
        while not stop.wait(0.5):
            pass
        report("stopping: new uploads get 503")
        _drain(config, report)
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        serve.shutdown()
        report("Serve stopped")
        ray.shutdown()
        report("Ray stopped")


def _drain(config: ServeConfig, report: Callable[[str], None]) -> None:
    """Wait for the uploads in flight, up to the grace period."""
    ingress = serve.get_app_handle(config.app_name)
    pending = ingress.drain.remote().result(timeout_s=30)
    deadline = time.monotonic() + config.grace_period_s
    if pending:
        report(f"waiting up to {config.grace_period_s:g} s for {pending} request(s) in flight")
    while pending and time.monotonic() < deadline:
        time.sleep(0.2)
        pending = ingress.in_flight.remote().result(timeout_s=30)
    if pending:
        report(f"grace period over: {pending} request(s) cut off")
    else:
        time.sleep(_ANSWER_DELIVERY_S)  # the proxy still sends the last answers to their clients
        report("no request in flight")
