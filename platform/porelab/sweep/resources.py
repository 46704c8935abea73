"""How many sweep trials run at once: as many as the cluster's CPUs and memory hold."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable

if TYPE_CHECKING:
    from porelab.sweep.plan import TrialPlan

TRIAL_MEMORY_BYTES = 3 * 2**30  # a demo trial's processes together (trainer, worker, data actors)


def trials_that_fit(cpus: float, memory_bytes: float, trial_cpus: float, worker_cpus: float) -> int:
    """Concurrent trials by CPUs (a trial plus its worker, in its process or a Train worker's)
    and by memory; at least one.

    On a 2-core laptop that is 3: a trial spends much of its time starting actors and
    waiting on Ray Data; with two at once, the trials' processes used 1.3 of the 2 cores over
    a sampled 90 s.
    """
    by_cpu = int(cpus // (trial_cpus + worker_cpus))
    by_memory = int(memory_bytes // TRIAL_MEMORY_BYTES)
    return max(1, min(by_cpu, by_memory))


def trial_resources(
    trial_cpus: float, worker_cpus: float, plans: Iterable["TrialPlan"], custom: dict[str, float] | None = None
) -> dict[str, float]:
    """What a sweep's trial asks of Tune: its own process's CPUs, and its worker's too when it
    trains in that process (`scaling.workers` = 0; Ray Train workers ask for their own), plus
    `custom` node resources (e.g. {"trainer": 1} keeps trials on the nodes started with
    `ray start --resources '{"trainer": 1}'`, one trial per such node)."""
    in_process = any(plan.in_process for plan in plans)
    return {"cpu": trial_cpus + (worker_cpus if in_process else 0.0), **(custom or {})}


def concurrent_trials(config: Any) -> int:
    """`config.max_concurrent` when set (> 0), else what the connected cluster holds."""
    if config.max_concurrent > 0:
        return int(config.max_concurrent)
    import ray

    resources = ray.cluster_resources()
    return trials_that_fit(
        resources.get("CPU", 1.0), resources.get("memory", TRIAL_MEMORY_BYTES), config.trial_cpus, config.worker_cpus
    )
