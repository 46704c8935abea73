"""The registry entry of the selected model (no Ray): write_registry trains ood.pt on the selected
fold's training scans, records it in config.json and the model card, and a re-run of the same
selection keeps it."""

import json
from dataclasses import replace

import pandas as pd
import torch

from porelab.serve import read_registry
from porelab.sweep import CVConfig
from porelab.sweep.folds import make_folds
from porelab.sweep.cv.outputs import write_registry
from porelab.sweep.results import summarise
from synthetic import tiny_cv_dataset


def _checkpoints(root, folds):
    from porelab.models import build_model
    from porelab.checkpoint import save_checkpoint
    from porelab.train.config import profile

    config = profile("demo")
    config = replace(config, model=replace(config.model, channels=(4, 8)))
    torch.manual_seed(0)
    return {
        ("unet", f.index): str(
            save_checkpoint(
                root / f"fold-{f.index}.pt",
                build_model(config.model),
                replace(config, train_ids=f.train_ids, val_ids=f.val_ids).to_dict(),
                epoch=1,
                metrics={},
            )
        )
        for f in folds
    }


def test_the_registry_holds_an_ood_detector_of_the_selected_folds_training_scans(tmp_path):
    data = tiny_cv_dataset(tmp_path / "ds")
    folds = make_folds(["scan-0", "scan-1", "scan-2"], 3)
    rows = [("unet", f.index, "validation", f"scan-{f.index}", "ap", ap) for f, ap in zip(folds, (0.5, 0.9, 0.7))]
    results = pd.DataFrame(rows, columns=["model", "fold", "split", "scan", "metric", "value"])
    config = CVConfig(
        select_metric="ap",
        data=str(data),
        out=str(tmp_path / "run"),
        registry=str(tmp_path / "registry"),
        models=("unet",),
        folds=3,
    )
    checkpoints = _checkpoints(tmp_path, folds)

    selected = write_registry(config, summarise(results), results, checkpoints)
    folder = tmp_path / "registry" / "unet"
    assert selected["fold"] == 1 and (folder / "ood.pt").is_file()
    record = json.loads((folder / "config.json").read_text())["ood_detector"]
    assert record["model"] == "unet" and record["fold"] == 1 and record["training_scans"] == ["scan-0", "scan-2"]
    card = (folder / "model_card.md").read_text()
    assert "## Out-of-distribution check" in card and "`scan-0`, `scan-2`" in card
    assert read_registry(tmp_path / "registry")[0].describe()["ood_detector"] == "autoencoder"

    stamp = (folder / "ood.pt").stat().st_mtime_ns
    write_registry(config, summarise(results), results, checkpoints)  # a re-run of the finished CV
    assert (folder / "ood.pt").stat().st_mtime_ns == stamp
    assert json.loads((folder / "config.json").read_text())["ood_detector"] == record
