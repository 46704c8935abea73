"""The in/out-of-distribution test volumes of a model's scan check, and the rates it reaches.

In distribution: held-out scans of the kind the model was trained for (an AM model: the
`am-eval` preset and the `am-randomized` validation scans). Out of distribution, one kind per
reason a verdict cannot be trusted: other materials and parts (the `composite` and
`cast-aluminium` presets), artefacts outside the simulator's model (a raster, strong rings),
a field of view that cuts the part, a volume resampled to another voxel size, and real scans
of other objects (rock micro-CT, from a folder the user names). Artefact, truncation and resampling
kinds are made from the clean held-out scans, so each differs from an accepted scan by that
one thing. Each volume is judged as `porelab predict` judges it: `porelab.ood.check` with the
part found in the volume.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import pandas as pd

from porelab.ood.check import OODCheck
from porelab.ood.synthetic import raster

IN_DISTRIBUTION = "in distribution"


@dataclass(frozen=True)
class TestVolume:
    """One volume of the test set: its kind, a name, and how to make it (volumes are made one at a time)."""

    kind: str
    name: str
    make: Callable[[], np.ndarray]


def _dataset_volumes(root: Path, kind: str, keep: Callable[[dict[str, Any]], bool]) -> list[TestVolume]:
    from porelab import volume
    from porelab.simulate.datasets import read_manifest

    entries = [e for e in read_manifest(root)["scans"] if keep(e)]
    return [
        TestVolume(kind, e["id"], lambda e=e: volume.read(root / e["files"]["scan"]).to_numpy().astype(np.float32))
        for e in entries
    ]


def _span(data: np.ndarray) -> float:
    low, high = np.percentile(data, [0.5, 99.5])
    return float(high - low) or 1.0


def with_raster(data: np.ndarray, contrast: float, seed: int) -> np.ndarray:
    """A periodic raster (Lindgren & Zach's indication) on every slice, `contrast` x the grey span."""
    return data + contrast * _span(data) * raster(data.shape[1:], np.random.default_rng(seed))[None]


def with_rings(data: np.ndarray, amplitude: float, seed: int) -> np.ndarray:
    """Rings about the volume's z axis: a random offset per radius on a third of the radii, of
    standard deviation `amplitude` x the grey span (uncorrected detector gains)."""
    rng = np.random.default_rng(seed)
    _, rows, cols = data.shape
    yy, xx = np.indices((rows, cols))
    radius = np.hypot(yy - rows / 2, xx - cols / 2).astype(int)
    profile = rng.normal(0.0, amplitude * _span(data), radius.max() + 1) * (rng.random(radius.max() + 1) < 0.33)
    return data + profile[radius][None].astype(np.float32)


def truncated(data: np.ndarray, keep: float) -> np.ndarray:
    """The central `keep` share of each slice's rows and columns: a field of view that cuts the part."""
    _, rows, cols = data.shape
    r, c = int(rows * (1 - keep) / 2), int(cols * (1 - keep) / 2)
    return data[:, r : rows - r, c : cols - c]


def resampled(data: np.ndarray, factor: float) -> np.ndarray:
    """The volume resampled by `factor` along every axis (linear): pores and edges `factor` x wider in voxels."""
    from scipy.ndimage import zoom

    return zoom(data, factor, order=1).astype(np.float32)


def _rock(real: Path) -> list[TestVolume]:
    import tifffile

    rock = real / "rock_microct"
    volumes = []
    for name, shape in (("raw_100cube.raw", (100, 100, 100)), ("raw_100_100_200.raw", (200, 100, 100))):
        if (rock / name).is_file():
            volumes.append(
                TestVolume(
                    "real rock micro-CT",
                    name,
                    lambda p=rock / name, s=shape: np.fromfile(p, "<u2").reshape(s).astype(np.float32),
                )
            )
    slices = sorted((rock / "S-4-X_slices").glob("*.tif*"))
    if slices:
        volumes.append(
            TestVolume(
                "real rock micro-CT",
                "S-4-X (5 slices)",
                lambda: np.stack([tifffile.imread(p) for p in slices]).astype(np.float32),
            )
        )
    return volumes


#: Artefacts added to each clean held-out scan: (kind, name, amounts as shares of the grey span, how).
_ARTEFACTS = (
    ("raster artefact", "raster", (0.05, 0.15), with_raster),
    ("strong rings", "rings", (0.1, 0.3), with_rings),
)


def test_volumes(
    evaluation: Path, randomized: Path | None, others: dict[str, Path], real: Path | None
) -> list[TestVolume]:
    """The test set (see the module docstring): `others` maps an OOD kind to a dataset directory."""
    clean = _dataset_volumes(evaluation, IN_DISTRIBUTION, lambda e: not e.get("source"))
    volumes = _dataset_volumes(evaluation, IN_DISTRIBUTION, lambda e: True)
    if randomized is not None:
        volumes += _dataset_volumes(randomized, IN_DISTRIBUTION, lambda e: e["role"] == "validation")
    for kind, root in others.items():
        volumes += _dataset_volumes(root, kind, lambda e: not e.get("source") and e["role"] != "projection-series")
    for i, scan in enumerate(clean):
        for kind, label, amounts, add in _ARTEFACTS:
            for amount in amounts:
                volumes.append(
                    TestVolume(
                        kind, f"{scan.name} + {label} {amount}", lambda s=scan, a=amount, i=i, f=add: f(s.make(), a, i)
                    )
                )
        volumes.append(
            TestVolume("truncated field of view", f"{scan.name}, central 60 %", lambda s=scan: truncated(s.make(), 0.6))
        )
        for factor in (0.5, 2.0):
            volumes.append(
                TestVolume(
                    "resampled voxel size", f"{scan.name} x {factor}", lambda s=scan, f=factor: resampled(s.make(), f)
                )
            )
    return volumes + (_rock(real) if real is not None else [])


def judge(check: OODCheck, data: np.ndarray) -> dict[str, Any]:
    """The check's answer for one volume, with the part found in it (as `porelab predict` does)."""
    from porelab.data.normalise import fit_normaliser
    from porelab.verdict.large_part import find_part

    return check(data, fit_normaliser(data), find_part(data).part)


def judge_all(
    check: OODCheck, volumes: list[TestVolume], report: Callable[[str], None] = lambda m: None
) -> Iterator[dict[str, Any]]:
    """One row per volume: kind, name, score, is_ood, the texture and ring scores, the neighbour
    correlation, truncated, reasons."""
    for test in volumes:
        result = judge(check, test.make())
        texture = result.get("texture", result)
        row = {
            "kind": test.kind,
            "name": test.name,
            "score": result["score"],
            "is_ood": bool(result["is_ood"]),
            "texture_score": texture["score"],
            "ring_score": result["rings"]["score"],
            "neighbour_correlation": result["interpolation"]["neighbour_correlation"],
            "truncated": bool(result["truncated_sides"]),
            "reasons": " | ".join(result["reasons"]),
        }
        report(f"{test.kind}: {test.name}: score {result['score']:.2f}{' OOD' if result['is_ood'] else ''}")
        yield row


def rates(rows: pd.DataFrame) -> pd.DataFrame:
    """Per kind: volumes, share flagged (the false-alarm rate for in-distribution volumes, the
    true-positive rate for the others) and the median score."""
    table = rows.groupby("kind", sort=False).agg(
        volumes=("is_ood", "size"), flagged_percent=("is_ood", "mean"), median_score=("score", "median")
    )
    table["flagged_percent"] *= 100
    return table.reset_index()
