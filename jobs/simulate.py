"""Ray job: write a simulated CT dataset with slices fanned out over Ray tasks.

ray job submit --working-dir . -- python jobs/simulate.py --preset am-cylinders --profile paper --out /data/am
"""

from __future__ import annotations

import argparse
import json
import sys

from porelab.simulate.datasets import build_dataset, summary_rows
from porelab.simulate.scanner import Executor


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="am-cylinders")
    parser.add_argument("--profile", default="demo")
    parser.add_argument("--out", required=True)
    parser.add_argument("--workers", type=int, default=2, help="slab tasks in flight")
    parser.add_argument("--scans", nargs="+", metavar="ID", help="build only these scans of the preset")
    args = parser.parse_args(argv)
    manifest = build_dataset(
        args.out,
        args.preset,
        args.profile,
        Executor(kind="ray", workers=args.workers),
        report=print,
        only=tuple(args.scans) if args.scans else None,
    )
    print(json.dumps(summary_rows(manifest)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
