"""Load on the HTTP service against in-process `predict`: N concurrent clients on loopback post
64^3..128^3 `.npy` scans.

Starts the service in this process's Ray on a free loopback port (on `--registry`, or on a
throwaway registry holding an untrained demo UNet), warms it up, then

1. the anchor, before Ray starts: `--replicas` processes (one torch thread each, as a replica
   has) run in-process `predict` on the same volumes with the model loaded once, sharing out the
   same number of requests: requests/s and seconds per volume;
2. one client posts each volume `--single` times in turn: the service's seconds per request
   with nothing queued, against the anchor's (`overhead_ratio`);
3. `--clients` clients until `--requests` are answered or `--duration` seconds pass:
   requests/s (`rps_vs_in_process` against the anchor's), p50/p95/p99 latency, errors (must
   be 0) and the resident memory of the service's Serve processes before and after;
4. with `--burst N`, N posts at once against a queue bound of `--max-queued-requests`: each is
   answered or told 503 with Retry-After; anything else is an error;
5. with `--kill-replica`, one model replica is killed while the clients post: the seconds until
   Serve has replaced it, and which requests failed (sent before the kill, so possibly in
   flight on it, or after).

The last line holds the figures. Errors, RSS growth over `--rss-bound-mib`, or finished
results holding more than `--results-max-mb` of disk at the end exit non-zero. A soak is a long
`--duration` with a large `--requests`.

    .venv/bin/python bench/serve_load.py --registry runs/registry --model unet --sizes 64 --replicas 2
    .venv/bin/python bench/serve_load.py --clients 8 --requests 200 --duration 300
"""

from __future__ import annotations

import argparse
import http.client
import io
import multiprocessing
import socket
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

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
    from porelab.checkpoint import save_checkpoint
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


_worker_model: tuple = ()


def _load_worker(checkpoint: str, warm_up: list[tuple[bytes, str]]) -> None:
    """A pool process: one torch thread (a replica's), the model loaded once, and every volume
    segmented once (first-call costs, as the service's warm-up pays them for its replicas)."""
    import torch

    from porelab.infer.predict import load_score_model

    global _worker_model
    torch.set_num_threads(1)
    _worker_model = (checkpoint, load_score_model(checkpoint))
    for task in warm_up:
        _predict_in_process(task)


def _predict_in_process(task: tuple[bytes, str]) -> float:
    from porelab import volume
    from porelab.infer.predict import PredictConfig, predict

    body, out_dir = task
    start = time.perf_counter()
    data = volume.Volume(np.load(io.BytesIO(body), allow_pickle=False), (1.0, 1.0, 1.0))
    checkpoint, loaded = _worker_model
    predict(checkpoint, data, out_dir, PredictConfig(max_memory=1024**3), loaded=loaded)
    return time.perf_counter() - start


def in_process_anchor(
    checkpoint: Path, bodies: list[bytes], processes: int, requests: int, out: Path
) -> tuple[float, float]:
    """(requests/s of `processes` in-process predict workers over `requests` volumes, mean seconds per volume)."""
    tasks = [(bodies[i % len(bodies)], str(out / f"anchor{i}")) for i in range(requests)]
    warm_up = [(body, str(out / f"warm-up{i}")) for i, body in enumerate(bodies)]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(processes, context, initializer=_load_worker, initargs=(str(checkpoint), warm_up)) as pool:
        list(pool.map(_predict_in_process, tasks[:processes]))  # every process started and warmed up
        start = time.perf_counter()
        seconds = list(pool.map(_predict_in_process, tasks))
        wall = time.perf_counter() - start
    return requests / wall, float(np.mean(seconds))


def _replicas(model: str) -> list[tuple[str, str]]:
    """(name, namespace) of the Serve replica actors of `model`'s deployment."""
    import ray

    return [
        (a["name"], a["namespace"])
        for a in ray.util.list_named_actors(all_namespaces=True)
        if "SERVE_REPLICA" in a["name"] and f"model-{model}" in a["name"]
    ]


def kill_one_replica(port: int, body: bytes, model: str, clients: int, deadline_s: float = 120.0) -> dict[str, Any]:
    """`clients` clients post `body` without pause; one replica of `model` is killed mid-load. Returns
    the statuses of requests sent before and after the kill, and the seconds until a new replica
    takes the place of the killed one (the replica count is back and a request is answered)."""
    import ray

    before = _replicas(model)
    statuses: dict[str, list[int]] = {"before": [], "after": []}
    phase, stop, lock = ["before"], threading.Event(), threading.Lock()

    def client() -> None:
        while not stop.is_set():
            sent_in = phase[0]
            try:
                status, _ = post(port, body, model, quiet_busy=True)
            except OSError:
                status = 599
            with lock:
                statuses[sent_in].append(status)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    time.sleep(3.0)  # requests in flight on every replica
    name, namespace = before[0]
    killed_at = time.monotonic()
    ray.kill(ray.get_actor(name, namespace=namespace), no_restart=True)
    phase[0] = "after"
    recovered = float("nan")
    while time.monotonic() - killed_at < deadline_s:
        now = _replicas(model)
        if len(now) >= len(before) and name not in {n for n, _ in now}:
            recovered = time.monotonic() - killed_at
            break
        time.sleep(0.5)
    time.sleep(3.0)  # the new replica serves
    stop.set()
    for thread in threads:
        thread.join()
    return {"recovered_s": recovered, **statuses}


def service_rss_mib(app_name: str) -> float:
    """Summed RSS of the Serve processes: the proxy and this app's replicas (by process title)."""
    import psutil

    total = 0
    for proc in psutil.process_iter(["cmdline", "memory_info"]):
        title = " ".join(proc.info["cmdline"] or [])
        if f"ServeReplica:{app_name}:" in title or "ProxyActor" in title:
            total += proc.info["memory_info"].rss
    return total / 2**20


def post(port: int, body: bytes, model: str, quiet_busy: bool = False) -> tuple[int, float]:
    """(HTTP status, seconds); a 503 with a Retry-After header comes back as `BUSY`."""
    start = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    try:
        connection.request("POST", f"/v1/models/{model}/segment", body, {"Content-Type": "application/octet-stream"})
        reply = connection.getresponse()
        body = reply.read()
        status = BUSY if reply.status == 503 and reply.getheader("Retry-After") else reply.status
        if status != 200 and not (quiet_busy and status == BUSY):
            print(f"error {reply.status}: {body[:300]!r}", file=sys.stderr)
        return status, time.perf_counter() - start
    finally:
        connection.close()


BUSY = -503  # a 503 that says when to retry: the back-pressure answer


def burst(port: int, body: bytes, model: str, requests: int) -> dict[int, int]:
    """`requests` posts at once, one thread each: how many got each status (`BUSY` for 503 + Retry-After)."""
    statuses: list[int] = []
    lock = threading.Lock()

    def one() -> None:
        try:
            status, _ = post(port, body, model, quiet_busy=True)
        except OSError:
            status = 599
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=one) for _ in range(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {status: statuses.count(status) for status in sorted(set(statuses))}


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


def single_client_seconds(port: int, bodies: list[bytes], model: str, repeats: int) -> float:
    """Mean seconds per answered request of one client posting each volume `repeats` times in turn."""
    seconds = []
    for _ in range(repeats):
        for body in bodies:
            status, elapsed = post(port, body, model)
            if status == 200:
                seconds.append(elapsed)
    return float(np.mean(seconds)) if seconds else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--registry", type=Path, help="registry to serve (default: a throwaway demo UNet)")
    parser.add_argument("--model", help="registry model to load (default: the first in the registry)")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--requests", type=int, default=60, help="stop after this many answers")
    parser.add_argument("--duration", type=float, default=240.0, help="stop after this many seconds")
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 96, 128])
    parser.add_argument("--replicas", type=int, default=1)
    parser.add_argument("--single", type=int, default=3, help="one-client posts of each volume (overhead_ratio)")
    parser.add_argument("--anchor-requests", type=int, default=40, help="volumes the in-process anchor segments")
    parser.add_argument("--rss-bound-mib", type=float, default=256.0, help="allowed RSS growth of the service")
    parser.add_argument("--max-queued-requests", type=int, default=16, help="the service's queue bound per model")
    parser.add_argument(
        "--results-max-mb", type=float, default=1024.0, help="the service's disk budget for finished results"
    )
    parser.add_argument(
        "--burst", type=int, default=0, help="then post this many volumes (the first size) at once: back-pressure"
    )
    parser.add_argument(
        "--kill-replica", action="store_true", help="then kill one model replica under load and time its recovery"
    )
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="porelab-serve-bench-"))
    registry = args.registry or make_registry(tmp)
    model = args.model or sorted(p.parent.name for p in Path(registry).glob("*/model.pt"))[0]
    bodies = [make_scan(size, seed) for seed, size in enumerate(args.sizes)]
    anchor_rps, anchor_s = in_process_anchor(
        Path(registry) / model / "model.pt", bodies, args.replicas, args.anchor_requests, tmp / "anchor"
    )

    from ray import serve

    from porelab.serve import DeploymentConfig, ServeConfig, start

    config = ServeConfig(
        registry=registry,
        port=_free_port(),
        results_dir=tmp / "results",
        result_ttl_s=600.0,
        results_max_bytes=int(args.results_max_mb * 2**20),
        deployment=DeploymentConfig(replicas=args.replicas, max_queued_requests=args.max_queued_requests),
    )
    start(config)
    try:
        for body in bodies:  # warm-up: first-call costs (imports, torch kernels) are not load
            post(config.port, body, model)
        single_s = single_client_seconds(config.port, bodies, model, args.single)
        rss_before = service_rss_mib(config.app_name)
        load = Load(args.requests, args.duration, bodies, model)
        seconds = run_load(config.port, args.clients, load)
        rss_after = service_rss_mib(config.app_name)
        results_mib = sum(f.stat().st_size for f in (tmp / "results").rglob("*") if f.is_file()) / 2**20
        bursts = burst(config.port, bodies[0], model, args.burst) if args.burst else {}
        killed = kill_one_replica(config.port, bodies[0], model, args.clients) if args.kill_replica else None
    finally:
        serve.shutdown()
    p50, p95, p99 = np.percentile(load.latencies, [50, 95, 99]) * 1000 if load.latencies else [float("nan")] * 3
    growth = rss_after - rss_before
    rps = len(load.latencies) / seconds
    print(
        f"model={model} replicas={args.replicas} clients={args.clients} sizes={args.sizes} "
        f"answered={len(load.latencies)} in {seconds:.1f} s; service RSS {rss_before:.0f} -> {rss_after:.0f} MiB "
        f"(bound +{args.rss_bound_mib:.0f} MiB); results on disk {results_mib:.0f} MiB "
        f"(budget {args.results_max_mb:.0f} MiB)"
    )
    print(
        f"in-process predict (model loaded, {args.replicas} process(es), 1 thread each): {anchor_s:.3f} s per volume, "
        f"{anchor_rps:.2f} requests/s; service with one client: {single_s:.3f} s per request"
    )
    burst_errors = sum(n for status, n in bursts.items() if status not in (200, BUSY))
    if args.burst:
        print(
            f"burst of {args.burst} at once (queue bound {args.max_queued_requests}): {bursts.get(200, 0)} answered, "
            f"{bursts.get(BUSY, 0)} told 503 + Retry-After, {burst_errors} other errors"
        )
    print(
        f"rps={rps:.2f} p50_ms={p50:.0f} p95_ms={p95:.0f} p99_ms={p99:.0f} errors={len(load.errors)} "
        f"rss_growth_mib={growth:.0f} in_process_rps={anchor_rps:.2f} rps_vs_in_process={rps / anchor_rps:.2f} "
        f"results_mib={results_mib:.0f} overhead_ratio={single_s / anchor_s:.2f}"
    )
    if killed is not None:
        failed = {k: [st for st in v if st != 200] for k, v in killed.items() if k != "recovered_s"}
        print(
            f"replica killed under load: replaced after {killed['recovered_s']:.1f} s; requests sent before the "
            f"kill: {len(killed['before'])}, failed {failed['before']}; sent after it: {len(killed['after'])}, "
            f"failed {failed['after']}"
        )
    within = growth <= args.rss_bound_mib and results_mib <= args.results_max_mb
    return 0 if not load.errors and not burst_errors and within else 1


if __name__ == "__main__":
    sys.exit(main())
