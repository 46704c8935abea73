"""Job: how well a model's scan check tells held-out scans from scans it cannot judge.

    python jobs/ood_volumes.py --model porelab-am --out runs/ood-volumes --real /path/to/real-scans
    python jobs/ood_volumes.py --model runs/registry/vae --randomized "" --out runs/ood-volumes-vae

Simulates the presets it needs when they are missing (am-eval, composite, cast-aluminium),
judges every test volume as `porelab predict` would (`porelab.ood.volume_sets`), and writes
rows.parquet (one row per volume), rates.json and report.md (per kind: volumes, share flagged,
median score; the in-distribution share is the false-alarm rate). It runs in one process.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import pandas as pd

from porelab.infer.predict import resolve_checkpoint
from porelab.ood.check import scan_check
from porelab.ood.volume_sets import IN_DISTRIBUTION, judge_all, rates, test_volumes
from porelab.simulate.datasets import build_dataset
from porelab.simulate.scanner import Executor
from porelab.sweep.job_args import run_job
from porelab.volume.atomic import write_text_atomic

_OTHERS = {"composite (PA66 + glass fibre)": "composite", "cast aluminium housing": "cast-aluminium"}


def _parser() -> argparse.ArgumentParser:
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
    return parser


def run(args: argparse.Namespace) -> dict:
    start = time.perf_counter()
    roots = {
        "am-eval": Path(args.evaluation_data),
        **{preset: Path(args.data_root) / preset for preset in _OTHERS.values()},
    }
    for preset, root in roots.items():
        build_dataset(root, preset, "demo", Executor(kind="local"), report=print)
    check = scan_check(resolve_checkpoint(args.model))
    volumes = test_volumes(
        roots["am-eval"],
        Path(args.randomized) if args.randomized else None,
        {kind: roots[preset] for kind, preset in _OTHERS.items()},
        Path(args.real) if args.real and Path(args.real).is_dir() else None,
    )
    rows = pd.DataFrame(list(judge_all(check, volumes, report=print)))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows.to_parquet(out / "rows.parquet", index=False)
    table = rates(rows)
    method = (
        "autoencoder + texture + rings + interpolation + field of view"
        if check.detector_path
        else "texture + rings + interpolation + field of view"
    )
    lines = [
        f"# Scan check of {args.model} ({method})",
        "",
        f"Share of volumes flagged out of distribution; for '{IN_DISTRIBUTION}' it is the false-alarm rate.",
        "",
        "| kind | volumes | flagged (%) | median score |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {r.kind} | {r.volumes} | {r.flagged_percent:.0f} | {r.median_score:.2f} |" for r in table.itertuples()
    ]
    report = "\n".join(lines) + "\n"
    write_text_atomic(out / "report.md", report)
    findings = [
        f"{r.kind}: {r.flagged_percent:.0f} % of {r.volumes} flagged (median score {r.median_score:.2f})"
        for r in table.itertuples()
    ]
    content = {
        "model": args.model,
        "method": method,
        "seconds": round(time.perf_counter() - start, 1),
        "rates": json.loads(table.to_json(orient="records")),
        "findings": findings,
        "report": str(out / "report.md"),
    }
    write_text_atomic(out / "rates.json", json.dumps(content, indent=2) + "\n")
    return content


def main(argv: list[str] | None = None) -> int:
    return run_job("jobs/ood_volumes.py", run, _parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
