"""One registry model as a Serve deployment: segments an uploaded volume and answers with the
pore table, porosity, OOD verdict and timings.

Small volumes (at most `BatchConfig.max_voxels`; by default one inference window) are batched
across requests with `serve.batch`: the windows of all volumes of a batch, whatever their
shapes, share forward passes (`predict_many`), and `timings.batch_size` says how many volumes
did. Larger volumes run the out-of-core `predict` alone. All model work of a replica runs on
one worker thread: the event loop stays free to gather the next batch meanwhile, and a replica
holds one `max_memory` budget at a time.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
from ray import serve

from porelab.metrics import record_request, record_request_error
from porelab.serve.config import BatchConfig
from porelab.registry import RegistryModel

Outcome = dict[str, Any] | Exception  # per request of a batch: one failure stays that request's
_DEFAULT_BATCHING = BatchConfig()


@dataclass(frozen=True)
class _Request:
    upload: str | np.ndarray  # a volume file on shared disk, or the checked array (small uploads)
    out_dir: str
    threshold: float | None
    voxel_size: float | None
    arrived: float  # time.perf_counter() when the replica got it

    def predict_input(self) -> Any:
        """What `predict` reads: the file, or the array as a Volume (no disk on the way)."""
        from porelab import volume

        if isinstance(self.upload, str):
            return self.upload
        size = float(self.voxel_size) if self.voxel_size is not None else 1.0
        return volume.Volume(self.upload, (size,) * 3, {"source": "upload"})

    def voxels(self) -> int:
        from porelab import volume

        shape = self.upload.shape if isinstance(self.upload, np.ndarray) else volume.read(self.upload).shape
        return int(np.prod(shape))


def _catch(work: Callable[..., dict[str, Any]], *args: Any) -> Outcome:
    try:
        return work(*args)
    except Exception as err:  # handed to its own request, which raises it
        return err


class Segmenter:
    """Holds one model in memory (loaded once per replica), its batching settings and OOD check;
    `segment` works on an array handed over in memory or a file on shared disk."""

    def __init__(self, model: RegistryModel, max_memory: int, batching: BatchConfig = _DEFAULT_BATCHING) -> None:
        from porelab.infer.predict import PredictConfig, inference_window, load_score_model, resolve_checkpoint

        self.model, self.max_memory, self.batching = model, max_memory, batching
        self.checkpoint = resolve_checkpoint(model.path)
        self.loaded = load_score_model(self.checkpoint)  # once per replica; a bad file fails at start-up
        window = inference_window(self.loaded[1], PredictConfig())
        self.max_voxels = batching.max_voxels if batching.max_voxels is not None else int(np.prod(window))
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="model")
        self._batched.set_max_batch_size(batching.max_batch_size)
        self._batched.set_batch_wait_timeout_s(batching.batch_wait_timeout_s)

    async def segment(
        self, upload: str | np.ndarray, out_dir: str, threshold: float | None, voxel_size: float | None = None
    ) -> dict[str, Any]:
        """`upload`: a checked volume file on shared disk, or the checked array itself (a small
        upload, through Ray's object store; `voxel_size` in mm, isotropic, 1 when None)."""
        request = _Request(upload, out_dir, threshold, voxel_size, time.perf_counter())
        if request.voxels() <= self.max_voxels:
            outcome = await self._batched(request)
        else:
            outcome = await self._on_worker(self._alone, request)
        if isinstance(outcome, Exception):
            record_request_error(self.model.name, type(outcome).__name__)
            raise outcome
        voxels = float(np.prod(outcome["shape_zyx"]))
        record_request(
            self.model.name,
            voxels / max(outcome["timings"]["segment_s"], 1e-9),
            outcome["pore_count"],
            outcome["porosity_percent"],
            bool(outcome["ood"].get("is_ood")),
        )
        return outcome

    @serve.batch(
        max_batch_size=_DEFAULT_BATCHING.max_batch_size, batch_wait_timeout_s=_DEFAULT_BATCHING.batch_wait_timeout_s
    )
    async def _batched(self, requests: list[_Request]) -> list[Outcome]:
        return await self._on_worker(self._together, requests)

    async def _on_worker(self, work: Callable[[Any], Any], argument: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._worker, work, argument)

    def _alone(self, request: _Request) -> dict[str, Any]:
        from porelab.infer.predict import PredictConfig, predict
        from porelab.infer.verdict_step import VerdictConfig

        summary = predict(
            self.checkpoint,
            request.predict_input(),
            request.out_dir,
            PredictConfig(verdict=VerdictConfig(threshold=request.threshold), max_memory=self.max_memory),
            loaded=self.loaded,
        )
        return self._answer(request, summary, batch_size=1)

    def _together(self, requests: list[_Request]) -> list[Outcome]:
        from porelab.infer.predict import PredictConfig, PredictJob, predict_many

        jobs = [PredictJob(r.predict_input(), r.out_dir, r.threshold) for r in requests]
        try:
            summaries = predict_many(
                self.checkpoint,
                jobs,
                PredictConfig(max_memory=self.max_memory),
                max_windows=self.batching.max_batch_size,
                loaded=self.loaded,
            )
        except Exception as err:
            if len(requests) == 1:
                return [err]
            return [_catch(self._alone, r) for r in requests]  # so one bad volume fails only its own request
        return [_catch(self._answer, r, s, len(requests)) for r, s in zip(requests, summaries)]

    def _answer(self, request: _Request, summary: dict[str, Any], batch_size: int) -> dict[str, Any]:
        import pandas as pd

        timings = {**summary["timings"], "segment_s": time.perf_counter() - request.arrived, "batch_size": batch_size}
        pores = pd.read_parquet(Path(request.out_dir) / "pores.parquet")
        if isinstance(request.upload, str):
            Path(request.upload).unlink(missing_ok=True)
        return {
            "model": self.model.name,
            "upload": "file" if isinstance(request.upload, str) else "in memory",
            "shape_zyx": summary["shape_zyx"],
            "voxel_size_mm_zyx": summary["voxel_size_mm_zyx"],
            "threshold": summary["threshold"],
            "porosity_percent": summary["porosity_percent"],
            "pore_count": summary["pore_count"],
            "pores_by_class": summary["pores_by_class"],
            "part_volume_mm3": summary["part_volume_mm3"],
            "indications_below_detection_limit": summary["indications_below_detection_limit"],
            "indications_on_rotation_axis": summary["indications_on_rotation_axis"],
            "operating_point": summary["operating_point"],
            "part": summary["part"],
            "pores": _records(pores),
            "ood": summary["ood"],
            "timings": timings,
        }

    def check_health(self) -> None:
        """Serve's health probe: the checkpoint is still there."""
        if not self.checkpoint.is_file():
            raise RuntimeError(f"{self.checkpoint} disappeared")


def _records(table: Any) -> list[dict[str, Any]]:
    import json

    return json.loads(table.to_json(orient="records"))
