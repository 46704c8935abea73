"""Assemble the report page: one self-contained HTML file (inline CSS, figures as data: URIs).

Order follows what an NDT engineer asks first: the headline table, then the curves, POD,
the loss sweeps, degraded scans, slice overlays and what the run cost. Every piece of text
from the data goes through `html.escape`.
"""

from __future__ import annotations

import base64
import json
from html import escape
from typing import Callable

import pandas as pd

from porelab.report import figures
from porelab.report.data import HEADLINE_SPLITS, ReportData, Resources, SliceOverlay
from porelab.report.tables import FEW_FOLDS, format_mean_ci, summary_table

SECTIONS = (
    ("summary", "Headline results"),
    ("curves", "Precision-recall and ROC curves"),
    ("pod", "Probability of detection"),
    ("sweeps", "Focal Tversky loss sweeps"),
    ("degradation", "Degraded scans"),
    ("overlays", "Slice overlays"),
    ("resources", "Time and resources"),
    ("config", "Run configuration"),
)
SPLIT_TITLES = {"validation": "Validation scan (held-out fold)", "challenging": "Challenging scan"}

_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'"
_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto;
       max-width: 1180px; padding: 1.5rem; color: #1d1d1f; line-height: 1.45; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; } h2 { border-bottom: 2px solid #d0d7de;
     padding-bottom: 0.2rem; margin-top: 2.2rem; } .meta { color: #57606a; margin-top: 0; }
nav a { margin-right: 0.9rem; } table { border-collapse: collapse; margin: 0.6rem 0; }
th, td { border: 1px solid #d0d7de; padding: 0.3rem 0.6rem; text-align: right; }
th { background: #f6f8fa; } td.name, th.name { text-align: left; }
caption { caption-side: bottom; color: #57606a; font-size: 0.85rem; text-align: left; }
table.headline caption { caption-side: top; color: #1d1d1f; font-weight: 600; font-size: 1rem; }
table { max-width: 100%; } td, th { overflow-wrap: anywhere; }
figure { display: inline-table; margin: 0.5rem 1rem 0.5rem 0; vertical-align: top; }
figure img { max-width: 100%; height: auto; border: 1px solid #eaeef2; }
figcaption { display: table-caption; caption-side: bottom; color: #57606a; font-size: 0.85rem; }
.missing { color: #9a6700; background: #fff8c5; padding: 0.3rem 0.6rem; display: inline-block; }
pre { background: #f6f8fa; padding: 0.8rem; overflow-x: auto; }
"""
# Marks <body> once the page has loaded, so a headless browser's DOM dump shows whether every
# figure decoded (an <img> that failed has naturalWidth 0) and whether anything runs past the
# window's right edge (the page's scroll width, and how many elements end beyond the view).
_IMAGE_CHECK = """
window.addEventListener("load", function () {
  var images = Array.prototype.slice.call(document.images);
  var loaded = images.filter(function (image) { return image.complete && image.naturalWidth > 0; });
  var view = document.documentElement.clientWidth;
  var wide = Array.prototype.filter.call(document.body.getElementsByTagName("*"), function (element) {
    return element.getBoundingClientRect().right > view + 0.5;
  });
  document.body.setAttribute("data-images-total", String(images.length));
  document.body.setAttribute("data-images-loaded", String(loaded.length));
  document.body.setAttribute("data-view-width", String(view));
  document.body.setAttribute("data-scroll-width", String(document.documentElement.scrollWidth));
  document.body.setAttribute("data-wider-than-view", String(wide.length));
});
"""


def render_report(data: ReportData) -> str:
    """The whole page as one string."""
    colors = figures.model_colors(_models(data), data.baseline, data.families)
    builders: dict[str, Callable[[], str]] = {
        "summary": lambda: _summary(data),
        "curves": lambda: _curves(data, colors),
        "pod": lambda: _pod(data, colors),
        "sweeps": lambda: _sweeps(data),
        "degradation": lambda: _degradation(data, colors),
        "overlays": lambda: _overlays(data.overlays),
        "resources": lambda: _resources(data.resources),
        "config": lambda: _config(data.config),
    }
    body = "\n".join(_section(key, title, builders[key]()) for key, title in SECTIONS)
    return _page(data, body)


def _page(data: ReportData, body: str) -> str:
    title = f"porelab report: {data.run_name}"
    return (
        f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">\n'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        f"<header><h1>{escape(title)}</h1>\n{_meta(data)}\n{_nav()}</header>\n{body}\n"
        f"<script>{_IMAGE_CHECK}</script>\n</body>\n</html>\n"
    )


def _meta(data: ReportData) -> str:
    results = data.results
    parts = [f"{results['model'].nunique()} models", f"{results['fold'].nunique()} folds"]
    if data.created is not None:
        parts.insert(0, f"created {data.created.isoformat(timespec='seconds')}")
    return f'<p class="meta">{escape(" · ".join(parts))}</p>'


def _nav() -> str:
    links = " ".join(f'<a href="#{key}">{escape(title)}</a>' for key, title in SECTIONS)
    return f"<nav>{links}</nav>"


def _section(key: str, title: str, content: str) -> str:
    return f'<section id="{key}">\n<h2>{escape(title)}</h2>\n{content}\n</section>'


def _missing(part: str, what: str) -> str:
    return f'<p class="missing" data-missing="{escape(part)}">Not in this run: {escape(what)}.</p>'


def _image(png: bytes, alt: str, caption: str) -> str:
    source = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    return f'<figure><img src="{source}" alt="{escape(alt)}"><figcaption>{escape(caption)}</figcaption></figure>'


def _models(data: ReportData) -> list[str]:
    tables = [data.results, data.pr_curves, data.roc_curves, data.pod_curves, data.degradation]
    names = [name for table in tables if table is not None for name in table["model"].astype(str)]
    return list(dict.fromkeys(names))


def _summary(data: ReportData) -> str:
    """The findings first (which model was selected, why, and its verdict on the challenging
    scan), then one table per headline split, so that the page fits 1280 px."""
    summary = summary_table(data.results)
    tables = [_headline_table(summary, split) for split in HEADLINE_SPLITS if (summary["split"] == split).any()]
    caption = (
        "Mean ± half-width of the 95 % confidence interval across folds (Student t, "
        "n − 1 degrees of freedom); an interval reaching past the metric's range is shown "
        f"clipped, as (low–high); † fewer than {FEW_FOLDS} folds. Hover a cell for n and the interval."
    )
    note = f'<p class="meta">{escape(caption)}</p>'
    if not data.findings:
        return "\n".join(tables + [note])
    items = "".join(f"<li>{escape(str(finding))}</li>" for finding in data.findings)
    return "\n".join([f'<ul class="findings">{items}</ul>'] + tables + [note])


def _headline_table(summary: pd.DataFrame, split: str) -> str:
    mine = summary[summary["split"] == split]
    metrics = list(pd.unique(mine["metric"]))
    cells = {(row.model, row.metric): row for row in mine.itertuples(index=False)}
    head = "".join(f"<th>{escape(str(metric))}</th>" for metric in metrics)
    rows = "".join(_headline_row(model, metrics, cells) for model in pd.unique(summary["model"]))
    return (
        f'<table class="headline" data-split="{escape(split)}"><caption>{escape(SPLIT_TITLES[split])}'
        f'</caption><thead><tr><th class="name">Model</th>{head}</tr></thead><tbody>{rows}</tbody></table>'
    )


def _headline_row(model: object, metrics: list[str], cells: dict) -> str:
    out = [f'<td class="name">{escape(str(model))}</td>']
    for metric in metrics:
        cell = cells.get((model, metric))
        if cell is None:
            out.append("<td>–</td>")
            continue
        hint = f"n = {cell.n} folds, 95 % CI [{cell.ci_low:.4g}, {cell.ci_high:.4g}]"
        text = format_mean_ci(cell.mean, cell.half_width, str(metric), int(cell.n))
        out.append(f'<td title="{escape(hint)}">{escape(text)}</td>')
    return f"<tr>{''.join(out)}</tr>"


def _curves(data: ReportData, colors: dict[str, str]) -> str:
    parts = []
    if data.pr_curves is None:
        parts.append(_missing("pr_curves", "no precision-recall curves were recorded"))
    else:
        parts.append(
            _image(
                figures.pr_figure(data.pr_curves, colors, data.families),
                "precision-recall curves",
                "Voxel-wise precision-recall inside the object mask on the validation "
                "scans; line: median over folds, band: lowest to highest fold.",
            )
        )
    if data.roc_curves is None:
        parts.append(_missing("roc_curves", "no ROC curves were recorded"))
    else:
        parts.append(
            _image(
                figures.roc_figure(data.roc_curves, colors, data.families),
                "ROC curves",
                "Voxel-wise ROC on the validation scans (log false-positive axis); "
                "line: median over folds, band: lowest to highest fold.",
            )
        )
    return "\n".join(parts)


def _pod(data: ReportData, colors: dict[str, str]) -> str:
    if data.pod_curves is None:
        return _missing("pod_curves", "no probability-of-detection curves were recorded")
    drawn = data.baseline in set(data.pod_curves["model"].astype(str))
    baseline = (
        f"; dashed grey: the {data.baseline} filter baseline"
        if drawn
        else f"; no {data.baseline} baseline curve in this run"
    )
    return _image(
        figures.pod_figure(data.pod_curves, data.baseline, colors, data.families),
        "probability of detection curves",
        f"Share of true pores found on the challenging scan against their equivalent diameter, "
        f"with its confidence band{baseline}.",
    )


def _sweeps(data: ReportData) -> str:
    parts = []
    if data.ftl_grid is None:
        parts.append(_missing("ftl_grid", "no Focal Tversky alpha x beta grid was run"))
    else:
        parts.append(
            _image(
                figures.ftl_heatmap(data.ftl_grid, data.ftl_metric),
                "Focal Tversky alpha beta heatmap",
                f"Mean {data.ftl_metric} over folds per (alpha, beta) at gamma 0.5; the best cell is outlined.",
            )
        )
    if data.gamma_curve is None:
        parts.append(_missing("gamma_curve", "no Focal Tversky gamma sweep was run"))
    else:
        parts.append(
            _image(
                figures.gamma_figure(data.gamma_curve, data.ftl_metric),
                "Focal Tversky gamma curve",
                f"Mean {data.ftl_metric} over folds per gamma at the best alpha and "
                "beta, with its 95 % confidence interval.",
            )
        )
    return "\n".join(parts)


def _degradation(data: ReportData, colors: dict[str, str]) -> str:
    if data.degradation is None:
        return _missing("degradation", "no degraded re-simulations were run")
    return _image(
        figures.degradation_figure(data.degradation, data.baseline, data.degradation_metric, colors),
        "degradation plots",
        f"{data.degradation_metric} on the challenging scan re-simulated with fewer "
        f"projections and lower exposure; dashed: the {data.baseline} baseline.",
    )


def _overlays(overlays: list[SliceOverlay] | None) -> str:
    if not overlays:
        return _missing("overlays", "no slice overlays were saved")
    return "\n".join(_overlay(SliceOverlay(*overlay)) for overlay in overlays)


def _overlay(overlay: SliceOverlay) -> str:
    return _image(
        figures.overlay_figure(overlay),
        f"slice overlay: {overlay.title}",
        f"{overlay.title}: yellow found, blue missed, magenta false call.",
    )


def _resources(resources: Resources | None) -> str:
    if resources is None:
        return _missing("resources", "the run's time and resources were not recorded")
    rows = [
        ("Wall time", _duration(resources.wall_time_s)),
        ("CPUs", f"{resources.cpus:g}"),
        ("GPUs", f"{resources.gpus:g}"),
        ("Trials", f"{resources.trials} ({resources.failed_trials} failed)"),
        *((str(key), str(value)) for key, value in resources.extra.items()),
    ]
    body = "".join(f'<tr><th class="name">{escape(name)}</th><td>{escape(value)}</td></tr>' for name, value in rows)
    return f'<table class="resources"><tbody>{body}</tbody></table>'


def _duration(seconds: float) -> str:
    whole = int(round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours} h {minutes:02d} min {secs:02d} s" if hours else f"{minutes} min {secs:02d} s"


def _config(config: dict) -> str:
    text = json.dumps(config, indent=2, default=str)
    return f"<details><summary>Show the configuration</summary><pre>{escape(text)}</pre></details>"
