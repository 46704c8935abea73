"""Benchmark datasets of simulated scans with exact labels (`porelab simulate`)."""

from porelab.simulate.datasets.baselines import baseline_metrics
from porelab.simulate.datasets.build import build_dataset, build_scan, summary_rows
from porelab.simulate.datasets.needs import ScanNeeds, dataset_needs, format_needs
from porelab.simulate.datasets.manifest import MANIFEST, read_manifest, sha256, verify
from porelab.simulate.datasets.presets import PRESETS, PROFILES, ScanPlan, preset_plans, select_plans
from porelab.simulate.datasets.randomized import RandomizedConfig, ScanDraw, draw_scan
from porelab.simulate.datasets.welds import build_welds

__all__ = [
    "MANIFEST",
    "PRESETS",
    "PROFILES",
    "RandomizedConfig",
    "ScanNeeds",
    "ScanDraw",
    "ScanPlan",
    "draw_scan",
    "baseline_metrics",
    "build_dataset",
    "build_scan",
    "build_welds",
    "dataset_needs",
    "format_needs",
    "preset_plans",
    "read_manifest",
    "select_plans",
    "sha256",
    "summary_rows",
    "verify",
]
