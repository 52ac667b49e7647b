"""The dashboard at period P1W: weekly points, named as ISO weeks, values as the API gives them."""

from __future__ import annotations

from alexa_skill_metrics.dashboard import render_dashboard
from tests.unit.test_dashboard import SKILL, charts, report, sample_events

WEEKS = {"startTime": "2026-01-05T00:00:00Z", "endTime": "2026-01-19T00:00:00Z", "period": "P1W"}


def test_a_weekly_dashboard_draws_one_point_per_iso_week() -> None:
    # Given the sample traffic (Mon Jan 5 and Wed Jan 7) reported weekly over two ISO weeks
    views = report(sample_events(), WEEKS)
    # When the dashboard is built
    page = render_dashboard(views)
    drawn = charts(views)["customers-over-time"].figure["data"]
    # Then each chart has the two weeks' points, with the view's values (customers: a union, 2 not 3)
    assert drawn[0]["x"] == ["2026-01-05T00:00:00Z", "2026-01-12T00:00:00Z"]
    assert list(drawn[0]["y"]) == [p["uniqueCustomers"] for p in views["customers"]["series"]] == [2, 0]
    # And the header names the period
    header = page.split("<header", 1)[1].split("</header>", 1)[0]
    assert "Weekly, ISO weeks from Monday (P1W)" in header and SKILL in header
