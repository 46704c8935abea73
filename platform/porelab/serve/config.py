"""Settings of the HTTP service and of each model deployment, as plain dataclasses."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from porelab.errors import ConfigError


@dataclass(frozen=True)
class BatchConfig:
    """Batching of small volumes across requests (`serve.batch`): volumes of at most
    `max_voxels` (None: one inference window of the model) that reach a replica within
    `batch_wait_timeout_s` of each other share forward passes of up to `max_batch_size` windows;
    larger volumes run the out-of-core `predict` alone. max_batch_size = 1 turns batching off."""

    max_batch_size: int = 8
    batch_wait_timeout_s: float = 0.01
    max_voxels: int | None = None

    def __post_init__(self) -> None:
        negative_voxels = self.max_voxels is not None and self.max_voxels < 0
        if self.max_batch_size < 1 or self.batch_wait_timeout_s < 0 or negative_voxels:
            raise ConfigError(
                f"batching: max_batch_size = {self.max_batch_size}, batch_wait_timeout_s = "
                f"{self.batch_wait_timeout_s}, max_voxels = {self.max_voxels}; expected "
                "max_batch_size >= 1, batch_wait_timeout_s >= 0 and max_voxels >= 0 (or None: one "
                "inference window)"
            )


@dataclass(frozen=True)
class DeploymentConfig:
    """Per model deployment: a fixed replica count, or autoscaling between `min_replicas` and
    `max_replicas` when `max_replicas` > `min_replicas`. CPUs are fractional on purpose: on a
    2-core machine a whole CPU per replica leaves nothing for Serve's own actors (docs/field-notes.md).
    Each replica takes `ongoing_requests` at once; up to `max_queued_requests` more wait for a
    replica (Serve's back-pressure; -1: no bound), and beyond them uploads get 503 with Retry-After."""

    replicas: int = 1
    cpus: float = 0.5
    gpus: float = 0.0
    min_replicas: int = 1
    max_replicas: int = 1
    max_ongoing_requests: int = 4
    max_queued_requests: int = 16
    batching: BatchConfig = BatchConfig()

    def __post_init__(self) -> None:
        if self.replicas < 1 or self.min_replicas < 0 or self.max_replicas < max(1, self.min_replicas):
            raise ConfigError(
                f"deployment: replicas = {self.replicas}, min_replicas = {self.min_replicas}, "
                f"max_replicas = {self.max_replicas}; expected replicas >= 1 and "
                "1 <= max_replicas >= min_replicas >= 0"
            )
        if self.cpus < 0 or self.gpus < 0:
            raise ConfigError(f"deployment: cpus = {self.cpus}, gpus = {self.gpus}; expected >= 0")
        if self.max_queued_requests < -1:
            raise ConfigError(
                f"deployment: max_queued_requests = {self.max_queued_requests}; expected >= 0, or -1 for no bound"
            )

    @property
    def autoscaling(self) -> bool:
        return self.max_replicas > self.min_replicas

    @property
    def ongoing_requests(self) -> int:
        """Requests a replica accepts at once: never fewer than a full batch."""
        return max(self.max_ongoing_requests, self.batching.max_batch_size)


@dataclass(frozen=True)
class ServeConfig:
    """registry: the model registry directory; token_file: when set, every /v1 route but health
    needs `Authorization: Bearer <token>`; max_body_bytes: larger uploads get 413 before the
    body is read; max_voxels: larger volumes get 413 once their header is read;
    in_memory_max_bytes: uploads declaring at most this many bytes are parsed in memory and
    reach the replica through Ray's object store (larger or chunked ones: a file on shared disk,
    segmented out of core); result_ttl_s:
    results (mask, score) are deleted this long after they were made; results_max_bytes: the
    disk the finished results may hold, the oldest deleted first beyond it; request_timeout_s: a
    segmentation not answered by then gets 504; grace_period_s: on SIGTERM or SIGINT, how long
    in-flight requests may take to finish."""

    registry: Path
    host: str = "127.0.0.1"
    port: int = 8000
    token_file: Path | None = None
    max_body_bytes: int = 512 * 1024**2
    max_voxels: int = 2**28
    in_memory_max_bytes: int = 64 * 1024**2
    min_size: int = 8
    result_ttl_s: float = 3600.0
    results_max_bytes: int = 16 * 1024**3
    request_timeout_s: float = 600.0
    results_dir: Path = field(default_factory=lambda: Path(tempfile.gettempdir()) / "porelab-serve")
    max_memory: int = 1024**3
    app_name: str = "porelab"
    deployment: DeploymentConfig = DeploymentConfig()
    grace_period_s: float = 30.0

    def __post_init__(self) -> None:
        if not Path(self.registry).is_dir():
            raise ConfigError(
                f"serve: registry {self.registry} is not a directory; expected a model registry "
                "(one folder per model with model.pt)"
            )
        if not 0 < self.port < 65536:
            raise ConfigError(f"serve: port = {self.port}; expected 1-65535")
        if self.grace_period_s < 0:
            raise ConfigError(f"serve: grace_period_s = {self.grace_period_s}; expected >= 0")
        limits = {
            "max_body_bytes": self.max_body_bytes,
            "max_voxels": self.max_voxels,
            "in_memory_max_bytes": self.in_memory_max_bytes,
            "result_ttl_s": self.result_ttl_s,
            "results_max_bytes": self.results_max_bytes,
            "request_timeout_s": self.request_timeout_s,
            "min_size": self.min_size,
        }
        if any(value <= 0 for value in limits.values()):
            given = ", ".join(f"{name} = {value}" for name, value in limits.items())
            raise ConfigError(f"serve: {given}; expected all > 0")
