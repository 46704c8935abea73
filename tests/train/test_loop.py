"""The training loop in-process: it learns, stops early, and checkpoints round-trip."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from porelab.data import AugmentConfig, PatchConfig, PatchMaker, SamplerConfig, load_scans, local_batches, scan_pores
from porelab.errors import ConfigError
from porelab.models import build_model
from porelab.train import LoopConfig, LoopState, SegmentationTask, run_training
from porelab.checkpoint import load_checkpoint, read_checkpoint, save_checkpoint
from porelab.train.config import TrainConfig, profile
from porelab.train.run import split_scans


def makers(root):
    scans = load_scans(root)
    config = PatchConfig(patch=(16, 16, 16), sampler=SamplerConfig("balanced", 0.5), augment=AugmentConfig.off())
    return (
        PatchMaker(scans[:2], scan_pores(scans[:2]), config),
        PatchMaker(scans[2:], scan_pores(scans[2:]), replace(config, seed=99), train=False),
    )


def test_loop_improves_validation_dice(tiny_dataset):
    torch.manual_seed(0)
    train, val = makers(tiny_dataset)
    model = build_model("unet", channels=(4, 8), norm="batch")
    epochs = []
    state = run_training(
        model,
        SegmentationTask(loss="dice"),
        lambda e: local_batches(train, range(e * 24, e * 24 + 24), 4),
        lambda e: local_batches(val, range(16), 4),
        LoopConfig(max_epochs=5, lr=3e-3),
        on_epoch_end=lambda r, s, o: epochs.append(r),
    )
    dice = [h["val_dice"] for h in state.history]
    assert len(dice) == 5 and dice[-1] > dice[0] + 0.2 and dice[-1] > 0.5
    assert [r.epoch for r in epochs] == [1, 2, 3, 4, 5] and epochs[-1].stop


def test_early_stopping_counts_epochs_without_improvement(tiny_dataset):
    train, val = makers(tiny_dataset)
    model = build_model("unet", channels=(4, 8))
    state = run_training(
        model,
        SegmentationTask(loss="dice"),
        lambda e: local_batches(train, range(4), 4),
        lambda e: local_batches(val, range(4), 4),
        LoopConfig(max_epochs=50, lr=1e-3, patience=2, min_delta=10.0),
    )
    assert state.epoch == 3 and state.best_epoch == 0  # no epoch beats the first by min_delta


@pytest.mark.parametrize("epoch, expected", [(0, 1e-3), (2, 1e-3 * (0.01 + 0.99 * 0.5)), (4, 1e-5), (9, 1e-5)])
def test_cosine_schedule_closed_form(epoch, expected):
    from porelab.train.loop import epoch_lr

    config = LoopConfig(max_epochs=5, lr=1e-3, lr_schedule="cosine", final_lr_fraction=0.01)
    assert epoch_lr(config, epoch) == pytest.approx(expected, rel=1e-12)
    assert epoch_lr(replace(config, lr_schedule="constant"), epoch) == 1e-3


def test_the_loop_sets_each_epochs_rate_and_a_resumed_run_continues_the_curve(tiny_dataset):
    from porelab.train.loop import epoch_lr

    train, val = makers(tiny_dataset)
    config = LoopConfig(max_epochs=4, lr=1e-3, lr_schedule="cosine")
    seen = []
    record = lambda r, s, o: seen.append(o.param_groups[0]["lr"])  # noqa: E731
    batches = (lambda e: local_batches(train, range(2), 2), lambda e: local_batches(val, range(2), 2))
    state = run_training(
        build_model("unet", channels=(4, 8)),
        SegmentationTask(loss="dice"),
        *batches,
        replace(config, max_epochs=4),
        on_epoch_end=record,
        state=LoopState(epoch=2),
    )  # resumed after two epochs
    assert state.epoch == 4
    assert seen == pytest.approx([epoch_lr(config, 2), epoch_lr(config, 3)])
    with pytest.raises(ConfigError, match="lr_schedule = 'step'"):
        LoopConfig(lr_schedule="step")


def test_checkpoint_round_trip_with_weights_only(tmp_path):
    config = profile("demo")
    model = build_model(config.model).eval()
    path = save_checkpoint(
        tmp_path / "c.pt",
        model,
        config.to_dict(),
        epoch=3,
        metrics={"val_ap": 0.5},
        loop_state=LoopState(epoch=3).to_dict(),
        threshold=0.4,
    )
    payload = torch.load(path, weights_only=True)
    assert payload["epoch"] == 3 and payload["threshold"] == 0.4
    loaded = load_checkpoint(path)
    x = torch.randn(1, 1, 20, 20, 20)
    with torch.inference_mode():
        np.testing.assert_allclose(loaded.model(x).numpy(), model(x).numpy(), atol=1e-6)
    assert LoopState.from_dict(read_checkpoint(path)["loop_state"]).epoch == 3


def test_foreign_checkpoint_is_refused(tmp_path):
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(ConfigError, match="expected 'porelab-checkpoint/1'"):
        load_checkpoint(tmp_path / "other.pt")


def test_config_round_trip_and_errors():
    config = profile("demo", model="unetpp")
    assert TrainConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ConfigError, match=r"unknown field\(s\) \['epochs'\]"):
        TrainConfig.from_dict({"loop": {"epochs": 3}})
    with pytest.raises(ConfigError, match="in both train_ids and val_ids"):
        TrainConfig(train_ids=("a",), val_ids=("a",))


def test_split_scans_default_and_explicit(tiny_dataset):
    scans = load_scans(tiny_dataset)
    train, val = split_scans(scans, TrainConfig())
    assert [s.id for s in train] == ["scan-0", "scan-1"] and [s.id for s in val] == ["scan-2"]
    train, val = split_scans(scans, TrainConfig(val_ids=("scan-0",)))
    assert [s.id for s in train] == ["scan-1", "scan-2"]
    with pytest.raises(ConfigError, match=r"\['nope'\] are not in the dataset"):
        split_scans(scans, TrainConfig(val_ids=("nope",)))
