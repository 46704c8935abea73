"""Tasks of the anomaly models: loss terms against torch.distributions, the context branch,
pores scoring above sound material after training, and the vqVAE codebook staying in sync
across two data-parallel workers."""

from __future__ import annotations

import os
import socket

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp
from torch import distributed as dist
from torch.distributions import Normal, kl_divergence

from porelab.errors import ConfigError
from porelab.models import VectorQuantizerEMA, build_model
from porelab.train import LoopConfig, build_task, run_training, task_for_model
from porelab.tasks.anomaly import gaussian_kl, reconstruction_error

SIZE = 16
TINY = {"channels": (4, 8), "patch_size": SIZE, "latent_dim": 16}
MODELS = {
    "vae": TINY,
    "cevae": TINY,
    "gmvae": {**TINY, "mixture_components": 3},
    # two levels keep the signal without normalisation; the registry's instance norm is for
    # its deeper default (tests/models: a three-level vqVAE without it does not learn), and
    # on these 16^3 toy patches it needs many more than the 60 steps this test takes
    "vqvae": {"channels": (4, 8), "codebook_size": 32, "codebook_dim": 8, "norm": "none"},
}


@pytest.fixture(autouse=True)
def _one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def _sound_patch(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(patch, metal mask): metal (1.0) with a random flat surface to air (0.0) 6-14 voxels
    from the centre, a blurred edge and noise 0.03."""
    grid = np.stack(np.mgrid[:SIZE, :SIZE, :SIZE], axis=0).astype(np.float32) - SIZE / 2
    normal = rng.normal(size=3)
    normal /= np.linalg.norm(normal)
    distance = np.tensordot(normal, grid, axes=1) + rng.uniform(6, 14)
    metal = 1.0 / (1.0 + np.exp(-2.0 * distance))
    return (metal + rng.normal(0, 0.03, metal.shape)).astype(np.float32), metal > 0.5


def _with_pores(patch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    grid = np.stack(np.mgrid[:SIZE, :SIZE, :SIZE], axis=0)
    pores = np.zeros(patch.shape, dtype=bool)
    for centre in ((8, 8, 8), (5, 11, 10)):
        pores |= ((grid - np.reshape(centre, (3, 1, 1, 1))) ** 2).sum(0) <= 2.5**2
    return np.where(pores, 0.25, patch).astype(np.float32), pores


def _batches(rng: np.random.Generator, count: int, size: int = 8):
    for _ in range(count):
        image = torch.from_numpy(np.stack([_sound_patch(rng)[0] for _ in range(size)])[:, None])
        yield {"image": image, "label": torch.zeros_like(image)}


def test_each_anomaly_model_trains_with_its_own_task():
    assert [task_for_model(name) for name in MODELS] == list(MODELS)
    with pytest.raises(ConfigError, match="context_weight must be in \\[0, 1\\]"):
        build_task("cevae", context_weight=2.0)


def test_kl_term_matches_torch_distributions():
    mean, log_var = torch.randn(3, 5), torch.randn(3, 5)
    reference = kl_divergence(Normal(mean, (0.5 * log_var).exp()), Normal(0.0, 1.0)).sum(1)
    torch.testing.assert_close(gaussian_kl(mean, log_var), reference)


def test_context_branch_leaves_the_batch_alone_and_adds_its_term():
    torch.manual_seed(0)
    model = build_model("cevae", **TINY).train()
    image = torch.rand(2, 1, SIZE, SIZE, SIZE)
    batch = {"image": image.clone(), "label": torch.zeros_like(image)}
    torch.manual_seed(1)
    value, logs = build_task("cevae", context_weight=0.5).loss(model, batch)
    assert torch.equal(batch["image"], image)
    torch.manual_seed(1)
    vae_only, _ = build_task("cevae", context_weight=0.0).loss(model, batch)
    expected = 0.5 * vae_only + 0.5 * logs["context"]
    torch.testing.assert_close(value, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_score_is_higher_inside_pores_than_in_sound_material(name):
    """Trained on sound patches only; a held-out patch gets two inserted pores, whose mean
    score must exceed three times that of the sound metal."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    model = build_model(name, **MODELS[name])
    task = build_task(name)
    train = list(_batches(rng, 30))
    config = LoopConfig(max_epochs=2, lr=3e-3, patience=2)
    run_training(model, task, lambda _e: train, lambda _e: train[:1], config)
    sound, metal = _sound_patch(np.random.default_rng(123))
    image, pores = _with_pores(sound)
    batch = {"image": torch.from_numpy(image[None, None])}
    model.eval()
    with torch.no_grad():
        score = task.score(model, batch)[0, 0].numpy()
    np.testing.assert_allclose(
        score, reconstruction_error(batch["image"], model(batch["image"]).reconstruction)[0, 0].detach().numpy()
    )
    inside, outside = score[pores].mean(), score[metal & ~pores].mean()
    assert inside > 3 * outside, f"{name}: pore score {inside:.3f} vs sound {outside:.3f}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ema_only() -> VectorQuantizerEMA:
    """A quantiser whose updates are the EMA alone (no first-batch start, no restarts)."""
    return VectorQuantizerEMA(8, 3, decay=0.8, restart_after=0, initialised=True).train()


def _worker(rank: int, world: int, port: int, data: torch.Tensor, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        torch.manual_seed(rank)  # each rank draws other random codes: only the broadcast aligns them
        ema, full = _ema_only(), VectorQuantizerEMA(8, 3, decay=0.8, restart_after=1).train()
        for step in range(3):
            ema(data[step, rank])
            full(data[step, rank])
        torch.save({"ema": ema.codebook.clone(), "full": full.codebook.clone()}, f"{out}/codebook_{rank}.pt")
    finally:
        dist.destroy_process_group()


def test_vq_codebook_stays_in_sync_across_two_workers(tmp_path):
    """Two gloo workers see different latents; each EMA codebook must equal the other and the
    single-process update on both workers' latents together; with the first-batch start and
    the restarts of unused codes, which draw random latents, the codebooks must still agree."""
    torch.manual_seed(0)
    data = torch.randn(3, 2, 2, 3, 4, 4)  # step, rank, batch, channels, y, x
    data[:, 1] += 1.5  # rank 1's latents sit elsewhere: unsynchronised codebooks would differ
    mp.spawn(_worker, args=(2, _free_port(), data, str(tmp_path)), nprocs=2, join=True)
    saved = [torch.load(tmp_path / f"codebook_{r}.pt", weights_only=True) for r in range(2)]
    torch.testing.assert_close(saved[0]["ema"], saved[1]["ema"], rtol=0, atol=0)
    torch.testing.assert_close(saved[0]["full"], saved[1]["full"], rtol=0, atol=0)
    single = _ema_only()
    for step in range(3):
        single(torch.cat([data[step, 0], data[step, 1]]))
    torch.testing.assert_close(saved[0]["ema"], single.codebook, rtol=1e-5, atol=1e-6)
    alone = _ema_only()
    for step in range(3):
        alone(data[step, 0])
    assert not torch.allclose(alone.codebook, saved[0]["ema"])
