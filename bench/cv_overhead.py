"""What a cross-validation trial spends beside its work: a 2-model x 2-fold demo sweep with the
trials training in their own process (`scaling.workers=0`, the demo default) against the same
sweep through a one-worker `TorchTrainer` per trial (`scaling.workers=1`, the anchor).

Same process, same dataset, same trials, models, folds and concurrency; each sweep in a fresh
run directory. The in-process sweep runs first, on a cold Ray (the worker processes that run
patch tasks are started during it), the anchor after it on a warm one: the comparison leans
towards the anchor. Per sweep it reads every trial's Tune record and reports

    overhead_share = 1 - sum(epoch seconds + scoring seconds) / sum(trial seconds)

where a trial's seconds are Tune's `time_total_s` (its function from start to report: Train
start-up, patch streams, export and scoring included; Ray's pooled worker processes start
before it), epoch seconds come from its history and scoring seconds from its evaluation. The
last line gives the in-process sweep's share and its wall time against the anchor's.

    .venv/bin/python bench/cv_overhead.py --data data/am          # after `porelab simulate --preset am-cylinders`
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from porelab.runtime import ensure_ray
from porelab.sweep import CVConfig, run_cv


def _trial_records(run: Path) -> list[dict[str, float]]:
    records = []
    for path in sorted((run / "tune").glob("*/result.json")):
        lines = [line for line in path.read_text().splitlines() if line.strip()]
        last = json.loads(lines[-1])
        records.append(
            {"trial": last["time_total_s"], "epochs": last["epoch_seconds"], "scoring": last["evaluation_seconds"]}
        )
    return records


def _sweep(
    data: str, root: Path, name: str, workers: int, models: list[str], folds: int, concurrent: int
) -> tuple[float, float, int]:
    """(overhead share, sweep wall seconds, trials) of one sweep."""
    config = CVConfig(
        data=data,
        out=str(root / name),
        registry=str(root / f"{name}-registry"),
        models=tuple(models),
        folds=folds,
        overrides=(f"scaling.workers={workers}",),
        max_concurrent=concurrent,
    )
    start = time.perf_counter()
    run_cv(config)
    wall = time.perf_counter() - start
    records = _trial_records(root / name)
    work = sum(r["epochs"] + r["scoring"] for r in records)
    return 1.0 - work / sum(r["trial"] for r in records), wall, len(records)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="data/am", help="an am-cylinders dataset (default data/am)")
    parser.add_argument("--models", nargs="+", default=["unet", "vae"])
    parser.add_argument("--folds", type=int, default=2)
    parser.add_argument("--max-concurrent", type=int, default=0, help="trials at once (default: what fits)")
    args = parser.parse_args()
    ensure_ray()
    with tempfile.TemporaryDirectory(prefix="cv-overhead-") as tmp:
        root = Path(tmp)
        ours = _sweep(args.data, root, "in-process", 0, args.models, args.folds, args.max_concurrent)
        anchor = _sweep(args.data, root, "torchtrainer", 1, args.models, args.folds, args.max_concurrent)
    for name, (share, wall, trials) in (("torchtrainer (1 worker)", anchor), ("in-process", ours)):
        print(f"{name:24s} trials={trials} overhead_share={share:.3f} sweep_wall_s={wall:.1f}")
    print(
        f"overhead_share={ours[0]:.3f} anchor_overhead_share={anchor[0]:.3f} "
        f"wall_ratio_vs_torchtrainer={anchor[1] / ours[1]:.2f}"
    )


if __name__ == "__main__":
    main()
