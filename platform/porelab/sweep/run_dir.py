"""The run directory every sweep job leaves: config.json when it starts, summary.json when it
ends, and the resources the report states (the cluster's real CPU and GPU counts)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import ray
import torch

from porelab.config import to_dict
from porelab.report import Resources
from porelab.volume.atomic import write_text_atomic

CONFIG, SUMMARY = "config.json", "summary.json"


def start_run(out: str | Path, config: Any) -> Path:
    """OUT, created, with the job's configuration (a dataclass) as config.json."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out / CONFIG, json.dumps(to_dict(config), indent=2) + "\n")
    return out


def write_summary(
    out: str | Path, findings: list[str], seconds: float, report: Any, failed: list[str] | None = None, **extra: Any
) -> dict[str, Any]:
    """summary.json (replaced atomically): the findings the console prints, the failed trials'
    errors, the wall time, the report's path and the job's own `extra` fields; returns its content."""
    content = {
        **extra,
        "findings": findings,
        "failed_trials": list(failed or []),
        "seconds": round(seconds, 1),
        "report": str(report),
    }
    write_text_atomic(Path(out) / SUMMARY, json.dumps(content, indent=2, default=float) + "\n")
    return content


def compute() -> tuple[float, float]:
    """(CPUs, GPUs) the run had: the connected Ray cluster's, else this machine's."""
    if ray.is_initialized():
        resources = ray.cluster_resources()
        return float(resources.get("CPU", 0.0)), float(resources.get("GPU", 0.0))
    return float(os.cpu_count() or 1), float(torch.cuda.device_count())


def run_resources(seconds: float, trials: int, failed: int = 0, extra: dict[str, str] | None = None) -> Resources:
    """What the run cost, as the report states it."""
    cpus, gpus = compute()
    return Resources(
        wall_time_s=seconds, cpus=cpus, gpus=gpus, trials=int(trials), failed_trials=int(failed), extra=extra or {}
    )
