"""Training patches: porelab's Ray Data stream versus a TorchIO `Queue`, and the data-wait share.

Same scans (the simulated am-cylinders demo dataset, built if absent), same patch size,
label-balanced sampling (1:1 pore/sound centres) and the same augmentation set (flips,
intensity scaling, blur, Gaussian noise). Prints patches/s of each, then trains a demo UNet
from the Ray stream and reports the share of each step spent waiting for data. Last line:
`ratio_vs_torchio=... data_wait_share=...`.

    .venv/bin/python bench/patches.py --patches 512
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from porelab.data import (
    AugmentConfig,
    PatchConfig,
    SamplerConfig,
    StreamConfig,
    load_scans,
    ray_patch_dataset,
    scan_pores,
)
from porelab.runtime import ensure_ray

AUGMENT = AugmentConfig(flip=0.5, rotate90=0.0, elastic=0.0, intensity=0.3, blur=0.2, gaussian_noise=0.2)


def dataset(path: Path) -> Path:
    if not (path / "manifest.json").exists():
        from porelab.simulate.datasets import build_dataset

        build_dataset(path, "am-cylinders", "demo", report=print)
    return path


def ray_stream(scans, pores, patch: int, count: int, batch: int, readers: int) -> float:
    config = PatchConfig(patch=(patch,) * 3, sampler=SamplerConfig("balanced", 0.5), augment=AUGMENT)
    stream = StreamConfig(rows_per_task=64, readers=readers, reader_cpus=0.5)
    ds = ray_patch_dataset(scans, pores, config, count + batch, stream, train=True)
    batches = iter(ds.iter_torch_batches(batch_size=batch))
    next(batches)  # steady state: the actor pool's start-up is not throughput
    start, seen = time.perf_counter(), 0
    for batch_data in batches:
        seen += batch_data["image"].shape[0]
    return seen / (time.perf_counter() - start)


def torchio_queue(scans, patch: int, count: int, batch: int, workers: int) -> float:
    import torchio as tio

    from porelab import volume

    subjects = []
    for s in scans:
        image = s.normaliser(volume.read(s.scan_path).to_numpy())[None]
        label = (volume.read(s.label_path).to_numpy() > 0).astype(np.uint8)[None]
        subjects.append(
            tio.Subject(
                image=tio.ScalarImage(tensor=torch.from_numpy(image)),
                label=tio.LabelMap(tensor=torch.from_numpy(label)),
            )
        )
    transform = tio.Compose(
        [
            tio.RandomFlip(axes=(0, 1, 2), flip_probability=0.5),
            tio.RandomGamma(p=0.0),
            tio.RescaleIntensity(out_min_max=(0, 1), p=0.0),
            tio.RandomBlur(std=(0.3, 1.0), p=0.2),
            tio.RandomNoise(std=0.03, p=0.2),
        ]
    )
    sampler = tio.LabelSampler(patch_size=patch, label_name="label", label_probabilities={0: 0.5, 1: 0.5})
    queue = tio.Queue(
        tio.SubjectsDataset(subjects, transform=transform),
        max_length=4 * batch,
        samples_per_volume=8,
        sampler=sampler,
        num_workers=workers,
        shuffle_subjects=True,
    )
    loader = torch.utils.data.DataLoader(queue, batch_size=batch, num_workers=0)
    next(iter(loader))  # steady state, as for the Ray stream
    start, seen = time.perf_counter(), 0
    while seen < count:
        for batch_data in loader:
            seen += batch_data["image"][tio.DATA].shape[0]
            if seen >= count:
                break
    return seen / (time.perf_counter() - start)


def data_wait_share(scans, pores, patch: int, count: int, batch: int, readers: int) -> tuple[float, float]:
    from porelab.losses import build_loss
    from porelab.models import build_model

    config = PatchConfig(patch=(patch,) * 3, sampler=SamplerConfig("balanced", 0.5), augment=AUGMENT)
    ds = ray_patch_dataset(
        scans, pores, config, count, StreamConfig(rows_per_task=64, readers=readers, reader_cpus=0.5), train=True
    )
    model, loss_fn = build_model("unet", channels=(8, 16, 32)), build_loss("focal_tversky")
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    iterator = iter(ds.iter_torch_batches(batch_size=batch, prefetch_batches=2))
    next(iterator)  # start-up (actor pool launch) is not a per-step cost
    waiting = computing = 0.0
    while True:
        t0 = time.perf_counter()
        item = next(iterator, None)
        t1 = time.perf_counter()
        if item is None:
            break
        optimiser.zero_grad()
        loss_fn(model(item["image"]), item["label"]).backward()
        optimiser.step()
        waiting, computing = waiting + (t1 - t0), computing + (time.perf_counter() - t1)
    return waiting / (waiting + computing), count / (waiting + computing)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data/am"))
    parser.add_argument("--patch", type=int, default=32)
    parser.add_argument("--patches", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--workers", type=int, default=1, help="Ray reader actors and TorchIO queue workers")
    args = parser.parse_args()

    ensure_ray(num_cpus=2)
    scans = [s for s in load_scans(dataset(args.data)) if s.role == "good"]
    pores = scan_pores(scans)
    ours = ray_stream(scans, pores, args.patch, args.patches, args.batch_size, args.workers)
    theirs = torchio_queue(scans, args.patch, args.patches, args.batch_size, args.workers)
    share, train_rate = data_wait_share(scans, pores, args.patch, args.patches, args.batch_size, args.workers)
    print(f"patch {args.patch}^3, {args.patches} patches, batch {args.batch_size}, {args.workers} reader(s)")
    print(f"ray data stream   {ours:8.1f} patches/s")
    print(f"torchio queue     {theirs:8.1f} patches/s")
    print(f"training (unet 8/16/32) {train_rate:.1f} patches/s, {100 * share:.1f} % of step time waiting for data")
    print(f"ratio_vs_torchio={ours / theirs:.2f} data_wait_share={share:.3f}")


if __name__ == "__main__":
    main()
