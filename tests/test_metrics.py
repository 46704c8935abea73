"""porelab's metrics: recording never fails the work (with or without Ray), and the training
loop reports the share of an epoch spent waiting for data."""

import time

import torch

from porelab import metrics
from porelab.train.loop import _train_epoch
from porelab.tasks import SegmentationTask


def test_records_never_raise_with_or_without_ray():
    metrics.record_epoch({"train_loss": 1.0, "val_ap": float("nan")}, model="unet", run="unet-fold0")
    metrics.record_trial("cv", "unet", "finished")
    metrics.record_slab("project_slab")
    metrics.record_request("unet", 1e6, 3, 0.5, ood_flagged=False)
    metrics.record_request_error("unet", "VolumeError")


def test_the_epoch_reports_its_data_wait_share():
    torch.manual_seed(0)
    model = torch.nn.Conv3d(1, 1, 3, padding=1)

    def slow_batches():
        for _ in range(3):
            time.sleep(0.05)  # the data side takes most of each step
            yield {"image": torch.rand(2, 1, 8, 8, 8), "label": (torch.rand(2, 1, 8, 8, 8) > 0.9).float()}

    out = _train_epoch(
        model,
        SegmentationTask(loss="dice"),
        slow_batches(),
        torch.optim.SGD(model.parameters(), 0.1),
        None,
        torch.device("cpu"),
    )
    assert out["train_steps"] == 3
    assert 0.5 < out["data_wait_share"] <= 1.0  # 0.15 s of sleeping against a few ms of convolution
