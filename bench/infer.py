"""Inference: porelab's default pass versus MONAI's `sliding_window_inference`, at equal layout.

Same process, same volume (smooth grey values with dark spheres, the truth), same network
(default: the bundled detector porelab-am; `--channels` for a random U-Net of those widths),
both given the channels-last layout. MONAI runs half-overlapping windows of the training
patch with Gaussian blending; ours runs what `porelab predict --engine tiles` runs (each voxel
once, a context margin; `--engine windows` for predict's default half-overlapping windows). Both run file to file: ours streams from a
memory-mapped .npy to an on-disk .npy; MONAI needs the volume as a tensor in memory and
returns the full result, which is then saved. Per size: voxels/s, peak RSS growth, AP of
each map against the spheres, the largest difference between the maps, and
`efficiency_vs_one_pass` (one forward pass over the whole volume, timed where it fits in
memory, else at the rate of the largest size where it did, over ours). The last line has
the ratios at the largest size and our peak RSS growth at every size.

    .venv/bin/python bench/infer.py                        # 128^3, 256^3, 512^3
    .venv/bin/python bench/infer.py --sizes 96 128         # quicker
    .venv/bin/python bench/infer.py --engine windows       # our sliding windows (predict's default)
    .venv/bin/python bench/infer.py --monai-default-layout # MONAI without channels-last
    .venv/bin/python bench/infer.py --device cuda          # network on the GPU, output gathered on the CPU

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

from sklearn.metrics import average_precision_score  # noqa: E402

from porelab import volume  # noqa: E402
from porelab.data.normalise import fit_normaliser  # noqa: E402
from porelab.infer.engine import InferencePlan, describe, plan_inference, run_inference  # noqa: E402
from porelab.infer.output import NpyBlockWriter  # noqa: E402
from porelab.infer.predict import load_score_model, resolve_checkpoint  # noqa: E402
from porelab.infer.runtime import input_layout, prepare_for_inference  # noqa: E402
from porelab.models import build_model  # noqa: E402

_PORE_GREY, _SLAB = 0.3, 32


def make_volume(size: int, path: Path, seed: int = 0) -> np.ndarray:
    """Smooth grey values with dark spheres (radius 1.5-5 voxels, about 1 % of the volume),
    normalised as `predict` would and written as float32 .npy slab by slab; returns the
    spheres' mask as a packed bit array (the truth for AP)."""
    rng = np.random.default_rng(seed)
    count = max(1, int(0.01 * size**3 / (4 / 3 * np.pi * 3.0**3)))
    centres, radii = rng.uniform(0, size, (count, 3)), rng.uniform(1.5, 5.0, count)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(size,) * 3)
    truth = np.zeros((size,) * 3, bool)
    for z0 in range(0, size, _SLAB):
        z1 = min(z0 + _SLAB, size)
        slab = ndimage.gaussian_filter(rng.normal(0.6, 0.05, (z1 - z0, size, size)), 1.0).astype(np.float32)
        zz, yy, xx = np.ogrid[z0:z1, :size, :size]
        for (cz, cy, cx), r in zip(centres, radii):
            if cz + r < z0 or cz - r >= z1:
                continue
            inside = (zz - cz) ** 2 + (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
            slab[inside] = _PORE_GREY
            truth[z0:z1] |= inside
        out[z0:z1] = slab
    normaliser = fit_normaliser(out)
    for z0 in range(0, size, _SLAB):
        out[z0 : z0 + _SLAB] = normaliser(out[z0 : z0 + _SLAB])
    out.flush()
    del out
    return truth


def load_network(args: argparse.Namespace) -> tuple[torch.nn.Module, tuple[int, int, int], str]:
    """The network, its training window and a name: a checkpoint or bundled model, or a random U-Net."""
    if args.channels:
        torch.manual_seed(0)
        model = build_model("unet", spatial_dims=3, channels=tuple(args.channels)).eval()
        return model, (args.window,) * 3, f"random unet channels={tuple(args.channels)}"
    model, payload = load_score_model(resolve_checkpoint(args.model))
    window = tuple(int(w) for w in payload["train_config"]["patches"]["patch"])
    channels = tuple(payload["model_config"]["channels"])
    return model.eval(), window, f"{args.model} ({payload['model_config']['name']} channels={channels})"  # type: ignore[return-value]


def average_precision(truth: np.ndarray, path: Path) -> float:
    return float(average_precision_score(truth.ravel(), np.load(path, mmap_mode="r").ravel()))


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


def run_ours(model: torch.nn.Module, src: Path, dst: Path, plan: InferencePlan, device: str) -> None:
    vol = volume.read(src)
    model = prepare_for_inference(model, torch.device(device))
    with NpyBlockWriter(dst, vol.shape, voxel_size=vol.voxel_size) as sink:
        run_inference(vol, lambda batch: model(input_layout(batch, model)), sink, plan, device=device)


def run_monai(
    model: torch.nn.Module, src: Path, dst: Path, window: tuple[int, int, int], args: argparse.Namespace, device: str
) -> None:
    from monai.inferers import sliding_window_inference

    data = torch.from_numpy(np.load(src))[None, None]
    model = model.to(device)
    predictor = lambda batch: model(input_layout(batch, model))  # noqa: E731 (a no-op unless channels-last)
    with torch.inference_mode():
        out = sliding_window_inference(
            data,
            window,
            args.batch_size,
            predictor,
            overlap=args.overlap,
            mode="gaussian",
            sigma_scale=0.125,
            padding_mode="replicate",
            sw_device=device,
            device="cpu",
        )
    np.save(dst, out[0, 0].numpy())


def one_pass_seconds(model: torch.nn.Module, src: Path, device: str) -> float:
    """One forward pass over the whole volume (the compute limit of a fully convolutional network)."""
    model = prepare_for_inference(model, torch.device(device))
    data = torch.from_numpy(np.load(src))[None, None].to(device)
    with measure() as timed, torch.inference_mode():
        model(input_layout(data, model))
        if device == "cuda":
            torch.cuda.synchronize()
    return timed.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256, 512])
    parser.add_argument("--model", default="porelab-am", help="checkpoint, registry folder or bundled name")
    parser.add_argument(
        "--channels",
        type=int,
        nargs="+",
        help="a random U-Net of these widths instead (demo: 8 16 32; paper: 16 32 64 128)",
    )
    parser.add_argument("--window", type=int, default=64, help="MONAI's window for --channels (else the patch)")
    parser.add_argument("--overlap", type=float, default=0.5)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--engine", choices=["tiles", "windows", "auto"], default="tiles", help="ours (default tiles)")
    parser.add_argument("--margin", type=int, default=16, help="ours, tiles: context voxels per side")
    parser.add_argument("--max-memory", type=float, default=2.0, help="ours: budget in GiB (predict's default 2)")
    parser.add_argument(
        "--one-pass-max",
        type=int,
        default=256,
        help="largest size at which the one-pass reference is run (above: its rate there)",
    )
    parser.add_argument(
        "--device",
        choices=["cpu", "cuda"],
        default="cpu",
        help="where the network runs (both engines gather the output on the CPU)",
    )
    parser.add_argument(
        "--monai-default-layout",
        action="store_true",
        help="leave MONAI's model in the default layout (ours still uses channels-last)",
    )
    args = parser.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: torch sees no CUDA GPU on this machine")

    import monai.inferers  # noqa: F401  (imported here, so that no timing below pays for it)

    model, window, name = load_network(args)
    monai_model = copy.deepcopy(model)  # ours switches its copy to channels-last
    if not args.monai_default_layout and args.device == "cpu":
        monai_model = monai_model.to(memory_format=torch.channels_last_3d)
    if args.device == "cuda":  # CUDA context and cuDNN handles: paid once, before either engine is timed
        with torch.inference_mode():
            warm = torch.zeros((args.batch_size, 1) + window, device="cuda")
            for net in (model, monai_model):
                net.to("cuda")(warm)
        torch.cuda.synchronize()
    print(
        f"network {name} monai window={window} overlap={args.overlap} batch={args.batch_size} "
        f"monai layout={'default' if args.monai_default_layout else 'channels-last'} "
        f"threads={torch.get_num_threads()} device={args.device}"
        + (f" ({torch.cuda.get_device_name()})" if args.device == "cuda" else "")
    )
    gpu_header = f" {'ours GPU MiB':>12} {'monai GPU MiB':>13}" if args.device == "cuda" else ""
    print(
        f"{'size':>6} {'ours vox/s':>11} {'monai vox/s':>11} {'speed':>6} {'1-pass eff':>10} {'ours MiB':>9} "
        f"{'monai MiB':>9}{gpu_header} {'AP ours':>8} {'AP monai':>8} {'max diff':>9}  ours"
    )
    speed = rss = gpu_mem = efficiency = float("nan")
    one_pass_rate = float("nan")
    ours_rss: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            src = Path(tmp) / f"v{size}.npy"
            truth = make_volume(size, src)
            plan = plan_inference(
                model,
                (size,) * 3,
                window,
                int(args.max_memory * 2**30),
                engine=args.engine,
                margin=args.margin,
                overlap=args.overlap,
                batch_size=args.batch_size,
            )
            with measure() as ours, gpu_peak(args.device) as ours_gpu:
                run_ours(model, src, Path(tmp) / "ours.npy", plan, args.device)
            with measure() as theirs, gpu_peak(args.device) as theirs_gpu:
                run_monai(monai_model, src, Path(tmp) / "monai.npy", window, args, args.device)
            if size <= args.one_pass_max:
                one_pass_rate = size**3 / one_pass_seconds(model, src, args.device)
            diff = float(
                np.abs(
                    np.load(Path(tmp) / "ours.npy", mmap_mode="r") - np.load(Path(tmp) / "monai.npy", mmap_mode="r")
                ).max()
            )
            ap_ours, ap_monai = (average_precision(truth, Path(tmp) / f) for f in ("ours.npy", "monai.npy"))
            voxels = size**3
            speed = theirs.seconds / ours.seconds
            efficiency = (voxels / ours.seconds) / one_pass_rate
            rss = theirs.peak_rss_growth_mib / max(ours.peak_rss_growth_mib, 1e-3)
            gpu_mem = theirs_gpu.peak_mib / max(ours_gpu.peak_mib, 1e-3)
            ours_rss.append(f"{ours.peak_rss_growth_mib:.0f}")
            gpu_columns = f" {ours_gpu.peak_mib:>12.1f} {theirs_gpu.peak_mib:>13.1f}" if args.device == "cuda" else ""
            print(
                f"{size:>5}^3 {voxels / ours.seconds:>11.3g} {voxels / theirs.seconds:>11.3g} {speed:>6.2f} "
                f"{efficiency:>10.2f} {ours.peak_rss_growth_mib:>9.1f} {theirs.peak_rss_growth_mib:>9.1f}"
                f"{gpu_columns} {ap_ours:>8.4f} {ap_monai:>8.4f} {diff:>9.2g}  {describe(plan)}",
                flush=True,
            )
            for path in Path(tmp).iterdir():
                path.unlink()
    print(
        f"ratio_vs_monai={speed:.2f} efficiency_vs_one_pass={efficiency:.2f} rss_ratio_monai_over_ours={rss:.1f} "
        f"ours_peak_rss_mib={'/'.join(ours_rss)}"
        + (f" gpu_mem_ratio_monai_over_ours={gpu_mem:.2f}" if args.device == "cuda" else "")
    )


if __name__ == "__main__":
    main()
