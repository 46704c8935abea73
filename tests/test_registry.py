"""The trained-model registry: a folder written and read back, the input description from
config.json, the newest model found by default, and errors that name the file."""

from __future__ import annotations

import json
import os

import pytest

from porelab.errors import ConfigError
from porelab.registry import (
    CARD,
    CONFIG,
    DEFAULT_INPUT,
    METRICS,
    MODEL,
    find_model,
    read_model,
    read_model_config,
    read_registry,
    write_model_folder,
)


def _checkpoint(tmp_path, name="source.pt", content=b"weights"):
    path = tmp_path / name
    path.write_bytes(content)
    return path


def test_a_written_folder_reads_back(tmp_path):
    folder = write_model_folder(
        tmp_path / "reg" / "unet",
        {"model": "unet", "input": "a CT volume of a part in air", "threshold": 0.4},
        checkpoint=_checkpoint(tmp_path),
        metrics={"validation/dice": {"mean": 0.9}},
        card="# unet\n",
    )
    assert sorted(p.name for p in folder.iterdir()) == sorted([MODEL, CONFIG, METRICS, CARD])
    model = read_model(folder)
    assert (model.name, model.threshold, model.checkpoint.read_bytes()) == ("unet", 0.4, b"weights")
    described = model.describe()
    assert described["input"] == "a CT volume of a part in air"
    assert described["metrics"] == {"validation/dice": {"mean": 0.9}}
    assert described["model_card"] == "# unet\n"
    assert not list(folder.glob(".*partial"))


def test_without_an_input_field_the_default_is_described(tmp_path):
    folder = write_model_folder(tmp_path / "vae", {"model": "vae"}, checkpoint=_checkpoint(tmp_path))
    assert read_model(folder).describe()["input"] == DEFAULT_INPUT


def test_updating_the_config_keeps_the_weights(tmp_path):
    folder = write_model_folder(tmp_path / "m", {"model": "unet"}, checkpoint=_checkpoint(tmp_path))
    write_model_folder(folder, {"model": "unet", "threshold": 0.3})
    assert (folder / MODEL).read_bytes() == b"weights"
    assert read_model_config(folder)["threshold"] == 0.3


def test_find_model_takes_the_named_or_the_newest(tmp_path):
    root = tmp_path / "reg"
    write_model_folder(root / "b", {"model": "b"}, checkpoint=_checkpoint(tmp_path, "b.pt"))
    write_model_folder(root / "a", {"model": "a"}, checkpoint=_checkpoint(tmp_path, "a.pt"))
    os.utime(root / "b" / MODEL, (1, 1))
    assert find_model(root).name == "a"
    assert find_model(root, "b").checkpoint == root / "b" / MODEL
    assert [m.name for m in read_registry(root)] == ["a", "b"]
    with pytest.raises(ConfigError, match="'c': not in the registry"):
        find_model(root, "c")
    with pytest.raises(ConfigError, match="no <model>/model.pt"):
        find_model(tmp_path / "empty")


def test_a_damaged_config_is_named(tmp_path):
    folder = write_model_folder(tmp_path / "m", {"model": "unet"}, checkpoint=_checkpoint(tmp_path))
    (folder / CONFIG).write_text("{not json")
    with pytest.raises(ConfigError, match=r"m/config.json is not valid JSON"):
        read_model_config(folder)
    (folder / CONFIG).write_text(json.dumps([1, 2]))
    with pytest.raises(ConfigError, match="expected a JSON object"):
        read_registry(tmp_path)
