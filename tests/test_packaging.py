"""The source root `platform/` must not shadow Python's own `platform` module."""

import subprocess
import sys
from pathlib import Path

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
