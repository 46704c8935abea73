"""Inference and training on a CUDA GPU agree with the CPU (skipped where torch sees no GPU).

Tolerances: with cuDNN's TF32 convolutions off, float32 on the GPU matches the CPU to float
rounding; with torch's defaults (TF32 on, which `predict` runs with) to about 1e-4 of the
output's scale (an H100 measured 3e-7 and 6e-5; the bounds below leave 16-30x).
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from porelab import volume
from porelab.data import AugmentConfig, PatchConfig, PatchMaker, SamplerConfig, load_scans, local_batches, scan_pores
from porelab.infer.predict import PredictConfig, predict
from porelab.infer.runtime import input_layout, pick_device, prepare_for_inference
from porelab.infer.sliding import SlidingWindowConfig, sliding_window
from porelab.models import build_model
from porelab.train import LoopConfig, SegmentationTask, run_training

from synthetic import sphere_scan, trained_tiny_unet

needs_cuda = pytest.mark.skipif(
    not torch.cuda.is_available(), reason="torch.cuda.is_available() is False: no CUDA GPU on this machine"
)


def test_gpu_code_paths_import_without_ray_or_zarr():
    """The GPU machines have no Ray and no zarr: the modules these tests use must not import them."""
    code = (
        "import sys; sys.path.insert(0, 'tests'); import synthetic, porelab.infer.predict, porelab.infer.sliding, "
        "porelab.infer.runtime, porelab.train.loop, porelab.data, porelab.models, "
        "porelab.simulate.scanner.acquire, porelab.simulate.scanner.reconstruction; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('ray', 'zarr')))"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=root,
        timeout=300,
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(root / "platform"), os.environ.get("PYTHONPATH")])),
        },
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


@pytest.fixture
def tf32(request):
    """Set cuDNN's TF32 switch for one test, then restore it."""
    before = torch.backends.cudnn.allow_tf32
    torch.backends.cudnn.allow_tf32 = request.param
    yield request.param
    torch.backends.cudnn.allow_tf32 = before


def _sliding(model: torch.nn.Module, vol: np.ndarray, device: str, config: SlidingWindowConfig) -> np.ndarray:
    model = prepare_for_inference(copy.deepcopy(model), torch.device(device))
    out = np.full((1,) + vol.shape, np.nan, np.float32)

    def sink(z0, block):
        out[:, z0 : z0 + block.shape[1]] = block

    sliding_window(vol, lambda batch: model(input_layout(batch, model)), sink, config, device=device)
    assert np.isfinite(out).all()
    return out[0]


@needs_cuda
@pytest.mark.parametrize("tf32", [False, True], indirect=True, ids=["fp32", "tf32"])
def test_sliding_window_on_cuda_matches_the_cpu(tf32):
    torch.manual_seed(0)
    model = build_model("unet", channels=(4, 8), norm="batch").eval()
    vol = np.random.default_rng(3).normal(0.5, 0.2, (40, 36, 44)).astype(np.float32)
    config = SlidingWindowConfig(window=(16, 16, 16), overlap=0.5, weighting="gaussian", batch_size=4)
    on_cpu, on_gpu = _sliding(model, vol, "cpu", config), _sliding(model, vol, "cuda", config)
    scale = float(np.abs(on_cpu).max())
    tolerance = 1e-3 if tf32 else 1e-5  # relative to the largest output
    assert float(np.abs(on_gpu - on_cpu).max()) <= tolerance * scale


@pytest.fixture
def tiny_makers(tiny_dataset):
    scans = load_scans(tiny_dataset)
    config = PatchConfig(patch=(16, 16, 16), sampler=SamplerConfig("balanced", 0.5), augment=AugmentConfig.off())
    return (
        PatchMaker(scans[:2], scan_pores(scans[:2]), config),
        PatchMaker(scans[2:], scan_pores(scans[2:]), replace(config, seed=99), train=False),
    )


def _train(makers, device: str) -> tuple[torch.nn.Module, list[dict[str, float]]]:
    train, val = makers
    torch.manual_seed(0)
    model = build_model("unet", channels=(4, 8), norm="batch").to(device)
    state = run_training(
        model,
        SegmentationTask(loss="dice"),
        lambda e: local_batches(train, range(e * 24, e * 24 + 24), 4),
        lambda e: local_batches(val, range(16), 4),
        LoopConfig(max_epochs=4, lr=3e-3),
        device=device,
    )
    return model, state.history


@needs_cuda
def test_training_on_cuda_lowers_the_loss_as_on_the_cpu(tiny_makers):
    """4 epochs of 6 steps. An H100 measured train loss 0.885 -> 0.856, validation loss
    0.927 -> 0.893, validation Dice up to 0.86, and the same numbers to 1e-3 on the CPU."""
    model, history = _train(tiny_makers, "cuda")
    assert all(p.device.type == "cuda" for p in model.parameters())
    train_loss = [h["train_loss"] for h in history]
    val_loss = [h["val_loss"] for h in history]
    assert len(history) == 4 and np.isfinite(train_loss + val_loss).all()
    assert train_loss[-1] < train_loss[0] - 0.01, train_loss
    assert val_loss[-1] < val_loss[0] - 0.01, val_loss
    assert max(h["val_dice"] for h in history) > 0.5
    _, on_cpu = _train(tiny_makers, "cpu")  # same seed, same batches
    np.testing.assert_allclose(train_loss, [h["train_loss"] for h in on_cpu], atol=0.01)
    np.testing.assert_allclose(val_loss, [h["val_loss"] for h in on_cpu], atol=0.01)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A small UNet trained (on the CPU) for a few seconds on sphere pores."""
    root = tmp_path_factory.mktemp("train")
    return trained_tiny_unet(root, root / "model.pt")[0]


@needs_cuda
def test_predict_on_cuda_writes_the_cpu_pore_table(tmp_path, checkpoint):
    assert pick_device("cuda").type == "cuda"
    scan, _ = sphere_scan((40, 36, 44), [(10, 10, 12), (28, 22, 30)], 4, seed=7)
    volume.write(scan, tmp_path / "part.tif", voxel_size=0.02)
    summaries, tables, scores = {}, {}, {}
    for device in ("cpu", "cuda"):
        out = tmp_path / device
        summaries[device] = predict(checkpoint, tmp_path / "part.tif", out, PredictConfig(batch_size=3, device=device))
        tables[device] = pd.read_parquet(out / "pores.parquet").sort_values("centroid_z", ignore_index=True)
        scores[device] = np.load(out / "score.npy")
    assert summaries["cuda"]["pore_count"] == summaries["cpu"]["pore_count"] == 2
    assert summaries["cuda"]["threshold"] == summaries["cpu"]["threshold"]
    # probabilities, TF32 on (torch's default); an H100 measured 8e-4 and identical pore tables
    assert float(np.abs(scores["cuda"] - scores["cpu"]).max()) <= 5e-3
    cpu, gpu = tables["cpu"], tables["cuda"]
    assert list(gpu.columns) == list(cpu.columns)
    np.testing.assert_allclose(
        gpu[["centroid_z", "centroid_y", "centroid_x"]].to_numpy(),
        cpu[["centroid_z", "centroid_y", "centroid_x"]].to_numpy(),
        atol=0.1,
    )
    np.testing.assert_allclose(gpu["voxels"].to_numpy(), cpu["voxels"].to_numpy(), rtol=0.02, atol=2)
    assert summaries["cuda"]["porosity_percent"] == pytest.approx(summaries["cpu"]["porosity_percent"], rel=0.02)
