"""The bundled detector: its recipe (`pretrain`: simulate, train, calibrate, bundle) and its
fine-tuning on a user's part (`finetune`)."""

from porelab.sweep.detector.finetune import FinetuneConfig, finetune
from porelab.sweep.detector.pretrain import PretrainConfig, pretrain

__all__ = ["FinetuneConfig", "PretrainConfig", "finetune", "pretrain"]
