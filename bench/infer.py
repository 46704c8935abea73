"""Sliding-window inference: porelab versus MONAI's `sliding_window_inference`.

Same process, same simulated-like volume, same network, window, overlap and Gaussian
blending. Both run file to file: ours streams from a memory-mapped .npy to an on-disk
.npy; MONAI needs the volume as a tensor in memory and returns the full result, which is
then saved. Reports voxels/s and peak RSS growth per volume size, the largest difference
between the two score maps, and on the last line the ratios at the largest size.

    .venv/bin/python bench/infer.py                  # 128^3, 256^3, 512^3
    .venv/bin/python bench/infer.py --sizes 96 128   # quicker
    .venv/bin/python bench/infer.py --device cuda    # network on the GPU, output gathered on the CPU

With --device cuda, ours runs its windows on the GPU and blends on the CPU; MONAI runs with
sw_device=cuda and device=cpu (its output is gathered on the CPU, where ours is written).
Peak GPU memory (torch.cuda.max_memory_allocated, reset per run) is reported beside RSS.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

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


@dataclass
class GpuPeak:
    peak_mib: float = float("nan")


@contextlib.contextmanager
def gpu_peak(device: str) -> Iterator[GpuPeak]:
    """Peak GPU memory allocated over the block (reset first); synchronises at both ends, so
    inside `measure()` the wall time covers the GPU work. A no-op on the CPU."""
    result = GpuPeak()
    if device != "cuda":
        yield result
        return
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    yield result
    torch.cuda.synchronize()
    result.peak_mib = torch.cuda.max_memory_allocated() / 2**20


def run_ours(model: torch.nn.Module, src: Path, dst: Path, config: SlidingWindowConfig, device: str) -> None:
    vol = volume.read(src)
    model = prepare_for_inference(model, torch.device(device))
    with NpyBlockWriter(dst, vol.shape, voxel_size=vol.voxel_size) as sink:
        sliding_window(vol, lambda batch: model(input_layout(batch, model)), sink, config, device=device)


def run_monai(model: torch.nn.Module, src: Path, dst: Path, config: SlidingWindowConfig, device: str) -> None:
    from monai.inferers import sliding_window_inference

    data = torch.from_numpy(np.load(src))[None, None]
    model = model.to(device)
    predictor = lambda batch: model(input_layout(batch, model))  # noqa: E731 (a no-op unless channels-last)
    with torch.inference_mode():
        out = sliding_window_inference(data, config.window, config.batch_size, predictor, overlap=config.overlap,
                                       mode="gaussian", sigma_scale=0.125, padding_mode="replicate",
                                       sw_device=device, device="cpu")
    np.save(dst, out[0, 0].numpy())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256, 512])
    parser.add_argument("--window", type=int, default=64)
    parser.add_argument("--overlap", type=float, default=0.5)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--channels", type=int, nargs="+", default=[4, 8, 16])
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu",
                        help="where the network runs (both engines gather the output on the CPU)")
    parser.add_argument("--monai-channels-last", action="store_true",
                        help="give MONAI the channels-last model too (isolates the engine from the layout)")
    args = parser.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: torch sees no CUDA GPU on this machine")

    import monai.inferers  # noqa: F401  (imported here, so that no timing below pays for it)

    torch.manual_seed(0)
    model = build_model("unet", spatial_dims=3, channels=tuple(args.channels)).eval()
    monai_model = copy.deepcopy(model)  # ours switches its copy to channels-last
    if args.monai_channels_last:
        monai_model = monai_model.to(memory_format=torch.channels_last_3d)
    config = SlidingWindowConfig(window=(args.window,) * 3, overlap=args.overlap, weighting="gaussian",
                                 batch_size=args.batch_size)
    if args.device == "cuda":  # CUDA context and cuDNN handles: paid once, before either engine is timed
        with torch.inference_mode():
            warm = torch.zeros((args.batch_size, 1) + config.window, device="cuda")
            for net in (model, monai_model):
                net.to("cuda")(warm)
        torch.cuda.synchronize()
    print(f"network unet channels={tuple(args.channels)} window={args.window} overlap={args.overlap} "
          f"batch={args.batch_size} threads={torch.get_num_threads()} device={args.device}"
          + (f" ({torch.cuda.get_device_name()})" if args.device == "cuda" else ""))
    gpu_header = f" {'ours GPU MiB':>12} {'monai GPU MiB':>13}" if args.device == "cuda" else ""
    print(f"{'size':>6} {'ours vox/s':>12} {'monai vox/s':>12} {'speed':>7} {'ours MiB':>9} {'monai MiB':>10}"
          f"{gpu_header} {'max diff':>9}")
    speed = rss = gpu_mem = float("nan")
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            src = Path(tmp) / f"v{size}.npy"
            make_volume(size, src)
            with measure() as ours, gpu_peak(args.device) as ours_gpu:
                run_ours(model, src, Path(tmp) / "ours.npy", config, args.device)
            with measure() as theirs, gpu_peak(args.device) as theirs_gpu:
                run_monai(monai_model, src, Path(tmp) / "monai.npy", config, args.device)
            diff = float(np.abs(np.load(Path(tmp) / "ours.npy", mmap_mode="r")
                                - np.load(Path(tmp) / "monai.npy", mmap_mode="r")).max())
            voxels = size**3
            speed = theirs.seconds / ours.seconds
            rss = theirs.peak_rss_growth_mib / max(ours.peak_rss_growth_mib, 1e-3)
            gpu_mem = theirs_gpu.peak_mib / max(ours_gpu.peak_mib, 1e-3)
            gpu_columns = (f" {ours_gpu.peak_mib:>12.1f} {theirs_gpu.peak_mib:>13.1f}" if args.device == "cuda"
                           else "")
            print(f"{size:>5}^3 {voxels / ours.seconds:>12.3g} {voxels / theirs.seconds:>12.3g} {speed:>7.2f} "
                  f"{ours.peak_rss_growth_mib:>9.1f} {theirs.peak_rss_growth_mib:>10.1f}{gpu_columns} {diff:>9.2g}",
                  flush=True)
            for name in ("ours.npy", "ours.npy.json", "monai.npy", src.name):
                (Path(tmp) / name).unlink(missing_ok=True)
    print(f"ratio_vs_monai={speed:.2f} rss_ratio_monai_over_ours={rss:.1f}"
          + (f" gpu_mem_ratio_monai_over_ours={gpu_mem:.2f}" if args.device == "cuda" else ""))


if __name__ == "__main__":
    main()
