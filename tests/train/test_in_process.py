"""Training in the calling process against the same run through a one-worker `TorchTrainer`:
the same seeded run gives the same epochs, and an interrupted run resumes from its last epoch."""

import json
from dataclasses import replace

import pandas as pd
import pytest

from porelab.data import StreamConfig
from porelab.train import LoopConfig
from porelab.checkpoint import read_checkpoint
from porelab.train.config import ScalingSpec, profile
from porelab.train.run import fit

METRICS = ["train_loss", "val_loss", "val_dice", "val_ap"]


def _config(workers):
    config = profile("demo")
    # one block of rows (rows_per_task >= every epoch's rows): both paths read the stream in one order
    return replace(
        config,
        model=replace(config.model, channels=(4, 8)),
        patches=replace(config.patches, patch=(16, 16, 16)),
        stream=StreamConfig(patches_per_epoch=16, val_patches=8, rows_per_task=64),
        loop=LoopConfig(max_epochs=3, lr=3e-3, patience=10),
        scaling=ScalingSpec(workers=workers, cpus_per_worker=0.5),
    )


@pytest.mark.ray
@pytest.mark.slow
def test_in_process_equals_a_one_worker_torchtrainer(tmp_path, tiny_dataset, ray_session):
    trainer = fit(_config(1), tiny_dataset, tmp_path / "trainer")
    local = fit(_config(0), tiny_dataset, tmp_path / "local")
    a = pd.read_parquet(tmp_path / "trainer" / "history.parquet")
    b = pd.read_parquet(tmp_path / "local" / "history.parquet")
    assert a.epoch.tolist() == b.epoch.tolist() == [1, 2, 3]
    # the same batches, seeds, threads and loop: equal to float32 round-off
    pd.testing.assert_frame_equal(a[METRICS], b[METRICS], rtol=1e-5, atol=1e-6)
    weights_a = read_checkpoint(trainer.best_checkpoint)["state_dict"]
    weights_b = read_checkpoint(local.best_checkpoint)["state_dict"]
    assert all((weights_a[k].float() - weights_b[k].float()).abs().max() < 1e-4 for k in weights_a)
    assert not (tmp_path / "local" / "ray").exists()  # no Ray Train run behind it
    summary = json.loads((tmp_path / "local" / "summary.json").read_text())
    assert summary["finished"] and summary["train_scans"] == ["scan-0", "scan-1"]


@pytest.mark.ray
def test_an_interrupted_in_process_run_resumes_from_its_last_epoch(tmp_path, tiny_dataset, ray_session):
    config = _config(0)
    fit(replace(config, loop=replace(config.loop, max_epochs=2)), tiny_dataset, tmp_path / "run")
    (tmp_path / "run" / "summary.json").unlink()  # as if the process died before the run ended
    result = fit(config, tiny_dataset, tmp_path / "run")
    history = pd.read_parquet(tmp_path / "run" / "history.parquet")
    assert history.epoch.tolist() == [1, 2, 3] and read_checkpoint(result.last_checkpoint)["epoch"] == 3


@pytest.mark.ray
@pytest.mark.slow
def test_a_resumed_run_trains_on_the_patches_an_uninterrupted_run_had(tmp_path, tiny_dataset, ray_session):
    # several patch tasks per epoch: the stream must keep row order, and the resumed run start
    # at the rows its finished epochs did not use
    config = replace(_config(0), stream=StreamConfig(patches_per_epoch=16, val_patches=8, rows_per_task=4))
    fit(config, tiny_dataset, tmp_path / "whole")
    fit(replace(config, loop=replace(config.loop, max_epochs=2)), tiny_dataset, tmp_path / "resumed")
    (tmp_path / "resumed" / "summary.json").unlink()  # as if the process died after epoch 2
    fit(config, tiny_dataset, tmp_path / "resumed")
    whole = pd.read_parquet(tmp_path / "whole" / "history.parquet")
    resumed = pd.read_parquet(tmp_path / "resumed" / "history.parquet")
    assert resumed.epoch.tolist() == [1, 2, 3]
    pd.testing.assert_frame_equal(resumed[METRICS], whole[METRICS], rtol=1e-5, atol=1e-6)
