"""Training data: scans of a dataset, normalisation, patch sampling and augmentation, patch streams."""

from porelab.data.augment import AugmentConfig, augment
from porelab.data.normalise import PercentileNormaliser, fit_normaliser
from porelab.data.patches import PatchConfig, PatchMaker
from porelab.data.sampling import SamplerConfig, grid_corners, pore_voxels, read_patch
from porelab.data.scans import ScanRecord, load_scans, store_intensity_stats
from porelab.data.stream import StreamConfig, in_memory_patch_dataset, local_batches, ray_patch_dataset, scan_pores

__all__ = [
    "AugmentConfig",
    "PatchConfig",
    "PatchMaker",
    "PercentileNormaliser",
    "SamplerConfig",
    "ScanRecord",
    "StreamConfig",
    "augment",
    "fit_normaliser",
    "grid_corners",
    "in_memory_patch_dataset",
    "load_scans",
    "local_batches",
    "pore_voxels",
    "ray_patch_dataset",
    "read_patch",
    "scan_pores",
    "store_intensity_stats",
]
