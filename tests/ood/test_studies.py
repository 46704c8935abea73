"""The patch-detector studies the OOD jobs run: every training repeated with its own seed, the
summary over them, and the files each study writes (tiny sizes; the figures are the jobs')."""

from __future__ import annotations

import json

import numpy as np
import pytest
from skimage import io

from porelab.ood.evaluate import markdown_table
from porelab.ood.studies import (
    CastingStudyConfig,
    DetectorTraining,
    WeldStudyConfig,
    run_castings_study,
    run_weld_study,
)

TINY = DetectorTraining(trainings=2, epochs=1, steps_per_epoch=3, channels=(4, 8), seed=5)


def _patches(root, count=12, size=32):
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:size, :size]
    blob = (yy - size / 2) ** 2 + (xx - size / 2) ** 2 < 25
    for split in ("train", "test"):
        for folder, dark in (("class_0", False), ("class_1", True)):
            (root / split / folder).mkdir(parents=True)
            for i in range(count):
                image = 150 + rng.normal(0, 10, (size, size))
                image[blob & dark] -= 80
                io.imsave(root / split / folder / f"{i:03d}.png", np.clip(image, 0, 255).astype(np.uint8))
    return root


def test_the_castings_study_repeats_each_training_and_writes_its_table(tmp_path):
    config = CastingStudyConfig(data=str(_patches(tmp_path / "patches")), out=str(tmp_path / "out"), training=TINY)
    lines = []
    result = run_castings_study(config, report=lines.append)
    record = json.loads((tmp_path / "out" / "castings.json").read_text())
    assert record["patches"] == {"train_sound": 12, "train_defect": 12, "test_sound": 12, "test_defect": 12}
    assert len(record["runs"]) == 2 and record["runs"][0] != record["runs"][1]  # seeds 5 and 6
    assert [line.split(" done")[0] for line in lines] == ["training 1/2", "training 2/2"]
    for detector, rows in record["summary"].items():
        for name, stats in rows.items():
            values = [run[detector][name] for run in record["runs"]]
            assert stats["mean"] == pytest.approx(np.mean(values)) and stats["std"] == pytest.approx(np.std(values))
    assert (tmp_path / "out" / "castings.md").read_text() == result["table"] + "\n"
    assert record["settings"]["training"]["seed"] == 5 and "out" not in record["settings"]


def test_the_weld_study_summarises_every_detector_over_its_trainings(tmp_path):
    config = WeldStudyConfig(
        out=str(tmp_path / "out"), training=TINY, train_patches=48, test_patches=48, per_set=8, size=32
    )
    result = run_weld_study(config, report=lambda line: None)
    record = json.loads((tmp_path / "out" / "ood_tpr.json").read_text())
    assert len(record["runs"]) == 2
    assert set(record["summary"]) == set(record["runs"][0])
    for rows in record["summary"].values():
        assert 0.0 <= rows["accepted"]["mean"] <= 1.0  # the measured false-positive rate
    assert result["table"] == markdown_table(record["summary"], 2)
