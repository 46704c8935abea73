"""The OOD detector trained on simulated welds: raster flagged at a 0.1 % FPR threshold, the
saved format, `ood_score` on 2D and 3D input, and the loss terms."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import ndimage

from porelab.errors import ConfigError
from porelab.models import build_model
from porelab.ood import (
    CONTRASTS,
    OOD_TYPES,
    EvaluationConfig,
    OODAutoencoderTask,
    OODDetector,
    OODTrainingConfig,
    build_test_sets,
    markdown_table,
    ood_loss,
    ood_score,
    repeat_trainings,
    summarise,
    synthetic_ood,
    train_detector,
    weld_ood_data,
)

SIZE = 32


@pytest.fixture(scope="module")
def welds():
    torch.set_num_threads(1)
    return weld_ood_data(n_train=1000, n_test=300, size=SIZE, cutouts=40, seed=0)


@pytest.fixture(scope="module")
def detector(welds):
    config = OODTrainingConfig(
        perturbation="natural", epochs=2, steps_per_epoch=60, batch_size=16, model={"channels": (4, 8), "latent_dim": 4}
    )
    return train_detector(welds.train_ok, config, welds.train_cutouts)


def test_raster_is_flagged_at_the_0_1_percent_fpr_threshold(detector, welds):
    """Raster lines of peak 0.1 (ten times the film-grain noise) on held-out accepted patches."""
    assert detector.thresholds.target_fpr == 1e-3 and detector.thresholds.patches == 1000
    train_fpr = detector.decide(torch.from_numpy(welds.train_ok[:, None])).flagged.mean()
    assert train_fpr <= 1e-3
    held_out_fpr = detector.decide(torch.from_numpy(welds.test_ok[:, None])).flagged.mean()
    assert held_out_fpr <= 0.01
    rng = np.random.default_rng(5)
    raster = np.stack([p + synthetic_ood("raster", p.shape, rng, 0.1) for p in welds.test_ok[:200]])
    assert detector.decide(torch.from_numpy(raster[:, None])).flagged.mean() >= 0.95


def test_saved_detector_loads_with_weights_only_and_decides_the_same(detector, welds, tmp_path):
    path = detector.save(tmp_path / "detector.pt")
    saved = torch.load(path, weights_only=True)
    assert set(saved) == {"format", "state_dict", "model_config", "thresholds", "input_offset", "input_gain"}
    loaded = OODDetector.load(path)
    patches = torch.from_numpy(welds.test_ok[:20, None])
    np.testing.assert_array_equal(loaded.decide(patches).scores, detector.decide(patches).scores)
    torch.save({"format": "other"}, tmp_path / "bad.pt")
    with pytest.raises(ConfigError, match="field 'format'"):
        OODDetector.load(tmp_path / "bad.pt")


def test_ood_score_takes_an_image_or_a_volume(detector, welds):
    accepted = ood_score(welds.test_ok[0], detector)
    assert not accepted.is_ood and accepted.cells.shape == (3, 3)
    rng = np.random.default_rng(1)
    odd = welds.test_ok[1] + synthetic_ood("raster", (SIZE, SIZE), rng, 0.1)
    result = ood_score(odd, detector)
    assert result.is_ood and result.score > 1 and result.cells.any()
    volume = ood_score(np.stack([welds.test_ok[2], odd, welds.test_ok[3]]), detector)
    assert volume.is_ood and volume.cells.shape == (3, 3, 3) and volume.cells[1].any()
    assert not volume.cells[0].any() and volume.to_dict()["flagged_cells"] == int(volume.cells.sum())
    with pytest.raises(ConfigError, match="2D image or 3D volume"):
        ood_score(np.zeros(5), detector)


def test_a_3d_detector_flags_a_bright_box_in_a_volume():
    rng = np.random.default_rng(0)
    accepted = np.stack([ndimage.gaussian_filter(rng.normal(0.5, 0.05, (12, 12, 12)), 1.0) for _ in range(200)])
    config = OODTrainingConfig(
        perturbation="none",
        epochs=1,
        steps_per_epoch=40,
        batch_size=8,
        kernel=3,
        model={"channels": (4, 8), "latent_dim": 2},
    )
    detector = train_detector(accepted.astype(np.float32), config)
    assert detector.spatial_dims == 3
    volume = ndimage.gaussian_filter(rng.normal(0.5, 0.05, (12, 12, 12)), 1.0)
    volume[4:8, 4:8, 4:8] += 0.5
    assert ood_score(volume, detector).is_ood
    with pytest.raises(ConfigError, match="3D detector needs a 3D input"):
        ood_score(volume[0], detector)
    with pytest.raises(ConfigError, match="perturbation 'none'"):
        train_detector(accepted, OODTrainingConfig(perturbation="natural"))


def test_loss_has_the_perturbed_terms_only_with_a_perturbed_batch():
    torch.manual_seed(0)
    model = build_model("ood_autoencoder", channels=(4, 8), latent_dim=4)
    clean = torch.rand(2, 1, 16, 16)
    value, parts = ood_loss(model, clean, None)
    assert set(parts) == {"loss", "ok", "kern_ok", "reg"}
    assert value.item() == pytest.approx(parts["ok"] + parts["kern_ok"] + parts["reg"], rel=1e-5)
    _, both = ood_loss(model, clean, clean + 0.1)
    assert set(both) == {"loss", "ok", "kern_ok", "reg", "per", "kern_per"}
    score = OODAutoencoderTask().score(model, {"image": clean})
    assert score.shape == clean.shape and (score >= 0).all()


def test_repeated_trainings_take_consecutive_seeds_and_report_progress():
    done = []
    runs = repeat_trainings(
        lambda seed: {"ae": {"seed": float(seed)}}, 3, seed=5, progress=lambda count, _seconds: done.append(count)
    )
    assert [run["ae"]["seed"] for run in runs] == [5.0, 6.0, 7.0] and done == [1, 2, 3]


def test_summary_reports_mean_and_spread_over_runs():
    runs = [{"ae": {"accepted": 0.0, "raster": 0.9}}, {"ae": {"accepted": 0.002, "raster": 1.0}}]
    summary = summarise(runs)
    assert summary["ae"]["raster"] == pytest.approx({"mean": 0.95, "std": 0.05, "min": 0.9, "max": 1.0})
    table = markdown_table(summary, 2)
    assert "| raster | 95.0 ± 5.0 |" in table and "accepted (FPR)" in table
    auroc = markdown_table(summarise([{"ae": {"auroc": 0.9}}, {"ae": {"auroc": 0.8}}]), 2, note="AUC")
    assert "| auroc | 0.850 ± 0.050 |" in auroc and auroc.endswith("AUC")


def test_the_autoencoder_sees_standardised_grey_values(detector, welds, tmp_path):
    """Offset and gain are the accepted patches' mean and 1 / std; an old file without them
    loads as the identity."""
    assert detector.input_offset == pytest.approx(float(welds.train_ok.mean()), rel=1e-5)
    assert detector.input_gain == pytest.approx(1.0 / float(welds.train_ok.std()), rel=1e-5)
    patches = torch.from_numpy(welds.test_ok[:4, None])
    expected = patches - detector.input_offset
    np.testing.assert_allclose(
        detector.standardise(patches).numpy(), (expected * detector.input_gain).numpy(), rtol=1e-6
    )
    saved = torch.load(detector.save(tmp_path / "d.pt"), weights_only=True)
    del saved["input_offset"], saved["input_gain"]
    torch.save(saved, tmp_path / "old.pt")
    old = OODDetector.load(tmp_path / "old.pt")
    assert (old.input_offset, old.input_gain) == (0.0, 1.0) and old.standardise(patches) is patches
    with pytest.raises(ConfigError, match="constant"):
        train_detector(np.full((4, SIZE, SIZE), 0.5, np.float32), OODTrainingConfig(perturbation="none"))


def test_test_sets_hold_each_ood_type_at_each_amplitude(welds):
    config = EvaluationConfig(per_set=3, ood_amplitudes=(0.1, 0.05))
    sets = build_test_sets(welds, config, seed=0)
    assert set(sets) == {
        "accepted",
        *(f"defect_contrast_{c:g}" for c in CONTRASTS),
        *(f"{kind}@{a:g}" for kind in OOD_TYPES for a in (0.1, 0.05)),
    }
    for name in ("circular_indication@0.1", "raster@0.05"):
        amplitude = float(name.split("@")[1])
        for patch in sets[name]:
            base = welds.test_ok[np.abs(welds.test_ok - patch).sum(axis=(1, 2)).argmin()]
            assert float((patch - base).max()) == pytest.approx(amplitude, abs=1e-6)
