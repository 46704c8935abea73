"""Fixtures of the report tests: one synthetic report, written once per session."""

from __future__ import annotations

import pytest

from porelab.report import ReportData, write_report
from synthetic_report import build_report_data


@pytest.fixture(scope="session")
def report_data() -> ReportData:
    return build_report_data()


@pytest.fixture(scope="session")
def report_path(report_data, tmp_path_factory):
    return write_report(report_data, tmp_path_factory.mktemp("report") / "report.html")
