"""One training step of each demo model: porelab's CPU layout (`porelab.models.layout`,
channels-last) against torch's default layout.

Same process, same model weights, same batch (the demo profile: batch 4 of 32^3 patches, one
thread), same task and Adam. Reports seconds per step for both layouts and their ratio per
model, and on the last line the ratio of the summed step times (what a sweep over every
model spends).

    .venv/bin/python bench/train_step.py                      # the eight CV models
    .venv/bin/python bench/train_step.py --models unet vae --steps 10
"""

from __future__ import annotations

import argparse
import copy
import time

import torch

from porelab.models import build_model
from porelab.models.layout import fast_layout, input_layout
from porelab.sweep.cv.run import DEFAULT_MODELS
from porelab.train.config import profile, with_patch_sized_model

_WARM_UP = 3


def _seconds_per_step(model: torch.nn.Module, task: object, batch: dict[str, torch.Tensor], steps: int) -> float:
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    batch = {k: input_layout(v, model) for k, v in batch.items()}
    for step in range(_WARM_UP + steps):
        if step == _WARM_UP:
            start = time.perf_counter()
        optimiser.zero_grad()
        loss, _ = task.loss(model, batch)  # type: ignore[attr-defined]
        loss.backward()
        optimiser.step()
    return (time.perf_counter() - start) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(DEFAULT_MODELS))
    parser.add_argument("--steps", type=int, default=5, help="timed steps per model and layout")
    args = parser.parse_args()
    torch.set_num_threads(1)
    totals = {"default": 0.0, "porelab": 0.0}
    for name in args.models:
        torch.manual_seed(0)
        config = with_patch_sized_model(profile("demo", name))
        edge = config.patches.patch
        batch = {
            "image": torch.rand(config.batch_size, 1, *edge),
            "label": (torch.rand(config.batch_size, 1, *edge) > 0.95).float(),
        }
        model = build_model(config.model)
        default = _seconds_per_step(copy.deepcopy(model), config.build_task(), batch, args.steps)
        ours = _seconds_per_step(
            fast_layout(copy.deepcopy(model), torch.device("cpu")), config.build_task(), batch, args.steps
        )
        totals["default"] += default
        totals["porelab"] += ours
        print(
            f"{name:10s} default {default:.3f} s/step  porelab {ours:.3f} s/step  speed-up {default / ours:.2f}",
            flush=True,
        )
    print(f"ratio_vs_default_layout={totals['default'] / totals['porelab']:.2f}")


if __name__ == "__main__":
    main()
