"""The run report: one self-contained HTML page (tables, curves, POD, sweeps, degradation,
slice overlays, resources) built from plain numbers in a `ReportData`."""

from __future__ import annotations

from pathlib import Path

from porelab.report.curves import MedianCurve, median_curve
from porelab.report.data import ReportData, Resources, SliceOverlay
from porelab.report.html import SECTIONS, render_report
from porelab.report.tables import MeanCI, format_mean_ci, mean_ci, summary_table
from porelab.volume.atomic import write_text_atomic


def write_report(data: ReportData, path: str | Path) -> Path:
    """Render `data` and write it to `path` atomically (a reader never sees half a page)."""
    target = Path(path)
    write_text_atomic(target, render_report(data))
    return target


__all__ = [
    "MeanCI",
    "MedianCurve",
    "ReportData",
    "Resources",
    "SECTIONS",
    "SliceOverlay",
    "format_mean_ci",
    "mean_ci",
    "median_curve",
    "render_report",
    "summary_table",
    "write_report",
]
