"""The report's figures, each drawn by one small function that returns PNG bytes.

Figures are drawn on an explicit Agg canvas (`matplotlib.figure.Figure` +
`FigureCanvasAgg`) rather than through pyplot, so they render on a headless machine without
switching the backend of whoever imported porelab (a notebook keeps its own).
"""

from __future__ import annotations

import io
from typing import Iterable, Mapping

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

from porelab.report.curves import median_curve
from porelab.report.data import SliceOverlay

DPI = 100
BASELINE_COLOR = "#7f7f7f"
_PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#bcbd22",
    "#17becf",
    "#393b79",
    "#637939",
    "#8c6d31",
)
# Colours of the overlay: blue/yellow/magenta stay apart for red-green colour-blind readers.
_FOUND, _MISSED, _FALSE = (1.0, 0.84, 0.0), (0.12, 0.47, 0.71), (0.89, 0.12, 0.76)
ROC_GRID = np.concatenate([[0.0], np.logspace(-4, 0, 121)])


#: Model line styles, cycled with the colours, so that two curves differ in more than hue.
_LINESTYLES = ("-", "-.", (0, (5, 1.5)), (0, (1, 1)))
_BASELINE_STYLE = "--"


def model_colors(
    models: Iterable[str], baseline: str = "Otsu", families: Mapping[str, str] | None = None
) -> dict[str, str]:
    """One fixed colour per model, the same in every figure; the baseline is grey. With
    `families`, colours are counted within each family (one panel each), so a panel of up to
    12 models never repeats one."""
    colors: dict[str, str] = {}
    seen: dict[str, int] = {}
    for model in dict.fromkeys(str(m) for m in models if str(m) != baseline):
        family = (families or {}).get(model, "")
        colors[model] = _PALETTE[seen.get(family, 0) % len(_PALETTE)]
        seen[family] = seen.get(family, 0) + 1
    colors[baseline] = BASELINE_COLOR
    return colors


def _style(index: int) -> object:
    return _LINESTYLES[index % len(_LINESTYLES)]


def _panels(table: pd.DataFrame, families: Mapping[str, str] | None, baseline: str) -> list[tuple[str, pd.DataFrame]]:
    """(family, its rows and the baseline's) per family present; one untitled panel without families."""
    models = table["model"].astype(str)
    present = list(dict.fromkeys((families or {}).get(m, "other") for m in models if m != baseline))
    if not families or len(present) < 2:
        return [("", table)]
    return [
        (family, table[(models.map(lambda m: families.get(m, "other")) == family) | (models == baseline)])
        for family in present
    ]


def _figure(width: float, height: float, columns: int = 1) -> tuple[Figure, list]:
    figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, columns, squeeze=False, sharey=columns > 1)[0]
    return figure, list(axes)


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _color(colors: Mapping[str, str] | None, model: str) -> str:
    return (colors or {}).get(model, _PALETTE[0])


def _median_curves(
    curves: pd.DataFrame, x: str, y: str, grid: np.ndarray | None, colors: Mapping[str, str] | None, axes
) -> None:
    for index, (model, group) in enumerate(curves.groupby("model", sort=False)):
        median = median_curve(group, x, y, grid)
        color = _color(colors, str(model))
        axes.fill_between(median.x, median.low, median.high, color=color, alpha=0.15, linewidth=0)
        axes.plot(
            median.x,
            median.median,
            color=color,
            linestyle=_style(index),  # type: ignore[arg-type]
            label=f"{model} ({median.folds} folds)",
        )


def _family_figure(
    table: pd.DataFrame, families: Mapping[str, str] | None, baseline: str, width: float, height: float
) -> tuple[Figure, list[tuple[str, pd.DataFrame, object]]]:
    panels = _panels(table, families, baseline)
    figure, axes = _figure(width * (0.85 if len(panels) > 1 else 1.0) * len(panels), height, columns=len(panels))
    return figure, [(family, rows, ax) for (family, rows), ax in zip(panels, axes)]


def _titled(axes, title: str, family: str) -> None:
    axes.set_title(f"{title}: {family}" if family else title)


def pr_figure(
    curves: pd.DataFrame, colors: Mapping[str, str] | None = None, families: Mapping[str, str] | None = None
) -> bytes:
    """Median precision-recall curve across folds per model, shaded from lowest to highest fold;
    one panel per model family when `families` names more than one."""
    figure, panels = _family_figure(curves, families, "", 5.4, 4.0)
    for family, rows, axes in panels:
        _median_curves(rows, "recall", "precision", None, colors, axes)
        axes.set(xlabel="recall", ylabel="precision", xlim=(0, 1), ylim=(0, 1.02))
        _titled(axes, "Precision-recall (median over folds)", family)
        axes.grid(alpha=0.3)
        axes.legend(loc="lower left", fontsize="small")
    return _png(figure)


def roc_figure(
    curves: pd.DataFrame, colors: Mapping[str, str] | None = None, families: Mapping[str, str] | None = None
) -> bytes:
    """Median ROC curve across folds per model; log false-positive axis, because pores are rare
    and the low false-positive end is where a detector is used; one panel per family."""
    figure, panels = _family_figure(curves, families, "", 5.4, 4.0)
    for family, rows, axes in panels:
        _median_curves(rows, "fpr", "tpr", ROC_GRID, colors, axes)
        axes.plot(ROC_GRID[1:], ROC_GRID[1:], color=BASELINE_COLOR, linestyle=":", label="chance")
        axes.set(
            xscale="log",
            xlim=(1e-4, 1),
            ylim=(0, 1.02),
            xlabel="false-positive rate (voxels)",
            ylabel="true-positive rate",
        )
        _titled(axes, "ROC (median over folds)", family)
        axes.grid(alpha=0.3, which="both")
        axes.legend(loc="upper left", fontsize="small")
    return _png(figure)


def pod_figure(
    pod: pd.DataFrame,
    baseline: str = "Otsu",
    colors: Mapping[str, str] | None = None,
    families: Mapping[str, str] | None = None,
) -> bytes:
    """Probability of detection against equivalent diameter, with its confidence band; the
    filter baseline dashed grey in every panel; one panel per family."""
    figure, panels = _family_figure(pod, families, baseline, 6.5, 4.2)
    for family, rows, axes in panels:
        index = 0
        for model, group in rows.groupby("model", sort=False):
            group = group.sort_values("diameter")
            color = _color(colors, str(model))
            if model == baseline:
                style: object = _BASELINE_STYLE
            else:
                style, index = _style(index), index + 1
            axes.fill_between(
                group["diameter"], group["ci_low"], group["ci_high"], color=color, alpha=0.15, linewidth=0
            )
            axes.plot(
                group["diameter"],
                group["pod"],
                color=color,
                linestyle=style,  # type: ignore[arg-type]
                linewidth=2.0 if model == baseline else 1.5,
                label=str(model),
            )
        axes.axhline(0.9, color="black", linewidth=0.8, linestyle=":", label="POD 90 %")
        axes.set(xlabel="equivalent diameter (voxels)", ylabel="probability of detection", ylim=(0, 1.02))
        _titled(axes, "Probability of detection by pore size", family)
        axes.grid(alpha=0.3)
        axes.legend(loc="lower right", fontsize="small")
    return _png(figure)


def ftl_heatmap(grid: pd.DataFrame, metric: str = "validation AP") -> bytes:
    """Focal Tversky alpha x beta grid, mean over folds per cell, best cell outlined."""
    table = grid.pivot_table(index="alpha", columns="beta", values="value", aggfunc="mean")
    values = table.to_numpy(dtype=float)
    figure, (axes,) = _figure(5.2, 4.4)
    image = axes.imshow(values, origin="lower", cmap="viridis", aspect="auto")
    figure.colorbar(image, ax=axes, label=metric)
    axes.set_xticks(range(len(table.columns)), [f"{b:g}" for b in table.columns])
    axes.set_yticks(range(len(table.index)), [f"{a:g}" for a in table.index])
    axes.set(
        xlabel="beta (false-positive weight)",
        ylabel="alpha (false-negative weight)",
        title=f"Focal Tversky grid: {metric}",
    )
    _annotate_cells(axes, values)
    return _png(figure)


def _annotate_cells(axes, values: np.ndarray) -> None:
    middle = np.nanmin(values) + 0.5 * (np.nanmax(values) - np.nanmin(values))
    for (row, column), value in np.ndenumerate(values):
        if np.isfinite(value):
            axes.text(
                column,
                row,
                f"{value:.3f}",
                ha="center",
                va="center",
                fontsize="small",
                color="black" if value > middle else "white",
            )
    if np.isfinite(values).any():
        row, column = np.unravel_index(np.nanargmax(values), values.shape)
        axes.add_patch(Rectangle((column - 0.5, row - 0.5), 1, 1, fill=False, edgecolor="red", linewidth=2))


def gamma_figure(gamma: pd.DataFrame, metric: str = "validation AP") -> bytes:
    """Focal Tversky gamma sweep: mean over folds with its confidence interval."""
    gamma = gamma.sort_values("gamma")
    figure, (axes,) = _figure(5.5, 3.8)
    axes.fill_between(
        gamma["gamma"], gamma["ci_low"], gamma["ci_high"], color=_PALETTE[0], alpha=0.2, linewidth=0, label="95 % CI"
    )
    axes.plot(gamma["gamma"], gamma["mean"], marker="o", color=_PALETTE[0], label="mean")
    best = gamma.loc[gamma["mean"].idxmax()]
    axes.plot(
        [best["gamma"]],
        [best["mean"]],
        marker="*",
        markersize=14,
        color="red",
        linestyle="none",
        label=f"best gamma {best['gamma']:.3g}",
    )
    axes.set(xlabel="gamma", ylabel=metric, title=f"Focal Tversky gamma: {metric}")
    axes.grid(alpha=0.3)
    axes.legend(loc="best", fontsize="small")
    return _png(figure)


def degradation_figure(
    degradation: pd.DataFrame, baseline: str = "Otsu", metric: str = "Dice", colors: Mapping[str, str] | None = None
) -> bytes:
    """Score against exposure, one panel per share of projections kept, baseline dashed."""
    levels = sorted(degradation["projections"].unique(), reverse=True)
    figure, panels = _figure(3.2 * len(levels) + 1.0, 3.8, columns=len(levels))
    for axes, level in zip(panels, levels):
        _degradation_panel(axes, degradation[degradation["projections"] == level], baseline, colors)
        axes.set(title=f"{level:g} % projections", xlabel="exposure (%)")
        axes.invert_xaxis()
        axes.grid(alpha=0.3)
    panels[0].set_ylabel(metric)
    panels[-1].legend(loc="best", fontsize="small")
    return _png(figure)


def _degradation_panel(axes, level: pd.DataFrame, baseline: str, colors: Mapping[str, str] | None) -> None:
    means = level.groupby(["model", "exposure"], sort=False)["value"].mean().reset_index()
    for model, group in means.groupby("model", sort=False):
        group = group.sort_values("exposure")
        axes.plot(
            group["exposure"],
            group["value"],
            marker="o",
            color=_color(colors, str(model)),
            linestyle="--" if model == baseline else "-",
            label=str(model),
        )


def overlay_figure(overlay: SliceOverlay) -> bytes:
    """The slice alone and with found (yellow), missed (blue) and falsely called (magenta) pores."""
    title, image, truth, predicted = overlay
    gray = _stretched(np.asarray(image, dtype=float))
    truth, predicted = np.asarray(truth, dtype=bool), np.asarray(predicted, dtype=bool)
    figure, panels = _figure(5.5, 3.2, columns=2)
    panels[0].imshow(gray, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    panels[0].set_title("scan")
    panels[1].imshow(_colored(gray, truth, predicted), interpolation="nearest")
    panels[1].set_title("truth vs prediction")
    for axes in panels:
        axes.set_axis_off()
    figure.suptitle(str(title))
    figure.legend(
        handles=[
            Patch(color=_FOUND, label="found"),
            Patch(color=_MISSED, label="missed"),
            Patch(color=_FALSE, label="false call"),
        ],
        loc="outside lower center",
        ncols=3,
        fontsize="small",
    )
    return _png(figure)


def _stretched(image: np.ndarray) -> np.ndarray:
    low, high = np.nanpercentile(image, [1, 99])
    return np.clip((image - low) / (high - low), 0, 1) if high > low else np.zeros_like(image)


def _colored(gray: np.ndarray, truth: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    rgb = np.repeat(gray[..., None], 3, axis=-1)
    rgb[truth & predicted] = _FOUND
    rgb[truth & ~predicted] = _MISSED
    rgb[~truth & predicted] = _FALSE
    return rgb
