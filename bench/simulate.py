"""Benchmark: our scan + reconstruction against a bare ASTRA loop, scikit-image, and 1 vs 2 Ray workers.

Same phantom and parallel-beam geometry for all. The last line prints the ratios:
overhead_vs_astra = ours / bare ASTRA (floor <= 1.15), speed_vs_skimage = skimage / ours
(projection + reconstruction), ray_2_vs_1 = time with 1 Ray worker / time with 2.
    .venv/bin/python bench/simulate.py
"""

from __future__ import annotations

import os
import time
from typing import Callable

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from porelab.simulate.phantoms import am_cube  # noqa: E402
from porelab.simulate.scanner import Executor, ScanSpec, reconstruct, simulate  # noqa: E402
from porelab.simulate.scanner.geometry import astra_proj_geom, astra_vol_geom, quiet_astra, slice_geometry  # noqa: E402
from porelab.simulate.scanner.projector import material_maps  # noqa: E402

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


def main() -> None:
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
