"""Inference (tiles or sliding windows) spread over Ray actors, each holding the model once.

The volume is cut into z ranges; each actor runs `run_inference` restricted to a range
(the tiles or windows overlapping it), so the stitched result equals a single pass. Actors open the
input by path: on a cluster it must sit on storage every node sees (the usual NFS/Lustre
scan share). Blocks come back through the object store and the driver streams them to disk
as they arrive, so the driver holds at most `max_in_flight` blocks.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
from torch import nn

from porelab import volume
from porelab.infer.engine import InferencePlan, run_inference
from porelab.infer.output import ArraySink
from porelab.infer.runtime import input_layout, pick_device, prepare_for_inference
from porelab.infer.sliding import Sink, SlidingWindowConfig, Transform

ModelFactory = Callable[[], nn.Module]


@dataclass(frozen=True)
class RayInferenceConfig:
    """How many actors, what each asks of Ray, and how big a z range is."""

    actors: int = 2
    cpus_per_actor: float = 1.0
    gpus_per_actor: float = 0.0
    slices_per_task: int = 128


@dataclass(frozen=True)
class ShippedModel:
    """A model factory that ships an in-memory model to the actors by value."""

    module: nn.Module

    def __call__(self) -> nn.Module:
        return copy.deepcopy(self.module)


def z_ranges(depth: int, slices: int) -> list[tuple[int, int]]:
    slices = max(1, int(slices))
    return [(z0, min(z0 + slices, depth)) for z0 in range(0, depth, slices)]


class _SlabWorker:
    """Ray actor body: loads the model once, then runs z ranges of one volume."""

    def __init__(
        self, model_factory: ModelFactory, config: InferencePlan, transform: Transform | None, threads: int
    ) -> None:
        import torch

        torch.set_num_threads(max(1, threads))
        self.device = pick_device("auto")
        self.model = prepare_for_inference(model_factory(), self.device)
        self.config, self.transform = config, transform

    def run(self, path: str, read_options: dict[str, Any], z_range: tuple[int, int]) -> tuple[int, np.ndarray]:
        vol = volume.read(path, **read_options)
        sink = ArraySink((z_range[1] - z_range[0],) + tuple(vol.shape[1:]), z_offset=z_range[0])
        run_inference(
            vol,
            lambda batch: self.model(input_layout(batch, self.model)),
            sink,
            self.config,
            transform=self.transform,
            z_range=z_range,
            device=self.device,
        )
        assert sink.array is not None
        return z_range[0], sink.array


def _results_in_completion_order(pending: list[Any], ray: Any) -> Iterator[tuple[int, np.ndarray]]:
    while pending:
        done, pending = ray.wait(pending, num_returns=1)
        yield ray.get(done[0])


def sliding_window_on_ray(
    path: str | Path,
    shape: tuple[int, int, int],
    model_factory: ModelFactory,
    sink: Sink,
    config: InferencePlan = SlidingWindowConfig(),
    ray_config: RayInferenceConfig = RayInferenceConfig(),
    *,
    transform: Transform | None = None,
    read_options: dict[str, Any] | None = None,
) -> None:
    """Like `run_inference` on `porelab.volume.read(path)`, with z ranges run by Ray actors.

    Needs a running Ray (`ray.init()` or a cluster address); blocks reach `sink` in
    completion order, not in z order.
    """
    import ray

    # SPREAD: one actor per node before a second on any, so a volume's z ranges use every node
    actor_class = ray.remote(
        num_cpus=ray_config.cpus_per_actor, num_gpus=ray_config.gpus_per_actor, scheduling_strategy="SPREAD"
    )(_SlabWorker)
    threads = max(1, int(round(ray_config.cpus_per_actor)))
    # at least one z range per actor, and no actor without one (an idle actor only holds resources)
    ranges = z_ranges(shape[0], min(ray_config.slices_per_task, -(-shape[0] // max(1, ray_config.actors))))
    actors = [
        actor_class.remote(model_factory, config, transform, threads)
        for _ in range(min(ray_config.actors, len(ranges)))
    ]
    max_in_flight = 2 * len(actors)
    pending: list[Any] = []
    try:
        for i, z_range in enumerate(ranges):
            if len(pending) >= max_in_flight:
                done, pending = ray.wait(pending, num_returns=1)
                sink(*ray.get(done[0]))
            pending.append(actors[i % len(actors)].run.remote(str(path), read_options or {}, z_range))
        for z0, block in _results_in_completion_order(pending, ray):
            sink(z0, block)
    finally:
        for actor in actors:
            ray.kill(actor)
