"""The anomaly models (VAE, ceVAE, gmVAE, vqVAE) and the OOD autoencoder: registry entries,
shapes, input checks, and their latent pieces against independent references."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats
from scipy.special import logsumexp

from porelab.errors import ConfigError
from porelab.models import (
    ModelInputError,
    VectorQuantizerEMA,
    build_model,
    mask_boxes,
    model_names,
    model_spec,
    random_boxes,
)

TINY = {
    "vae": {"channels": (4, 8), "patch_size": 16, "latent_dim": 8},
    "cevae": {"channels": (4, 8), "patch_size": 16, "latent_dim": 8},
    "gmvae": {"channels": (4, 8), "patch_size": 16, "latent_dim": 8, "mixture_components": 3},
    "vqvae": {"channels": (4, 8), "codebook_size": 16, "codebook_dim": 4},
    "ood_autoencoder": {"channels": (4, 8), "latent_dim": 4},
}


def test_families_keep_the_supervised_listing_and_add_the_new_models():
    assert model_names("anomaly") == ("vae", "cevae", "gmvae", "vqvae")
    assert model_names("ood") == ("ood_autoencoder",)
    assert "vae" not in model_names() and "unet" in model_names()
    assert set(model_names(None)) == set(model_names()) | set(model_names("anomaly")) | {"ood_autoencoder"}
    with pytest.raises(ConfigError, match="family must be one of"):
        model_names("generative")


@pytest.mark.parametrize("name", sorted(TINY))
@pytest.mark.parametrize("dims", [2, 3])
def test_reconstruction_has_the_input_shape_and_eval_is_deterministic(name, dims):
    torch.manual_seed(0)
    model = build_model(name, spatial_dims=dims, **TINY[name]).eval()
    x = torch.randn(2, 1, *[16] * dims)
    first, second = model(x), model(x)
    assert first.reconstruction.shape == x.shape
    assert torch.equal(first.reconstruction, second.reconstruction)
    assert model_spec(name).family in ("anomaly", "ood")


@pytest.mark.parametrize("name", ["vqvae", "ood_autoencoder"])
def test_fully_convolutional_models_take_odd_sizes(name):
    model = build_model(name, spatial_dims=3, **TINY[name]).eval()
    x = torch.randn(1, 1, 13, 10, 11)
    assert model(x).reconstruction.shape == x.shape


def test_vae_training_mode_samples_around_the_mean():
    torch.manual_seed(0)
    model = build_model("vae", **TINY["vae"]).train()
    out = model(torch.randn(2, 1, 16, 16, 16))
    assert not torch.equal(out.latent, out.mean)
    assert out.mean.shape == out.log_var.shape == (2, 8)


def test_dense_latent_models_check_their_patch_size():
    model = build_model("vae", **TINY["vae"])
    with pytest.raises(ModelInputError, match="patch_size=16"):
        model(torch.randn(1, 1, 8, 8, 8))
    with pytest.raises(ConfigError, match="patch_size must be a multiple of 2\\^levels = 4"):
        build_model("vae", channels=(4, 8), patch_size=18)
    with pytest.raises(ConfigError, match="'unet' does not use the field 'latent_dim'"):
        build_model("unet", latent_dim=8)
    with pytest.raises(ConfigError, match="codebook_decay must be in \\(0, 1\\)"):
        build_model("vqvae", codebook_decay=1.0)


def test_gmvae_prior_matches_scipy_mixture_density():
    torch.manual_seed(0)
    model = build_model("gmvae", **TINY["gmvae"])
    with torch.no_grad():
        model.prior_log_vars.normal_(0, 0.3)
        model.prior_logits.normal_()
    z = torch.randn(5, 8, dtype=torch.float32)
    ours = model.prior_log_prob(z).detach().numpy()
    weights = torch.softmax(model.prior_logits, 0).detach().numpy()
    means, variances = model.prior_means.detach().numpy(), model.prior_log_vars.exp().detach().numpy()
    per_component = np.stack(
        [stats.multivariate_normal(means[k], np.diag(variances[k])).logpdf(z.numpy()) for k in range(3)], axis=1
    )
    reference = logsumexp(per_component + np.log(weights), axis=1)
    np.testing.assert_allclose(ours, reference, rtol=1e-4, atol=1e-4)


def test_quantiser_picks_the_nearest_code_and_updates_by_ema():
    torch.manual_seed(0)
    quantiser = VectorQuantizerEMA(6, 3, decay=0.9, restart_after=0, initialised=True).train()
    codebook = quantiser.codebook.clone().numpy()
    z = torch.randn(2, 3, 4, 4)
    _, _, codes = quantiser(z)
    flat = z.movedim(1, -1).reshape(-1, 3).numpy()
    nearest = np.argmin(((flat[:, None] - codebook[None]) ** 2).sum(-1), axis=1)
    np.testing.assert_array_equal(codes.reshape(-1).numpy(), nearest)
    counts = np.bincount(nearest, minlength=6).astype(np.float64)
    sums = np.stack([flat[nearest == k].sum(0) if (nearest == k).any() else np.zeros(3) for k in range(6)])
    size = 0.9 * 1.0 + 0.1 * counts
    code_sum = 0.9 * codebook + 0.1 * sums
    smoothed = (size + 1e-5) / (size.sum() + 6e-5) * size.sum()
    np.testing.assert_allclose(quantiser.codebook.numpy(), code_sum / smoothed[:, None], rtol=1e-4, atol=1e-5)


def test_quantiser_starts_from_encoder_outputs():
    torch.manual_seed(0)
    quantiser = VectorQuantizerEMA(5, 3, decay=0.5, restart_after=0).train()
    z = 10.0 + torch.randn(2, 3, 4, 4)  # far from the unit-Gaussian starting codes
    quantiser(z)
    flat = z.movedim(1, -1).reshape(-1, 3)
    # after the first step every code is an EMA of encoder outputs: inside their bounding box
    codebook = quantiser.codebook
    assert bool(quantiser.initialised)
    assert torch.all(codebook >= flat.min(0).values - 1e-5) and torch.all(codebook <= flat.max(0).values + 1e-5)


def test_unused_codes_move_onto_encoder_outputs():
    quantiser = VectorQuantizerEMA(4, 2, decay=0.99, restart_after=3, initialised=True).train()
    with torch.no_grad():
        quantiser.codebook.copy_(torch.tensor([[0.0, 0.0], [100.0, 100.0], [-100.0, 100.0], [100.0, -100.0]]))
        quantiser.code_sum.copy_(quantiser.codebook)
    z = torch.randn(1, 2, 4, 4, generator=torch.Generator().manual_seed(1)) * 0.1  # only code 0 is near
    for _ in range(2):
        quantiser(z)
    assert torch.all(quantiser.codebook[1:].abs() >= 99)  # unused for 2 steps: kept
    quantiser(z)
    flat = z.movedim(1, -1).reshape(-1, 2)
    distance = torch.cdist(quantiser.codebook[1:], flat).min(dim=1).values
    assert torch.all(distance < 1e-6)  # unused for 3 steps: each now sits on an encoder output
    assert torch.equal(quantiser.steps_unused[1:], torch.zeros(3, dtype=torch.long))


def test_quantiser_loads_a_state_dict_without_restart_buffers():
    trained = VectorQuantizerEMA(4, 2)
    state = {k: v for k, v in trained.state_dict().items() if k not in ("initialised", "steps_unused")}
    fresh = VectorQuantizerEMA(4, 2)
    fresh.load_state_dict(state)
    assert bool(fresh.initialised)  # an old checkpoint's codebook is trained: not replaced in fine-tuning


def test_quantiser_gradient_passes_straight_through():
    quantiser = VectorQuantizerEMA(4, 2).eval()
    z = torch.randn(1, 2, 3, 3, requires_grad=True)
    quantised, _, _ = quantiser(z)
    quantised.sum().backward()
    assert torch.equal(z.grad, torch.ones_like(z))


def test_random_boxes_respect_count_and_size_and_masking_is_out_of_place():
    generator = torch.Generator().manual_seed(0)
    mask = random_boxes((4, 1, 16, 16, 16), generator, count=(1, 1), size=(4, 6))
    for sample in mask[:, 0]:
        zz, yy, xx = torch.nonzero(sample, as_tuple=True)
        extents = [int(a.max() - a.min() + 1) for a in (zz, yy, xx)]
        assert all(4 <= e <= 6 for e in extents)
        assert int(sample.sum()) == extents[0] * extents[1] * extents[2]
    x = torch.ones(4, 1, 16, 16, 16)
    masked = mask_boxes(x, mask)
    assert torch.equal(x, torch.ones_like(x))
    assert torch.equal(masked == 0, mask)
    with pytest.raises(ConfigError, match="random_boxes"):
        random_boxes((1, 1, 8, 8), generator, count=(3, 1))


@pytest.mark.parametrize("norm, learns", [("instance", True), ("none", False)])
def test_vqvae_with_its_default_depth_learns_only_with_normalisation(sphere_patch, norm, learns):
    """The demo's three-level vqVAE: without normalisation the encoder's output is one constant
    vector and the reconstruction stays near the input's mean (MSE about its variance).
    Measured after 90 steps: 0.33 x variance with instance norm, 0.97 x without."""
    from porelab.tasks.anomaly import VQVAETask

    torch.manual_seed(0)
    image = torch.cat([sphere_patch(size=16, dims=3, radius=r, seed=s)[0] for r, s in ((4.0, 0), (3.0, 1))])
    model = build_model("vqvae", channels=(8, 16, 32), norm=norm, codebook_size=64).train()
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    task = VQVAETask()
    for _ in range(90):
        optimiser.zero_grad()
        loss, parts = task.loss(model, {"image": image})
        loss.backward()
        optimiser.step()
    variance = float(image.var())
    assert (parts["reconstruction"] < 0.5 * variance) is learns, (parts, variance)
