"""Joining or starting Ray: the cluster at RAY_ADDRESS (or `address`), else an embedded local Ray."""

from __future__ import annotations

import os
from typing import Any

_LOCAL_OBJECT_STORE = 512 * 1024**2


def ensure_ray(
    address: str | None = None, *, num_cpus: int | None = None, quiet: bool = True, log_to_driver: bool = True
) -> Any:
    """`ray`, initialised: joins `address`/RAY_ADDRESS when given, else starts a small local Ray.

    Without an address it always starts its own Ray (`address="local"`), even where a `ray start`
    cluster runs on the machine: plain `ray.init()` would join that one, and refuse the
    `num_cpus` given here. Join it with `address="auto"` (or RAY_ADDRESS=auto).

    `log_to_driver=False` keeps the workers' output in the session's log folder only (the
    sweep jobs' console, `porelab.sweep.console`).

    Workers get OMP_NUM_THREADS=1 unless it is set: two torch threads per process ran 3-8x
    slower on a 2-core machine (docs/field-notes.md).

    The local Ray runs its dashboard (on 127.0.0.1): besides showing the run, it serves the
    state API that Ray Train's placement-group cleaner polls. Without it every TorchTrainer
    left a cleaner actor of about 240 MiB polling in vain until the job ended; a 40-trial
    sweep would have held 40 of them.
    """
    import ray

    if ray.is_initialized():
        return ray
    env = {"OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    address = address or os.environ.get("RAY_ADDRESS")
    if address:
        ray.init(address=address, runtime_env={"env_vars": env}, log_to_driver=log_to_driver)
    else:
        ray.init(
            address="local",
            num_cpus=num_cpus or os.cpu_count(),
            include_dashboard=True,
            dashboard_host="127.0.0.1",
            object_store_memory=_LOCAL_OBJECT_STORE,
            runtime_env={"env_vars": env},
            configure_logging=not quiet,
            log_to_driver=log_to_driver,
        )
    return ray
