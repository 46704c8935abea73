"""`porelab predict`: a checkpoint and a volume in, score map, verdict files and summary out.

Everything streams: the score map is written block by block, the pores are labelled within the
part slab by slab (`porelab.infer.verdict_step`), so peak memory follows `max_memory`, not the
volume size (the part is found on a block-averaged copy when the volume is over budget).
Outputs in `out_dir`: `score.npy` (+ `.npy.json`), `mask.tif` (0 none, 1 internal pore,
2 surface pore), `part.tif`, `pores.parquet`, `indications.parquet`, `summary.json`.
`predict_many` does the same for several small volumes whose windows share forward passes.
"""

from __future__ import annotations

import json
import time
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

from porelab import volume
from porelab.bundled import bundled_model, bundled_names, is_bundled_name
from porelab.checkpoint import CheckpointInfo, load_checkpoint
from porelab.data.normalise import fit_normaliser
from porelab.errors import ConfigError
from porelab.infer.anomaly_maps import anomaly_scores
from porelab.infer.distributed import RayInferenceConfig, sliding_window_on_ray
from porelab.infer.engine import InferencePlan, describe, plan_inference, run_inference
from porelab.infer.memory import release_large_blocks
from porelab.infer.output import NpyBlockWriter
from porelab.infer.pooled import PooledVolume, pooled_sliding_window
from porelab.infer.runtime import input_layout, pick_device, prepare_for_inference
from porelab.infer.tiles import TileConfig
from porelab.infer.verdict_step import (
    INDICATIONS,
    MASK,
    PART,
    PORES,
    VerdictConfig,
    operating_point_for,
    region_of_interest,
    write_verdict,
)
from porelab.ood.check import scan_check
from porelab.runtime import ensure_ray
from porelab.tasks import task_from_config
from porelab.volume.atomic import write_text_atomic

_SCORE, _SUMMARY = "score.npy", "summary.json"
_POSTPROCESSED = "score_postprocessed.npy"
_POSTPROCESS_COPIES = 5  # volume, error, reconstruction, edge map, result: all in memory
_PART_SHARE = 4  # the part is found within max_memory / 4: what the scoring pass left stays resident


@dataclass(frozen=True)
class PredictConfig:
    """window: default the training patch; engine: "windows" (half-overlapping, blended), "tiles"
    (each voxel once, `margin` voxels of context) or "auto" (tiles when the network allows; see
    `porelab.infer.engine`); verdict: the operating point and the part (default the checkpoint's
    calibrated point, the part found in the scan); actors > 0 uses Ray."""

    window: tuple[int, int, int] | None = None
    engine: str = "windows"
    margin: int = 16
    overlap: float = 0.5
    weighting: str = "gaussian"
    batch_size: int = 2
    verdict: VerdictConfig = field(default_factory=VerdictConfig)
    max_memory: int = 2 * 1024**3
    device: str = "auto"
    actors: int = 0
    cpus_per_actor: float = 1.0


def resolve_checkpoint(path: str | Path) -> Path:
    """A checkpoint file, a training run directory (its best checkpoint), a registry model folder,
    or the name of a bundled detector (`porelab.bundled`; its weights' sha256 checked)."""
    if not Path(path).exists() and is_bundled_name(str(path)):
        return bundled_model(str(path))
    path = Path(path)
    for candidate in (path, path / "checkpoints" / "best.pt", path / "model.pt"):
        if candidate.is_file():
            return candidate
    raise ConfigError(
        f"{path}: no checkpoint; expected a .pt file, a run directory with checkpoints/best.pt, "
        f"a registry model folder with model.pt, or a bundled detector ({', '.join(bundled_names())})"
    )


class ScoreModel(nn.Module):
    """A trained model turned into a voxel-wise pore score by its task (sigmoid, reconstruction error...)."""

    def __init__(self, model: nn.Module, task: Any) -> None:
        super().__init__()
        self.model, self.task = model, task

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.task.score(self.model, {"image": image})


@dataclass(frozen=True)
class CheckpointModel:
    """Model factory for Ray actors: each loads the checkpoint itself (path on shared storage)."""

    path: str

    def __call__(self) -> nn.Module:
        return load_score_model(self.path)[0]


#: A checkpoint's score model and payload, as `load_score_model` gives them.
LoadedModel = tuple[ScoreModel, dict[str, Any]]
#: `summary.json`'s "input" for a volume handed over in memory (a service upload).
IN_MEMORY = "<in memory>"


def load_score_model(path: str | Path) -> LoadedModel:
    loaded = load_checkpoint(path)
    return ScoreModel(loaded.model, task_from_config(loaded.payload["train_config"])).eval(), loaded.payload


def inference_window(payload: dict[str, Any], config: PredictConfig) -> tuple[int, int, int]:
    """The sliding window: the asked one, else the checkpoint's training patch."""
    if config.window is not None:
        return tuple(int(w) for w in config.window)  # type: ignore[return-value]
    return CheckpointInfo.from_payload(payload).window


def _forward(model: nn.Module) -> Any:
    return lambda batch: model(input_layout(batch, model))


def _score(run: Prediction, config: PredictConfig) -> None:
    with run.score_writer() as sink:
        if config.actors > 0:
            ensure_ray()
            ray_config = RayInferenceConfig(actors=config.actors, cpus_per_actor=config.cpus_per_actor)
            sliding_window_on_ray(
                run.input_path,
                run.vol.shape,
                CheckpointModel(str(run.checkpoint)),
                sink,
                run.plan,
                ray_config,
                transform=run.normaliser,
            )
            return
        device = pick_device(config.device)
        model = prepare_for_inference(run.model, device)
        run_inference(run.vol, _forward(model), sink, run.plan, transform=run.normaliser, device=device)


def _postprocess_anomaly(
    vol: Any, model: nn.Module, out_dir: Path, sliding: Any, normaliser: Any, config: PredictConfig
) -> dict[str, Any]:
    """Iuso et al.'s post-processing of an anomaly model's score (`model`: its autoencoder), written
    as score_postprocessed.npy.

    It fits (lambda, sigma) on the whole volume, so it runs in memory: skipped (and said so in
    the summary) when five float32 copies of the volume exceed `max_memory`.
    """
    need = _POSTPROCESS_COPIES * 4 * int(np.prod(vol.shape))
    if need > config.max_memory:
        return {"applied": False, "reason": f"needs {need / 2**20:.0f} MiB in memory, over max_memory"}
    scores = anomaly_scores(vol.to_numpy(), model, sliding, transform=normaliser)
    volume.write(volume.Volume(scores.postprocessed, vol.voxel_size), out_dir / _POSTPROCESSED, overwrite=True)
    return {"applied": True, "file": _POSTPROCESSED, "lambda": scores.fit.lam, "sigma": scores.fit.sigma}


@dataclass
class Prediction:
    """One volume on its way through `predict`: what `prepare_prediction` set up (the score model
    loaded once, its inference plan), and the timings so far. `pooled` says which forward passes
    it shared (`predict_many`)."""

    checkpoint: Path
    model: nn.Module
    input_path: Path
    out_dir: Path
    payload: dict[str, Any]
    info: CheckpointInfo
    vol: Any
    normaliser: Any
    plan: InferencePlan
    start: float
    timings: dict[str, float] = field(default_factory=dict)
    pooled: dict[str, Any] | None = None

    def score_writer(self) -> Any:
        """The sink the score map streams into: `score.npy` in `out_dir`."""
        return NpyBlockWriter(self.out_dir / _SCORE, self.vol.shape, voxel_size=self.vol.voxel_size)


def prepare_prediction(
    checkpoint: str | Path,
    input_path: str | Path | Any,
    out_dir: str | Path,
    config: PredictConfig,
    loaded: LoadedModel | None = None,
) -> Prediction:
    """Open the volume, fit its normaliser and the sliding-window settings to `max_memory`.
    `input_path` may be a `porelab.volume.Volume` already in memory; `loaded` is the checkpoint's
    `load_score_model` result when the caller holds it (a service replica), else it is loaded."""
    start = time.perf_counter()
    checkpoint, out_dir = resolve_checkpoint(checkpoint), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model, payload = loaded if loaded is not None else load_score_model(checkpoint)
    in_memory = isinstance(input_path, volume.Volume)
    vol = input_path if in_memory else volume.read(Path(input_path))
    input_path = Path(IN_MEMORY if in_memory else input_path)
    if isinstance(vol, volume.Projections):
        raise ConfigError(f"{input_path}: holds projections, not a reconstructed volume; reconstruct it first")
    normaliser = fit_normaliser(vol)
    # anomaly maps are reconstruction errors post-processed window by window
    info = CheckpointInfo.from_payload(payload)
    engine = "windows" if info.anomaly else config.engine
    plan = plan_inference(
        model,
        vol.shape,
        inference_window(payload, config),
        config.max_memory,
        engine=engine,
        margin=config.margin,  # type: ignore[arg-type]
        overlap=config.overlap,
        weighting=config.weighting,
        batch_size=config.batch_size,
        whole_slices=vol.reads_whole_slices,
    )
    return Prediction(
        checkpoint,
        model,
        input_path,
        out_dir,
        payload,
        info,
        vol,
        normaliser,
        plan,
        start,
        {"prepare_s": time.perf_counter() - start},
    )


def finish_prediction(run: Prediction, config: PredictConfig) -> dict[str, Any]:
    """From the written score map: the part, the operating point, the verdict files, whether the
    scan is unlike the model's training scans (`porelab.ood.check`), and summary.json."""
    vol, out_dir, timings = run.vol, run.out_dir, run.timings
    t = time.perf_counter()
    score_file, postprocessing = _SCORE, None
    anomaly = run.info.anomaly
    if anomaly:
        postprocessing = _postprocess_anomaly(vol, run.model.model, out_dir, run.plan, run.normaliser, config)
        score_file = _POSTPROCESSED if postprocessing["applied"] else _SCORE
    part = region_of_interest(vol, config.verdict, config.max_memory // _PART_SHARE)
    vol.release_pages()
    timings["part_s"] = time.perf_counter() - t
    t = time.perf_counter()
    score = volume.read(out_dir / score_file)
    point = operating_point_for(run.payload, score, anomaly, config.verdict)
    verdict = write_verdict(score, vol, part, point, vol.voxel_size, out_dir, max(1 << 20, config.max_memory // 32))
    timings["verdict_s"] = time.perf_counter() - t
    t = time.perf_counter()
    ood = scan_check(run.checkpoint)(vol, run.normaliser, part.part)
    timings["ood_s"] = time.perf_counter() - t
    timings["total_s"] = time.perf_counter() - run.start

    summary = {
        "model": run.info.model_name,
        "checkpoint": str(run.checkpoint),
        "input": str(run.input_path),
        "shape_zyx": list(vol.shape),
        "voxel_size_mm_zyx": list(vol.voxel_size),
        "threshold": point.threshold,
        **verdict,
        "normaliser": run.normaliser.to_dict(),
        "inference": describe(run.plan),
        "max_memory_bytes": config.max_memory,
        "timings": timings,
        "voxels_per_s": float(np.prod(vol.shape)) / max(timings["score_s"], 1e-9),
        "files": {
            "score": _SCORE,
            "mask": MASK,
            "part": PART,
            "pores": PORES,
            "indications": INDICATIONS,
            "mask_from": score_file,
        },
        "postprocessing": postprocessing,
        "pooled": run.pooled,
        "ood": ood,
    }
    write_text_atomic(out_dir / _SUMMARY, json.dumps(summary, indent=2) + "\n")
    return summary


def predict(
    checkpoint: str | Path,
    input_path: str | Path | Any,
    out_dir: str | Path,
    config: PredictConfig = PredictConfig(),
    loaded: LoadedModel | None = None,
) -> dict[str, Any]:
    """Segment `input_path` (a volume file, or a `porelab.volume.Volume` in memory) with a trained
    model; returns the summary also written to summary.json. `loaded`: the checkpoint's
    `load_score_model` result, when the caller keeps the model in memory."""
    release_large_blocks()
    run = prepare_prediction(checkpoint, input_path, out_dir, config, loaded)
    t = time.perf_counter()
    _score(run, config)
    run.timings["score_s"] = time.perf_counter() - t
    return finish_prediction(run, config)


@dataclass(frozen=True)
class PredictJob:
    """One volume of `predict_many`: input (a file or a `porelab.volume.Volume` in memory), output
    folder and, when given, its own threshold."""

    input_path: str | Path | Any
    out_dir: str | Path
    threshold: float | None = None


def predict_many(
    checkpoint: str | Path,
    jobs: Sequence[PredictJob],
    config: PredictConfig = PredictConfig(),
    max_windows: int = 8,
    loaded: LoadedModel | None = None,
) -> list[dict[str, Any]]:
    """`predict` for several volumes in one call, each with the score `predict` gives it alone; one
    summary per job, each with "pooled": {"volumes", "forward_passes", "max_windows"}.

    Volumes scored by sliding windows share forward passes of up to `max_windows` windows,
    whatever their shapes (`porelab.infer.pooled`); every window and its output are held in
    memory (about 64 bytes per voxel at half overlap), so this is for small volumes. Volumes
    scored by tiles run one tile per pass (a small volume is one tile: one pass, no pooling
    needed). In-process only; `loaded` as in `predict`.
    """
    if config.actors > 0:
        raise ConfigError(f"predict_many: actors = {config.actors}; expected 0 (it runs in this process)")
    release_large_blocks()
    loaded = loaded if loaded is not None else load_score_model(resolve_checkpoint(checkpoint))
    runs = [prepare_prediction(checkpoint, job.input_path, job.out_dir, config, loaded) for job in jobs]
    if not runs:
        return []
    t = time.perf_counter()
    device = pick_device(config.device)
    model = prepare_for_inference(runs[0].model, device)
    forward = _forward(model)
    tiled = [run for run in runs if isinstance(run.plan, TileConfig)]
    passes = 0
    for run in tiled:

        def counted(batch: torch.Tensor) -> Any:
            nonlocal passes
            passes += 1
            return forward(batch)

        with run.score_writer() as sink:
            run_inference(run.vol, counted, sink, run.plan, transform=run.normaliser, device=device)
    with ExitStack() as stack:
        volumes = [
            PooledVolume(run.vol, stack.enter_context(run.score_writer()), run.plan, run.normaliser)
            for run in runs
            if not isinstance(run.plan, TileConfig)
        ]
        passes += pooled_sliding_window(volumes, forward, max_windows, device)
    elapsed = time.perf_counter() - t
    summaries = []
    for run, job in zip(runs, jobs):
        run.timings["score_s"] = elapsed
        run.pooled = {"volumes": len(runs), "forward_passes": passes, "max_windows": max_windows}
        own = (
            replace(config, verdict=replace(config.verdict, threshold=job.threshold))
            if job.threshold is not None
            else config
        )
        summaries.append(finish_prediction(run, own))
    return summaries
