"""Weld OOD evaluation (Lindgren & Zach, Tables 2-3) on simulated welds: TPR at 0.1 % FPR of
the autoencoder trained with no perturbations, real defects and natural-image indications,
against the supervised patch classifier; mean and spread over N trainings
(`porelab.ood.studies.run_weld_study`).

    python jobs/ood_welds.py --trainings 3 --out runs/ood_welds
"""

from __future__ import annotations

import argparse
import sys

import torch

from porelab.ood.studies import WeldStudyConfig, add_training_arguments, detector_training, run_weld_study


def parse(argv: list[str] | None) -> WeldStudyConfig:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="output directory (ood_tpr.json, ood_tpr.md)")
    add_training_arguments(parser)
    parser.add_argument("--train-patches", type=int, default=2000, help="accepted training patches")
    parser.add_argument("--test-patches", type=int, default=2000, help="accepted test patches")
    parser.add_argument("--per-set", type=int, default=500, help="patches per defect / OOD test set")
    parser.add_argument("--size", type=int, default=64, help="patch edge in pixels")
    parser.add_argument(
        "--ood-amplitudes",
        type=float,
        nargs="+",
        default=[0.1, 0.05],
        help="peaks of the synthetic OOD types (grey values; real defects peak at 0.08-0.17)",
    )
    args = parser.parse_args(argv)
    return WeldStudyConfig(
        out=args.out,
        training=detector_training(args),
        train_patches=args.train_patches,
        test_patches=args.test_patches,
        per_set=args.per_set,
        size=args.size,
        ood_amplitudes=tuple(args.ood_amplitudes),
    )


def main(argv: list[str] | None = None) -> int:
    config = parse(argv)
    torch.set_num_threads(1)
    print(run_weld_study(config, report=lambda line: print(line, flush=True))["table"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
