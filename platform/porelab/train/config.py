"""`TrainConfig`: everything one training run needs, and the laptop/paper profiles."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, replace
from typing import Any

from porelab.config import apply_overrides, from_dict, load_file, to_dict
from porelab.data import AugmentConfig, PatchConfig, SamplerConfig, StreamConfig
from porelab.errors import ConfigError
from porelab.models import ModelConfig, default_config, model_spec
from porelab.tasks import Task, task_from_config
from porelab.train.loop import LoopConfig

PROFILES = ("demo", "paper", "pretrain-laptop", "pretrain-cluster")
#: The augmentation of the bundled detector's training: the papers' set plus the simulator's
#: artefact model where re-simulating is too slow (a drawn noise level, gamma, rings, blur).
ARTEFACT_AUGMENT = AugmentConfig(
    intensity=0.5,
    intensity_range=(0.8, 1.2),
    blur=0.3,
    blur_sigma=(0.3, 1.2),
    gaussian_noise=0.5,
    gaussian_std=0.03,
    noise_levels=(0.3, 3.0),
    gamma=0.3,
    rings=0.2,
    ring_amplitude=0.05,
)


@dataclass(frozen=True)
class ScalingSpec:
    """Ray Train workers. workers=0 runs the loop in the calling process, without Ray Train
    (`porelab.train.in_process`); `cpus_per_worker` is then the threads it uses."""

    workers: int = 0
    cpus_per_worker: float = 1.0
    use_gpu: bool = False
    max_failures: int = 2


@dataclass(frozen=True)
class TrainConfig:
    """One training run. Scan selection: `train_ids`/`val_ids` (empty: every 'good' scan but the last
    trains, the last validates)."""

    model: ModelConfig = field(default_factory=ModelConfig)
    task: str = ""  # empty: the model's own task (see porelab.tasks.task_for_model)
    task_options: dict[str, Any] = field(default_factory=dict)
    patches: PatchConfig = field(default_factory=PatchConfig)
    stream: StreamConfig = field(default_factory=StreamConfig)
    loop: LoopConfig = field(default_factory=LoopConfig)
    scaling: ScalingSpec = field(default_factory=ScalingSpec)
    batch_size: int = 4
    train_ids: tuple[str, ...] = ()
    val_ids: tuple[str, ...] = ()
    fail_at_epoch: int = -1  # fault drill: the first worker exits once after this many epochs
    init_from: str = ""  # a checkpoint whose weights start the run (fine-tuning); its model config must match

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ConfigError(f"batch_size = {self.batch_size}; expected a positive integer")
        if set(self.train_ids) & set(self.val_ids):
            raise ConfigError(
                f"scans {sorted(set(self.train_ids) & set(self.val_ids))} are in both train_ids "
                "and val_ids; expected disjoint sets"
            )

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrainConfig":
        return from_dict(cls, data)

    def build_task(self) -> Task:
        """The model kind's task (`porelab.tasks.task_from_config`)."""
        return task_from_config(self.to_dict())

    def with_model(self, name: str, **fields: Any) -> "TrainConfig":
        base = {k: v for k, v in dataclasses.asdict(self.model).items() if k in ("channels", "norm")}
        return replace(self, model=default_config(name, **{**base, **fields}))


def _model_config(name: str, **fields: Any) -> ModelConfig:
    """The catalogue's defaults for `name`, with deep supervision on where the architecture has heads."""
    return default_config(name, deep_supervision=model_spec(name).deep_supervision, **fields)


def _sampler(model: str) -> SamplerConfig:
    return SamplerConfig("uniform") if model_spec(model).family == "anomaly" else SamplerConfig("balanced", 0.5)


def profile(name: str, model: str = "unet") -> TrainConfig:
    """'demo': minutes on a 2-core laptop; 'paper': Iuso et al.'s sizes (64^3 patches, 40 epochs patience);
    'pretrain-laptop' and 'pretrain-cluster': the bundled detector's training on the
    am-randomized preset (`jobs/pretrain.py`), within 90 minutes on 2 cores and on GPUs.

    Architectures with supervision heads (UNet++, UNet 3+, MSS-UNet) train with deep
    supervision on, as the papers trained them; without it MSS-UNet is a plain UNet.
    Anomaly models draw their patches uniformly: centring patches on labelled pores would
    hand an unsupervised model the labels it must do without.
    """
    default_config = _model_config
    sampler = _sampler(model)

    if name == "demo":
        return TrainConfig(
            model=default_config(model, channels=(8, 16, 32)),
            patches=PatchConfig(patch=(32, 32, 32), sampler=sampler, augment=AugmentConfig(elastic=0.0)),
            stream=StreamConfig(patches_per_epoch=64, val_patches=32, rows_per_task=8),
            loop=LoopConfig(max_epochs=4, lr=1e-3, patience=3, min_delta=1e-4),
            batch_size=4,
        )
    if name == "paper":
        return TrainConfig(
            model=default_config(model, channels=(16, 32, 64, 128)),
            patches=PatchConfig(patch=(64, 64, 64), sampler=sampler, augment=AugmentConfig(elastic=0.2)),
            stream=StreamConfig(patches_per_epoch=2000, val_patches=400, rows_per_task=16, readers=4, reader_cpus=1.0),
            loop=LoopConfig(max_epochs=400, lr=1e-4, patience=40, min_delta=1e-4),
            scaling=ScalingSpec(workers=4, cpus_per_worker=4, use_gpu=True),
            batch_size=8,
        )
    if name == "pretrain-laptop":
        return TrainConfig(
            model=default_config(model, channels=(12, 24, 48)),
            patches=PatchConfig(patch=(32, 32, 32), sampler=sampler, augment=ARTEFACT_AUGMENT),
            stream=StreamConfig(patches_per_epoch=384, val_patches=96, rows_per_task=16),
            # the rate falls along a cosine over all 60 epochs (no early stop): at a constant 1e-3 for
            # 40 epochs the validation loss had flattened by epoch 25; this budget raised am-eval's
            # own-point Dice by 0.02 on the prism and the bushing (porelab-am's model card)
            loop=LoopConfig(max_epochs=60, lr=1e-3, patience=60, min_delta=1e-4, lr_schedule="cosine"),
            scaling=ScalingSpec(workers=0, cpus_per_worker=2.0),  # both cores' threads for the one loop
            batch_size=8,
        )
    if name == "pretrain-cluster":
        return TrainConfig(
            model=default_config(model, channels=(16, 32, 64, 128)),
            patches=PatchConfig(patch=(64, 64, 64), sampler=sampler, augment=replace(ARTEFACT_AUGMENT, elastic=0.2)),
            stream=StreamConfig(patches_per_epoch=4000, val_patches=400, rows_per_task=16, readers=4, reader_cpus=1.0),
            loop=LoopConfig(max_epochs=200, lr=3e-4, patience=20, min_delta=1e-4),
            scaling=ScalingSpec(workers=4, cpus_per_worker=4, use_gpu=True),
            batch_size=8,
        )
    raise ConfigError(f"profile {name!r} is unknown; expected one of {', '.join(PROFILES)}")


def finetuning_config(
    base: TrainConfig, init_from: str, *, epochs: int, patches_per_epoch: int, val_patches: int, lr: float
) -> TrainConfig:
    """A trained model's own config `base` for a bounded run that starts from the weights of
    `init_from`: `epochs` epochs of `patches_per_epoch` patches at `lr` (no early stop), its
    architecture, patches and augmentation kept; on CPUs its loop runs in the driver. Train and
    validation scans are cleared for the caller to set.

    Example:
        >>> finetuning_config(base, "porelab-am/model.pt", epochs=4, patches_per_epoch=96, val_patches=32, lr=3e-4)
    """
    scaling = base.scaling if base.scaling.use_gpu else replace(base.scaling, workers=0)
    return replace(
        base,
        loop=replace(base.loop, max_epochs=epochs, lr=lr, patience=epochs),
        stream=replace(base.stream, patches_per_epoch=patches_per_epoch, val_patches=val_patches),
        scaling=scaling,
        train_ids=(),
        val_ids=(),
        init_from=init_from,
    )


def training_config(
    profile_name: str, model: str, config_file: str | None = None, overrides: list[str] | None = None
) -> TrainConfig:
    """A profile for `model`, then a YAML/JSON file's fields, then `key=value` overrides."""
    data = profile(profile_name, model).to_dict()
    if config_file:
        data = _deep_merge(data, load_file(config_file))
    return with_patch_sized_model(TrainConfig.from_dict(apply_overrides(data, overrides or [])))


def with_patch_sized_model(config: TrainConfig) -> TrainConfig:
    """Models with a dense latent (VAE family) are built for one patch size: the training patch's."""
    if "patch_size" not in model_spec(config.model.name).uses:
        return config
    patch = set(config.patches.patch)
    if len(patch) != 1:
        raise ConfigError(
            f"model {config.model.name!r} needs cubic patches (its latent is sized for one patch "
            f"size); patches.patch = {list(config.patches.patch)}"
        )
    return replace(config, model=replace(config.model, patch_size=patch.pop()))


def _deep_merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in update.items():
        merged[key] = (
            _deep_merge(merged[key], value) if isinstance(value, dict) and isinstance(merged.get(key), dict) else value
        )
    return merged
