"""The `porelab` command: real runs on files, JSON output, one-line errors."""

import json
import subprocess
import sys

import numpy as np
import pytest

from porelab import cli, volume


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "porelab.cli", *args], capture_output=True, text=True)


def test_info_json_matches_numpy(tmp_path, capsys):
    data = np.arange(4 * 5 * 6, dtype=np.float32).reshape(4, 5, 6)
    volume.write(data, tmp_path / "v.npy", voxel_size=(0.3, 0.2, 0.1))
    assert cli.main(["info", str(tmp_path / "v.npy"), "--json", "--bins", "4"]) == 0
    desc = json.loads(capsys.readouterr().out)
    assert desc["shape_zyx"] == [4, 5, 6] and desc["dtype"] == "float32"
    assert desc["voxel_size_mm_zyx"] == pytest.approx([0.3, 0.2, 0.1])
    assert desc["min"] == 0 and desc["max"] == data.max() and desc["mean"] == pytest.approx(data.mean())
    expected, _ = np.histogram(data, bins=4, range=(0, data.max()))
    assert desc["histogram"]["counts"] == expected.tolist()
    assert desc["memory_bytes"] == data.nbytes


def test_info_human_output_on_real_tooth(real_data):
    out = run("info", str(real_data / "tomopy_tooth" / "tooth.h5"))
    assert out.returncode == 0, out.stderr
    assert "181 x 2 x 640" in out.stdout and "flats/darks 10 / 10" in out.stdout


def test_convert_tiff_directory_to_zarr_and_back(tmp_path, real_data):
    src = real_data / "rock_microct" / "S-4-X_slices"
    out = run("convert", str(src), str(tmp_path / "rock.zarr"), "--voxel-size", "0.0125")
    assert out.returncode == 0, out.stderr
    back = volume.read(tmp_path / "rock.zarr")
    np.testing.assert_array_equal(back[3], volume.read(src)[3])
    assert back.voxel_size == (0.0125,) * 3
    out = run("--json", "convert", str(tmp_path / "rock.zarr"), str(tmp_path / "rock.tif"))
    assert json.loads(out.stdout)["shape"] == [5, 1011, 980]


def test_errors_are_one_line_without_traceback(tmp_path):
    (tmp_path / "v.raw").write_bytes(b"\0" * 10)
    out = run("info", str(tmp_path / "v.raw"))
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in out.stderr
    assert lines[0].startswith("porelab info: error:") and "v.raw" in lines[0]


def test_debug_shows_the_traceback(tmp_path):
    out = run("info", str(tmp_path / "missing.npy"), "--debug")
    assert out.returncode == 2 and "Traceback" in out.stderr


def test_convert_refuses_to_overwrite(tmp_path):
    volume.write(np.zeros((2, 2, 2), np.uint8), tmp_path / "a.npy")
    volume.write(np.ones((2, 2, 2), np.uint8), tmp_path / "b.npy")
    out = run("convert", str(tmp_path / "a.npy"), str(tmp_path / "b.npy"))
    assert out.returncode == 2 and "already exists" in out.stderr
    assert volume.read(tmp_path / "b.npy")[0, 0, 0] == 1


def test_evaluate_states_the_scan_check_beside_the_verdict(tmp_path, capsys):
    from synthetic import unseen_am_scan, write_dataset

    scan, phantom = unseen_am_scan()
    root = write_dataset(tmp_path / "ds", [("cube", "evaluation", scan, phantom.pore_labels.astype(np.int32))])
    assert cli.main(["--json", "evaluate", "--model", "porelab-am", "--data", str(root)]) == 0
    row = json.loads(capsys.readouterr().out)["scans"]["cube"]
    assert row["ood"] is False and row["ood_score"] < 1  # an AM scan the bundled detector never saw
    assert row["dice"] >= 0.75  # as predict's mask.tif gives it (tests/test_bundled.py)
