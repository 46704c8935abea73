"""Size and cost of the registered models: parameters and GFLOPs per reference input.

FLOPs are counted by `torch.utils.flop_counter.FlopCounterMode` (2 per multiply-add of
convolutions and matrix products; element-wise operations are not counted). The model
and input are built on the "meta" device, so counting costs no memory and no compute.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from porelab.models.config import ModelConfig
from porelab.models.catalogue import build_model, default_config, model_names, model_spec

# Reference input edge: 64^3 patches (Iuso et al.) for 3D, 192^2 images for 2D.
REFERENCE_SIZE = {3: 64, 2: 192}


@dataclass(frozen=True)
class ModelSummary:
    """One row of `porelab models`."""

    name: str
    description: str
    spatial_dims: int
    input_shape: tuple[int, ...]
    parameters: int
    gflops: float
    reference_parameters: int | None  # published count, only for the same dimension
    reference_source: str | None

    def to_dict(self) -> dict[str, Any]:
        row = asdict(self)
        row["input_shape"] = list(self.input_shape)
        return row


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def count_gflops(model: nn.Module, input_shape: tuple[int, ...]) -> float:
    """GFLOPs of one eval-mode forward pass on an input of `input_shape` (on the model's device)."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(torch.zeros(input_shape, device=device))
    finally:
        model.train(was_training)
    return counter.get_total_flops() / 1e9


def example_input_shape(config: ModelConfig, size: int | None = None) -> tuple[int, ...]:
    """(1, C, *spatial) at the reference size; 2.5D inputs carry their slice axis."""
    edge = size or REFERENCE_SIZE[config.spatial_dims]
    slices = (config.context_slices,) if config.context_slices > 1 else ()
    return (1, config.in_channels, *slices, *[edge] * config.spatial_dims)


def summarize(name: str, size: int | None = None, **overrides: Any) -> ModelSummary:
    """Parameters and GFLOPs of model `name` (architecture defaults plus `overrides`)."""
    config = default_config(name, **overrides)
    spec = model_spec(name)
    with torch.device("meta"):
        model = build_model(config)
    shape = example_input_shape(config, size)
    same_dims = spec.reference_dims == config.spatial_dims
    return ModelSummary(
        name,
        spec.summary,
        config.spatial_dims,
        shape,
        count_parameters(model),
        count_gflops(model, shape),
        spec.reference_parameters if same_dims else None,
        spec.reference_source if same_dims else None,
    )


def summarize_all(spatial_dims: int | None = None, family: str | None = "supervised") -> list[ModelSummary]:
    """A summary of every registered model of `family` (None: all) with its default config
    (3D unless the architecture says otherwise, or `spatial_dims` where the model supports
    it), deep supervision on where the architecture has it, as the papers trained them."""
    rows = []
    for name in model_names(family):
        spec = model_spec(name)
        overrides: dict[str, Any] = {"deep_supervision": spec.deep_supervision}
        if spatial_dims in spec.dims:
            overrides["spatial_dims"] = spatial_dims
        rows.append(summarize(name, **overrides))
    return rows


def format_summary_table(rows: list[ModelSummary]) -> str:
    """Plain-text table: name, dims, input, parameters, GFLOPs, reference parameters."""
    header = ("model", "dims", "input", "params", "GFLOPs", "reference params", "description")
    lines = [header]
    for row in rows:
        reference = (
            f"{row.reference_parameters / 1e6:.2f} M ({row.reference_source})" if row.reference_parameters else "-"
        )
        lines.append(
            (
                row.name,
                f"{row.spatial_dims}D",
                "x".join(map(str, row.input_shape[2:])),
                f"{row.parameters / 1e6:.3f} M",
                f"{row.gflops:.2f}",
                reference,
                row.description,
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip() for line in lines)
