"""The bundled detector's recipe: simulate the am-randomized set, train on it, calibrate the
operating point on its validation scans, score it on the evaluation preset, and bundle it.

Every step is resumable: the datasets skip scans whose files match their checksums, the
training resumes from its last epoch, and a finished step is not run again. Run directory:

    <out>/train/          the training run (`porelab.train.run.fit`)
    <out>/evaluation.parquet, evaluation.txt  `porelab evaluate`'s rows and table on am-eval
    <out>/pretrain.json   what was done: data, budget, operating point, figures

`bundle_to` writes the result as a bundled detector folder (`porelab.bundled`).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import pandas as pd

from porelab.assess import calibrated, dataset_scans, evaluate_model, table_text
from porelab.checkpoint import CheckpointInfo, read_checkpoint, save_weights_only
from porelab.checksum import sha256
from porelab.errors import ConfigError
from porelab.ood.registry_detector import registry_detector
from porelab.registry import MODEL, OOD, read_model_config, write_model_folder
from porelab.simulate.datasets import build_dataset, read_manifest
from porelab.simulate.scanner import Executor
from porelab.train.config import training_config
from porelab.train.run import fit
from porelab.volume.atomic import write_text_atomic

PRETRAIN_PROFILES = {"laptop": "demo", "cluster": "paper"}  # training profile -> simulation profile
#: What a bundled detector takes (its config.json's "input", shown by the service).
INPUT = (
    "a reconstructed CT volume (z, y, x) of a metal part in air; grey values are normalised per volume "
    "(0.5-99.5 percentiles), so any linear scale works"
)
Report = Callable[[str], None]


@dataclass(frozen=True)
class PretrainConfig:
    """Args:
    profile: "laptop" (<= 90 min on 2 cores) or "cluster" (GPUs, paper-sized scans).
    data: where the am-randomized set is (written when missing).
    evaluation_data: where the am-eval preset is (written when missing); None skips it.
    out: the run directory.
    name: the bundled detector's name.
    model: the architecture (a supervised one).
    overrides: `key=value` changes to the training profile.
    ray_address: a cluster to join (default: a local Ray).
    """

    profile: str = "laptop"
    data: str = "data/am-randomized"
    evaluation_data: str | None = "data/am-eval"
    out: str = "runs/pretrain-laptop"
    name: str = "porelab-am"
    model: str = "unet"
    overrides: tuple[str, ...] = ()
    ray_address: str | None = None

    def __post_init__(self) -> None:
        if self.profile not in PRETRAIN_PROFILES:
            raise ConfigError(f"--profile {self.profile!r}: expected one of {list(PRETRAIN_PROFILES)}")


class _EpochWatcher:
    """Reports each finished epoch of a training run from the driver (it counts the run's
    staged epoch folders): a rich progress bar on a terminal, a line per epoch otherwise."""

    def __init__(self, run_dir: Path, epochs: int, report: Report) -> None:
        self.run_dir, self.epochs, self.report = run_dir, epochs, report
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _done(self) -> int:
        return len(list((self.run_dir / "staging").glob("epoch-*")))

    def _watch(self) -> None:
        first, start = self._done(), time.perf_counter()
        seen = first
        with _bar(self.epochs, first) as advance:
            while seen < self.epochs and not self._stop.wait(5.0):
                now = self._done()
                if now > seen:
                    per_epoch = (time.perf_counter() - start) / (now - first)
                    advance(now - seen)
                    self.report(f"epoch {now}/{self.epochs}, about {per_epoch * (self.epochs - now) / 60:.0f} min left")
                    seen = now

    def __enter__(self) -> "_EpochWatcher":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


@contextmanager
def _bar(total: int, done: int) -> Iterator[Callable[[int], None]]:
    if not sys.stderr.isatty():
        yield lambda steps: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(
        TextColumn("training"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as progress:
        task = progress.add_task("training", total=total, completed=done)
        yield lambda steps: progress.advance(task, steps)


def _simulate(root: str, preset: str, profile: str, report: Report) -> None:
    """Write or complete the dataset (an existing am-randomized set keeps its recorded ranges)."""
    manifest = read_manifest(Path(root))
    if manifest.get("preset") not in (None, preset):
        raise ConfigError(f"{root}/manifest.json: field 'preset' is {manifest.get('preset')!r}; expected {preset!r}")
    report(f"{preset}: simulating or checking {root}")
    build_dataset(root, preset, profile, Executor(kind="local"), report=report)


def _train(config: PretrainConfig, report: Report) -> Any:
    train_config = training_config(f"pretrain-{config.profile}", config.model, overrides=list(config.overrides))
    run_dir = Path(config.out) / "train"
    report(
        f"training {config.model} ({train_config.loop.max_epochs} epochs x {train_config.stream.patches_per_epoch} "
        f"patches of {train_config.patches.patch}) on {config.data}"
    )
    with _EpochWatcher(run_dir, train_config.loop.max_epochs, report):
        return fit(train_config, config.data, run_dir, ray_address=config.ray_address)


def _evaluate(checkpoint: Path, data: str, out: Path, report: Report) -> pd.DataFrame:
    target = out / "evaluation.parquet"
    if target.exists():
        return pd.read_parquet(target)
    scans = dataset_scans(data)
    result = evaluate_model(checkpoint, scans, report=report)
    rows = result.rows(scans)
    table = result.table(scans)
    write_text_atomic(out / "evaluation.txt", table_text(table) + "\n")
    rows.to_parquet(target, index=False)
    return rows


def pretrain(config: PretrainConfig, report: Report = print) -> dict[str, Any]:
    """Run the recipe (see the module docstring); the contents of pretrain.json."""
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    simulation_profile = PRETRAIN_PROFILES[config.profile]
    start = time.perf_counter()
    _simulate(config.data, "am-randomized", simulation_profile, report)
    trained = _train(config, report)
    point = calibrated(trained.best_checkpoint, config.data, report=report).to_dict()
    manifest = read_manifest(Path(config.data))
    history = pd.read_parquet(Path(config.out) / "train" / "history.parquet")
    train = {**trained.summary, "epoch_seconds": float(history.epoch_seconds.sum())}  # resumed sessions included
    record: dict[str, Any] = {
        "config": asdict(config),
        "train": train,
        "operating_point": point,
        "data": {
            "preset": "am-randomized",
            "profile": simulation_profile,
            "sampling": manifest.get("sampling"),
            "scans": len(manifest["scans"]),
        },
        "checkpoint": str(trained.best_checkpoint),
    }
    if config.evaluation_data:
        _simulate(config.evaluation_data, "am-eval", simulation_profile, report)
        rows = _evaluate(trained.best_checkpoint, config.evaluation_data, out, report)
        record["evaluation"] = evaluation_summary(rows)
    record["seconds"] = round(time.perf_counter() - start, 1)
    record["findings"] = findings(record)
    record["report"] = str(out / "pretrain.json")
    write_text_atomic(out / "pretrain.json", json.dumps(record, indent=2, default=float) + "\n")
    return record


def findings(record: dict[str, Any]) -> list[str]:
    """What the run shows, in a few lines (clean scans are those of the evaluation preset
    without a -p<k>-e<percent> suffix)."""
    train, point = record["train"], record["operating_point"]
    lines = [
        f"trained {train.get('model')} for {train.get('epochs')} epochs in {_minutes(train):.0f} min; "
        f"operating point: threshold {point['threshold']:.3g}, boundary radius {point.get('boundary_radius_vox', 0)}"
    ]
    evaluation = record.get("evaluation") or {}
    if evaluation:
        frame = pd.DataFrame(evaluation).T
        clean = frame[~frame.index.str.contains(r"-p\d+-e\d+$")]
        degraded = frame.drop(clean.index)
        lines.append(
            f"evaluation preset, clean scans: Dice {clean.dice.min():.3f}-{clean.dice.max():.3f}, "
            f"largest porosity error {clean.porosity_error_pp.abs().max():.3f} pp, "
            f"false calls at most {frame.false_calls.max():.0f}, AP {clean.ap.min():.3f}-{clean.ap.max():.3f}"
        )
        if len(degraded):
            worst = degraded.dice.idxmin()
            lines.append(
                f"degraded scans: worst Dice {degraded.dice.min():.3f} ({worst}), largest porosity error "
                f"{degraded.porosity_error_pp.abs().max():.3f} pp"
            )
    return lines


def _minutes(train: dict[str, Any]) -> float:
    """Minutes of training: every epoch's time, sessions before a resume included."""
    return float(train.get("epoch_seconds", train.get("seconds", 0))) / 60


def evaluation_summary(rows: pd.DataFrame) -> dict[str, Any]:
    """Per scan of the evaluation preset, the verdict's figures at the operating point."""
    mine = rows[rows.variant != "otsu"]
    wide = mine.pivot_table(index="scan", columns="metric", values="value", sort=False)
    keep = [
        "ap",
        "dice",
        "dice_best",
        "false_calls",
        "porosity_error_pp",
        "pore_voxels_outside_part",
        "pores_found_percent",
        "pod_a50",
        "pod_a90",
    ]
    return {
        scan: {k: _figure(v) for k, v in row.items() if k in keep} for scan, row in wide.to_dict(orient="index").items()
    }


def _figure(value: float) -> float | str | None:
    """A figure as JSON holds it: None for no value (a POD without a fit), "not reached" for a POD
    size beyond the pores tested (inf, which strict JSON has no word for)."""
    if pd.isna(value):
        return None
    return "not reached" if value == float("inf") else float(value)


def bundle_to(record: dict[str, Any], target: Path, card: str) -> Path:
    """Write the trained detector as a bundled folder: weights only (no optimiser state), its
    out-of-distribution detector `ood.pt` (trained on the same training scans; kept when it
    already was), the record with both files' sha256 as config.json, metrics.json and the model
    card."""
    target.mkdir(parents=True, exist_ok=True)
    weights = save_weights_only(Path(record["checkpoint"]), target / MODEL)
    payload = read_checkpoint(weights)
    previous = read_model_config(target).get("ood_detector")
    ood = registry_detector(
        target, record["config"]["data"], record["train"]["train_scans"], {"model": Path(target).name}, previous
    )
    config = {
        "model": CheckpointInfo.from_payload(payload).model_name,
        "name": Path(target).name,
        "input": INPUT,
        "sha256": sha256(weights),
        "ood_detector": ood,
        "ood_sha256": sha256(target / OOD),
        "threshold": payload.get("threshold", 0.5),
        "operating_point": payload.get("operating_point"),
        "train_config": payload["train_config"],
        "data": record["data"],
        "train": record["train"],
        "pretrain": {k: v for k, v in record["config"].items() if k != "ray_address"},
        "seconds": record["seconds"],
    }
    return write_model_folder(target, config, metrics=record.get("evaluation", {}), card=card)


def model_card(record: dict[str, Any]) -> str:
    """The bundled detector's card: what it was trained on and for how long, its operating
    point, and its measured figures on the evaluation preset (scans no training used)."""
    train, data, point = record["train"], record["data"], record["operating_point"]
    sampling = data.get("sampling") or {}
    lines = [
        f"# {record['config']['name']}: a pore detector trained on simulated scans",
        "",
        f"- architecture: {train.get('model')}, trained with `jobs/pretrain.py --profile "
        f"{record['config']['profile']}` for {train.get('epochs')} epochs ({_minutes(train):.0f} min of epochs; "
        f"best epoch {train.get('best_epoch')})",
        f"- input: {INPUT}",
        f"- training data: the `am-randomized` preset, {data.get('scans')} scans ({data.get('profile')} profile; "
        f"{len(train.get('train_scans', []))} trained, the best epoch chosen on {len(train.get('val_scans', []))} "
        "validation scans, the operating point set on the validation scans named below): "
        f"parts {', '.join(sampling.get('parts', []))}; materials {', '.join(sampling.get('materials', []))}; "
        f"projections {sampling.get('projections')} of the full count, exposure {sampling.get('exposure')}, "
        f"tube {sampling.get('tube_kv')} kV, pore median diameter {sampling.get('pore_median_vox')} voxels",
        f"- operating point: threshold {point['threshold']:.3g} (grow {point['low_threshold']:.3g}), minimum "
        f"diameter {point['min_diameter_vox']:.2g} voxels, boundary radius {point.get('boundary_radius_vox', 0)} at "
        f"ISO-{100 * point.get('boundary_iso', 0.5):.0f}: {point['source']}",
        "- scan check: `ood.pt`, an autoencoder trained on z slices of the same training scans; with the "
        "periodic-texture and field-of-view checks it says on every prediction whether a scan is fit to judge "
        "(`ood` in summary.json)",
        "",
    ]
    evaluation = record.get("evaluation")
    if evaluation:
        lines += [
            "## Measured on the am-eval preset (other parts, seeds and scanner; no training used it)",
            "",
            "| scan | AP | Dice | false calls | porosity error (pp) | pores found (%) | a90 (voxels) |",
            "|---|---|---|---|---|---|---|",
        ]
        for scan, m in evaluation.items():
            a90 = m.get("pod_a90")
            a90 = "no fit" if a90 is None else a90 if isinstance(a90, str) else f"{a90:.2f}"
            lines.append(
                f"| {scan} | {m['ap']:.3f} | {m['dice']:.3f} | {m['false_calls']:.0f} | "
                f"{m['porosity_error_pp']:+.3f} | {m.get('pores_found_percent') or 0:.0f} | {a90} |"
            )
        lines.append("")
    lines += [
        "## Limits",
        "",
        "Trained on simulated scans only: real scanners' artefacts outside the simulator's model "
        "(phase contrast, metal streaks of very dense parts, motion) were never seen. Pores below "
        "about 2 voxels across are at the detection limit. Check it on your own scans with "
        "`porelab evaluate` where you have a reference, or fine-tune it on your part.",
        "",
    ]
    return "\n".join(lines)
