"""Sliding-window inference: porelab versus MONAI's `sliding_window_inference`.

Same process, same simulated-like volume, same network, window, overlap and Gaussian
blending. Both run file to file: ours streams from a memory-mapped .npy to an on-disk
.npy; MONAI needs the volume as a tensor in memory and returns the full result, which is
then saved. Reports voxels/s and peak RSS growth per volume size, the largest difference
between the two score maps, and on the last line the ratios at the largest size.

    .venv/bin/python bench/infer.py                  # 128^3, 256^3, 512^3
    .venv/bin/python bench/infer.py --sizes 96 128   # quicker
"""

from __future__ import annotations

import argparse
import copy
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from scipy import ndimage

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import measure  # noqa: E402

from porelab import volume  # noqa: E402
from porelab.infer.output import NpyBlockWriter  # noqa: E402
from porelab.infer.runtime import input_layout, prepare_for_inference  # noqa: E402
from porelab.infer.sliding import SlidingWindowConfig, sliding_window  # noqa: E402
from porelab.models import build_model  # noqa: E402


def make_volume(size: int, path: Path, seed: int = 0) -> None:
    """Smooth grey values with dark spheres, written as float32 .npy slab by slab."""
    rng = np.random.default_rng(seed)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(size,) * 3)
    for z0 in range(0, size, 64):
        slab = rng.normal(0.6, 0.05, (min(64, size - z0), size, size)).astype(np.float32)
        out[z0:z0 + 64] = ndimage.gaussian_filter(slab, 1.0)
    out.flush()
    del out


def run_ours(model: torch.nn.Module, src: Path, dst: Path, config: SlidingWindowConfig) -> None:
    vol = volume.read(src)
    model = prepare_for_inference(model, torch.device("cpu"))
    with NpyBlockWriter(dst, vol.shape, voxel_size=vol.voxel_size) as sink:
        sliding_window(vol, lambda batch: model(input_layout(batch, model)), sink, config)


def run_monai(model: torch.nn.Module, src: Path, dst: Path, config: SlidingWindowConfig) -> None:
    from monai.inferers import sliding_window_inference

    data = torch.from_numpy(np.load(src))[None, None]
    predictor = lambda batch: model(input_layout(batch, model))  # noqa: E731 (a no-op unless channels-last)
    with torch.inference_mode():
        out = sliding_window_inference(data, config.window, config.batch_size, predictor, overlap=config.overlap,
                                       mode="gaussian", sigma_scale=0.125, padding_mode="replicate")
    np.save(dst, out[0, 0].numpy())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256, 512])
    parser.add_argument("--window", type=int, default=64)
    parser.add_argument("--overlap", type=float, default=0.5)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--channels", type=int, nargs="+", default=[4, 8, 16])
    parser.add_argument("--monai-channels-last", action="store_true",
                        help="give MONAI the channels-last model too (isolates the engine from the layout)")
    args = parser.parse_args()

    torch.manual_seed(0)
    model = build_model("unet", spatial_dims=3, channels=tuple(args.channels)).eval()
    monai_model = copy.deepcopy(model)  # ours switches its copy to channels-last
    if args.monai_channels_last:
        monai_model = monai_model.to(memory_format=torch.channels_last_3d)
    config = SlidingWindowConfig(window=(args.window,) * 3, overlap=args.overlap, weighting="gaussian",
                                 batch_size=args.batch_size)
    print(f"network unet channels={tuple(args.channels)} window={args.window} overlap={args.overlap} "
          f"batch={args.batch_size} threads={torch.get_num_threads()}")
    print(f"{'size':>6} {'ours vox/s':>12} {'monai vox/s':>12} {'speed':>7} {'ours MiB':>9} {'monai MiB':>10} "
          f"{'max diff':>9}")
    speed = rss = float("nan")
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            src = Path(tmp) / f"v{size}.npy"
            make_volume(size, src)
            with measure() as ours:
                run_ours(model, src, Path(tmp) / "ours.npy", config)
            with measure() as theirs:
                run_monai(monai_model, src, Path(tmp) / "monai.npy", config)
            diff = float(np.abs(np.load(Path(tmp) / "ours.npy", mmap_mode="r")
                                - np.load(Path(tmp) / "monai.npy", mmap_mode="r")).max())
            voxels = size**3
            speed = theirs.seconds / ours.seconds
            rss = theirs.peak_rss_growth_mib / max(ours.peak_rss_growth_mib, 1e-3)
            print(f"{size:>5}^3 {voxels / ours.seconds:>12.3g} {voxels / theirs.seconds:>12.3g} {speed:>7.2f} "
                  f"{ours.peak_rss_growth_mib:>9.1f} {theirs.peak_rss_growth_mib:>10.1f} {diff:>9.2g}", flush=True)
            for name in ("ours.npy", "ours.npy.json", "monai.npy", src.name):
                (Path(tmp) / name).unlink(missing_ok=True)
    print(f"ratio_vs_monai={speed:.2f} rss_ratio_monai_over_ours={rss:.1f}")


if __name__ == "__main__":
    main()
