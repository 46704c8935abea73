"""`predict` end to end: a quickly trained model finds the pores of a new volume, within a memory budget."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tifffile
import torch

from porelab import cli, volume
from porelab.errors import ConfigError
from porelab.infer.predict import IN_MEMORY, PredictConfig, load_score_model, predict
from porelab.models import build_model
from porelab.checkpoint import save_checkpoint
from porelab.train.config import profile

from synthetic import sphere_scan, trained_tiny_unet


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A small UNet trained for a few seconds on sphere pores."""
    root = tmp_path_factory.mktemp("train")
    return trained_tiny_unet(root, root / "model.pt")[0]


def test_predict_finds_the_pores_and_writes_every_output(tmp_path, checkpoint):
    scan, labels = sphere_scan((40, 36, 44), [(10, 10, 12), (28, 22, 30)], 4, seed=7)
    volume.write(scan, tmp_path / "part.tif", voxel_size=0.02)
    summary = predict(checkpoint, tmp_path / "part.tif", tmp_path / "out", PredictConfig(batch_size=3))
    pores = pd.read_parquet(tmp_path / "out" / "pores.parquet")
    mask = tifffile.imread(tmp_path / "out" / "mask.tif")
    assert summary["pore_count"] == len(pores) == 2
    assert mask.shape == scan.shape and mask.dtype == np.uint8
    dice = 2 * np.sum((mask > 0) & (labels > 0)) / (np.sum(mask > 0) + np.sum(labels > 0))
    assert dice > 0.7
    np.testing.assert_allclose(sorted(pores.centroid_z), [10, 28], atol=1.0)
    assert volume.read(tmp_path / "out" / "score.npy").voxel_size == pytest.approx((0.02,) * 3)
    on_disk = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert on_disk["porosity_percent"] == pytest.approx(summary["porosity_percent"])
    assert 0 < summary["porosity_percent"] < 5


def test_a_volume_in_memory_with_a_loaded_model_gives_what_the_file_gives(tmp_path, checkpoint):
    """The service's hot path: the upload as a Volume in memory and the model loaded once give
    the same mask, pores and porosity as the file and a fresh load."""
    scan, _ = sphere_scan((40, 36, 44), [(10, 10, 12), (28, 22, 30)], 4, seed=8)
    volume.write(scan, tmp_path / "part.npy", voxel_size=0.02)
    from_file = predict(checkpoint, tmp_path / "part.npy", tmp_path / "file")
    loaded = load_score_model(checkpoint)
    in_memory = volume.Volume(scan, (0.02, 0.02, 0.02))
    for out in ("memory", "again"):  # the same loaded model serves one request after another
        summary = predict(checkpoint, in_memory, tmp_path / out, loaded=loaded)
        assert summary["input"] == IN_MEMORY
        assert summary["porosity_percent"] == from_file["porosity_percent"]
        assert summary["pore_count"] == from_file["pore_count"] == 2
        np.testing.assert_array_equal(
            tifffile.imread(tmp_path / out / "mask.tif"), tifffile.imread(tmp_path / "file" / "mask.tif")
        )


_MEASURE_IN_A_FRESH_PROCESS = """
import json, sys
from pathlib import Path
from porelab.infer.predict import PredictConfig, predict

def kib(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])

checkpoint, root, budget, engine, margin = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
config = PredictConfig(max_memory=budget, window=(32, 32, 32), engine=engine, margin=margin)
predict(checkpoint, root / "small.npy", root / "warm", config)
Path("/proc/self/clear_refs").write_text("5")
before = kib("VmRSS")
summary = predict(checkpoint, root / "big.npy", root / "out", config)
print(json.dumps({"grown": (kib("VmHWM") - before) * 1024, "pores": summary["pore_count"],
                  "engine": summary["inference"]["engine"]}))
"""


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux /proc to reset peak RSS")
@pytest.mark.slow
@pytest.mark.parametrize(
    "engine, depth, budget_mib, margin",
    [
        ("windows", 480, 64, 16),  # the file holds 67.5 MiB
        ("tiles", 960, 128, 4),  # 135 MiB; a tile's activations need about 100 MiB of the budget
    ],
)
def test_predict_on_a_file_bigger_than_its_budget_stays_within_it(
    tmp_path, checkpoint, engine, depth, budget_mib, margin
):
    big = np.lib.format.open_memmap(tmp_path / "big.npy", mode="w+", dtype=np.float32, shape=(depth, 192, 192))
    slab, _ = sphere_scan((40, 192, 192), [(20, 96, 96)], 6, seed=1)
    for z0 in range(0, depth, 40):
        big[z0 : z0 + 40] = slab
    big.flush()
    del big
    budget = budget_mib * 2**20
    assert depth * 192 * 192 * 4 > budget
    # One-time costs (library code, torch's kernel caches for this window) are paid by a small
    # warm-up run; the budget is about data, and the big file must not cost more than it.
    volume.write(slab if engine == "tiles" else slab[:8], tmp_path / "small.npy")  # the same tile shapes
    # Measured in a process of its own, as a user's `porelab predict` runs: in the test process
    # the growth depended on what earlier tests had left running (Ray and Serve threads of the
    # session: 64.5-67.1 MiB, once 74.4 MiB), not on predict.
    measured = subprocess.run(
        [
            sys.executable,
            "-c",
            _MEASURE_IN_A_FRESH_PROCESS,
            str(checkpoint),
            str(tmp_path),
            str(budget),
            engine,
            str(margin),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert measured.returncode == 0, measured.stderr[-3000:]
    result = json.loads(measured.stdout.strip().splitlines()[-1])
    assert result["pores"] >= 10 and result["engine"] == engine
    # The documented bound is the budget plus torch's own fixed cost (README: 20-50 MiB); the
    # warm-up pays most of that. 24 MiB covers the rest: the windows run measured 64-75 MiB over
    # repeated runs of one commit in stop 29; the scan check's slice reads (texture, rings,
    # interpolation: a few MiB of slices and temporaries at the end of predict) put 74-83 MiB on
    # this file (67-70 MiB with the checks stubbed out), and 16 MiB failed one fresh clone in two. A
    # copy of the whole file (67.5 or 135 MiB) would still fail it.
    allowance = 24 * 2**20
    grown = result["grown"]
    assert grown <= budget + allowance, (
        f"peak RSS grew by {grown / 2**20:.1f} MiB for a {budget / 2**20:.0f} MiB "
        "budget and 24 MiB of torch's and the scan check's fixed cost"
    )


def test_too_small_a_budget_is_refused_up_front(tmp_path, checkpoint):
    volume.write(np.zeros((20, 400, 400), np.float32) + np.arange(400, dtype=np.float32), tmp_path / "wide.npy")
    with pytest.raises(ConfigError, match=r"max_memory = 1 MiB; .* needs at least"):
        predict(checkpoint, tmp_path / "wide.npy", tmp_path / "out", PredictConfig(max_memory=2**20))
    assert not (tmp_path / "out" / "score.npy").exists()


def test_cli_predict_json(tmp_path, checkpoint, capsys):
    scan, _ = sphere_scan((24, 24, 24), [(12, 12, 12)], 4, seed=3)
    volume.write(scan, tmp_path / "s.npy")
    assert (
        cli.main(
            [
                "predict",
                "--model",
                str(checkpoint),
                "--input",
                str(tmp_path / "s.npy"),
                "--out",
                str(tmp_path / "o"),
                "--max-memory",
                "64MB",
                "--json",
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["pore_count"] == 1


def test_anomaly_model_scores_are_postprocessed(tmp_path):
    from dataclasses import replace

    from porelab.models import default_config

    config = profile("demo", model="vae")
    config = replace(
        config,
        model=default_config("vae", patch_size=16, channels=(4, 8), latent_dim=8),
        patches=replace(config.patches, patch=(16, 16, 16)),
    )
    torch.manual_seed(0)
    checkpoint = save_checkpoint(tmp_path / "vae.pt", build_model(config.model), config.to_dict(), epoch=1, metrics={})
    scan, _ = sphere_scan((32, 32, 32), [(16, 16, 16)], 4, seed=1)
    volume.write(scan, tmp_path / "v.npy")
    summary = predict(checkpoint, tmp_path / "v.npy", tmp_path / "out")
    assert summary["postprocessing"]["applied"] and summary["files"]["mask_from"] == "score_postprocessed.npy"
    post = volume.read(tmp_path / "out" / "score_postprocessed.npy").to_numpy()
    raw = volume.read(tmp_path / "out" / "score.npy").to_numpy()
    assert post.min() >= 0 and post.shape == raw.shape and (post <= raw + 1e-6).all()  # max(0, A - edge model)
    assert summary["threshold"] > 0
