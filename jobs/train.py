"""Ray job: train one model on a dataset with Ray Train (same flags as `porelab train`).

    ray job submit --working-dir . -- python jobs/train.py --model unet --data /data/am --out /runs/unet \
        --profile paper --workers 4

Inside a submitted job RAY_ADDRESS is set, so the run joins the cluster; run directly, it
starts a local Ray. Rerunning with the same --out resumes an unfinished run.
"""

from __future__ import annotations

import sys

from porelab.cli import main

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]]))
