"""The report in a real headless browser (Debian's chromium) at 1280 px: it renders with all its
figures and nothing runs past the window's right edge."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

CHROMIUM = Path("/usr/bin/chromium")
WINDOW = (1280, 3000)
HEADINGS = [
    "Headline results",
    "Precision-recall and ROC curves",
    "Probability of detection",
    "Focal Tversky loss sweeps",
    "Degraded scans",
    "Slice overlays",
    "Time and resources",
    "Run configuration",
]
FIGURES = 8  # PR, ROC, POD, FTL grid, gamma, degradation, two slice overlays

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason=f"needs Debian's chromium at {CHROMIUM} (apt-get install -y chromium) to render the report",
)


@pytest.fixture(scope="module")
def browser(report_path, tmp_path_factory) -> tuple[str, Path]:
    """One chromium run: the DOM after load (stdout) and a screenshot of the first 3000 px."""
    out = tmp_path_factory.mktemp("chromium")
    screenshot = out / "report.png"
    command = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={out / 'profile'}",
        f"--screenshot={screenshot}",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        "--virtual-time-budget=5000",
        "--dump-dom",
        report_path.as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=90, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout, screenshot


def test_rendered_dom_has_every_section_heading(browser):
    dom, _ = browser
    assert re.findall(r"<h2>(.*?)</h2>", dom) == HEADINGS


def test_every_figure_loaded_in_the_browser(browser):
    dom, _ = browser
    body = re.search(r"<body([^>]*)>", dom).group(1)
    assert f'data-images-total="{FIGURES}"' in body
    assert f'data-images-loaded="{FIGURES}"' in body
    assert dom.count("<img ") == FIGURES


def test_nothing_is_wider_than_the_window(browser):
    dom, _ = browser
    body = re.search(r"<body([^>]*)>", dom).group(1)
    view = int(re.search(r'data-view-width="(\d+)"', body).group(1))
    scroll = int(re.search(r'data-scroll-width="(\d+)"', body).group(1))
    assert view <= WINDOW[0] and scroll <= view, (scroll, view)
    assert 'data-wider-than-view="0"' in body


def test_screenshot_shows_coloured_figures(browser):
    _, screenshot = browser
    with Image.open(screenshot) as image:
        assert image.size == WINDOW
        rgb = np.asarray(image.convert("RGB"), dtype=int)
    # Text and rules are grey; only the figures' curves, bands and heatmap carry colour.
    saturation = rgb.max(axis=-1) - rgb.min(axis=-1)
    assert (saturation > 80).mean() > 0.02  # 0.006 for a page without figures
    assert rgb.std() > 30  # 23 for a page without figures
