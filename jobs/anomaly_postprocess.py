"""Post-processing effect on AP (Iuso et al.): train VAE and ceVAE briefly on patches of the
good simulated scans (the test scan left out), score the test scan (default: the challenging
cube), report voxel AP raw vs post-processed (`porelab.assess.anomaly_experiment`).

    python jobs/anomaly_postprocess.py --data data/am --out runs/anomaly_postprocess
"""

from __future__ import annotations

import argparse
import sys

import torch

from porelab.assess.anomaly_experiment import (
    AnomalyExperimentConfig,
    PostprocessStudyConfig,
    run_postprocess_study,
    study_table,
)


def parse(argv: list[str] | None) -> PostprocessStudyConfig:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="data/am", help="dataset directory (built with the demo profile if absent)")
    parser.add_argument("--out", required=True, help="output directory (anomaly_postprocess.json / .md)")
    parser.add_argument("--models", nargs="+", default=["vae", "cevae"])
    parser.add_argument("--test-scan", default="cube-316L-challenging")
    parser.add_argument("--patch", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--steps-per-epoch", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--channels", type=int, nargs="+", default=[8, 16, 32, 64], help="encoder widths")
    parser.add_argument("--latent-dim", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    experiment = AnomalyExperimentConfig(
        patch=args.patch,
        epochs=args.epochs,
        steps_per_epoch=args.steps_per_epoch,
        batch_size=args.batch_size,
        seed=args.seed,
        model_options={"channels": tuple(args.channels), "latent_dim": args.latent_dim},
    )
    return PostprocessStudyConfig(args.data, args.out, tuple(args.models), args.test_scan, experiment)


def main(argv: list[str] | None = None) -> int:
    config = parse(argv)
    torch.set_num_threads(1)
    print(study_table(run_postprocess_study(config, report=lambda line: print(line, flush=True))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
