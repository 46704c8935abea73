"""Fine-tuning a trained detector on the user's own part (Fuchs et al.: simulate the part at the
user's scan settings, train on those scans with exact labels).

From a part mask (nonzero = part, e.g. voxelised from CAD) and the scan settings, a few scans
of the part with drawn pores are simulated; the model is trained on them for a bounded number
of epochs starting from its own weights; its operating point is calibrated on one more scan;
and base and fine-tuned models are both scored on a last scan neither saw. Run directory:

    <out>/data/        the simulated scans of the part (a dataset like the presets')
    <out>/train/       the training run
    <out>/model/       the fine-tuned model as a registry folder (model.pt, config.json, model_card.md)
    <out>/finetune.json  settings, and the base and fine-tuned figures on the test scan

Every step resumes when run again with the same settings.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Callable

import numpy as np

from porelab import volume
from porelab.assess import calibrated, dataset_scans, evaluate_model
from porelab.checkpoint import read_checkpoint, save_weights_only
from porelab.errors import ConfigError
from porelab.infer.predict import resolve_checkpoint
from porelab.registry import MODEL, read_model_config, write_model_folder
from porelab.simulate.datasets import ScanPlan
from porelab.simulate.datasets.build import build_plans
from porelab.simulate.materials import tungsten_spectrum
from porelab.simulate.phantoms import Phantom, PorePopulation, phantom_from_solid
from porelab.simulate.phantoms.mesh import read_stl, voxelize
from porelab.simulate.scanner import AM_CYLINDER_PAPER, Executor, ScanSpec, scaled_to_grid
from porelab.train.config import TrainConfig, finetuning_config
from porelab.train.run import fit
from porelab.volume.atomic import write_text_atomic

Report = Callable[[str], None]
_SPECTRUM_KEYS = ("tube_kv", "copper_filter_mm")


@dataclass(frozen=True)
class FinetuneConfig:
    """Args:
    model: the detector to start from (a bundled name, a checkpoint, a run or registry folder).
    part: a volume file holding the part (nonzero = part), or an STL surface in mm.
    out: the run directory.
    material: the part's material (one of `porelab.simulate.AM_MATERIALS`).
    voxel_size_mm: the scan's voxel size (default: the part file's).
    scan_settings: `ScanSpec` fields of the user's scanner (plus `tube_kv` and
        `copper_filter_mm` for the spectrum); missing ones come from the good AM setting,
        its projection count scaled to the part's size.
    scans: simulated training scans; one more calibrates and one more tests.
    porosity_percent, pore_median_vox: the drawn pores.
    epochs, patches_per_epoch, lr: the bounded fine-tuning.
    """

    model: str
    part: str
    out: str
    material: str = "316L"
    voxel_size_mm: float | None = None
    scan_settings: dict[str, Any] = field(default_factory=dict)
    scans: int = 4
    porosity_percent: float = 1.0
    pore_median_vox: float = 3.0
    epochs: int = 4
    patches_per_epoch: int = 96
    lr: float = 3e-4
    seed: int = 0

    def __post_init__(self) -> None:
        if self.scans < 1 or self.epochs < 1 or self.patches_per_epoch < 1:
            raise ConfigError(
                f"finetune: scans={self.scans}, epochs={self.epochs}, patches_per_epoch="
                f"{self.patches_per_epoch}; expected all >= 1"
            )


def scan_spec(settings: dict[str, Any], grid_side: int, seed: int) -> ScanSpec:
    """The user's scan settings over the good AM setting (projections scaled to the part)."""
    known = set(ScanSpec.__dataclass_fields__) | set(_SPECTRUM_KEYS)
    unknown = set(settings) - known
    if unknown:
        raise ConfigError(
            f"--scan-settings: unknown fields {sorted(unknown)}; expected ScanSpec fields or {list(_SPECTRUM_KEYS)}"
        )
    base = scaled_to_grid(AM_CYLINDER_PAPER, grid_side, seed=seed)
    fields = {k: v for k, v in settings.items() if k not in _SPECTRUM_KEYS}
    if any(k in settings for k in _SPECTRUM_KEYS):
        weights = tungsten_spectrum(
            tube_kv=float(settings.get("tube_kv", 220.0)), copper_filter_mm=float(settings.get("copper_filter_mm", 2.0))
        )
        fields["spectrum_weights"] = tuple(float(w) for w in weights)
    return ScanSpec.from_dict({**base.to_dict(), **fields, "name": "user-scanner", "seed": seed})


def part_solid(part_file: str, voxel_size_mm: float | None) -> tuple[np.ndarray, float]:
    """(bool solid, voxel size in mm) of a part file: an STL surface in mm voxelised at
    `voxel_size_mm` (required), or a volume whose nonzero voxels are the part."""
    if Path(part_file).suffix.lower() == ".stl":
        if voxel_size_mm is None:
            raise ConfigError(f"{part_file}: an STL part needs --voxel-size (mm); expected the scan's voxel size")
        return voxelize(read_stl(part_file), voxel_size_mm), voxel_size_mm
    part = volume.read(part_file)
    return part.to_numpy() != 0, voxel_size_mm or float(part.voxel_size[0])


def _part_phantom(
    part_file: str, material: str, voxel_size_mm: float | None, pores: PorePopulation, seed: int
) -> Phantom:
    solid, voxel = part_solid(part_file, voxel_size_mm)
    return phantom_from_solid(solid, material, voxel, seed=seed, pores=pores, name="user-part")


def _plans(config: FinetuneConfig) -> list[ScanPlan]:
    solid, _ = part_solid(config.part, config.voxel_size_mm)
    side = round(min(solid.shape[1:]) * 0.9)
    pores = PorePopulation(porosity_percent=config.porosity_percent, diameter_median_vox=config.pore_median_vox)
    roles = ["train"] * config.scans + ["validation", "test"]
    plans = []
    for i, role in enumerate(roles):
        seed = config.seed * 1000 + i
        build = partial(_part_phantom, config.part, config.material, config.voxel_size_mm, pores, seed)
        plans.append(
            ScanPlan(
                f"part-{i}-{role}",
                role,
                "user-part",
                config.material,
                f"part-{i}",
                build,
                scan_spec(config.scan_settings, side, seed=9000 + seed),
                tuple(int(n) for n in solid.shape),  # type: ignore[arg-type]
            )
        )
    return plans


def _train_config(checkpoint: Path, config: FinetuneConfig) -> TrainConfig:
    base = TrainConfig.from_dict(read_checkpoint(checkpoint)["train_config"])
    return finetuning_config(
        base,
        str(checkpoint),
        epochs=config.epochs,
        patches_per_epoch=config.patches_per_epoch,
        val_patches=min(base.stream.val_patches, 32),
        lr=config.lr,
    )


def _test_figures(checkpoint: Path, data: Path, report: Report) -> dict[str, float]:
    scans = dataset_scans(data, roles=["test"])
    result = evaluate_model(checkpoint, scans, baseline=False, report=report)
    keep = ("ap", "dice", "false_calls", "porosity_error_pp", "pores_found_percent")
    metrics = result.evaluations[(scans[0].id, result.served_variant)].metrics
    return {k: float(metrics[k]) for k in keep}


def finetune(config: FinetuneConfig, report: Report = print) -> dict[str, Any]:
    """Run the fine-tuning (see the module docstring); the contents of finetune.json."""
    out = Path(config.out)
    base_checkpoint = resolve_checkpoint(config.model)
    data = out / "data"
    report(f"simulating {config.scans + 2} scans of {config.part} into {data}")
    build_plans(
        data,
        _plans(config),
        {"preset": "finetune", "profile": "user", "part": str(config.part)},
        Executor(kind="local"),
        report,
    )
    trained = fit(_train_config(base_checkpoint, config), data, out / "train")
    best = trained.best_checkpoint
    calibrated(best, data, report=report)
    model_dir = out / "model"
    model_dir.mkdir(parents=True, exist_ok=True)
    save_weights_only(best, model_dir / MODEL)
    record = {
        "config": asdict(config),
        "base_model": str(base_checkpoint),
        "train": trained.summary,
        "test_scan": "the last simulated scan of the part (no training or calibration used it)",
        "base": _test_figures(base_checkpoint, data, report),
        "finetuned": _test_figures(best, data, report),
    }
    point = read_checkpoint(model_dir / MODEL).get("operating_point", {})
    base_input = read_model_config(base_checkpoint.parent).get("input")
    entry = {"model": trained.summary.get("model"), "finetuned_from": str(base_checkpoint), "operating_point": point}
    write_model_folder(model_dir, {**entry, **({"input": base_input} if base_input else {})}, card=_card(record))
    write_text_atomic(out / "finetune.json", json.dumps(record, indent=2, default=float) + "\n")
    return record


def _card(record: dict[str, Any]) -> str:
    base, tuned, config = record["base"], record["finetuned"], record["config"]
    return "\n".join(
        [
            f"# {Path(config['part']).name}: {Path(record['base_model']).parent.name} fine-tuned on this part",
            "",
            f"- {config['scans']} simulated training scans of the part in {config['material']}, "
            f"{config['epochs']} epochs x {config['patches_per_epoch']} patches from {record['base_model']}",
            f"- on a held-out simulated scan of the part: Dice {base['dice']:.3f} -> {tuned['dice']:.3f}, "
            f"false calls {base['false_calls']:.0f} -> {tuned['false_calls']:.0f}, porosity error "
            f"{base['porosity_error_pp']:+.3f} -> {tuned['porosity_error_pp']:+.3f} pp",
            "",
        ]
    )
