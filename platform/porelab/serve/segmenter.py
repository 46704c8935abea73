"""One registry model as a Serve deployment: runs the out-of-core `predict` on an uploaded
volume and answers with the pore table, porosity, OOD verdict and timings.

Batching: each request is a whole volume segmented by `predict` (which already batches the
sliding windows of its volume); requests are not merged across clients. Concurrency comes from
`max_ongoing_requests` per replica and the replica count.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from porelab.serve.ood_check import OODCheck
from porelab.serve.registry import RegistryModel


class Segmenter:
    """Holds one model's checkpoint path and OOD check; `segment` works on a file on shared disk."""

    def __init__(self, model: RegistryModel, max_memory: int) -> None:
        from porelab.infer.predict import load_score_model, resolve_checkpoint

        self.model, self.max_memory = model, max_memory
        self.checkpoint = resolve_checkpoint(model.path)
        load_score_model(self.checkpoint)  # fail at start-up, not on the first request
        self.ood = OODCheck(model.ood_detector)

    def segment(self, input_path: str, out_dir: str, threshold: float | None) -> dict[str, Any]:
        import pandas as pd

        from porelab import volume
        from porelab.data.normalise import fit_normaliser
        from porelab.infer.predict import PredictConfig, predict

        start = time.perf_counter()
        summary = predict(self.checkpoint, input_path, out_dir,
                          PredictConfig(threshold=threshold, max_memory=self.max_memory))
        t = time.perf_counter()
        vol = volume.read(input_path)
        ood = self.ood(vol, fit_normaliser(vol))
        timings = {**summary["timings"], "ood_s": time.perf_counter() - t, "segment_s": time.perf_counter() - start}
        pores = pd.read_parquet(Path(out_dir) / "pores.parquet")
        Path(input_path).unlink(missing_ok=True)
        return {"model": self.model.name, "shape_zyx": summary["shape_zyx"],
                "voxel_size_mm_zyx": summary["voxel_size_mm_zyx"], "threshold": summary["threshold"],
                "porosity_percent": summary["porosity_percent"], "pore_count": summary["pore_count"],
                "pores": _records(pores), "ood": ood, "timings": timings}

    def check_health(self) -> None:
        """Serve's health probe: the checkpoint is still there."""
        if not self.checkpoint.is_file():
            raise RuntimeError(f"{self.checkpoint} disappeared")


def _records(table: Any) -> list[dict[str, Any]]:
    import json

    return json.loads(table.to_json(orient="records"))
