"""Benchmark: our scan + reconstruction against a bare ASTRA loop, scikit-image, and 1 vs 2 Ray workers.

Same phantom and parallel-beam geometry for all. The last line prints the ratios:
overhead_vs_astra = ours / bare ASTRA (floor <= 1.15), speed_vs_skimage = skimage / ours
(projection + reconstruction), ray_2_vs_1 = time with 1 Ray worker / time with 2.
    .venv/bin/python bench/simulate.py

`--scale` measures the slab-streamed path (`scanner.streamed`) on grids of 128, 256 and 512
voxels a side: a Ti cylinder with spherical pores, written to disk slab by slab and read
back a slab at a time, simulated and reconstructed into an on-disk volume in this process.
Per size: wall time, the process's peak RSS (VmHWM, reset before each size) and its growth,
and the overhead against a bare ASTRA FP + FBP loop on the same central 32 slices (both
timed here, interleaved). Last line: `rss_ratio_largest_over_smallest=... overhead_vs_astra=...`.
    .venv/bin/python bench/simulate.py --scale                     # 128, 256, 512; about 10 min
    .venv/bin/python bench/simulate.py --scale --sizes 128 256 --projections 64
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from porelab.simulate.phantoms import am_cube  # noqa: E402
from porelab.simulate.scanner import Executor, ScanSpec, reconstruct, simulate  # noqa: E402
from porelab.simulate.scanner.geometry import astra_proj_geom, astra_vol_geom, quiet_astra, slice_geometry  # noqa: E402
from porelab.simulate.scanner.projector import material_maps  # noqa: E402
from porelab.simulate.scanner.streamed import simulate_streamed  # noqa: E402
from porelab.volume.npy import NpyRows  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import _status_kib, measure  # noqa: E402

SHAPE = (32, 128, 128)
SPEC = ScanSpec(geometry="parallel", n_projections=360, exposure=2e4)


def _interleaved(runs: dict[str, Callable[[], None]], rounds: int = 3) -> dict[str, float]:
    """Best time of each run over `rounds`, alternating runs so load from other processes hits all alike."""
    best = {name: float("inf") for name in runs}
    for _ in range(rounds):
        for name, fn in runs.items():
            start = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def _bare_astra(solid: np.ndarray, geom) -> None:
    import astra

    quiet_astra()
    vol_geom, proj_geom = astra_vol_geom(geom), astra_proj_geom(geom)
    fp = astra.create_projector("strip", proj_geom, vol_geom)
    bp = astra.create_projector("linear", proj_geom, vol_geom)
    for z in range(solid.shape[0]):
        sino_id, _ = astra.create_sino(solid[z], fp)
        rec_id = astra.data2d.create("-vol", vol_geom, 0.0)
        cfg = astra.astra_dict("FBP")
        cfg.update(ProjectorId=bp, ProjectionDataId=sino_id, ReconstructionDataId=rec_id)
        alg = astra.algorithm.create(cfg)
        astra.algorithm.run(alg)
        astra.data2d.get(rec_id)
        astra.algorithm.delete(alg)
        astra.data2d.delete([sino_id, rec_id])
    astra.projector.delete([fp, bp])


def _skimage(solid: np.ndarray, geom) -> None:
    from skimage.transform import iradon, radon

    theta = np.degrees(geom.angles)
    for z in range(solid.shape[0]):
        iradon(radon(solid[z], theta=theta, circle=False), theta=theta, circle=False, filter_name="ramp")


@dataclass
class _Cylinder:
    """A phantom whose arrays are on disk (`NpyRows`) or in memory: what the scanner reads."""

    materials: object
    pore_fraction: object
    voxel_size: tuple = (0.05, 0.05, 0.05)
    name: str = "bench-cylinder"
    material_names = {0: "air", 1: "Ti6Al4V"}


def _cylinder_slices(n: int, z0: int, z1: int, pores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Slices z0:z1 of a Ti cylinder (radius 0.4 n, axis z) with spherical pores (z, y, x, r)."""
    zz, yy, xx = np.mgrid[z0:z1, :n, :n].astype(np.float32)
    c = (n - 1) / 2
    materials = (((yy - c) ** 2 + (xx - c) ** 2) < (0.4 * n) ** 2).astype(np.uint8)
    fraction = np.zeros(materials.shape, np.float32)
    for z, y, x, r in pores:
        if z0 - r <= z < z1 + r:
            fraction[(zz - z) ** 2 + (yy - y) ** 2 + (xx - x) ** 2 < r**2] = 1.0
    return materials, fraction * materials


def _pores(n: int, count: int = 60) -> np.ndarray:
    rng = np.random.default_rng(n)
    angle, radius = rng.uniform(0, 2 * np.pi, count), 0.3 * n * np.sqrt(rng.uniform(0, 1, count))
    c = (n - 1) / 2
    return np.stack(
        [
            rng.uniform(8, n - 8, count),
            c + radius * np.sin(angle),
            c + radius * np.cos(angle),
            rng.uniform(1.5, 5, count),
        ],
        axis=1,
    )


def _disk_cylinder(n: int, folder: Path) -> _Cylinder:
    pores = _pores(n)
    materials = NpyRows(folder / "materials.npy", shape=(n, n, n), dtype=np.uint8)
    fraction = NpyRows(folder / "pore_fraction.npy", shape=(n, n, n), dtype=np.float32)
    for z in range(0, n, 16):
        materials[z : z + 16], fraction[z : z + 16] = _cylinder_slices(n, z, min(z + 16, n), pores)
    return _Cylinder(materials, fraction)


def _scale_row(n: int, spec: ScanSpec, block: int) -> dict[str, float]:
    one_process = Executor(kind="local", workers=1)
    with tempfile.TemporaryDirectory(prefix=f"bench-scale-{n}-") as tmp:
        folder = Path(tmp)
        phantom = _disk_cylinder(n, folder)
        outputs = {(1, 1.0): NpyRows(folder / "scan.npy", shape=(n, n, n), dtype=np.float32)}
        with measure() as streamed:
            simulate_streamed(phantom, spec, outputs, one_process)
        peak = _status_kib("VmHWM") / 1024
        z0 = n // 2 - block // 2
        materials, fraction = _cylinder_slices(n, z0, z0 + block, _pores(n))
        part = _Cylinder(materials, fraction)
        geom = slice_geometry(spec, part.materials.shape, part.voxel_size)
        solid = (materials * (1 - fraction)).astype(np.float32)
        sink = {(1, 1.0): np.zeros((block, n, n), np.float32)}
        t = _interleaved(
            {
                "ours": lambda: simulate_streamed(part, spec, sink, one_process),
                "bare": lambda: _bare_astra(solid, geom),
            },
            rounds=2,
        )
    return {
        "size": n,
        "wall_s": streamed.seconds,
        "peak_rss_mib": peak,
        "rss_growth_mib": streamed.peak_rss_growth_mib,
        "ours_block_s": t["ours"],
        "bare_block_s": t["bare"],
    }


def scale(sizes: list[int], projections: int, block: int) -> None:
    spec = ScanSpec(geometry="parallel", n_projections=projections, exposure=2e4)
    print(f"slab-streamed scans, {projections} parallel projections, one process, 1 thread; overhead on {block} slices")
    print(
        f"{'size':>6} {'wall s':>8} {'peak RSS MiB':>13} {'RSS growth MiB':>15} {'ours s':>8} {'ASTRA s':>8} {'overhead':>9}"
    )
    _scale_row(32, spec, 8)  # imports, ASTRA and the allocator's first arenas, before measuring
    rows = []
    for n in sizes:
        row = _scale_row(n, spec, block)
        rows.append(row)
        print(
            f"{n:>6} {row['wall_s']:>8.1f} {row['peak_rss_mib']:>13.0f} {row['rss_growth_mib']:>15.1f} "
            f"{row['ours_block_s']:>8.2f} {row['bare_block_s']:>8.2f} {row['ours_block_s'] / row['bare_block_s']:>9.2f}",
            flush=True,
        )
    ratio = rows[-1]["peak_rss_mib"] / rows[0]["peak_rss_mib"]
    overhead = max(r["ours_block_s"] / r["bare_block_s"] for r in rows)
    print(f"rss_ratio_largest_over_smallest={ratio:.2f} overhead_vs_astra={overhead:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", action="store_true", help="the slab-streamed path on growing grids")
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256, 512])
    parser.add_argument("--projections", type=int, default=128)
    parser.add_argument("--block", type=int, default=32, help="slices timed against bare ASTRA")
    args = parser.parse_args()
    if args.scale:
        scale(args.sizes, args.projections, args.block)
        return
    compare()


def compare() -> None:
    phantom = am_cube(SHAPE, material="Ti6Al4V", seed=0)
    geom = slice_geometry(SPEC, phantom.materials.shape, phantom.voxel_size)
    _, maps = material_maps(phantom)
    one_slab = Executor(kind="local", workers=1, slab_rows=SHAPE[0])

    def run_ours() -> None:
        reconstruct(simulate(phantom, SPEC, one_slab), executor=one_slab)

    def on_ray(workers: int) -> None:
        ex = Executor("ray", workers, 4)
        reconstruct(simulate(phantom, SPEC, ex), executor=ex)

    on_ray(2)  # start Ray and its workers before timing
    t = _interleaved(
        {
            "ours": run_ours,
            "bare": lambda: _bare_astra(maps[0], geom),
            "ray1": lambda: on_ray(1),
            "ray2": lambda: on_ray(2),
        }
    )
    t.update(_interleaved({"skimage": lambda: _skimage(maps[0], geom)}, rounds=1))
    ours, bare, skimage, ray1, ray2 = (t[k] for k in ("ours", "bare", "skimage", "ray1", "ray2"))
    print(f"grid {SHAPE}, {SPEC.n_projections} parallel projections")
    print(f"ours (simulate+reconstruct, in-process) {ours:.2f} s; bare ASTRA FP+FBP loop {bare:.2f} s")
    print(f"scikit-image radon+iradon loop {skimage:.2f} s (ours does the same forward + inverse)")
    print(f"Ray 1 worker {ray1:.2f} s; 2 workers {ray2:.2f} s")
    print(f"overhead_vs_astra={ours / bare:.2f} speed_vs_skimage={skimage / ours:.2f} ray_2_vs_1={ray1 / ray2:.2f}")


if __name__ == "__main__":
    main()
