"""Every architecture: output shapes (2D, 2.5D, 3D, odd sizes, binary and multi-class),
deep-supervision heads, and checks of what makes each one what it is."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import ndimage

from porelab.models import (
    ModelInputError,
    boundary_band,
    build_model,
    count_parameters,
    model_names,
    model_spec,
)

SEGMENTERS = [n for n in model_names() if n != "patch_classifier"]
ODD_SIZE = {2: (21, 18), 3: (13, 10, 11)}


def _cases():
    for name in SEGMENTERS:
        for dims in model_spec(name).dims:
            yield name, dims


@pytest.mark.parametrize("name, dims", list(_cases()))
@pytest.mark.parametrize("classes", [1, 3])
def test_output_has_the_input_size_for_odd_sizes(tiny_overrides, name, dims, classes):
    torch.manual_seed(0)
    model = build_model(name, **tiny_overrides(name, dims, deep_supervision=False), out_channels=classes).eval()
    x = torch.randn(2, 1, *ODD_SIZE[dims])
    out = model(x)
    assert isinstance(out, torch.Tensor)
    assert out.shape == (2, classes, *ODD_SIZE[dims])
    assert torch.isfinite(out).all()
    probabilities = model.predict_proba(x)
    if classes > 1:
        assert torch.allclose(probabilities.sum(1), torch.ones(2, *ODD_SIZE[dims]), atol=1e-5)
    else:
        assert ((probabilities > 0) & (probabilities < 1)).all()


HEADS = {"unetpp": 2, "unet3plus": 2, "mss_unet": 2, "deep_defect": 2}  # depth 2 (tiny configs)


@pytest.mark.parametrize("name", sorted(HEADS))
@pytest.mark.parametrize("dims", [2, 3])
def test_deep_supervision_heads_in_training_main_head_in_eval(tiny_overrides, name, dims):
    torch.manual_seed(0)
    model = build_model(name, **tiny_overrides(name, dims, deep_supervision=True), out_channels=2)
    x = torch.randn(1, 1, *ODD_SIZE[dims])
    heads = model.train()(x)
    assert isinstance(heads, tuple) and len(heads) == HEADS[name]
    assert all(h.shape == (1, 2, *ODD_SIZE[dims]) for h in heads)
    main = model.eval()(x)
    assert isinstance(main, torch.Tensor) and main.shape == (1, 2, *ODD_SIZE[dims])


@pytest.mark.parametrize("channels, heads", [((4, 8), 1), ((4, 8, 16, 16), 3), ((2, 2, 2, 2, 2), 4)])
def test_unetpp_has_one_head_per_nested_column(channels, heads):
    """Heads on X0,1 .. X0,depth: X0,1..X0,4 with five levels."""
    model = build_model("unetpp", spatial_dims=2, channels=channels, deep_supervision=True)
    assert model.head_columns == tuple(range(len(channels) - 1, 0, -1))
    assert len(model.train()(torch.randn(1, 1, 32, 32))) == heads


def test_without_deep_supervision_the_training_output_is_one_tensor(tiny_overrides):
    model = build_model("unetpp", **tiny_overrides("unetpp", 2, deep_supervision=False)).train()
    assert isinstance(model(torch.randn(1, 1, 8, 8)), torch.Tensor)
    assert len(model.heads) == 1


def test_modular_unet_25d_takes_a_slice_stack_and_segments_the_centre(tiny_overrides):
    torch.manual_seed(0)
    model = build_model("modular_unet", **tiny_overrides("modular_unet", 2), context_slices=5, input_noise=0.2).eval()
    stack = torch.randn(2, 1, 5, 19, 14)
    out = model(stack)
    assert out.shape == (2, 1, 19, 14)
    assert torch.equal(out, model(stack.reshape(2, 5, 19, 14)))  # slices as channels
    assert torch.equal(out, model(stack))  # no noise in eval mode
    model.train()
    assert not torch.equal(model(stack), model(stack))  # Gaussian input noise in training
    with pytest.raises(ModelInputError, match="S = context_slices = 5"):
        model(torch.randn(2, 1, 3, 19, 14))


def test_slicewise_is_the_voxelwise_max_over_the_three_slice_directions(tiny_overrides):
    torch.manual_seed(0)
    model = build_model("slicewise", **tiny_overrides("slicewise")).eval()
    volume = torch.randn(1, 1, 6, 7, 5)
    net = model.slice_net
    with torch.no_grad():
        z = torch.stack([net(volume[:, :, i]) for i in range(6)], dim=2)
        y = torch.stack([net(volume[:, :, :, i]) for i in range(7)], dim=3)
        x = torch.stack([net(volume[..., i]) for i in range(5)], dim=4)
        expected = torch.maximum(torch.maximum(z, y), x)
        assert torch.allclose(model(volume), expected, atol=1e-5)


def test_boundary_band_is_the_morphological_gradient():
    mask = np.zeros((9, 9, 9), dtype=np.float32)
    mask[2:6, 3:7, 3:8] = 1
    band = boundary_band(torch.from_numpy(mask)[None, None])[0, 0].numpy()
    reference = ndimage.grey_dilation(mask, size=3, mode="nearest") - ndimage.grey_erosion(mask, size=3, mode="nearest")
    np.testing.assert_array_equal(band, reference)


def test_deep_defect_refines_only_on_the_boundary(tiny_overrides):
    torch.manual_seed(0)
    model = build_model("deep_defect", **tiny_overrides("deep_defect", 3)).train()
    constant = torch.full((1, 1, 8, 8, 8), 0.5)
    with torch.no_grad():
        model.coarse.head.conv.bias.fill_(0.0)
        refined, coarse = model(constant)
        # far from the boundary band (uniform stage-1 map inside) nothing changes
        band = boundary_band(torch.sigmoid(coarse))
        inside = band == 0
        assert torch.equal(refined[inside], coarse[inside])
        assert not torch.equal(refined[~inside], coarse[~inside])


def test_dilated_detector_receptive_field_is_one_plus_twice_the_dilations():
    torch.manual_seed(0)
    model = build_model(
        "dilated_defect", spatial_dims=2, channels=(4,), dilations=(1, 2, 3), norm="none", activation="leaky_relu"
    ).eval()
    x = torch.randn(1, 1, 31, 31, requires_grad=True)
    model(x)[0, 0, 15, 15].backward()
    rows, cols = torch.nonzero(x.grad[0, 0], as_tuple=True)
    extent = 1 + 2 * (1 + 2 + 3)
    assert (int(rows.max() - rows.min()) + 1, int(cols.max() - cols.min()) + 1) == (extent, extent)


def test_patch_classifier_matches_lindgren_and_zach_size():
    model = build_model("patch_classifier")
    widths = (1, 24, 24, 30, 30, 34, 34, 40, 40)
    convs = sum(9 * a * b + b for a, b in zip(widths[:-1], widths[1:]))
    dense = (40 * 8 * 8 * 60 + 60) + (60 * 50 + 50) + (50 * 1 + 1)
    assert count_parameters(model) == convs + dense
    assert abs(count_parameters(model) - 220_000) / 220_000 < 0.02  # "about 220k"
    model.eval()
    assert model(torch.randn(3, 1, 128, 128)).shape == (3, 1)
    assert model(torch.randn(2, 1, 45, 70)).shape == (2, 1)  # any patch size
    four_classes = build_model("patch_classifier", out_channels=4)
    assert four_classes(torch.randn(2, 1, 32, 32)).shape == (2, 4)


@pytest.mark.parametrize("name", ["unet", "patch_classifier"])
def test_wrong_input_axes_or_channels_raise_model_input_error(tiny_overrides, name):
    model = build_model(name, **tiny_overrides(name, 2, deep_supervision=False))
    with pytest.raises(ModelInputError, match="shape \\(1, 1, 8, 8, 8\\)"):
        model(torch.randn(1, 1, 8, 8, 8))
    with pytest.raises(ModelInputError, match="channel"):
        model(torch.randn(1, 2, 8, 8))
