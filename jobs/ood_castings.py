"""Real-data check of the weld OOD detectors on GDXray casting patches: the autoencoder
trained on sound patches (no perturbation, natural-image indications) and the supervised
classifier trained on sound against defect patches, thresholded at 0.1 % FPR on the sound
training patches; percent of test patches flagged and ROC AUC, mean and spread over N
trainings.

    python jobs/ood_castings.py --data DIR --trainings 3 --out runs/ood_castings

DIR holds train/ and test/, each with class_0/ (sound) and class_1/ (defect) image files.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from porelab.ood import (
    detector_configs,
    evaluate_castings,
    markdown_table,
    read_casting_patches,
    repeat_trainings,
    summarise,
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="folder with train/ and test/, each class_0/ and class_1/")
    parser.add_argument("--out", required=True, help="output directory (castings.json, castings.md)")
    parser.add_argument("--trainings", type=int, default=3, help="independent trainings (seeds) per detector")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--steps-per-epoch", type=int, default=200)
    parser.add_argument("--channels", type=int, nargs="+", default=[8, 16], help="autoencoder widths")
    parser.add_argument("--seed", type=int, default=0)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    torch.set_num_threads(1)
    start = time.perf_counter()
    patches = read_casting_patches(args.data)
    training, classifier = detector_configs(args.epochs, args.steps_per_epoch, args.channels)
    runs = repeat_trainings(
        lambda seed: evaluate_castings(patches, training, classifier, seed),
        args.trainings,
        args.seed,
        lambda done, seconds: print(f"training {done}/{args.trainings} done after {seconds:.0f} s", flush=True),
    )
    summary = summarise(runs)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    counts = {
        name: len(getattr(patches, name)) for name in ("train_sound", "train_defect", "test_sound", "test_defect")
    }
    settings = {k: v for k, v in vars(args).items() if k != "out"}
    (out / "castings.json").write_text(
        json.dumps(
            {
                "settings": settings,
                "patches": counts,
                "summary": summary,
                "runs": runs,
                "seconds": time.perf_counter() - start,
            },
            indent=2,
        )
    )
    note = (
        f"Percent of test patches flagged ({counts['test_sound']} sound, {counts['test_defect']} defect), "
        f"mean ± std over {args.trainings} trainings; thresholds at 0.1 % FPR on the "
        f"{counts['train_sound']} sound training patches; auroc: ROC AUC of the score on the test patches."
    )
    table = markdown_table(summary, args.trainings, note)
    (out / "castings.md").write_text(table + "\n")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
