"""The dataset README: what each scan is, how the Otsu baseline does on it, a mid-slice picture."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from porelab.volume.atomic import atomic_target, write_text_atomic


def write_preview(scan: np.ndarray, target: Path) -> None:
    """PNG of the axial and longitudinal mid-slices of a scan, side by side."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lo, hi = np.percentile(scan, [0.5, 99.5])
    fig, axes = plt.subplots(1, 2, figsize=(6, 3), dpi=100)
    for ax, image, title in (
        (axes[0], scan[scan.shape[0] // 2], "z mid-slice"),
        (axes[1], scan[:, scan.shape[1] // 2], "y mid-slice"),
    ):
        ax.imshow(image, cmap="gray", vmin=lo, vmax=hi)
        ax.set_title(title, fontsize=8)
        ax.axis("off")
    with atomic_target(target, overwrite=True) as tmp:
        fig.savefig(tmp, format="png", bbox_inches="tight")
    plt.close(fig)


def _pod_text(pod: list[dict[str, Any]]) -> str:
    cells = [f"{row['bin_low']:g}-{row['bin_high']:g}: {row['n_hit']}/{row['n_true']}" for row in pod if row["n_true"]]
    return ", ".join(cells)


def _sampling_lines(manifest: dict[str, Any]) -> list[str]:
    """The ranges a drawn preset (am-randomized) sampled its scans from, and each scan's draw."""
    sampling = manifest.get("sampling")
    if not sampling:
        return []
    lines = [
        "## How the scans were drawn",
        "",
        "Each scan draws its settings from these ranges (`porelab simulate --sampling FILE` changes them; "
        "fields of `porelab.simulate.datasets.RandomizedConfig`):",
        "",
        "| setting | range |",
        "|---|---|",
    ]
    lines += [f"| {key} | {value} |" for key, value in sampling.items()]
    lines += [
        "",
        "| scan | part | side | projections | exposure | blur (px) | scatter | rings (gain spread) | "
        "pore median (vox) | porosity target (%) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in manifest["scans"]:
        drawn, spec = s.get("drawn") or {}, s["scan"]
        pores = drawn.get("pores", {})
        lines.append(
            f"| {s['id']} | {s['part']} | {drawn.get('side')} | {spec['n_projections']} | {spec['exposure']:g} | "
            f"{spec['blur_px']:.2f} | {spec['scatter_fraction']:.3f} | {spec['gain_spread']:.4f} | "
            f"{pores.get('diameter_median_vox', 0):.1f} | {pores.get('porosity_percent', 0):.2f} |"
        )
    return lines + [""]


def write_readme(root: Path, manifest: dict[str, Any]) -> None:
    """README.md listing every scan of the manifest with its baseline metrics and picture."""
    lines = [
        "# Simulated CT dataset",
        "",
        f"Preset `{manifest.get('preset')}`, profile `{manifest.get('profile')}`. Written by "
        "`porelab simulate`; check the files with `porelab simulate --verify DIR`.",
        "",
        "Each scan: `<id>/scan.tif` (reconstruction, 1/mm), `<id>/labels.tif` (pore instance ids, "
        "0 = none), `<id>/materials.tif` (material labels), `<id>/pores.parquet` (ground-truth pore "
        "table); a degraded copy of a scan (`<id>-p<k>-e<percent>`: every k-th projection at that percentage "
        "of the exposure) has its own `scan.tif` and shares its clean scan's labels, materials and pore table. "
        "Baseline: `otsu` = Iuso et al. Algorithm 1 on the scan, `multi-otsu` = three-phase "
        "Otsu (blocks without air); POD = hit pores / true pores per equivalent-diameter bin (voxels).",
        "",
        "| scan | role | material | projections used | exposure | baseline | Dice | false calls | "
        "POD by size | time (s) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in manifest["scans"]:
        base = s["otsu_baseline"]
        used = -(-s["scan"]["n_projections"] // s.get("keep_every", 1))
        lines.append(
            f"| {s['id']} | {s['role']} | {s['material']} | {used} | "
            f"{s['scan']['exposure'] * s.get('exposure_fraction', 1.0):g} | {base.get('method', 'otsu')} | {base['dice']:.3f} | {base['false_calls']} | "
            f"{_pod_text(base['pod'])} | {s['seconds']:.1f} |"
        )
    lines.append("")
    lines += _sampling_lines(manifest)
    for s in manifest["scans"]:
        lines += [f"## {s['id']}", "", f"![{s['id']}]({s['preview']})", ""]
    write_text_atomic(root / "README.md", "\n".join(lines) + "\n")
