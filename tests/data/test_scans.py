"""Dataset directories: a missing manifest is an error that says where it was looked for."""

import pytest

from porelab.data import load_scans
from porelab.data.scans import require_dataset
from porelab.errors import ConfigError


def test_a_relative_path_without_a_manifest_names_the_directory_it_was_resolved_in(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=rf"data/am: no manifest.json \(relative to {tmp_path}; .*absolute path"):
        require_dataset("data/am")
    with pytest.raises(ConfigError, match=rf"^{tmp_path}/elsewhere: no manifest.json; expected a dataset"):
        load_scans(tmp_path / "elsewhere")


def test_a_dataset_is_returned_as_a_path(tiny_dataset):
    assert require_dataset(str(tiny_dataset)) == tiny_dataset
    assert len(load_scans(tiny_dataset)) == 3
