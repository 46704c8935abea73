"""How well a model's scan check tells held-out scans from scans it cannot judge.

The presets it needs are simulated when missing (am-eval, composite, cast-aluminium); every
test volume (`porelab.ood.volume_sets`) is judged as `porelab predict` would, and the run writes
rows.parquet (one row per volume), rates.json and report.md (per kind: volumes, share flagged,
median score; the in-distribution share is the false-alarm rate). It runs in one process.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from porelab.infer.predict import resolve_checkpoint
from porelab.ood.check import scan_check
from porelab.ood.volume_sets import IN_DISTRIBUTION, judge_all, rates, test_volumes
from porelab.simulate.datasets import build_dataset
from porelab.simulate.scanner import Executor
from porelab.volume.atomic import write_text_atomic

#: The kinds of scans the models were never meant for, and the presets that simulate them.
OTHER_KINDS = {"composite (PA66 + glass fibre)": "composite", "cast aluminium housing": "cast-aluminium"}


@dataclass(frozen=True)
class ScanCheckStudyConfig:
    model: str = "porelab-am"  # a registry model folder, checkpoint or bundled name
    out: str = "runs/ood-volumes"
    evaluation_data: str = "data/am-eval"  # held-out scans (simulated when missing)
    randomized: str = "data/am-randomized"  # an am-randomized set whose validation scans count as held out ('': none)
    data_root: str = "data"  # where the composite and cast-aluminium presets go
    real: str = ""  # a folder of real scans of other objects (layout in docs/ood.md; '': none)


def _report(model: str, method: str, table: pd.DataFrame) -> str:
    lines = [
        f"# Scan check of {model} ({method})",
        "",
        f"Share of volumes flagged out of distribution; for '{IN_DISTRIBUTION}' it is the false-alarm rate.",
        "",
        "| kind | volumes | flagged (%) | median score |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {r.kind} | {r.volumes} | {r.flagged_percent:.0f} | {r.median_score:.2f} |" for r in table.itertuples()
    ]
    return "\n".join(lines) + "\n"


def run_scan_check_study(config: ScanCheckStudyConfig, report: Callable[[str], None] = print) -> dict[str, Any]:
    """Run the study; the content of rates.json (findings, rates per kind, the report's path)."""
    start = time.perf_counter()
    roots = {
        "am-eval": Path(config.evaluation_data),
        **{preset: Path(config.data_root) / preset for preset in OTHER_KINDS.values()},
    }
    for preset, root in roots.items():
        build_dataset(root, preset, "demo", Executor(kind="local"), report=report)
    check = scan_check(resolve_checkpoint(config.model))
    volumes = test_volumes(
        roots["am-eval"],
        Path(config.randomized) if config.randomized else None,
        {kind: roots[preset] for kind, preset in OTHER_KINDS.items()},
        Path(config.real) if config.real and Path(config.real).is_dir() else None,
    )
    rows = pd.DataFrame(list(judge_all(check, volumes, report=report)))
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    rows.to_parquet(out / "rows.parquet", index=False)
    table = rates(rows)
    checks = "texture + rings + interpolation + field of view"
    method = f"autoencoder + {checks}" if check.detector_path else checks
    write_text_atomic(out / "report.md", _report(config.model, method, table))
    findings = [
        f"{r.kind}: {r.flagged_percent:.0f} % of {r.volumes} flagged (median score {r.median_score:.2f})"
        for r in table.itertuples()
    ]
    content = {
        "model": config.model,
        "method": method,
        "seconds": round(time.perf_counter() - start, 1),
        "rates": json.loads(table.to_json(orient="records")),
        "findings": findings,
        "report": str(out / "report.md"),
    }
    write_text_atomic(out / "rates.json", json.dumps(content, indent=2) + "\n")
    return content
