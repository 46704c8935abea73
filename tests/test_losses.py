"""Losses against closed forms, hand counts, scikit-learn and MONAI."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from monai.losses import DiceLoss as MonaiDiceLoss
from monai.losses import TverskyLoss as MonaiTverskyLoss
from sklearn.metrics import jaccard_score, log_loss

from porelab.errors import ConfigError
from porelab.losses import (
    CrossEntropy,
    DeepSupervisionLoss,
    DiceLoss,
    FocalTverskyLoss,
    Jaccard2Loss,
    LossInputError,
    TverskyLoss,
    build_loss,
    deep_supervision_weights,
    resize_target,
    soft_counts,
    tversky_index,
)


def _random_case(seed: int = 0, classes: int = 1, shape=(3, 6, 7, 5)):
    generator = torch.Generator().manual_seed(seed)
    logits = torch.randn(shape[0], classes, *shape[1:], generator=generator)
    if classes == 1:
        target = (torch.rand(shape[0], 1, *shape[1:], generator=generator) > 0.6).float()
    else:
        target = torch.randint(0, classes, (shape[0], *shape[1:]), generator=generator)
    return logits, target


def test_tversky_index_equals_the_hand_count_on_binary_masks():
    rng = np.random.default_rng(0)
    prediction = rng.random((4, 9, 9)) > 0.5
    truth = rng.random((4, 9, 9)) > 0.7
    tp = np.sum(prediction & truth)
    fp = np.sum(prediction & ~truth)
    fn = np.sum(~prediction & truth)
    by_hand = tp / (tp + 0.7 * fn + 0.3 * fp)
    p = torch.from_numpy(prediction).float()[None, None]
    g = torch.from_numpy(truth).float()[None, None]
    assert [int(c) for c in soft_counts(p, g)] == [tp, fp, fn]
    assert tversky_index(p, g, alpha=0.7, beta=0.3).item() == pytest.approx(by_hand, rel=1e-6)
    ftl = FocalTverskyLoss(alpha=0.7, beta=0.3, gamma=2.0, smooth=0.0, activation="none")
    assert ftl(p, g).item() == pytest.approx((1 - by_hand) ** 2, rel=1e-5)


def test_alpha_weights_false_negatives():
    truth = torch.ones(1, 1, 10)
    half_missed = torch.tensor([1.0] * 5 + [0.0] * 5).view(1, 1, 10)  # 5 FN, no FP
    strict_fn = TverskyLoss(alpha=0.9, beta=0.1, smooth=0.0, activation="none")
    lenient_fn = TverskyLoss(alpha=0.1, beta=0.9, smooth=0.0, activation="none")
    assert strict_fn(half_missed, truth).item() == pytest.approx(1 - 5 / (5 + 0.9 * 5))
    assert lenient_fn(half_missed, truth).item() == pytest.approx(1 - 5 / (5 + 0.1 * 5))


@pytest.mark.parametrize("per_sample", [False, True])
def test_ftl_with_half_half_and_gamma_one_is_one_minus_dice(per_sample):
    logits, target = _random_case(1)
    ftl = FocalTverskyLoss(alpha=0.5, beta=0.5, gamma=1.0, smooth=0.0, per_sample=per_sample)
    dice = DiceLoss(smooth=0.0, per_sample=per_sample)
    assert ftl(logits, target).item() == pytest.approx(dice(logits, target).item(), rel=1e-6)
    # and 1 - Dice written out on the probabilities
    p = torch.sigmoid(logits)
    dims = (2, 3, 4) if per_sample else (0, 2, 3, 4)
    closed = 1 - 2 * (p * target).sum(dims) / (p.sum(dims) + target.sum(dims))
    assert ftl(logits, target).item() == pytest.approx(closed.mean().item(), rel=1e-6)


@pytest.mark.parametrize("per_sample", [False, True])
@pytest.mark.parametrize("alpha, beta", [(0.7, 0.3), (0.1, 0.9), (0.5, 0.5)])
def test_tversky_equals_monai_with_alpha_and_beta_swapped_binary(per_sample, alpha, beta):
    logits, target = _random_case(2)
    ours = TverskyLoss(alpha=alpha, beta=beta, per_sample=per_sample)(logits, target)
    monai = MonaiTverskyLoss(alpha=beta, beta=alpha, sigmoid=True, batch=not per_sample)(logits, target)
    assert ours.item() == pytest.approx(monai.item(), rel=1e-5)


@pytest.mark.parametrize("include_background", [True, False])
@pytest.mark.parametrize("per_sample", [False, True])
def test_tversky_equals_monai_multiclass_softmax_on_labels(include_background, per_sample):
    logits, labels = _random_case(3, classes=3)
    ours = TverskyLoss(alpha=0.8, beta=0.2, per_sample=per_sample, include_background=include_background)(
        logits, labels
    )
    monai = MonaiTverskyLoss(
        alpha=0.2, beta=0.8, softmax=True, to_onehot_y=True, include_background=include_background, batch=not per_sample
    )(logits, labels.unsqueeze(1))
    assert ours.item() == pytest.approx(monai.item(), rel=1e-5)


def test_dice_equals_monai():
    logits, target = _random_case(4)
    monai = MonaiDiceLoss(sigmoid=True, batch=True)(logits, target)
    assert DiceLoss()(logits, target).item() == pytest.approx(monai.item(), rel=1e-5)


def test_jaccard2_is_the_jaccard_index_on_hard_masks():
    rng = np.random.default_rng(5)
    labels = rng.integers(0, 3, size=(2, 8, 8))
    predicted = labels.copy()
    predicted[rng.random(labels.shape) < 0.3] = rng.integers(0, 3)
    one_hot = torch.nn.functional.one_hot(torch.from_numpy(predicted), 3).movedim(-1, 1).float()
    loss = Jaccard2Loss(smooth=0.0, activation="none")(one_hot, torch.from_numpy(labels))
    per_class = jaccard_score(labels.ravel(), predicted.ravel(), average=None)
    assert loss.item() == pytest.approx(1 - per_class.mean(), rel=1e-6)


def test_jaccard2_on_soft_probabilities_has_squared_denominators():
    p = torch.tensor([0.9, 0.2, 0.6, 0.1]).view(1, 1, 4)
    g = torch.tensor([1.0, 0.0, 1.0, 0.0]).view(1, 1, 4)
    inter = 0.9 + 0.6
    expected = 1 - inter / ((0.81 + 0.04 + 0.36 + 0.01) + 2.0 - inter)
    assert Jaccard2Loss(smooth=0.0, activation="none")(p, g).item() == pytest.approx(expected)


def test_cross_entropy_matches_scikit_learn_log_loss():
    logits = torch.tensor([[2.0], [-1.0], [0.3], [-0.2]])
    labels = np.array([1, 0, 0, 1])
    expected = log_loss(labels, torch.sigmoid(logits).numpy().ravel())
    ours = CrossEntropy()(logits, torch.from_numpy(labels))
    assert ours.item() == pytest.approx(expected, rel=1e-5)
    multi = torch.randn(6, 4, generator=torch.Generator().manual_seed(6))
    classes = np.array([0, 3, 1, 2, 3, 0])
    expected = log_loss(classes, torch.softmax(multi, 1).numpy(), labels=[0, 1, 2, 3])
    ours = CrossEntropy()(multi, torch.from_numpy(classes))
    assert ours.item() == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("loss", [FocalTverskyLoss(), TverskyLoss(), DiceLoss(), Jaccard2Loss()])
def test_a_perfect_prediction_costs_nothing_and_has_finite_gradients(loss):
    target = (torch.rand(2, 1, 6, 6, generator=torch.Generator().manual_seed(7)) > 0.5).float()
    logits = ((target * 2 - 1) * 40).requires_grad_(True)
    value = loss(logits, target)
    assert value.item() == pytest.approx(0.0, abs=1e-4)
    value.backward()
    assert torch.isfinite(logits.grad).all()


def test_deep_supervision_weights_halve_and_can_be_normalised():
    assert deep_supervision_weights(3) == [1.0, 0.5, 0.25]
    assert deep_supervision_weights(3, normalize=True) == pytest.approx([4 / 7, 2 / 7, 1 / 7])
    with pytest.raises(ConfigError, match="heads must be >= 1"):
        deep_supervision_weights(0)


def test_resize_target_uses_nearest_for_labels_and_area_for_soft_maps():
    labels = torch.randint(0, 3, (2, 8, 8, 8), generator=torch.Generator().manual_seed(8))
    small = resize_target(labels, (4, 4, 4))
    assert small.dtype == labels.dtype and torch.equal(small, labels[:, ::2, ::2, ::2])
    soft = torch.rand(2, 1, 8, 8, 8, generator=torch.Generator().manual_seed(9))
    block_means = soft.numpy().reshape(2, 1, 4, 2, 4, 2, 4, 2).mean(axis=(3, 5, 7))
    np.testing.assert_allclose(resize_target(soft, (4, 4, 4)).numpy(), block_means, rtol=1e-6)
    as_labels = resize_target((soft > 0.5).float(), (4, 4, 4), kind="labels")
    assert set(as_labels.unique().tolist()) <= {0.0, 1.0}
    assert resize_target(soft, (16, 16, 16)).shape == (2, 1, 16, 16, 16)
    assert resize_target(soft, (8, 8, 8)) is soft
    with pytest.raises(LossInputError, match="spatial axes"):
        resize_target(soft, (4, 4))


def test_deep_supervision_loss_is_the_weighted_sum_over_resized_targets():
    generator = torch.Generator().manual_seed(10)
    target = (torch.rand(2, 1, 8, 8, generator=generator) > 0.5).float()
    heads = [torch.randn(2, 1, s, s, generator=generator) for s in (8, 4, 2)]
    dice = DiceLoss()
    quarter = target.reshape(2, 1, 4, 2, 4, 2).mean((3, 5))
    eighth = target.reshape(2, 1, 2, 4, 2, 4).mean((3, 5))
    expected = dice(heads[0], target) + 0.5 * dice(heads[1], quarter) + 0.25 * dice(heads[2], eighth)
    total = DeepSupervisionLoss(dice)(heads, target)
    assert total.item() == pytest.approx(expected.item(), rel=1e-6)
    normalised = DeepSupervisionLoss(dice, normalize=True)(tuple(heads), target)
    assert normalised.item() == pytest.approx(expected.item() / 1.75, rel=1e-6)
    single = DeepSupervisionLoss(dice)(heads[0], target)
    assert single.item() == pytest.approx(dice(heads[0], target).item())
    with pytest.raises(LossInputError, match="2 weights given for 3 heads"):
        DeepSupervisionLoss(dice, weights=[1.0, 1.0])(heads, target)


def test_build_loss_by_name():
    loss = build_loss("focal_tversky", alpha=0.9, beta=0.1, gamma=0.5)
    assert isinstance(loss, FocalTverskyLoss) and loss.alpha == 0.9
    assert isinstance(build_loss("dice", deep_supervision=True), DeepSupervisionLoss)
    with pytest.raises(ConfigError, match="unknown loss 'iou'.*focal_tversky"):
        build_loss("iou")
    with pytest.raises(ConfigError, match="unknown option.*delta.*valid options are alpha"):
        build_loss("focal_tversky", delta=0.3)


def test_bad_parameters_and_inputs_raise_clear_errors():
    with pytest.raises(ConfigError, match="alpha must be >= 0"):
        FocalTverskyLoss(alpha=-0.1)
    with pytest.raises(ConfigError, match="gamma must be > 0"):
        FocalTverskyLoss(gamma=0.0)
    with pytest.raises(ConfigError, match="activation must be one of"):
        DiceLoss(activation="relu")
    logits, _ = _random_case(11, classes=3)
    with pytest.raises(LossInputError, match="labels must lie in 0..2"):
        DiceLoss()(logits, torch.full((3, 6, 7, 5), 3))
    with pytest.raises(LossInputError, match="does not match"):
        DiceLoss()(logits, torch.zeros(3, 6, 7, 4))
