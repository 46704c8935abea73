"""porelab's own numbers, exported to Prometheus through Ray's metrics agent.

Training (per epoch: losses, validation AP and Dice, patches/s, epoch seconds, the share of
the epoch spent waiting for data), sweeps (trials finished and failed), simulation (slabs
done) and the service (per request: voxels/s, the verdict's pore count and porosity, the scan
check's flag, errors by kind). `ray.util.metrics` hands them to the metrics agent of the node
the recording process runs on; Prometheus scrapes every node's agent (`--metrics-export-port`)
and sees each one as `ray_porelab_<name>` (Ray prefixes `ray_`; counters get `_total`).
`dashboards/` draws them.

Every record is a no-op in a process without Ray (a plain `porelab predict`, the unit tests)
and never raises: a metric must not fail the work it describes. Written here because Ray's
metrics need one object per name and tag set per process, which these cached constructors keep.
"""

from __future__ import annotations

import functools
import logging
import math
from typing import Any

_LOG = logging.getLogger(__name__)

#: Per-epoch numbers of `porelab.train.loop` that become gauges, by the name they export under.
EPOCH_GAUGES = {
    "train_loss": ("porelab_train_loss", "training loss of the last epoch"),
    "val_loss": ("porelab_validation_loss", "validation loss of the last epoch"),
    "val_ap": ("porelab_validation_ap", "validation average precision of the last epoch"),
    "val_dice": ("porelab_validation_dice", "validation Dice at the training threshold, last epoch"),
    "train_patches_per_s": ("porelab_train_patches_per_second", "training patches per second, last epoch"),
    "epoch_seconds": ("porelab_epoch_seconds", "seconds of the last epoch (training and validation)"),
    "data_wait_share": ("porelab_data_wait_share", "share of the last epoch's training spent waiting for data"),
}


def _ray_running() -> bool:
    try:
        import ray
    except ImportError:  # pragma: no cover - Ray is a dependency
        return False
    return ray.is_initialized()


@functools.lru_cache(maxsize=None)
def _metric(kind: str, name: str, description: str, tags: tuple[str, ...]) -> Any:
    from ray.util import metrics

    if kind == "histogram":
        return metrics.Histogram(name, description=description, tag_keys=tags, boundaries=[0.01, 0.1, 1, 10, 100, 1000])
    return getattr(metrics, kind.capitalize())(name, description=description, tag_keys=tags)


def _record(kind: str, name: str, description: str, value: float, tags: dict[str, str]) -> None:
    if not _ray_running():
        return
    try:
        metric = _metric(kind, name, description, tuple(sorted(tags)))
        clean = {k: str(v) for k, v in tags.items()}
        if kind == "counter":
            metric.inc(float(value), tags=clean)
        elif kind == "gauge":
            metric.set(float(value), tags=clean)
        else:
            metric.observe(float(value), tags=clean)
    except Exception as error:  # a metric never fails the work it describes
        _LOG.debug("metric %s not recorded: %s", name, error)


def record_epoch(metrics: dict[str, float], model: str, run: str) -> None:
    """One training epoch's numbers (`EPOCH_GAUGES`), tagged with the model and the run's name
    (a cross-validation trial's run is `<model>-fold<k>`)."""
    for key, (name, description) in EPOCH_GAUGES.items():
        if key in metrics and not math.isnan(metrics[key]):  # NaN (no validation) is left out
            _record("gauge", name, description, metrics[key], {"model": model, "run": run})
    _record("counter", "porelab_epochs", "training epochs finished", 1, {"model": model, "run": run})


def record_trial(sweep: str, model: str, status: str) -> None:
    """A sweep's trial ended: `status` "finished" or "failed"."""
    _record(
        "counter",
        "porelab_trials",
        "sweep trials ended, by status",
        1,
        {"sweep": sweep, "model": model, "status": status},
    )


def record_slab(stage: str) -> None:
    """A simulation slab of slices is done (`stage`: the slab function, e.g. project_slab)."""
    _record("counter", "porelab_simulation_slabs", "simulation slabs done, by stage", 1, {"stage": stage})


def record_request(model: str, voxels_per_s: float, pores: int, porosity_percent: float, ood_flagged: bool) -> None:
    """One answered segmentation request of the service."""
    tags = {"model": model}
    _record(
        "counter",
        "porelab_requests",
        "segmentation requests answered",
        1,
        {**tags, "ood": "flagged" if ood_flagged else "in_distribution"},
    )
    _record("gauge", "porelab_request_voxels_per_second", "voxels per second of the last request", voxels_per_s, tags)
    _record("histogram", "porelab_verdict_pores", "pores reported per request", pores, tags)
    _record(
        "gauge", "porelab_verdict_porosity_percent", "porosity of the last request's part (%)", porosity_percent, tags
    )


def record_request_error(model: str, kind: str) -> None:
    """A segmentation request that failed, by the error's class name."""
    _record(
        "counter",
        "porelab_request_errors",
        "segmentation requests that failed, by kind",
        1,
        {"model": model, "kind": kind},
    )
