"""The `porelab` command. It parses arguments and calls the library; no logic lives here.

Each subcommand is registered by a small `_add_<name>` function that sets the handler with
`parser.set_defaults(handler=...)`. A handler returns a JSON-serialisable dict (printed with
`--json`) and prints its human-readable form itself otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from typing import Any, Callable

from porelab.errors import ConfigError, PorelabError

Handler = Callable[[argparse.Namespace], dict[str, Any]]


def _print_json(payload: dict[str, Any]) -> None:
    json.dump(payload, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


# --- volume commands --------------------------------------------------------------------


def _add_read_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dtype", help="element type for .raw files whose sidecar names none (e.g. uint16)")
    p.add_argument(
        "--shape",
        type=int,
        nargs=3,
        metavar=("Z", "Y", "X"),
        help="dimensions of a headerless .raw file without sidecar",
    )
    p.add_argument("--dataset", help="HDF5 dataset path (default: the only 3-D dataset)")
    p.add_argument("--allow-nonfinite", action="store_true", help="accept NaN/inf in float data")


def _read_volume(path: str, args: argparse.Namespace):
    from porelab import volume

    vol = volume.read(
        path, dtype=args.dtype, dataset=args.dataset, shape=args.shape, allow_nonfinite=args.allow_nonfinite
    )
    if isinstance(vol, volume.Projections):
        raise volume.VolumeError(
            f"{path}: holds projections {vol.shape} (data-exchange), not a volume; "
            "expected a reconstructed volume (name a dataset with --dataset to read it raw)"
        )
    return vol


def _add_info(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("info", help="describe a volume: shape, dtype, voxel size, value range")
    p.add_argument("path", help="volume file or TIFF directory")
    _add_read_flags(p)
    p.add_argument("--bins", type=int, default=10, help="histogram bins (default 10)")
    p.set_defaults(handler=_run_info)


def _run_info(args: argparse.Namespace) -> dict[str, Any]:
    from porelab import volume
    from porelab.volume.info import describe, describe_projections, format_description

    data = volume.read(
        args.path, dtype=args.dtype, dataset=args.dataset, shape=args.shape, allow_nonfinite=args.allow_nonfinite
    )
    if isinstance(data, volume.Projections):
        desc = describe_projections(data)
    else:
        desc = describe(data, bins=args.bins, progress=not args.json)
    if not args.json:
        print(format_description(desc))
    return desc


def _add_convert(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("convert", help="convert a volume between formats (TIFF, .npy, zarr)")
    p.add_argument("input", help="volume to read")
    p.add_argument("output", help="file to write; the suffix picks the format (.tif, .npy, .zarr)")
    _add_read_flags(p)
    p.add_argument(
        "--voxel-size",
        type=float,
        nargs="+",
        metavar="MM",
        help="override the voxel size in mm: one value or three (z y x)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")
    p.set_defaults(handler=_run_convert)


def _run_convert(args: argparse.Namespace) -> dict[str, Any]:
    from porelab import volume

    vol = _read_volume(args.input, args)
    if args.voxel_size:
        vol = vol.with_voxel_size(args.voxel_size)
    out = volume.write(vol, args.output, overwrite=args.overwrite, progress=not args.json)
    result = {
        "input": str(args.input),
        "output": str(out),
        "shape": list(vol.shape),
        "dtype": str(vol.dtype),
        "voxel_size_mm": list(vol.voxel_size),
    }
    if not args.json:
        print(f"wrote {out}  shape={vol.shape} dtype={vol.dtype} voxel={vol.voxel_size} mm")
    return result


# --- model commands ---------------------------------------------------------------------


def _add_models(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="list every registered model with parameters and GFLOPs")
    p.add_argument(
        "--spatial-dims",
        type=int,
        choices=(2, 3),
        help="build models in 2D or 3D where they support it (default: each "
        "model's own, 3D but for the 2D patch classifier); GFLOPs per 64^3 "
        "or 192^2 input",
    )
    p.add_argument(
        "--family",
        default="supervised",
        choices=["supervised", "anomaly", "ood", "all"],
        help="which models to list (default supervised)",
    )
    p.add_argument(
        "--bundled",
        action="store_true",
        help="list the trained detectors shipped with porelab instead (usable as --model NAME)",
    )
    p.set_defaults(handler=_run_models)


def _run_bundled() -> dict[str, Any]:
    from porelab.bundled import bundled_config, bundled_names

    rows = []
    for name in bundled_names():
        config = bundled_config(name)
        point, train = config.get("operating_point") or {}, config.get("train", {})
        rows.append(
            {
                "name": name,
                "architecture": config.get("model"),
                "epochs": train.get("epochs"),
                "training_scans": config.get("data", {}).get("scans"),
                "threshold": point.get("threshold"),
                "sha256": config.get("sha256"),
            }
        )
    return {"bundled": rows}


def _run_models(args: argparse.Namespace) -> dict[str, Any]:
    from porelab.models import format_summary_table, summarize_all

    if args.bundled:
        found = _run_bundled()
        if not args.json:
            for row in found["bundled"] or [{"name": "(none in this installation)"}]:
                print("  ".join(f"{k} {v}" if k != "name" else str(v) for k, v in row.items()))
        return found

    rows = summarize_all(args.spatial_dims, None if args.family == "all" else args.family)
    if not args.json:
        print(format_summary_table(rows))
    return {"models": [row.to_dict() for row in rows]}


# --- simulation -------------------------------------------------------------------------


def _add_simulate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("simulate", help="write a simulated CT dataset (or --verify one)")
    p.add_argument(
        "--preset",
        default="am-cylinders",
        help="am-cylinders (default), am-eval, am-randomized, cast-aluminium, composite or welds",
    )
    p.add_argument(
        "--sampling",
        metavar="FILE",
        help="YAML/JSON ranges am-randomized draws its scans from (fields of "
        "porelab.simulate.datasets.RandomizedConfig); default: its built-in ranges",
    )
    p.add_argument("--profile", default="demo", help="demo (small, laptop) or paper (the papers' sizes)")
    p.add_argument("--out", help="dataset directory to write or complete")
    p.add_argument(
        "--executor",
        default="local",
        choices=["local", "ray", "auto"],
        help="where slices run: in-process, Ray tasks, or Ray for big inputs (default local)",
    )
    p.add_argument("--workers", type=int, default=2, help="slab tasks in flight (default 2)")
    p.add_argument("--verify", metavar="DIR", help="check a dataset's files against its manifest sha256")
    p.add_argument("--scans", nargs="+", metavar="ID", help="build (or --plan) only these scans of the preset")
    p.add_argument(
        "--plan",
        action="store_true",
        help="print what the build needs (voxels, projections, CPU-hours, memory per task, disk) and stop",
    )
    p.set_defaults(handler=_run_simulate)


def _run_simulate(args: argparse.Namespace) -> dict[str, Any]:
    from porelab.simulate.datasets import build_dataset, summary_rows, verify
    from porelab.simulate.scanner import Executor

    if args.verify:
        result = verify(args.verify)
        if not args.json:
            print(
                f"{result['dataset']}: {result['scans']} scans, "
                + ("all checksums match" if result["ok"] else "; ".join(result["problems"]))
            )
        if not result["ok"]:
            raise ConfigError(f"{args.verify}: {len(result['problems'])} file(s) fail verification")
        return result
    sampling = None
    if args.sampling:
        from porelab.config import load_file
        from porelab.simulate.datasets import RandomizedConfig

        sampling = RandomizedConfig.from_dict(load_file(args.sampling))
    if args.plan:
        return _print_plan(args, sampling)
    if not args.out:
        raise ConfigError("simulate: --out DIR is required (or --verify DIR, or --plan)")
    report = (lambda message: None) if args.json else print
    manifest = build_dataset(
        args.out,
        args.preset,
        args.profile,
        Executor(kind=args.executor, workers=args.workers),
        report=report,
        only=tuple(args.scans) if args.scans else None,
        sampling=sampling,
    )
    return {"dataset": args.out, "preset": args.preset, "profile": args.profile, "scans": summary_rows(manifest)}


def _print_plan(args: argparse.Namespace, sampling: Any) -> dict[str, Any]:
    from porelab.simulate.datasets import dataset_needs, format_needs, preset_plans, select_plans

    if args.preset == "welds":
        raise ConfigError("simulate --plan: the welds preset has radiographs, not scans; expected a 3D preset")
    needs = dataset_needs(select_plans(preset_plans(args.preset, args.profile, sampling), args.scans, args.preset))
    if not args.json:
        print(f"{args.preset} at the {args.profile} profile:")
        print(format_needs(needs, args.workers))
    return {"preset": args.preset, "profile": args.profile, "scans": [n.to_dict() for n in needs]}


# --- training and inference ----------------------------------------------------------------


def _add_train(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a model on a dataset with Ray Train (resumable)")
    p.add_argument("--model", default="unet", help="catalogue name (see `porelab models`; default unet)")
    p.add_argument("--data", required=True, help="dataset directory (from `porelab simulate`)")
    p.add_argument("--out", required=True, help="run directory; rerun with the same one to resume")
    p.add_argument("--profile", default="demo", help="demo (laptop minutes) or paper (the paper's sizes)")
    p.add_argument("--config", help="YAML/JSON file with TrainConfig fields, applied over the profile")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one field, e.g. --set loop.lr=3e-4 --set patches.patch=[48,48,48]",
    )
    p.add_argument("--max-epochs", type=int, help="stop after this many epochs")
    p.add_argument("--workers", type=int, help="Ray Train workers (0 = in the driver process)")
    p.add_argument("--address", help="Ray cluster address (default: RAY_ADDRESS or a local Ray)")
    p.set_defaults(handler=_run_train)


def _run_train(args: argparse.Namespace) -> dict[str, Any]:
    from porelab.assess import calibrate_run
    from porelab.train.config import training_config
    from porelab.train.run import fit

    overrides = list(args.set)
    if args.max_epochs is not None:
        overrides.append(f"loop.max_epochs={args.max_epochs}")
    if args.workers is not None:
        overrides.append(f"scaling.workers={args.workers}")
    config = training_config(args.profile, args.model, args.config, overrides)
    result = fit(config, args.data, args.out, ray_address=args.address)
    point = calibrate_run(result, args.data, report=print if not args.json else lambda message: None)
    if not args.json:
        best = result.summary.get("best_metrics", {})
        print(
            f"run {result.run_dir}: {result.summary['epochs']} epochs, best epoch {result.summary['best_epoch']} "
            f"(val_dice {best.get('val_dice', float('nan')):.3f}, val_ap {best.get('val_ap', float('nan')):.3f}); "
            f"best checkpoint {result.best_checkpoint}"
        )
        print(f"operating point: {_describe_point(point.to_dict())}")
    return {"run_dir": str(result.run_dir), **result.summary, "operating_point": point.to_dict()}


def _add_predict(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("predict", help="segment a volume: score map, mask, pore table, summary")
    p.add_argument("--model", required=True, help="checkpoint .pt, training run directory, or registry model folder")
    p.add_argument("--input", required=True, help="volume to segment (any format `porelab info` reads)")
    p.add_argument("--out", required=True, help="output directory")
    _add_verdict_flags(p)
    p.add_argument("--max-memory", default="2GB", help="memory budget for the pass, e.g. 512MB, 2GB (default 2GB)")
    p.add_argument(
        "--engine",
        default="windows",
        choices=["windows", "tiles", "auto"],
        help="windows: half-overlapping sliding windows, blended (default; the operating point was "
        "calibrated on them); tiles: each voxel computed once in large tiles with a context "
        "margin, 2-3x faster on a CPU, AP about 0.01 lower on am-eval (fully convolutional "
        "batch-norm networks only); auto: tiles when the network allows",
    )
    p.add_argument("--margin", type=int, default=16, help="tiles: context voxels on each side (default 16)")
    p.add_argument("--window", type=int, nargs="+", help="window size, one value or z y x (default: training patch)")
    p.add_argument("--overlap", type=float, default=0.5, help="window overlap fraction (default 0.5)")
    p.add_argument("--weighting", default="gaussian", choices=["gaussian", "average"])
    p.add_argument("--batch-size", type=int, default=2, help="windows per forward pass (default 2)")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--actors", type=int, default=0, help="spread slabs over this many Ray actors (default 0)")
    p.set_defaults(handler=_run_predict)


def _add_verdict_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--threshold",
        type=float,
        help="seed threshold: a region is a pore when its highest score reaches it (default: the "
        "checkpoint's calibrated operating point; alone it also drops hysteresis and the size limit)",
    )
    p.add_argument("--low-threshold", type=float, help="grow threshold of the hysteresis (<= --threshold)")
    p.add_argument(
        "--min-diameter",
        type=float,
        help="smallest reported pore, equivalent diameter in voxels; smaller ones are indications",
    )
    p.add_argument(
        "--boundary-radius",
        type=int,
        help="grow each pore up to this many voxels to its local ISO-50 grey surface (0: off; "
        "default: the calibrated radius)",
    )
    p.add_argument(
        "--axis-guard",
        type=float,
        help="regions wholly within this many voxels of the rotation axis (the volume's z axis through "
        "its centre), where ring artefacts converge, are indications (default 2; 0: off, for scans "
        "reconstructed about another axis)",
    )
    p.add_argument(
        "--false-calls-per-cm3",
        type=float,
        help="use the calibrated candidate that finds the most pores within this false-call rate",
    )
    p.add_argument(
        "--part-mask",
        help="the part as a volume of the scan's shape (nonzero = part), e.g. from CAD; "
        "default: the part is found in the scan",
    )
    p.add_argument(
        "--surface-radius",
        type=float,
        default=6.0,
        help="closing radius (voxels) that tells a surface-breaking pore from the part's shape (default 6)",
    )


def _describe_point(point: dict[str, Any]) -> str:
    """An operating point (as `OperatingPoint.to_dict` gives it) in one line."""
    parts = [f"threshold {point['threshold']:.3g}", f"grow {point['low_threshold']:.3g}"]
    if point["min_diameter_vox"] > 0:
        parts.append(f"minimum diameter {point['min_diameter_vox']:.2g} voxels")
    if point["boundary_radius_vox"]:
        parts.append(
            f"boundaries at ISO-{100 * point['boundary_iso']:.0f} within {point['boundary_radius_vox']} voxels"
        )
    return ", ".join(parts) + f" ({point['source']})"


def _verdict_config(args: argparse.Namespace) -> Any:
    from porelab.infer.verdict_step import VerdictConfig
    from porelab.verdict import PartConfig

    return VerdictConfig(
        threshold=args.threshold,
        low_threshold=args.low_threshold,
        min_diameter_vox=args.min_diameter,
        boundary_radius_vox=args.boundary_radius,
        axis_guard_vox=args.axis_guard,
        false_calls_per_cm3=args.false_calls_per_cm3,
        part_mask=args.part_mask,
        part=PartConfig(surface_radius_vox=args.surface_radius),
    )


def _parse_bytes(text: str) -> int:

    units = {"KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30, "TB": 1 << 40, "B": 1}
    upper = text.strip().upper().replace("IB", "B")
    for unit, factor in units.items():
        if upper.endswith(unit):
            try:
                return int(float(upper[: -len(unit)]) * factor)
            except ValueError:
                break
    raise ConfigError(f"--max-memory {text!r}: expected a size such as 512MB or 2GB")


def _run_predict(args: argparse.Namespace) -> dict[str, Any]:
    from porelab.infer.predict import PredictConfig, predict

    window = None
    if args.window:
        window = tuple(args.window * 3 if len(args.window) == 1 else args.window)
    config = PredictConfig(
        window=window,
        engine=args.engine,
        margin=args.margin,
        overlap=args.overlap,
        weighting=args.weighting,
        batch_size=args.batch_size,
        verdict=_verdict_config(args),
        max_memory=_parse_bytes(args.max_memory),
        device=args.device,
        actors=args.actors,
    )
    summary = predict(args.model, args.input, args.out, config)
    if not args.json:
        point, classes = summary["operating_point"], summary["pores_by_class"]
        indications = (
            f"{summary['indications_below_detection_limit']} indications below {point['min_diameter_vox']:.2g} voxels; "
            if point["min_diameter_vox"] > 0
            else ""
        )
        if summary["indications_on_rotation_axis"]:
            indications += f"{summary['indications_on_rotation_axis']} indications on the rotation axis; "
        print(
            f"{summary['pore_count']} pores ({classes['internal']} internal, {classes['surface']} surface), "
            f"porosity {summary['porosity_percent']:.3f} % of a {summary['part_volume_mm3']:.4g} mm^3 part; "
            f"{indications}{_describe_point(point)}; wrote {args.out}/"
            "{score.npy, mask.tif, part.tif, pores.parquet, indications.parquet, summary.json}"
        )
        print(_describe_ood(summary["ood"]))
    return summary


def _describe_ood(ood: dict[str, Any]) -> str:
    if ood["is_ood"]:
        return f"OUT OF DISTRIBUTION ({ood['method']} check): do not trust this verdict; " + "; ".join(ood["reasons"])
    if ood["method"] == "autoencoder":
        return f"scan check: like the model's training scans (score {ood['score']:.2f}; above 1 is unlike)"
    return (
        f"scan check: no periodic artefact and the part inside the field of view (score {ood['score']:.2f}); this "
        "model has no ood.pt, so nothing is known of its training scans"
    )


def _add_finetune(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("finetune", help="fine-tune a detector on simulated scans of your own part")
    p.add_argument("--model", default="porelab-am", help="detector to start from (default: the bundled porelab-am)")
    p.add_argument(
        "--part",
        required=True,
        help="the part: an STL surface in mm (with --voxel-size), or a volume file whose nonzero voxels are the part",
    )
    p.add_argument("--out", required=True, help="run directory (resumable)")
    p.add_argument("--material", default="316L", help="the part's material: Ti6Al4V, CoCr, 316L or AlSi10Mg")
    p.add_argument("--voxel-size", type=float, help="voxel size in mm (default: the part file's)")
    p.add_argument(
        "--scan-settings",
        metavar="FILE",
        help="YAML/JSON of your scanner's settings: ScanSpec fields (n_projections, exposure, "
        "source_object_mm, source_detector_mm, blur_px, ...) and tube_kv, copper_filter_mm",
    )
    p.add_argument("--scans", type=int, default=4, help="simulated training scans (default 4; +1 calibrates, +1 tests)")
    p.add_argument("--epochs", type=int, default=4, help="fine-tuning epochs (default 4)")
    p.add_argument("--patches-per-epoch", type=int, default=96, help="patches per epoch (default 96)")
    p.add_argument("--porosity", type=float, default=1.0, help="porosity of the simulated parts, %% (default 1)")
    p.set_defaults(handler=_run_finetune)


def _run_finetune(args: argparse.Namespace) -> dict[str, Any]:
    from porelab.config import load_file
    from porelab.sweep.detector.finetune import FinetuneConfig, finetune

    settings = load_file(args.scan_settings) if args.scan_settings else {}
    config = FinetuneConfig(
        model=args.model,
        part=args.part,
        out=args.out,
        material=args.material,
        voxel_size_mm=args.voxel_size,
        scan_settings=settings,
        scans=args.scans,
        epochs=args.epochs,
        patches_per_epoch=args.patches_per_epoch,
        porosity_percent=args.porosity,
    )
    record = finetune(config, report=(lambda message: None) if args.json else print)
    if not args.json:
        base, tuned = record["base"], record["finetuned"]
        print(
            f"on a held-out simulated scan of the part: Dice {base['dice']:.3f} -> {tuned['dice']:.3f}, false "
            f"calls {base['false_calls']:.0f} -> {tuned['false_calls']:.0f}; the fine-tuned model is "
            f"{args.out}/model (porelab predict --model {args.out}/model ...)"
        )
    return record


def _add_evaluate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="score a model on simulated scans with known pores, at its operating point")
    p.add_argument("--model", required=True, help="checkpoint .pt, training run directory, or registry model folder")
    p.add_argument("--data", required=True, help="dataset directory with ground truth (e.g. data/am-eval)")
    p.add_argument("--scans", nargs="+", help="scan ids to score (default: every scan of the dataset)")
    p.add_argument("--roles", nargs="+", help="only scans with these roles (e.g. evaluation degraded)")
    p.add_argument(
        "--calibrate-on",
        nargs="+",
        metavar="SCAN",
        help="choose the operating point on these scans first (never the scans you report)",
    )
    p.add_argument("--calibration-data", help="the dataset --calibrate-on names scans of (default: --data)")
    p.add_argument(
        "--objective",
        default="dice",
        choices=["dice", "false_calls"],
        help="what --calibrate-on picks the point for (default dice)",
    )
    p.add_argument(
        "--max-false-calls-per-cm3",
        type=float,
        default=1.0,
        help="the false-call rate the false_calls objective stays within (default 1)",
    )
    p.add_argument("--store", action="store_true", help="write the calibrated point into the checkpoint")
    p.add_argument("--out", help="also write every metric of every scan to this .parquet or .csv file")
    p.set_defaults(handler=_run_evaluate)


def _run_evaluate(args: argparse.Namespace) -> dict[str, Any]:
    from porelab.assess import dataset_scans, evaluate_model
    from porelab.infer.predict import resolve_checkpoint
    from porelab.ood.check import scan_check
    from porelab.verdict import CalibrationConfig

    scans = dataset_scans(args.data, ids=args.scans, roles=args.roles)
    calibration = dataset_scans(args.calibration_data or args.data, ids=args.calibrate_on) if args.calibrate_on else []
    reported = {s.id for s in scans}
    overlap = sorted(reported & {s.id for s in calibration})
    if overlap:
        raise ConfigError(f"--calibrate-on {overlap}: also among the scans reported; expected held-out scans only")
    if args.store and not calibration:
        raise ConfigError("--store: nothing to store; expected --calibrate-on SCAN ...")
    progress = (lambda message: print(message, file=sys.stderr, flush=True)) if not args.json else (lambda m: None)
    result = evaluate_model(
        args.model,
        calibration + scans,
        calibration_ids=[s.id for s in calibration],
        calibration=CalibrationConfig(args.objective, args.max_false_calls_per_cm3),
        store=args.store,
        report=progress,
    )
    table = result.table(scans)
    check = scan_check(resolve_checkpoint(args.model))
    judged = [check(s.volume, s.normaliser, s.part.part) for s in scans]
    table["ood_score"] = [j["score"] for j in judged]  # the scan check `porelab predict` states
    table["ood"] = [bool(j["is_ood"]) for j in judged]
    if args.out:
        rows = result.rows(scans)
        rows = rows[rows.scan.isin(reported)]
        if args.out.endswith(".csv"):
            rows.to_csv(args.out, index=False)
        else:
            rows.to_parquet(args.out, index=False)
    point = result.points[result.served_variant]
    if not args.json:
        from porelab.assess import table_text

        print(table_text(table))
        print(f"operating point: {_describe_point(point.to_dict())}")
    return {
        "model": result.model,
        "variant": result.served_variant,
        "operating_point": point.to_dict(),
        "scans": {
            scan: {k: (None if v != v else v) for k, v in row.items()}
            for scan, row in table.to_dict(orient="index").items()
        },
    }


# --- serving --------------------------------------------------------------------------------


def _add_serve(sub: argparse._SubParsersAction) -> None:
    from porelab.serve.arguments import add_serve_arguments

    p = sub.add_parser("serve", help="HTTP service: segment uploaded scans with the registry's models")
    add_serve_arguments(p)
    p.set_defaults(handler=_run_serve)


def _run_serve(args: argparse.Namespace) -> dict[str, Any]:
    from porelab.serve import config_from_args, serve_forever

    urls: dict[str, Any] = {}

    def ready(found: dict[str, Any]) -> None:
        urls.update(found)
        print(
            f"serving {found['models']} at {found['url']} (schema {found['openapi']}); Ctrl-C or SIGTERM "
            "drains and stops",
            flush=True,
        )

    serve_forever(config_from_args(args), on_ready=ready)
    return urls


# --- watching runs ------------------------------------------------------------------------


def _add_dashboard(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("dashboard", help="TensorBoard on a training or sweep run directory (curves per fold)")
    p.add_argument("run_dir", metavar="RUN_DIR", help="run directory, e.g. runs/cv-demo or runs/unet")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=6006, help="port to bind (default 6006)")
    p.add_argument(
        "--grafana",
        action="store_true",
        help="print what to run to watch porelab's and Ray's metrics in Prometheus and Grafana instead",
    )
    p.set_defaults(handler=_run_dashboard)


def _run_dashboard(args: argparse.Namespace) -> dict[str, Any]:
    from pathlib import Path

    from porelab.dashboard import DashboardConfig, dashboard_url, grafana_commands, run_dashboard

    if args.grafana:
        commands = grafana_commands()
        if not args.json:
            print("\n".join(commands))
        return {"run_dir": args.run_dir, "grafana": commands}
    config = DashboardConfig(Path(args.run_dir), host=args.host, port=args.port)

    def started(url: str) -> None:
        # with --json the URL goes to stderr: stdout carries only the final JSON
        print(
            f"TensorBoard on {config.run_dir} at {url} (Ctrl-C stops)",
            file=sys.stderr if args.json else sys.stdout,
            flush=True,
        )

    code = run_dashboard(config, on_start=started)
    if code != 0:
        raise PorelabError(f"tensorboard exited with code {code} (its messages are above)")
    return {"run_dir": str(config.run_dir), "url": dashboard_url(config), "exit_code": code}


# --- entry point -------------------------------------------------------------------------

_COMMANDS = [
    _add_info,
    _add_convert,
    _add_models,
    _add_simulate,
    _add_train,
    _add_predict,
    _add_evaluate,
    _add_serve,
    _add_finetune,
    _add_dashboard,
]


def _common_flags(default: Any) -> argparse.ArgumentParser:
    """--json and --debug, accepted before or after the subcommand."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=default, help="show tracebacks on errors")
    common.add_argument("--json", action="store_true", default=default, help="machine-readable output on stdout")
    return common


class _SubParsers(argparse._SubParsersAction):
    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        kwargs.setdefault("parents", [_common_flags(argparse.SUPPRESS)])
        return super().add_parser(name, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="porelab",
        description="Simulate CT scans of parts with pores, train and serve pore detectors.",
        parents=[_common_flags(False)],
    )
    parser.register("action", "parsers", _SubParsers)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add in _COMMANDS:
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result = args.handler(args)
    except (PorelabError, FileNotFoundError, PermissionError, IsADirectoryError) as err:
        if args.debug:
            traceback.print_exc()
        print(f"porelab {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"porelab {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # an unexpected failure: still one line unless --debug
        if args.debug:
            traceback.print_exc()
        else:
            print(
                f"porelab {args.command}: internal error: {type(err).__name__}: {err} "
                "(run with --debug for the traceback)",
                file=sys.stderr,
            )
        return 1
    if args.json and result is not None:
        try:
            _print_json(result)
        except BrokenPipeError:  # output piped into `head` and the like
            sys.stderr.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
