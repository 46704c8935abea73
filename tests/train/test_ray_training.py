"""Ray Train end to end on a tiny dataset: two workers, a worker killed mid-run, resume, export."""

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from tensorboard.backend.event_processing.event_accumulator import SCALARS, EventAccumulator

from porelab.data import StreamConfig
from porelab.train import LoopConfig
from porelab.checkpoint import read_checkpoint
from porelab.train.config import ScalingSpec, profile
from porelab.train.run import fit
from porelab.train.tensorboard import tensorboard_dir


@pytest.mark.ray
@pytest.mark.slow
def test_two_workers_learn_survive_a_killed_worker_and_resume(tmp_path, tiny_dataset, ray_session):
    config = profile("demo")
    config = replace(
        config,
        model=replace(config.model, channels=(4, 8, 16)),
        patches=replace(config.patches, patch=(16, 16, 16)),
        stream=StreamConfig(patches_per_epoch=48, val_patches=16, rows_per_task=8),
        loop=LoopConfig(max_epochs=4, lr=3e-3, patience=10),
        scaling=ScalingSpec(workers=2, cpus_per_worker=0.5, max_failures=2),
        fail_at_epoch=1,
    )
    result = fit(config, tiny_dataset, tmp_path / "run")

    assert (tmp_path / "run" / "fault-drill-done").exists()  # a worker really died
    history = pd.read_parquet(tmp_path / "run" / "history.parquet")
    assert history["epoch"].tolist() == [1, 2, 3, 4]  # resumed after epoch 1, nothing repeated
    assert history["val_dice"].iloc[-1] > history["val_dice"].iloc[0]
    assert history["val_ap"].iloc[-1] > history["val_ap"].iloc[0]
    last = read_checkpoint(result.last_checkpoint)
    assert last["epoch"] == 4 and last["loop_state"]["epoch"] == 4
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["finished"] and summary["train_scans"] == ["scan-0", "scan-1"]

    again = fit(config, tiny_dataset, tmp_path / "run")  # a finished run is returned, not retrained
    assert again.summary["seconds"] == summary["seconds"]


@pytest.mark.ray
def test_rerun_of_an_interrupted_run_resumes_from_its_last_epoch(tmp_path, tiny_dataset, ray_session):
    config = profile("demo")
    config = replace(
        config,
        model=replace(config.model, channels=(4, 8)),
        patches=replace(config.patches, patch=(16, 16, 16)),
        stream=StreamConfig(patches_per_epoch=16, val_patches=8, rows_per_task=8),
        loop=LoopConfig(max_epochs=2, lr=3e-3, patience=10),
    )
    fit(config, tiny_dataset, tmp_path / "run")
    (tmp_path / "run" / "summary.json").unlink()  # as if the driver died before writing it
    (tmp_path / "run" / "checkpoints").rename(tmp_path / "lost")
    longer = replace(config, loop=replace(config.loop, max_epochs=3))
    result = fit(longer, tiny_dataset, tmp_path / "run")
    history = pd.read_parquet(tmp_path / "run" / "history.parquet")
    assert history["epoch"].tolist() == [1, 2, 3]  # epochs 1-2 restored from staging, only 3 trained
    assert read_checkpoint(result.last_checkpoint)["epoch"] == 3
    events = EventAccumulator(str(tensorboard_dir(tmp_path / "run")), size_guidance={SCALARS: 0})
    events.Reload()  # rank 0's curves: the first run's file, then the resumed run's
    val_loss = events.Scalars("val/loss")
    assert [e.step for e in val_loss] == [1, 2, 3]
    np.testing.assert_allclose([e.value for e in val_loss], history["val_loss"], rtol=1e-6)
