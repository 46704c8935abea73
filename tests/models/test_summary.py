"""Parameter and FLOP counts, and the `porelab models` command."""

from __future__ import annotations

import json

from torch import nn

from porelab.cli import main
from porelab.models import (
    build_model,
    count_gflops,
    count_parameters,
    format_summary_table,
    model_names,
    summarize,
    summarize_all,
)


def test_gflops_of_one_convolution_is_two_flops_per_multiply_add():
    conv = nn.Conv3d(2, 3, kernel_size=3, padding=1)
    expected = 2 * (2 * 3 * 27) * 10 * 12 * 8 / 1e9
    assert abs(count_gflops(conv, (1, 2, 10, 12, 8)) - expected) < 1e-12
    linear = nn.Linear(40, 7)
    assert abs(count_gflops(linear, (5, 40)) - 2 * 5 * 40 * 7 / 1e9) < 1e-12


def test_count_parameters_skips_frozen_ones():
    layer = nn.Linear(4, 3)
    layer.bias.requires_grad_(False)
    assert count_parameters(layer) == 12


def test_summary_on_meta_device_matches_a_real_model():
    row = summarize("unetpp", channels=(4, 8, 16), deep_supervision=True)
    real = build_model("unetpp", channels=(4, 8, 16), deep_supervision=True)
    assert row.parameters == sum(p.numel() for p in real.parameters())
    assert row.input_shape == (1, 1, 64, 64, 64)
    real_gflops = count_gflops(real, (1, 1, 16, 16, 16))
    assert abs(row.gflops / real_gflops - 64) < 1e-6  # FLOPs scale with the voxel count


def test_summary_table_lists_every_model_with_the_paper_sizes_beside_ours():
    rows = {row.name: row for row in summarize_all()}
    assert tuple(rows) == model_names()
    assert rows["unet"].reference_parameters == 1_330_000
    assert rows["unetpp"].reference_parameters == 1_500_000
    assert rows["unet3plus"].reference_parameters == 1_670_000
    assert rows["mss_unet"].reference_parameters == 1_330_000
    assert rows["patch_classifier"].input_shape == (1, 1, 192, 192)
    assert rows["slicewise"].input_shape == (1, 1, 64, 64, 64)
    for name in ("unet", "unetpp", "unet3plus", "mss_unet"):
        assert 0.8 < rows[name].parameters / rows[name].reference_parameters < 1.25
    table = format_summary_table(list(rows.values()))
    assert "1.33 M" in table and "unet3plus" in table and "GFLOPs" in table
    # reference sizes are 3D counts: not shown beside 2D models
    assert summarize("unet", spatial_dims=2).reference_parameters is None


def test_models_command_prints_json(capsys):
    assert main(["models", "--json", "--spatial-dims", "2"]) == 0
    rows = json.loads(capsys.readouterr().out)["models"]
    assert [row["name"] for row in rows] == list(model_names())
    by_name = {row["name"]: row for row in rows}
    assert by_name["unet"]["input_shape"] == [1, 1, 192, 192]
    assert by_name["slicewise"]["spatial_dims"] == 3  # 3D only
    assert by_name["unet"]["parameters"] == count_parameters(build_model("unet", spatial_dims=2))


def test_models_command_prints_a_table(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split()[:5] == ["model", "dims", "input", "params", "GFLOPs"]
    assert "64x64x64" in out and "1.50 M" in out
