"""Load on the HTTP service: N concurrent clients on loopback post 64^3..128^3 `.npy` scans.

Starts the service in this process's Ray on a free loopback port (on `--registry`, or on a
throwaway registry holding an untrained demo UNet: the weights do not change the cost), warms
it up, then runs until `--requests` are answered or `--duration` seconds pass. Reports
requests/s, p50/p95/p99 latency, errors (must be 0) and the resident memory of the service's
Serve processes (proxy, ingress, model replicas) before and after; the last line holds the
figures. RSS growth over `--rss-bound-mib` exits non-zero.

    .venv/bin/python bench/serve_load.py                          # 4 clients, 60 requests
    .venv/bin/python bench/serve_load.py --clients 8 --requests 200 --duration 300
"""

from __future__ import annotations

import argparse
import http.client
import io
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_scan(size: int, seed: int) -> bytes:
    """A grey part (1000) with a few dark spherical pores (200) and noise, as .npy bytes."""
    rng = np.random.default_rng(seed)
    grid = np.indices((size,) * 3, dtype=np.float32)
    scan = np.full((size,) * 3, 1000.0, np.float32)
    for _ in range(6):
        centre, radius = rng.uniform(8, size - 8, 3), rng.uniform(2, 5)
        scan[sum((g - c) ** 2 for g, c in zip(grid, centre)) <= radius**2] = 200.0
    scan += rng.normal(0, 60, scan.shape).astype(np.float32)
    buffer = io.BytesIO()
    np.save(buffer, scan)
    return buffer.getvalue()


def make_registry(root: Path) -> Path:
    """registry/unet/ with an untrained, seeded demo UNet (the layout `make cv` writes)."""
    import json

    import torch

    from porelab.models import build_model
    from porelab.train.checkpoint import save_checkpoint
    from porelab.train.config import profile

    torch.manual_seed(0)
    config = profile("demo")
    folder = root / "registry" / "unet"
    folder.mkdir(parents=True)
    save_checkpoint(folder / "model.pt", build_model(config.model), config.to_dict(), epoch=0, metrics={})
    (folder / "config.json").write_text(
        json.dumps({"model": "unet", "threshold": 0.5, "train_config": config.to_dict()})
    )
    return root / "registry"


def service_rss_mib(app_name: str) -> float:
    """Summed RSS of the Serve processes: the proxy and this app's replicas (by process title)."""
    import psutil

    total = 0
    for proc in psutil.process_iter(["cmdline", "memory_info"]):
        title = " ".join(proc.info["cmdline"] or [])
        if f"ServeReplica:{app_name}:" in title or "ProxyActor" in title:
            total += proc.info["memory_info"].rss
    return total / 2**20


def post(port: int, body: bytes, model: str) -> tuple[int, float]:
    start = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    try:
        connection.request("POST", f"/v1/models/{model}/segment", body, {"Content-Type": "application/octet-stream"})
        reply = connection.getresponse()
        body = reply.read()
        if reply.status != 200:
            print(f"error {reply.status}: {body[:300]!r}", file=sys.stderr)
        return reply.status, time.perf_counter() - start
    finally:
        connection.close()


class Load:
    """Shared counters of the client threads; stops at `requests` answers or the deadline."""

    def __init__(self, requests: int, duration: float, bodies: list[bytes], model: str) -> None:
        self.remaining, self.deadline, self.bodies = requests, time.monotonic() + duration, bodies
        self.model = model
        self.latencies: list[float] = []
        self.errors: list[int] = []
        self.lock = threading.Lock()

    def take(self) -> bytes | None:
        with self.lock:
            if self.remaining <= 0 or time.monotonic() > self.deadline:
                return None
            self.remaining -= 1
            return self.bodies[self.remaining % len(self.bodies)]

    def client(self, port: int) -> None:
        while (body := self.take()) is not None:
            try:
                status, seconds = post(port, body, self.model)
            except OSError:
                status, seconds = 599, 0.0
            with self.lock:
                (self.latencies.append(seconds) if status == 200 else self.errors.append(status))


def run_load(port: int, clients: int, load: Load) -> float:
    threads = [threading.Thread(target=load.client, args=(port,)) for _ in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--registry", type=Path, help="registry to serve (default: a throwaway demo UNet)")
    parser.add_argument("--model", help="registry model to load (default: the first in the registry)")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--requests", type=int, default=60, help="stop after this many answers")
    parser.add_argument("--duration", type=float, default=240.0, help="stop after this many seconds")
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 96, 128])
    parser.add_argument("--replicas", type=int, default=1)
    parser.add_argument("--rss-bound-mib", type=float, default=256.0, help="allowed RSS growth of the service")
    args = parser.parse_args()

    from ray import serve

    from porelab.serve import DeploymentConfig, ServeConfig, start

    tmp = Path(tempfile.mkdtemp(prefix="porelab-serve-bench-"))
    config = ServeConfig(
        registry=args.registry or make_registry(tmp),
        port=_free_port(),
        results_dir=tmp / "results",
        result_ttl_s=600.0,
        deployment=DeploymentConfig(replicas=args.replicas),
    )
    start(config)
    model = args.model or sorted(p.parent.name for p in Path(config.registry).glob("*/model.pt"))[0]
    bodies = [make_scan(size, seed) for seed, size in enumerate(args.sizes)]
    try:
        for body in bodies:  # warm-up: first-call costs (imports, torch kernels) are not load
            post(config.port, body, model)
        rss_before = service_rss_mib(config.app_name)
        load = Load(args.requests, args.duration, bodies, model)
        seconds = run_load(config.port, args.clients, load)
        rss_after = service_rss_mib(config.app_name)
    finally:
        serve.shutdown()
    p50, p95, p99 = np.percentile(load.latencies, [50, 95, 99]) * 1000 if load.latencies else [float("nan")] * 3
    growth = rss_after - rss_before
    print(
        f"model={model} clients={args.clients} sizes={args.sizes} answered={len(load.latencies)} in {seconds:.1f} s; "
        f"service RSS {rss_before:.0f} -> {rss_after:.0f} MiB (bound +{args.rss_bound_mib:.0f} MiB)"
    )
    print(
        f"rps={len(load.latencies) / seconds:.2f} p50_ms={p50:.0f} p95_ms={p95:.0f} p99_ms={p99:.0f} "
        f"errors={len(load.errors)} rss_before_mib={rss_before:.0f} rss_after_mib={rss_after:.0f} "
        f"rss_growth_mib={growth:.0f}"
    )
    return 0 if not load.errors and growth <= args.rss_bound_mib else 1


if __name__ == "__main__":
    sys.exit(main())
