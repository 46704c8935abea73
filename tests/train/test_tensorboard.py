"""Per-epoch TensorBoard scalars: one point per metric and epoch, equal to the loop's history."""

import math
from dataclasses import replace

import numpy as np
import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import SCALARS, EventAccumulator

from porelab.models import build_model
from porelab.train import LoopConfig, LoopState, SegmentationTask, run_training
from porelab.train.tensorboard import epoch_scalars, open_writer, scalar_tag, tensorboard_dir, write_epoch


def batches(seed: int, count: int) -> list[dict[str, torch.Tensor]]:
    generator = torch.Generator().manual_seed(seed)
    images = [torch.randn(2, 1, 16, 16, 16, generator=generator) for _ in range(count)]
    return [{"image": image, "label": (image > 1.0).float()} for image in images]


def train(run_dir, max_epochs: int, state: LoopState | None = None, snapshots: list | None = None) -> LoopState:
    """`run_training` with the rank-0 hook of the Ray Train worker: scalars of every epoch."""
    torch.manual_seed(0)
    model = build_model("unet", channels=(4, 8))
    train_batches, val_batches = batches(0, 2), batches(1, 1)
    writer = open_writer(run_dir, start_epoch=state.epoch if state else 0)

    def on_epoch_end(result, loop_state, optimiser):
        write_epoch(writer, result.epoch, epoch_scalars(result.metrics, optimiser))
        if snapshots is not None:
            snapshots.append(LoopState.from_dict(loop_state.to_dict()))

    try:
        return run_training(
            model,
            SegmentationTask(loss="dice"),
            lambda e: train_batches,
            lambda e: val_batches,
            LoopConfig(max_epochs=max_epochs, lr=3e-3),
            state=state,
            on_epoch_end=on_epoch_end,
        )
    finally:
        writer.close()


def read_scalars(run_dir) -> dict[str, list[tuple[int, float]]]:
    events = EventAccumulator(str(tensorboard_dir(run_dir)), size_guidance={SCALARS: 0})
    events.Reload()
    return {tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()[SCALARS]}


def expected_curves(history: list[dict[str, float]]) -> dict[str, list[tuple[int, float]]]:
    curves: dict[str, list[tuple[int, float]]] = {}
    for row in history:
        for key, value in row.items():
            if key != "epoch" and math.isfinite(value):
                curves.setdefault(scalar_tag(key), []).append((row["epoch"], value))
    return curves


def assert_curves_equal(found, expected):
    for tag, points in expected.items():
        steps, values = zip(*found[tag])
        assert list(steps) == [step for step, _ in points], tag
        np.testing.assert_allclose(values, [value for _, value in points], rtol=1e-6, err_msg=tag)


def test_every_epoch_metric_is_a_scalar_equal_to_the_history(tmp_path):
    state = train(tmp_path, max_epochs=3)
    found = read_scalars(tmp_path)
    expected = expected_curves(state.history)
    assert {"train/loss", "val/loss", "val/dice", "val/ap", "run/epoch_seconds"} <= set(expected)
    assert set(found) == set(expected) | {"run/lr"}
    assert_curves_equal(found, expected)
    assert found["run/lr"] == [(1, pytest.approx(3e-3)), (2, pytest.approx(3e-3)), (3, pytest.approx(3e-3))]


def test_a_resumed_run_appends_and_replaces_the_epochs_after_its_checkpoint(tmp_path):
    snapshots: list[LoopState] = []
    first = train(tmp_path, max_epochs=3, snapshots=snapshots)
    # a crash after epoch 3 whose last checkpoint was epoch 1: epochs 2 and 3 are trained again
    resumed = train(tmp_path, max_epochs=3, state=replace(snapshots[0]))
    assert len(list(tensorboard_dir(tmp_path).glob("events.out.tfevents*"))) == 2
    assert resumed.history[0] == first.history[0] and resumed.history[1:] != first.history[1:]
    found = read_scalars(tmp_path)
    assert_curves_equal(found, expected_curves(resumed.history))


def test_epoch_scalars_keep_finite_numbers_and_add_the_learning_rate():
    optimiser = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.25)
    metrics = {
        "train_loss": 0.5,
        "val_ap": np.float32(0.75),
        "train_steps": 4,
        "val_dice": float("nan"),
        "stopped": True,
        "note": "text",
    }
    assert epoch_scalars(metrics, optimiser) == {"train_loss": 0.5, "val_ap": 0.75, "train_steps": 4.0, "lr": 0.25}
    assert [scalar_tag(k) for k in ("train_loss", "val_ap", "epoch_seconds", "lr")] == [
        "train/loss",
        "val/ap",
        "run/epoch_seconds",
        "run/lr",
    ]
