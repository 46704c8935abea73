"""Out-of-distribution detection (Lindgren & Zach): an autoencoder trained on accepted
patches, taught to remove perturbations, whose residual says "unlike the training data".

    from porelab.ood import OODDetector, ood_score
    detector = OODDetector.load("detector.pt")
    result = ood_score(image_or_volume, detector)   # result.is_ood, result.score, result.cells
"""

from porelab.ood.castings import CastingPatches, evaluate_castings, read_casting_patches
from porelab.ood.classifier import (
    ClassifierConfig,
    DefectClassifier,
    DefectPatchTask,
    train_defect_classifier,
    train_labelled_classifier,
)
from porelab.ood.defects import cut_indications, paste
from porelab.ood.detector import FORMAT, OODDetector, OODResult, autoencoder_residuals, ood_score
from porelab.ood.evaluate import (
    CLASSIFIER,
    CONTRASTS,
    EvaluationConfig,
    build_test_sets,
    detector_configs,
    evaluate_once,
    markdown_table,
    repeat_trainings,
    summarise,
)
from porelab.ood.loss import OODAutoencoderTask, OODLossConfig, ood_loss
from porelab.ood.natural import (
    NATURAL_IMAGES,
    NaturalIndicationConfig,
    grow_region,
    lorentzian_kernel,
    natural_image,
    natural_indication,
)
from porelab.ood.residual import (
    KERNEL,
    PatchDecision,
    ResidualThresholds,
    combined_statistic,
    decide,
    fit_thresholds,
    kernel_mean_max,
    local_mean_std,
)
from porelab.ood.synthetic import OOD_TYPES, synthetic_ood
from porelab.ood.training import PERTURBATIONS, OODTrainingConfig, perturb, train_detector, training_batch
from porelab.ood.weld_data import WeldOODData, weld_ood_data

__all__ = [
    "CLASSIFIER",
    "CONTRASTS",
    "CastingPatches",
    "ClassifierConfig",
    "DefectClassifier",
    "DefectPatchTask",
    "EvaluationConfig",
    "FORMAT",
    "KERNEL",
    "NATURAL_IMAGES",
    "NaturalIndicationConfig",
    "OODAutoencoderTask",
    "OODDetector",
    "OODLossConfig",
    "OODResult",
    "OODTrainingConfig",
    "OOD_TYPES",
    "PERTURBATIONS",
    "PatchDecision",
    "ResidualThresholds",
    "WeldOODData",
    "autoencoder_residuals",
    "combined_statistic",
    "cut_indications",
    "decide",
    "detector_configs",
    "evaluate_castings",
    "evaluate_once",
    "fit_thresholds",
    "grow_region",
    "kernel_mean_max",
    "local_mean_std",
    "lorentzian_kernel",
    "markdown_table",
    "natural_image",
    "natural_indication",
    "ood_loss",
    "ood_score",
    "paste",
    "perturb",
    "read_casting_patches",
    "repeat_trainings",
    "summarise",
    "synthetic_ood",
    "build_test_sets",
    "train_defect_classifier",
    "train_detector",
    "train_labelled_classifier",
    "training_batch",
    "weld_ood_data",
]
