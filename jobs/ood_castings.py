"""Real-data check of the weld OOD detectors on GDXray casting patches: the autoencoder
trained on sound patches (no perturbation, natural-image indications) and the supervised
classifier trained on sound against defect patches, thresholded at 0.1 % FPR on the sound
training patches; percent of test patches flagged and ROC AUC, mean and spread over N
trainings (`porelab.ood.studies.run_castings_study`).

    python jobs/ood_castings.py --data DIR --trainings 3 --out runs/ood_castings

DIR holds train/ and test/, each with class_0/ (sound) and class_1/ (defect) image files.
"""

from __future__ import annotations

import argparse
import sys

import torch

from porelab.ood.studies import CastingStudyConfig, add_training_arguments, detector_training, run_castings_study


def parse(argv: list[str] | None) -> CastingStudyConfig:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="folder with train/ and test/, each class_0/ and class_1/")
    parser.add_argument("--out", required=True, help="output directory (castings.json, castings.md)")
    add_training_arguments(parser)
    args = parser.parse_args(argv)
    return CastingStudyConfig(data=args.data, out=args.out, training=detector_training(args))


def main(argv: list[str] | None = None) -> int:
    config = parse(argv)
    torch.set_num_threads(1)
    print(run_castings_study(config, report=lambda line: print(line, flush=True))["table"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
