"""Job: how well a model's scan check tells held-out scans from scans it cannot judge.

    python jobs/ood_volumes.py --model porelab-am --out runs/ood-volumes --real /path/to/real-scans
    python jobs/ood_volumes.py --model runs/registry/vae --randomized "" --out runs/ood-volumes-vae

Simulates the presets it needs when they are missing (am-eval, composite, cast-aluminium),
judges every test volume as `porelab predict` would, and writes rows.parquet (one row per
volume), rates.json and report.md (`porelab.assess.scan_check_study`).
"""

from __future__ import annotations

import argparse
import sys

from porelab.assess.scan_check_study import ScanCheckStudyConfig, run_scan_check_study
from porelab.sweep.job_args import run_job


def parse(argv: list[str] | None) -> ScanCheckStudyConfig:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="porelab-am", help="a registry model folder, checkpoint or bundled name")
    parser.add_argument("--out", default="runs/ood-volumes", help="output directory")
    parser.add_argument("--evaluation-data", default="data/am-eval", help="held-out scans (simulated when missing)")
    parser.add_argument(
        "--randomized",
        default="data/am-randomized",
        help="an am-randomized set whose validation scans count as held out ('' for none)",
    )
    parser.add_argument("--data-root", default="data", help="where the composite and cast-aluminium presets go")
    parser.add_argument(
        "--real",
        default="",
        metavar="DIR",
        help="a folder of real scans of other objects (layout in docs/ood.md; default: none)",
    )
    args = parser.parse_args(argv)
    return ScanCheckStudyConfig(args.model, args.out, args.evaluation_data, args.randomized, args.data_root, args.real)


def main(argv: list[str] | None = None) -> int:
    return run_job("jobs/ood_volumes.py", run_scan_check_study, parse(argv))


if __name__ == "__main__":
    sys.exit(main())
