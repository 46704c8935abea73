"""The HTML report: structure, inline PNG figures, the mean ± CI table, missing parts, escaping."""

from __future__ import annotations

import base64
import io
import math
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from scipy import stats

from synthetic_report import METRICS, MODELS, build_report_data
from porelab.errors import ConfigError, PorelabError
from porelab.report import ReportData, SliceOverlay, mean_ci, median_curve, render_report, write_report

SECTION_TITLES = {
    "summary": "Headline results",
    "curves": "Precision-recall and ROC curves",
    "pod": "Probability of detection",
    "sweeps": "Focal Tversky loss sweeps",
    "degradation": "Degraded scans",
    "overlays": "Slice overlays",
    "resources": "Time and resources",
    "config": "Run configuration",
}
OPTIONAL_PARTS = {
    "pr_curves",
    "roc_curves",
    "pod_curves",
    "ftl_grid",
    "gamma_curve",
    "degradation",
    "overlays",
    "resources",
}
VOID = {"img", "meta", "br", "hr", "input", "link"}


class _Page(HTMLParser):
    """What the tests look at: sections, headings, images per section, missing notes, tags,
    the headline table's rows and the text of every element."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.sections: list[str] = []
        self.headings: dict[str, str] = {}
        self.images: dict[str, list[str]] = {}
        self.missing: dict[str, str] = {}
        self.tags: list[tuple[str, dict]] = []
        self.rows: list[list[str]] = []
        self.text: dict[str, str] = {}
        self._stack: list[str] = []
        self._in_headline = False
        self._missing_part: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if tag == "section":
            self.sections.append(attrs["id"])
        if tag == "img":
            self.images.setdefault(self.sections[-1], []).append(attrs["src"])
        if tag == "p" and "data-missing" in attrs:
            self._missing_part = attrs["data-missing"]
        if tag == "table":
            self._in_headline = attrs.get("class") == "headline"
        if self._in_headline and tag == "tr":
            self.rows.append([])
        if self._in_headline and tag in {"td", "th"}:
            self.rows[-1].append("")
        if tag not in VOID:
            self._stack.append(tag)

    def handle_endtag(self, tag):
        if tag == "table":
            self._in_headline = False
        if self._stack and self._stack[-1] == tag:
            self._stack.pop()

    def handle_data(self, data):
        if not self._stack:
            return
        tag = self._stack[-1]
        self.text[tag] = self.text.get(tag, "") + data
        if tag == "h2":
            self.headings[self.sections[-1]] = self.headings.get(self.sections[-1], "") + data
        if tag == "p" and self._missing_part:
            self.missing[self._missing_part] = data
            self._missing_part = None
        if self._in_headline and tag in {"td", "th"} and self.rows and self.rows[-1]:
            self.rows[-1][-1] += data


def _parse(text: str) -> _Page:
    page = _Page()
    page.feed(text)
    page.close()
    return page


@pytest.fixture(scope="module")
def page(report_path) -> _Page:
    return _parse(report_path.read_text(encoding="utf-8"))


def _minimal(**overrides) -> ReportData:
    full = build_report_data()
    fields = dict(run_name="minimal", config={}, results=full.results)
    fields.update(overrides)
    return ReportData(**fields)


def test_every_section_is_present_in_reading_order(page):
    assert page.sections == list(SECTION_TITLES)
    assert page.headings == SECTION_TITLES
    assert page.missing == {}


def test_every_image_is_an_inline_png_that_decodes(page):
    counts = {section: len(sources) for section, sources in page.images.items()}
    assert counts == {"curves": 2, "pod": 1, "sweeps": 2, "degradation": 1, "overlays": 2}
    for sources in page.images.values():
        for source in sources:
            prefix = "data:image/png;base64,"
            assert source.startswith(prefix)
            png = base64.b64decode(source[len(prefix) :], validate=True)
            assert png[:8] == b"\x89PNG\r\n\x1a\n"
            with Image.open(io.BytesIO(png)) as image:
                assert image.format == "PNG"
                image.load()
                assert image.width >= 300 and image.height >= 200
                assert np.asarray(image.convert("L")).std() > 5  # something is drawn


def test_page_references_nothing_outside_itself(page, report_path):
    for _, attrs in page.tags:
        for name in ("src", "href"):
            if name in attrs:
                assert attrs[name].startswith(("data:", "#")), attrs[name]
    text = report_path.read_text(encoding="utf-8")
    assert "http://" not in text and "https://" not in text


def test_headline_tables_are_mean_and_scipy_t_interval(page, report_data):
    """One table per split, a row per model; a fold that never reached POD 90 % reads 'not reached'."""
    results = report_data.results
    size = len(MODELS) + 1
    assert len(page.rows) == 2 * size
    for split, (header, *body) in (("validation", page.rows[:size]), ("challenging", page.rows[size:])):
        assert header == ["Model", *METRICS]
        assert [row[0] for row in body] == list(MODELS)
        for row in body:
            for metric, cell in zip(METRICS, row[1:]):
                values = results.query("model == @row[0] and split == @split and metric == @metric")["value"]
                if np.isinf(values).any():
                    assert cell == "not reached"
                    continue
                mean = values.mean()
                low, high = stats.t.interval(0.95, len(values) - 1, loc=mean, scale=stats.sem(values))
                assert cell == f"{mean:.3f} ± {(high - low) / 2:.3f}"


def test_findings_come_before_the_tables(report_path):
    text = report_path.read_text(encoding="utf-8")
    assert text.index('<ul class="findings">') < text.index('<table class="headline"')


@pytest.mark.parametrize(
    "mean, half, metric, n, expected",
    [
        (0.990, 0.030, "dice", 5, "0.990 (0.960–1.000)"),  # clipped at 1
        (0.020, 0.050, "ap", 5, "0.020 (0.000–0.070)"),  # clipped at 0
        (1.500, 2.000, "false_calls_per_128c", 4, "1.500 (0.000–3.500)"),
        (-0.300, 0.500, "porosity_error_pp", 5, "-0.300 ± 0.500"),  # signed: not clipped
        (0.800, 0.300, "Dice", 2, "0.800 (0.500–1.000) †"),  # two folds: marked
        (0.700, float("nan"), "dice", 1, "0.700 †"),
    ],
)
def test_intervals_are_clipped_to_the_metric_range_and_few_folds_marked(mean, half, metric, n, expected):
    from porelab.report.tables import format_mean_ci

    assert format_mean_ci(mean, half, metric, n) == expected


def test_summary_table_clips_its_interval_columns():
    from porelab.report.tables import summary_table

    results = pd.DataFrame(
        {"model": "unet", "split": "validation", "metric": "dice", "value": [0.99, 1.0, 0.97], "fold": [0, 1, 2]}
    )
    row = summary_table(results).iloc[0]
    low, high = stats.t.interval(0.95, 2, loc=np.mean([0.99, 1.0, 0.97]), scale=stats.sem([0.99, 1.0, 0.97]))
    assert high > 1 and row["ci_high"] == 1.0 and row["ci_low"] == pytest.approx(low)
    assert row["half_width"] == pytest.approx((high - low) / 2)


def test_findings_and_resources_are_shown(page):
    assert page.text["li"] == "UNet++ reaches validation AP 0.88."
    assert "25 min 34 s" in page.text["td"] and "40 (1 failed)" in page.text["td"]


def test_mean_ci_matches_scipy():
    values = np.random.default_rng(3).normal(0.8, 0.05, 7)
    for confidence in (0.9, 0.95, 0.99):
        low, high = stats.t.interval(confidence, 6, loc=values.mean(), scale=stats.sem(values))
        summary = mean_ci(values, confidence)
        assert summary.n == 7
        assert summary.mean == pytest.approx(values.mean(), abs=1e-12)
        assert (summary.low, summary.high) == pytest.approx((low, high), abs=1e-12)
    assert mean_ci([0.5, np.nan, 0.7]) == mean_ci([0.5, 0.7])
    single = mean_ci([0.4])
    assert single.mean == 0.4 and single.n == 1 and math.isnan(single.half_width)
    with pytest.raises(ConfigError, match="confidence"):
        mean_ci(values, 95)


def test_median_curve_of_straight_lines_is_the_median_slope():
    rng = np.random.default_rng(1)
    slopes = [0.2, 0.5, 0.9, 0.4, 0.7]
    parts = []
    for fold, slope in enumerate(slopes):
        x = np.concatenate([[0.0, 1.0], rng.random(20 + 7 * fold)])  # own, unsorted sampling
        parts.append(pd.DataFrame({"fold": fold, "recall": x, "precision": slope * x}))
    curve = median_curve(pd.concat(parts), "recall", "precision")
    assert curve.folds == 5 and curve.x.shape == (101,)
    np.testing.assert_allclose(curve.median, 0.5 * curve.x, atol=1e-12)
    np.testing.assert_allclose(curve.low, 0.2 * curve.x, atol=1e-12)
    np.testing.assert_allclose(curve.high, 0.9 * curve.x, atol=1e-12)


def test_missing_optional_parts_are_noted_and_left_out():
    page = _parse(render_report(_minimal()))
    assert page.sections == list(SECTION_TITLES)
    assert page.images == {}
    assert set(page.missing) == OPTIONAL_PARTS
    assert all(note.startswith("Not in this run: ") for note in page.missing.values())


def test_one_missing_part_of_a_section_is_noted_beside_the_other():
    full = build_report_data()
    page = _parse(render_report(_minimal(gamma_curve=full.gamma_curve)))
    assert len(page.images["sweeps"]) == 1
    assert set(page.missing) == OPTIONAL_PARTS - {"gamma_curve"}


def test_text_from_the_data_is_escaped():
    results = _minimal().results.replace({"model": {"UNet": "<b>U&Net</b>"}})
    data = _minimal(
        run_name='<script>alert("x")</script> & co',
        results=results,
        findings=["<img src=x onerror=alert(1)>"],
        config={"note": "</pre></details><script>bad()</script>"},
    )
    text = render_report(data)
    page = _parse(text)
    assert [tag for tag, _ in page.tags].count("script") == 1
    assert not any(tag in {"b", "img"} for tag, _ in page.tags)
    assert page.text["h1"] == 'porelab report: <script>alert("x")</script> & co'
    assert page.rows[1][0] == "<b>U&Net</b>"  # the first model of the first table
    assert page.text["li"] == "<img src=x onerror=alert(1)>"
    assert "</pre></details><script>bad()</script>" in page.text["pre"]
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co" in text


def test_bad_input_names_the_part_and_field():
    results = _minimal().results
    with pytest.raises(ConfigError, match=r"results: missing columns \['value'\]"):
        _minimal(results=results.drop(columns="value"))
    with pytest.raises(ConfigError, match=r"results: unknown split \['test'\]"):
        _minimal(results=results.replace({"split": {"challenging": "test"}}))
    with pytest.raises(ConfigError, match=r"pod_curves: missing columns \['ci_low', 'ci_high'\]"):
        _minimal(pod_curves=pd.DataFrame({"model": ["a"], "diameter": [1.0], "pod": [0.5]}))
    bad = SliceOverlay("slice 3", np.zeros((8, 8)), np.zeros((8, 8), bool), np.zeros((8, 9), bool))
    with pytest.raises(ConfigError, match=r"overlays\[0\] \(slice 3\): predicted mask shape"):
        _minimal(overlays=[bad])
    with pytest.raises(ConfigError, match="run_name"):
        _minimal(run_name=" ")


def test_write_report_replaces_the_file_whole(tmp_path):
    data = _minimal()
    target = tmp_path / "report.html"
    target.write_text("old", encoding="utf-8")
    assert write_report(data, target) == target
    assert target.read_text(encoding="utf-8") == render_report(data)
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]
    with pytest.raises(PorelabError, match="does not exist"):
        write_report(data, tmp_path / "absent" / "report.html")


def test_a_pod_size_not_reached_in_any_fold_reads_not_reached():
    from porelab.report.tables import format_mean_ci, summary_table

    results = pd.DataFrame(
        {"model": "vae", "split": "validation", "metric": "pod_a90", "value": [3.1, np.inf, 3.3], "fold": [0, 1, 2]}
    )
    row = summary_table(results).iloc[0]
    assert row["mean"] == np.inf and row["n"] == 3  # the folds that reached it do not hide the one that did not
    assert format_mean_ci(row["mean"], row["half_width"]) == "not reached"
    assert format_mean_ci(3.2, 0.1) == "3.200 ± 0.100"
