"""The `welds` preset: 2D weld radiographs with indication masks, and 192 x 192 OK/defect patches.

Radiographs are stored as one-slice volumes (porelab volumes are 3-D). No CT scan is involved,
so there is no Otsu baseline here; the entries carry the indication counts instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from porelab import volume
from porelab.errors import ConfigError
from porelab.simulate.datasets.manifest import FORMAT, file_problems, read_manifest, sha256, write_manifest
from porelab.simulate.phantoms import weld_patches, weld_radiograph
from porelab.volume.atomic import atomic_target, write_text_atomic

_PROFILES = {
    "demo": {"radiographs": 4, "shape": (384, 1536), "patches": 64},
    "paper": {"radiographs": 200, "shape": (768, 3072), "patches": 2000},
}
_PATCH_SIZE = 192


def _write_parquet(table: pd.DataFrame, target: Path) -> None:
    with atomic_target(target, overwrite=True) as tmp:
        table.to_parquet(tmp, index=False)


def _write_preview(image: np.ndarray, mask: np.ndarray, target: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 1, figsize=(8, 4.5), dpi=100)
    axes[0].imshow(image, cmap="gray")
    axes[1].imshow(mask, cmap="tab10", vmin=0, vmax=9, interpolation="nearest")
    for ax, title in zip(axes, ("radiograph", "indication classes")):
        ax.set_title(title, fontsize=8)
        ax.axis("off")
    with atomic_target(target, overwrite=True) as tmp:
        fig.savefig(tmp, format="png", bbox_inches="tight")
    plt.close(fig)


def _radiograph_entry(root: Path, index: int, shape: tuple[int, int]) -> dict[str, Any]:
    item_id = f"weld-{index + 1:03d}"
    radiograph = weld_radiograph(shape, seed=index)
    (root / item_id).mkdir(parents=True, exist_ok=True)
    files = {
        "image": f"{item_id}/image.tif",
        "mask": f"{item_id}/mask.tif",
        "indications": f"{item_id}/indications.parquet",
        "preview": f"{item_id}/preview.png",
    }
    volume.write(radiograph.image[None], root / files["image"], overwrite=True)
    volume.write(radiograph.mask[None], root / files["mask"], overwrite=True)
    _write_parquet(radiograph.indications, root / files["indications"])
    _write_preview(radiograph.image, radiograph.mask, root / files["preview"])
    counts = radiograph.indications["kind"].value_counts().to_dict() if len(radiograph.indications) else {}
    return {
        "id": item_id,
        "role": "radiograph",
        "seed": index,
        "shape": list(shape),
        "classes": radiograph.classes,
        "indications": {str(k): int(v) for k, v in counts.items()},
        "files": files,
        "sha256": {role: sha256(root / name) for role, name in files.items()},
    }


def _patches_entry(root: Path, per_class: int) -> dict[str, Any]:
    patches = weld_patches(n_ok=per_class, n_defect=per_class, size=_PATCH_SIZE, seed=10_000)
    (root / "patches").mkdir(parents=True, exist_ok=True)
    files = {"images": "patches/images.tif", "masks": "patches/masks.tif", "labels": "patches/labels.parquet"}
    volume.write(patches.images, root / files["images"], overwrite=True)
    volume.write(patches.masks, root / files["masks"], overwrite=True)
    table = patches.patches.copy()
    table["kinds"] = table["kinds"].map(lambda kinds: ",".join(kinds) if not isinstance(kinds, str) else kinds)
    _write_parquet(table, root / files["labels"])
    return {
        "id": "patches",
        "role": "patches",
        "size": _PATCH_SIZE,
        "ok": int((patches.labels == 0).sum()),
        "defect": int((patches.labels == 1).sum()),
        "files": files,
        "sha256": {role: sha256(root / name) for role, name in files.items()},
    }


def _write_readme(root: Path, manifest: dict[str, Any]) -> None:
    lines = [
        "# Simulated weld radiographs",
        "",
        f"Profile `{manifest['profile']}`. Written by `porelab simulate "
        "--preset welds`; check with `porelab simulate --verify DIR`.",
        "",
        "Each radiograph: `image.tif` (one slice, transmitted intensity), `mask.tif` (indication class "
        "code per pixel), `indications.parquet`. `patches/`: 192 x 192 OK (0) / defect (1) patches.",
        "",
        "| item | indications |",
        "|---|---|",
    ]
    for entry in manifest["scans"]:
        detail = entry.get("indications") or f"{entry.get('ok')} OK / {entry.get('defect')} defect patches"
        lines.append(f"| {entry['id']} | {detail} |")
    lines.append("")
    lines += [f"![{e['id']}]({e['files']['preview']})" for e in manifest["scans"] if "preview" in e["files"]]
    write_text_atomic(root / "README.md", "\n".join(lines) + "\n")


def build_welds(
    out: str | Path, profile: str = "demo", report: Callable[[str], None] = lambda message: None
) -> dict[str, Any]:
    """Write (or complete) the weld radiographs and patches into `out`; the final manifest."""
    if profile not in _PROFILES:
        raise ConfigError(f"--profile {profile!r}: expected one of {sorted(_PROFILES)}")
    settings, root = _PROFILES[profile], Path(out)
    root.mkdir(parents=True, exist_ok=True)
    manifest = {**read_manifest(root), "format": FORMAT, "preset": "welds", "profile": profile}
    done = {e["id"]: e for e in manifest["scans"] if not file_problems(root, e)}
    builders = [
        (f"weld-{i + 1:03d}", lambda i=i: _radiograph_entry(root, i, settings["shape"]))
        for i in range(settings["radiographs"])
    ]
    builders.append(("patches", lambda: _patches_entry(root, settings["patches"])))
    for item_id, build in builders:
        if item_id in done:
            report(f"{item_id}: complete, skipped")
            continue
        entry = build()
        manifest = {
            **manifest,
            "scans": sorted([e for e in manifest["scans"] if e["id"] != item_id] + [entry], key=lambda e: e["id"]),
        }
        write_manifest(root, manifest)
        report(f"{item_id}: written")
    write_manifest(root, manifest)
    _write_readme(root, manifest)
    return manifest
