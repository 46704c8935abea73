"""Losses of the four papers, in plain torch: Focal Tversky, Tversky, Dice, Jaccard2,
cross-entropy, and a deep-supervision wrapper.

Conventions shared by the segmentation losses:

- predictions are logits (N, C, *spatial); `activation="auto"` applies a sigmoid when
  C = 1 (binary) and a softmax over channels when C > 1 ("sigmoid", "softmax" or "none"
  force a choice; "none" means the input already holds probabilities);
- targets are a mask or soft map of the prediction's shape, or, for C > 1, integer class
  labels shaped (N, *spatial) or (N, 1, *spatial), one-hot encoded here;
- counts are soft (sums of probabilities): TP = sum(p g), FP = sum(p (1 - g)),
  FN = sum((1 - p) g); `smooth` is added to numerator and denominator;
- `per_sample=False` sums the counts over the whole batch (one index per class),
  `per_sample=True` computes one index per sample and class; the loss averages them.

They are written here rather than taken from MONAI because the Focal Tversky loss of
Iuso et al. weights false negatives with alpha (MONAI's TverskyLoss swaps the names) and
raises (1 - TI) to gamma, and because models and losses must stay free of dependencies
beyond torch; the tests check them against MONAI.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from porelab.errors import ConfigError, PorelabError

ACTIVATIONS = ("auto", "sigmoid", "softmax", "none")
TARGET_KINDS = ("auto", "labels", "soft")
_EPS = 1e-7


class LossInputError(PorelabError, ValueError):
    """Predictions and targets given to a loss do not fit together."""


# --- soft counts and indices -------------------------------------------------------------


def soft_counts(
    probabilities: torch.Tensor, target: torch.Tensor, per_sample: bool = False
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Soft TP, FP, FN of `probabilities` against `target` (same shape, (N, C, *spatial)).

    Shape (N, C) with `per_sample`, else (C,).
    """
    dims = tuple(range(2, probabilities.ndim)) if per_sample else (0, *range(2, probabilities.ndim))
    tp = (probabilities * target).sum(dims)
    fp = (probabilities * (1 - target)).sum(dims)
    fn = ((1 - probabilities) * target).sum(dims)
    return tp, fp, fn


def tversky_index(
    probabilities: torch.Tensor,
    target: torch.Tensor,
    alpha: float = 0.5,
    beta: float = 0.5,
    smooth: float = 0.0,
    per_sample: bool = False,
) -> torch.Tensor:
    """TI = (TP + s) / (TP + alpha FN + beta FP + s): alpha weights false negatives.

    alpha = beta = 0.5 gives the Dice coefficient, alpha = beta = 1 the Jaccard index.
    """
    tp, fp, fn = soft_counts(probabilities, target, per_sample)
    return (tp + smooth) / (tp + alpha * fn + beta * fp + smooth).clamp_min(_EPS)


# --- segmentation losses -----------------------------------------------------------------


class _OverlapLoss(nn.Module):
    """Shared input handling: activation, target encoding, background channel."""

    def __init__(
        self, activation: str = "auto", smooth: float = 1e-5, per_sample: bool = False, include_background: bool = True
    ) -> None:
        super().__init__()
        _check_choice(type(self).__name__, "activation", activation, ACTIVATIONS)
        _check_non_negative(type(self).__name__, smooth=smooth)
        self.activation = activation
        self.smooth = smooth
        self.per_sample = per_sample
        self.include_background = include_background

    def _inputs(self, logits: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        probabilities = _activate(logits, self.activation)
        target = as_dense_target(target, probabilities)
        if not self.include_background and probabilities.shape[1] > 1:
            probabilities, target = probabilities[:, 1:], target[:, 1:]
        return probabilities, target


class FocalTverskyLoss(_OverlapLoss):
    """FTL = (1 - TI)^gamma with TI = TP / (TP + alpha FN + beta FP) (Iuso et al.).

    Here alpha weights the false NEGATIVES and beta the false positives, as in the paper;
    MONAI's `TverskyLoss(alpha, beta)` uses alpha for false POSITIVES and beta for false
    negatives, so ours with (alpha=a, beta=b) equals MONAI's with (alpha=b, beta=a).

    Note the exponent: Abraham & Khan write (1 - TI)^(1/gamma); the AM-porosity paper
    (and this class) use (1 - TI)^gamma, so their gamma = 4/3 is our gamma = 3/4.
    alpha = beta = 0.5 and gamma = 1 is the Dice loss. The loss is averaged over classes
    (and samples, with `per_sample`).
    """

    def __init__(
        self,
        alpha: float = 0.7,
        beta: float = 0.3,
        gamma: float = 0.75,
        smooth: float = 1e-5,
        per_sample: bool = False,
        activation: str = "auto",
        include_background: bool = True,
    ) -> None:
        super().__init__(activation, smooth, per_sample, include_background)
        _check_non_negative(type(self).__name__, alpha=alpha, beta=beta)
        if gamma <= 0:
            raise ConfigError(f"{type(self).__name__}: gamma must be > 0, got {gamma}")
        self.alpha, self.beta, self.gamma = alpha, beta, gamma

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        probabilities, target = self._inputs(logits, target)
        index = tversky_index(probabilities, target, self.alpha, self.beta, self.smooth, self.per_sample)
        # clamp: (1 - TI)^gamma with gamma < 1 has an infinite slope at TI = 1
        return ((1 - index).clamp_min(_EPS) ** self.gamma).mean()


class TverskyLoss(FocalTverskyLoss):
    """1 - TI (the Focal Tversky loss with gamma = 1); alpha weights false negatives."""

    def __init__(
        self,
        alpha: float = 0.5,
        beta: float = 0.5,
        smooth: float = 1e-5,
        per_sample: bool = False,
        activation: str = "auto",
        include_background: bool = True,
    ) -> None:
        super().__init__(alpha, beta, 1.0, smooth, per_sample, activation, include_background)


class DiceLoss(_OverlapLoss):
    """1 - (2 TP + s) / (2 TP + FP + FN + s), the soft Dice loss (Fuchs et al.)."""

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        probabilities, target = self._inputs(logits, target)
        tp, fp, fn = soft_counts(probabilities, target, self.per_sample)
        dice = (2 * tp + self.smooth) / (2 * tp + fp + fn + self.smooth).clamp_min(_EPS)
        return (1 - dice).mean()


class Jaccard2Loss(_OverlapLoss):
    """1 - mean over classes of (sum p g + s) / (sum p^2 + sum g^2 - sum p g + s).

    The squared-denominator soft Jaccard of Bertoldo et al. ("Jaccard2"), for their three
    phases (matrix, fibre, pore) with a softmax; it equals the Jaccard index on hard masks.
    """

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        probabilities, target = self._inputs(logits, target)
        dims = tuple(range(2, target.ndim)) if self.per_sample else (0, *range(2, target.ndim))
        intersection = (probabilities * target).sum(dims)
        squares = (probabilities**2).sum(dims) + (target**2).sum(dims)
        union = (squares - intersection + self.smooth).clamp_min(_EPS)
        jaccard = (intersection + self.smooth) / union
        return (1 - jaccard).mean()


class CrossEntropy(nn.Module):
    """Cross-entropy on logits (N, C, ...): binary cross-entropy when C = 1 (target 0/1 of
    the logits' shape or without the channel axis), softmax cross-entropy on integer
    labels (N, ...) when C > 1. Used for the patch classifier of Lindgren & Zach."""

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if logits.ndim < 2:
            raise LossInputError(f"CrossEntropy: logits must be (N, C, ...), got {tuple(logits.shape)}")
        if logits.shape[1] == 1:
            target = target.reshape(logits.shape) if target.numel() == logits.numel() else target
            _check_same_shape("CrossEntropy", logits, target)
            return F.binary_cross_entropy_with_logits(logits, target.to(logits.dtype))
        labels = target.squeeze(1) if target.ndim == logits.ndim else target
        _check_labels("CrossEntropy", labels, logits.shape[1])
        return F.cross_entropy(logits, labels.long())


# --- deep supervision --------------------------------------------------------------------


def deep_supervision_weights(heads: int, normalize: bool = False) -> list[float]:
    """1, 1/2, 1/4, ... for `heads` heads (Iuso et al.); `normalize` scales them to sum 1."""
    if heads < 1:
        raise ConfigError(f"deep supervision: the number of heads must be >= 1, got {heads}")
    weights = [0.5**i for i in range(heads)]
    total = sum(weights) if normalize else 1.0
    return [w / total for w in weights]


def resize_target(target: torch.Tensor, size: Sequence[int], kind: str = "auto") -> torch.Tensor:
    """Resize a target to a head's spatial `size`.

    kind "labels" (the default for integer or bool targets under "auto"): nearest
    neighbour, so labels stay labels. kind "soft" (float targets under "auto"): area
    averaging when every axis shrinks (a down-sized mask becomes the fraction of pore
    in each cell), linear interpolation otherwise.
    """
    _check_choice("resize_target", "kind", kind, TARGET_KINDS)
    size = tuple(int(s) for s in size)
    has_channel = target.ndim == len(size) + 2
    if target.ndim not in (len(size) + 1, len(size) + 2):
        raise LossInputError(
            f"resize_target: target of shape {tuple(target.shape)} does not "
            f"have {len(size)} spatial axes after the batch (and channel) axis"
        )
    spatial = tuple(target.shape[2:] if has_channel else target.shape[1:])
    if spatial == size:
        return target
    batch = target if has_channel else target.unsqueeze(1)
    labels = kind == "labels" or (kind == "auto" and not target.is_floating_point())
    resized = _resize_labels(batch, size) if labels else _resize_soft(batch, size)
    return resized if has_channel else resized.squeeze(1)


class DeepSupervisionLoss(nn.Module):
    """Applies `loss` to every head of a deep-supervision model and sums them with weights.

    `outputs` is a tensor (one head: plain `loss`) or a tuple/list of heads, main head
    first (the `porelab.models` convention). The target is resized to each head's size
    (`resize_target`). Weights default to 1, 1/2, 1/4, ... in head order; `normalize`
    makes them sum to 1.
    """

    def __init__(
        self,
        loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
        weights: Sequence[float] | None = None,
        normalize: bool = False,
        target_kind: str = "auto",
    ) -> None:
        super().__init__()
        _check_choice("DeepSupervisionLoss", "target_kind", target_kind, TARGET_KINDS)
        self.loss = loss
        self.weights = None if weights is None else [float(w) for w in weights]
        self.normalize = normalize
        self.target_kind = target_kind

    def head_weights(self, heads: int) -> list[float]:
        if self.weights is None:
            return deep_supervision_weights(heads, self.normalize)
        if len(self.weights) != heads:
            raise LossInputError(f"DeepSupervisionLoss: {len(self.weights)} weights given for {heads} heads")
        total = sum(self.weights) if self.normalize else 1.0
        return [w / total for w in self.weights]

    def forward(self, outputs: torch.Tensor | Sequence[torch.Tensor], target: torch.Tensor) -> torch.Tensor:
        if isinstance(outputs, torch.Tensor):
            return self.loss(outputs, target)
        weights = self.head_weights(len(outputs))
        terms = [
            w * self.loss(head, resize_target(target, head.shape[2:], self.target_kind))
            for w, head in zip(weights, outputs)
        ]
        return torch.stack(terms).sum()


# --- by name -----------------------------------------------------------------------------

LOSSES: dict[str, type[nn.Module]] = {
    "focal_tversky": FocalTverskyLoss,
    "tversky": TverskyLoss,
    "dice": DiceLoss,
    "jaccard2": Jaccard2Loss,
    "cross_entropy": CrossEntropy,
}


def build_loss(name: str, deep_supervision: bool = False, **options: Any) -> nn.Module:
    """A loss by name (see `LOSSES`), optionally wrapped in `DeepSupervisionLoss`."""
    if name not in LOSSES:
        raise ConfigError(f"unknown loss {name!r}; valid losses are {', '.join(LOSSES)}")
    cls = LOSSES[name]
    valid = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise ConfigError(
            f"loss {name!r}: unknown option(s) {', '.join(unknown)}; valid options are {', '.join(valid) or 'none'}"
        )
    loss = cls(**options)
    return DeepSupervisionLoss(loss) if deep_supervision else loss


# --- helpers -----------------------------------------------------------------------------


def as_dense_target(target: torch.Tensor, probabilities: torch.Tensor) -> torch.Tensor:
    """The target as a float tensor of the probabilities' shape (one-hot for labels)."""
    classes = probabilities.shape[1]
    if target.shape == probabilities.shape:
        return target.to(probabilities.dtype)
    spatial = probabilities.shape[2:]
    if target.shape[-len(spatial) :] != spatial or target.shape[0] != probabilities.shape[0]:
        raise LossInputError(
            f"loss: target of shape {tuple(target.shape)} does not match "
            f"predictions of shape {tuple(probabilities.shape)}"
        )
    labels = target.squeeze(1) if target.ndim == probabilities.ndim else target
    if labels.ndim != probabilities.ndim - 1:
        raise LossInputError(
            f"loss: target of shape {tuple(target.shape)} does not match "
            f"predictions of shape {tuple(probabilities.shape)}"
        )
    if classes == 1:
        return labels.unsqueeze(1).to(probabilities.dtype)
    _check_labels("loss", labels, classes)
    one_hot = F.one_hot(labels.long(), classes).movedim(-1, 1)
    return one_hot.to(probabilities.dtype)


def _activate(logits: torch.Tensor, activation: str) -> torch.Tensor:
    if activation == "auto":
        activation = "sigmoid" if logits.shape[1] == 1 else "softmax"
    if activation == "sigmoid":
        return torch.sigmoid(logits)
    if activation == "softmax":
        return torch.softmax(logits, dim=1)
    return logits


def _resize_labels(target: torch.Tensor, size: tuple[int, ...]) -> torch.Tensor:
    return F.interpolate(target.float(), size=size, mode="nearest").to(target.dtype)


def _resize_soft(target: torch.Tensor, size: tuple[int, ...]) -> torch.Tensor:
    shrinks = all(new <= old for new, old in zip(size, target.shape[2:]))
    if shrinks:
        return F.interpolate(target, size=size, mode="area")
    mode = "bilinear" if len(size) == 2 else "trilinear"
    return F.interpolate(target, size=size, mode=mode, align_corners=False)


def _check_labels(where: str, labels: torch.Tensor, classes: int) -> None:
    if labels.is_floating_point() and not torch.equal(labels, labels.round()):
        raise LossInputError(f"{where}: class labels must be whole numbers, got fractional values")
    if labels.numel() and (labels.min() < 0 or labels.max() >= classes):
        raise LossInputError(
            f"{where}: class labels must lie in 0..{classes - 1}, got {int(labels.min())}..{int(labels.max())}"
        )


def _check_same_shape(where: str, a: torch.Tensor, b: torch.Tensor) -> None:
    if a.shape != b.shape:
        raise LossInputError(
            f"{where}: target of shape {tuple(b.shape)} does not match predictions of shape {tuple(a.shape)}"
        )


def _check_choice(where: str, name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"{where}: {name} must be one of {', '.join(choices)}, got {value!r}")


def _check_non_negative(where: str, **values: float) -> None:
    for name, value in values.items():
        if value < 0:
            raise ConfigError(f"{where}: {name} must be >= 0, got {value}")
