"""The source root `platform/` must not shadow Python's own `platform` module, and a wheel
(the cluster image installs one) holds every package of the source tree."""

import subprocess
import sys
from pathlib import Path

from setuptools import find_packages

REPO = Path(__file__).resolve().parents[1]


def test_no_platform_package_init():
    assert not (REPO / "platform" / "__init__.py").exists()


def test_stdlib_platform_still_wins_from_repo_root():
    code = "import platform, porelab; print(platform.system()); print(platform.__file__)"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    system, location = out.stdout.split()
    assert system in {"Linux", "Darwin", "Windows"}
    assert "platform.py" in location and str(REPO / "platform") not in location


def test_console_script_is_installed():
    out = subprocess.run([sys.executable, "-m", "porelab.cli", "--help"], capture_output=True, text=True, check=True)
    assert "info" in out.stdout and "convert" in out.stdout


def test_a_wheel_holds_every_folder_of_python_modules():
    # pyproject's `packages.find` takes folders with an __init__.py only: `infer/` once had none
    # and a non-editable install (the cluster image's `pip install`) left it out
    source = REPO / "platform"
    folders = {
        ".".join(path.parent.relative_to(source).parts)
        for path in (source / "porelab").rglob("*.py")
        if "__pycache__" not in path.parts
    }
    assert folders <= set(find_packages(str(source)))
