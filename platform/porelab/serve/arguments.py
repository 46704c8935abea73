"""The flags of `porelab serve` and `jobs/serve.py`, and the ServeConfig they make."""

from __future__ import annotations

import argparse
from pathlib import Path

from porelab.bundled import bundled_model, bundled_names, bundled_root
from porelab.errors import ConfigError
from porelab.serve.config import BatchConfig, DeploymentConfig, ServeConfig


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--registry",
        help="model registry directory (one folder per model; default: the "
        "detectors bundled with porelab, see `porelab models --bundled`)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1: loopback only)")
    parser.add_argument("--port", type=int, default=8000, help="HTTP port (default 8000)")
    parser.add_argument(
        "--token-file", type=Path, help="file holding a bearer token required on /v1 routes other than health"
    )
    parser.add_argument("--replicas", type=int, default=1, help="replicas per model (default 1)")
    parser.add_argument("--cpus-per-replica", type=float, default=0.5, help="CPUs per model replica (default 0.5)")
    parser.add_argument("--gpus-per-replica", type=float, default=0.0, help="GPUs per model replica (default 0)")
    parser.add_argument("--min-replicas", type=int, default=None, help="autoscaling lower bound")
    parser.add_argument("--max-replicas", type=int, default=None, help="autoscaling upper bound (> min enables it)")
    parser.add_argument(
        "--max-batch-size",
        type=int,
        default=8,
        help="most small volumes in one batch, and most windows per forward pass; 1 turns batching off (default 8)",
    )
    parser.add_argument(
        "--batch-wait-timeout-s",
        type=float,
        default=0.01,
        help="how long a batch waits for more small volumes (default 0.01)",
    )
    parser.add_argument(
        "--batch-max-voxels",
        type=int,
        default=None,
        help="largest volume that is batched (default: one inference window)",
    )
    parser.add_argument(
        "--max-queued-requests",
        type=int,
        default=16,
        help="uploads that may wait for a busy model's replicas; beyond them 503 with Retry-After "
        "(default 16; -1: no bound)",
    )
    parser.add_argument(
        "--request-timeout-s",
        type=float,
        default=600.0,
        help="a segmentation not answered by then gets 504 and is cancelled (default 600)",
    )
    parser.add_argument("--max-body-mb", type=float, default=512.0, help="largest accepted upload in MiB (default 512)")
    parser.add_argument(
        "--in-memory-max-mb",
        type=float,
        default=64.0,
        help="uploads up to this size reach the replica in memory; larger ones through a file (default 64)",
    )
    parser.add_argument(
        "--max-voxels",
        type=int,
        default=2**28,
        help="largest accepted volume in voxels, checked from its header (default 2^28, e.g. 645^3)",
    )
    parser.add_argument(
        "--result-ttl-s", type=float, default=3600.0, help="seconds results stay fetchable (default 3600)"
    )
    parser.add_argument("--results-dir", type=Path, help="where results are kept (default: a temp folder)")
    parser.add_argument(
        "--results-max-gb",
        type=float,
        default=16.0,
        help="disk the finished results may hold; the oldest are deleted first beyond it (default 16 GiB)",
    )
    parser.add_argument(
        "--grace-period-s",
        type=float,
        default=30.0,
        help="on SIGTERM or Ctrl-C: new uploads get 503 and in-flight requests get this long to "
        "finish before Serve and Ray stop (default 30)",
    )


def _registry(given: str | None) -> Path:
    """The registry to serve: the one given, or the bundled detectors (their weights checked)."""
    if given is not None:
        return Path(given)
    names = bundled_names()
    if not names:
        raise ConfigError("serve: --registry DIR is required; this porelab holds no bundled detector")
    for name in names:
        bundled_model(name)
    return bundled_root()


def config_from_args(args: argparse.Namespace) -> ServeConfig:
    low = args.min_replicas if args.min_replicas is not None else args.replicas
    high = args.max_replicas if args.max_replicas is not None else max(low, args.replicas)
    batching = BatchConfig(
        max_batch_size=args.max_batch_size,
        batch_wait_timeout_s=args.batch_wait_timeout_s,
        max_voxels=args.batch_max_voxels,
    )
    deployment = DeploymentConfig(
        replicas=args.replicas,
        cpus=args.cpus_per_replica,
        gpus=args.gpus_per_replica,
        min_replicas=low,
        max_replicas=high,
        max_queued_requests=args.max_queued_requests,
        batching=batching,
    )
    extra = {"results_dir": args.results_dir} if args.results_dir is not None else {}
    return ServeConfig(
        registry=_registry(args.registry),
        host=args.host,
        port=args.port,
        token_file=args.token_file,
        max_body_bytes=int(args.max_body_mb * 1024**2),
        max_voxels=args.max_voxels,
        in_memory_max_bytes=int(args.in_memory_max_mb * 1024**2),
        result_ttl_s=args.result_ttl_s,
        results_max_bytes=int(args.results_max_gb * 1024**3),
        request_timeout_s=args.request_timeout_s,
        deployment=deployment,
        grace_period_s=args.grace_period_s,
        **extra,
    )
