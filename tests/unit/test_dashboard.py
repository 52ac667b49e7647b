"""The dashboard lays out the reporting API's views unchanged: charts, cards, tabs, empty state, one file.

The views come from the real reporting code (``Reporter`` over ``RecomputedRollups`` of a few
hand-built events), so these tests follow the API's JSON shape as it is, not a copy of it.
``expected_charts`` is the independent statement of which view field each chart trace draws; the
browser test holds the drawn charts to it too.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable, Mapping
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from alexa_skill_metrics import formatting
from alexa_skill_metrics.dashboard import DashboardError, collect_views, render_dashboard, write_dashboard
from alexa_skill_metrics.dashboard.layout import Chart
from alexa_skill_metrics.dashboard.render import chart_values
from alexa_skill_metrics.dashboard.tabs import build_tabs
from alexa_skill_metrics.model import Event, Outcome
from alexa_skill_metrics.reporting import EventList, RecomputedRollups, Reporter, ReportRequest

SKILL = "amzn1.ask.skill.00000000-0000-4000-8000-00000000d1ce"
DAY = 86_400_000
JAN5 = 1_767_571_200_000  # 2026-01-05T00:00:00Z
AS_OF = JAN5 + 3 * DAY + 3_600_000
PARAMS = {"startTime": "2026-01-05T00:00:00Z", "endTime": "2026-01-08T00:00:00Z", "period": "P1D"}

# Which field of which view each chart's traces draw: chart id -> (view, where the points are,
# the field naming each point, [(trace name, field path)]). Series charts use the view's series
# and draw against each point's start; category charts use a list of rows or a fixed list.
END_TYPES = [
    ("Skill ended", "skillEnded"),
    ("User ended", "userEnded"),
    ("User did not respond", "noResponse"),
    ("Failed (error)", "failed"),
    ("Unknown reason", "unknown"),
    ("Incomplete", "incomplete"),
    ("Active", "active"),
]
LATENCY = [("p50", "latencyMs.p50"), ("p90", "latencyMs.p90"), ("p99", "latencyMs.p99")]
SERIES_CHARTS: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "overview-customers": ("overview", [("Unique customers", "customers")]),
    "overview-sessions": ("overview", [("Sessions", "sessions")]),
    "overview-utterances": ("overview", [("Utterances", "utterances")]),
    "customers-over-time": (
        "customers",
        [
            ("Unique customers", "uniqueCustomers"),
            ("New customers", "newCustomers"),
            ("Enablements", "enablements"),
        ],
    ),
    "sessions-by-end-type": ("sessions", [*END_TYPES, ("Started", "started")]),
    "sessions-successful": ("sessions", [*END_TYPES[:2], ("Successful", "successful")]),
    "sessions-per-customer": ("sessions", [("Sessions per customer", "sessionsPerCustomer")]),
    "utterances-over-time": (
        "utterances",
        [("Successful", "successful"), ("Failed", "failed"), ("Utterances", "utterances")],
    ),
    "utterances-per-customer-session": (
        "utterances",
        [("Per customer", "perCustomer"), ("Per session", "perSession")],
    ),
    "utterances-responses": (
        "utterances",
        [("Responded", "responded"), ("Not responded", "notResponded"), ("Prompts", "prompts")],
    ),
    "utterances-latency": ("utterances", LATENCY),
    "quality-friction-rate": ("friction", [("Friction rate", "frictionRate")]),
    "quality-friction-events": (
        "friction",
        [
            ("Unhandled", "unhandled"),
            ("Terminations", "terminations"),
            ("No response", "noResponse"),
            ("Retries", "retries"),
        ],
    ),
    "quality-endpoint": ("utterances", [(q, f"endpointMs.{q}") for q in ("p50", "p90", "p99")]),
    "quality-cold-starts": ("utterances", [("Cold-start share", "coldStartShare")]),
}
ROW_CHARTS: dict[str, tuple[str, str, str, list[tuple[str, str]]]] = {
    "sessions-drop-off": ("sessions", "dropOff", "lastIntent", [("Sessions", "sessions")]),
    "intents-counts": (
        "intents",
        "intents",
        "intent",
        [("Customers", "uniqueCustomers"), ("Utterances", "utterances"), ("Failed utterances", "failed")],
    ),
    "intents-shares": ("intents", "intents", "intent", [("Share", "share"), ("Failed share", "failedShare")]),
    "intents-latency": ("intents", "intents", "intent", LATENCY),
    "quality-prompts": (
        "friction",
        "prompts",
        "intent",
        [("Sessions lost", "lost"), ("Unhandled after", "unhandled")],
    ),
    "quality-exits": ("friction", "exits", "intent", [("Exit rate", "exitRate")]),
    "quality-endpoint-by-intent": (
        "intents",
        "intents",
        "intent",
        [(q, f"endpointMs.{q}") for q in ("p50", "p90", "p99")],
    ),
}

# Line charts of ratios break where their denominator (this field of the point) is 0, no traffic,
# and mark those points on the axis (a "No traffic" trace); their tables keep the API's values.
IDLE_WHEN = {
    "sessions-per-customer": "started",
    "utterances-per-customer-session": "utterances",
    "utterances-latency": "utterances",
    "quality-friction-rate": "utterances",
    "quality-endpoint": "utterances",
    "quality-cold-starts": "utterances",
}

Expected = dict[str, list[tuple[str, list[Any], list[Any]]]]


def field(obj: Mapping[str, Any], path: str) -> Any:
    for key in path.split("."):
        obj = obj[key]
    return obj


def expected_charts(views: Mapping[str, Mapping[str, Any]]) -> Expected:
    """Chart id -> [(trace name, x or categories, values)], straight from the view bodies."""
    expected: Expected = {}
    for chart_id, (view, traces) in SERIES_CHARTS.items():
        series = views[view]["series"]
        starts = [point["start"] for point in series]
        idle = [bool(chart_id in IDLE_WHEN and p[IDLE_WHEN[chart_id]] == 0) for p in series]
        expected[chart_id] = [
            (name, starts, [None if quiet else field(p, path) for p, quiet in zip(series, idle, strict=True)])
            for name, path in traces
        ]
        if any(idle):
            quiet_starts = [start for start, quiet in zip(starts, idle, strict=True) if quiet]
            expected[chart_id].append(("No traffic", quiet_starts, [0] * len(quiet_starts)))
    for chart_id, (view, rows_at, label, traces) in ROW_CHARTS.items():
        rows = views[view][rows_at]
        if rows:  # no rows: the tab shows a note instead of the chart
            labels = [row[label] for row in rows]
            expected[chart_id] = [(name, labels, [field(r, path) for r in rows]) for name, path in traces]
    if "slots" in views:
        slots = views["slots"]
        expected["slots-over-time"] = [
            (name, [point["start"] for point in slots["series"]], [point[key] for point in slots["series"]])
            for name, key in (("Resolved", "resolved"), ("Unresolved", "unresolved"), ("Errored", "errored"))
        ]
        if slots["slots"]:  # no slots: the tab shows a note instead of the charts
            names = [f"{row['intent']}.{row['slot']}" for row in slots["slots"]]
            expected["slots-worst"] = [
                ("Unresolved rate", names, [r["unresolvedRate"] for r in slots["slots"]])
            ]
        else:
            del expected["slots-over-time"]
    shares = views["sessions"]["totals"]["shareByEndType"]
    expected["sessions-share-by-end-type"] = [
        ("Share", [label for label, _ in END_TYPES], [shares[key] for _, key in END_TYPES])
    ]
    return expected


def drawn(figure: Mapping[str, Any]) -> list[tuple[str, list[Any], list[Any]]]:
    """(name, x or categories, values) of every trace of a figure (dict or Plotly graph div data)."""
    out = []
    for trace in figure["data"]:
        if trace.get("orientation") == "h":
            out.append((trace["name"], list(trace["y"]), list(trace["x"])))
        else:
            out.append((trace["name"], list(trace["x"]), list(trace["y"])))
    return out


def event(n: int, at: int, kind: str, customer: str, session: str, start: int, **fields: Any) -> Event:
    return Event(
        skill_id=SKILL, request_id=f"r{n}", request_type=kind, timestamp_ms=at, received_ms=at,
        customer=customer, session_id=session, locale="en-US", session_start_ms=start, **fields,
    )  # fmt: skip


def sample_events() -> list[Event]:
    """Two customers on Jan 5 and one on Jan 7 (Jan 6 is empty): every kind of session end."""
    a, b, c = JAN5 + 19 * 3_600_000, JAN5 + 20 * 3_600_000, JAN5 + 2 * DAY + 8 * 3_600_000
    launch = {"should_end_session": False, "new_session": True}
    return [
        # c1 launches, rolls, stops: skill_ended
        event(1, a, "LaunchRequest", "c1", "s1", a, handler_ms=4.0, cold_start=True, startup_ms=600.0,
              **launch),
        event(2, a + 5_000, "IntentRequest", "c1", "s1", a, intent="RollDiceIntent", new_session=False,
              should_end_session=False, handler_ms=6.5, previous_ms=a, last_intent="LaunchRequest"),
        event(3, a + 9_000, "IntentRequest", "c1", "s1", a, intent="AMAZON.StopIntent", new_session=False,
              should_end_session=True, handler_ms=2.25, previous_ms=a + 5_000, last_intent="RollDiceIntent",
              last_prompt=True),
        # c2 launches and says nothing: no_response after LaunchRequest
        event(4, b, "LaunchRequest", "c2", "s2", b, handler_ms=5.0, **launch),
        event(5, b + 16_000, "SessionEndedRequest", "c2", "s2", b, new_session=False,
              end_reason="EXCEEDED_MAX_REPROMPTS", previous_ms=b, last_intent="LaunchRequest"),
        # c1 returns, the score check escapes, Alexa ends the session with ERROR: failed
        event(6, c, "LaunchRequest", "c1", "s3", c, handler_ms=3.0, **launch),
        event(7, c + 4_000, "IntentRequest", "c1", "s3", c, intent="CheckScoreIntent", new_session=False,
              outcome=Outcome.ESCAPED, exception="RuntimeError", handler_ms=9.0, previous_ms=c,
              last_intent="LaunchRequest"),
        event(8, c + 5_000, "SessionEndedRequest", "c1", "s3", c, new_session=False, end_reason="ERROR",
              previous_ms=c, last_intent="CheckScoreIntent"),
    ]  # fmt: skip


def report(events: list[Event], params: Mapping[str, str] = PARAMS) -> dict[str, dict[str, Any]]:
    reporter = Reporter(RecomputedRollups(EventList(events)), clock=lambda: AS_OF)
    request = ReportRequest.from_params(SKILL, params)
    return collect_views(lambda name: reporter.view(name, request))


@pytest.fixture(scope="module")
def views() -> dict[str, dict[str, Any]]:
    return report(sample_events())


@pytest.fixture(scope="module")
def page(views: dict[str, dict[str, Any]]) -> str:
    return render_dashboard(views)


def charts(views: Mapping[str, Mapping[str, Any]]) -> dict[str, Chart]:
    return {b.id: b for tab in build_tabs(views) for b in tab.blocks if isinstance(b, Chart)}


class Page(HTMLParser):
    """Elements of a rendered page: tags with their attributes, and the text of each id'd element."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def having(self, **wanted: str) -> list[dict[str, str | None]]:
        return [a for _, a in self.tags if all(a.get(k.replace("_", "-")) == v for k, v in wanted.items())]


# --- collecting views ---------------------------------------------------------------------------------


def test_collect_views_asks_for_each_view_once_in_tab_order(views: dict[str, dict[str, Any]]) -> None:
    # Given a fetch that records what it is asked
    asked: list[str] = []

    def fetch(name: str) -> dict[str, Any]:
        asked.append(name)
        return views[name]

    # When the views are collected
    collected = collect_views(fetch)
    # Then each view was asked once, in the console's order, and returned unchanged
    assert asked == ["overview", "customers", "sessions", "utterances", "intents", "friction", "slots"]
    assert collected == views


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda v: v["sessions"].update(view="utterances"), "not the sessions view"),
        (lambda v: v["intents"].update(stage="development"), "stage='development'"),
        (lambda v: v["customers"].update(period="PT1H"), "period='PT1H'"),
    ],
)
def test_views_of_different_requests_do_not_make_one_dashboard(
    views: dict[str, dict[str, Any]], change: Callable[[dict[str, Any]], None], message: str
) -> None:
    # Given the views with one of them fetched differently
    mixed = json.loads(json.dumps(views))
    change(mixed)
    # When they are collected, Then the error says which view and what differs
    with pytest.raises(DashboardError, match=re.escape(message)):
        collect_views(lambda name: mixed[name])


# --- charts draw the API's values ---------------------------------------------------------------------


def test_every_chart_draws_exactly_the_views_values(views: dict[str, dict[str, Any]]) -> None:
    # Given the charts of the five tabs
    built = charts(views)
    # Then every chart expected is there, and nothing else, each trace holding the view's field unchanged
    expected = expected_charts(views)
    assert set(built) == set(expected)
    for chart_id, traces in expected.items():
        assert drawn(built[chart_id].figure) == traces, chart_id


def test_empty_periods_are_zeros_and_missing_latency_is_a_gap(views: dict[str, dict[str, Any]]) -> None:
    # Given a range whose middle day (Jan 6) has no traffic
    built = charts(views)
    utterances = {name: values for name, _, values in drawn(built["utterances-over-time"].figure)}
    latency = {name: values for name, _, values in drawn(built["utterances-latency"].figure)}
    # Then that day is drawn as zeros, and its latency (null in the API: no utterances) as a gap
    assert utterances["Utterances"] == [4, 0, 2]
    assert utterances["Failed"] == [0, 0, 1]
    assert latency["p50"][1] is None and None not in (latency["p50"][0], latency["p50"][2])


def test_an_end_type_has_the_same_colour_in_every_chart(views: dict[str, dict[str, Any]]) -> None:
    # Given the sessions charts
    built = charts(views)
    by_type = {t["name"]: t["marker"]["color"] for t in built["sessions-by-end-type"].figure["data"]}
    successful = {t["name"]: t["marker"]["color"] for t in built["sessions-successful"].figure["data"]}
    share = built["sessions-share-by-end-type"].figure["data"][0]
    # Then each end type is one colour wherever it appears, and no two end types share one
    assert dict(zip(share["y"], share["marker"]["color"], strict=True)) == {
        label: by_type[label] for label, _ in END_TYPES
    }
    assert (
        successful["Skill ended"] == by_type["Skill ended"]
        and successful["User ended"] == by_type["User ended"]
    )
    assert len({by_type[label] for label, _ in END_TYPES}) == len(END_TYPES)


def test_series_charts_have_a_dated_axis_with_units_and_exact_hover_values(
    views: dict[str, dict[str, Any]],
) -> None:
    # Given a series chart and a category chart
    built = charts(views)
    series = built["sessions-by-end-type"].figure
    shares = built["intents-shares"].figure
    # Then the x axis is UTC dates, the y axis says its unit, hover shows each trace's exact value
    assert series["layout"]["xaxis"]["type"] == "date"
    assert series["layout"]["xaxis"]["title"]["text"] == "Day (UTC)"
    assert series["layout"]["yaxis"]["title"]["text"] == "Sessions"
    assert series["layout"]["hovermode"] == "x unified"
    assert all(t["yhoverformat"] == ",d" for t in series["data"])
    assert built["sessions-successful"].figure["layout"]["yaxis"]["dtick"] == 1  # small counts: whole ticks
    assert shares["layout"]["xaxis"]["tickformat"] == ".0%"
    assert all("%{x:.2%}" in t["texttemplate"] for t in shares["data"])  # labels on the bars


def test_values_table_lists_every_point_of_a_chart(views: dict[str, dict[str, Any]]) -> None:
    # Given the customers chart
    chart = charts(views)["customers-over-time"]
    # When its values table is built
    columns, rows = chart_values(chart)
    # Then it has one row per day, zeros included, and one column per trace
    assert columns == ("Time (UTC)", "Unique customers", "New customers", "Enablements")
    assert [row[0] for row in rows] == [
        "Mon 2026-01-05 00:00 UTC", "Tue 2026-01-06 00:00 UTC", "Wed 2026-01-07 00:00 UTC",
    ]  # fmt: skip
    assert [row[1] for row in rows] == ["2", "0", "1"]


# --- the page ------------------------------------------------------------------------------------------


def test_page_has_five_accessible_tabs_each_controlling_its_panel(page: str) -> None:
    # Given the rendered page
    parsed = Page(page)
    tabs = parsed.having(role="tab")
    # Then there are five tabs in the console's order, the first selected, each naming an existing panel
    assert [t["data-view"] for t in tabs] == [
        "overview", "customers", "sessions", "utterances", "intents", "friction", "slots",
    ]  # fmt: skip
    assert [t["aria-selected"] for t in tabs] == ["true"] + ["false"] * 6
    panels = {p["id"]: p for p in parsed.having(role="tabpanel")}
    for tab in tabs:
        panel = panels[str(tab["aria-controls"])]
        assert panel["aria-labelledby"] == tab["id"]
        assert ("hidden" in panel) == (tab["aria-selected"] == "false")
    assert parsed.having(role="tablist")[0]["aria-label"]


def test_header_names_skill_range_period_and_stage(page: str) -> None:
    header = page.split("<header", 1)[1].split("</header>", 1)[0]
    assert SKILL in header
    assert "2026-01-05 00:00 to 2026-01-08 00:00 UTC" in header
    assert "Daily (P1D)" in header and ">live<" in header and "All locales" in header


def test_overview_cards_show_total_peak_hour_and_hourly_average(
    views: dict[str, dict[str, Any]], page: str
) -> None:
    # Given the overview view and the page
    overview = page.split('id="panel-overview"', 1)[1].split("</section>", 1)[0]
    utterances = views["overview"]["utterances"]
    # Then the utterances card shows the view's total, peak hour and average per hour
    assert f'<div class="value">{utterances["total"]}</div>' in overview
    assert f"Peak hour: {utterances['peakHour']['value']} at Mon 2026-01-05 19:00 UTC" in overview
    # rounded as everywhere a person reads it (alexa_skill_metrics.formatting)
    assert f"Average per hour: {formatting.ratio(utterances['averagePerHour'])}" in overview


def test_page_needs_no_network(page: str) -> None:
    # Given the rendered page
    parsed = Page(page)
    # Then nothing is loaded from elsewhere: no external scripts, styles, fonts, images or frames
    assert not [a for tag, a in parsed.tags if tag in ("script", "img", "iframe") and a.get("src")]
    assert not [a for tag, a in parsed.tags if tag == "link"]
    styles = page.split("<style>", 1)[1].split("</style>", 1)[0]
    assert "@import" not in styles and "url(" not in styles and "@font-face" not in styles
    # And Plotly's own JavaScript is inlined, once
    from plotly.offline import get_plotlyjs  # type: ignore[import-untyped]

    assert page.count(get_plotlyjs()[:2_000]) == 1


def test_figures_are_valid_json_with_every_chart(views: dict[str, dict[str, Any]], page: str) -> None:
    # Given the figures embedded in the page
    raw = page.split('<script type="application/json" id="dashboard-figures">', 1)[1].split("</script>", 1)[0]
    figures = json.loads(raw)
    # Then they are the charts of the tabs, values unchanged, and each has a div to draw into
    assert {cid: drawn(f) for cid, f in figures.items()} == expected_charts(views)
    assert {d["data-figure"] for d in Page(page).having(**{"class": "chart"})} == set(figures)


def test_hostile_names_cannot_break_out_of_the_page(views: dict[str, dict[str, Any]]) -> None:
    # Given an intent name carrying markup (the API validates names; the page must not rely on it)
    hostile = json.loads(json.dumps(views))
    hostile["intents"]["intents"][0]["intent"] = "</script><script>alert(1)</script>"
    # When the page is rendered
    html = render_dashboard(hostile)
    # Then the name appears only escaped: no script element is opened by it
    assert "<script>alert(1)" not in html
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert html.count("<script") == 3  # the figures, Plotly, the page's own script


def test_a_skill_without_data_shows_an_empty_state() -> None:
    # Given views of a skill that recorded nothing in the range
    empty = report([])
    # When the page is rendered
    html = render_dashboard(empty)
    # Then it says so, in a status region, and still draws the range's zeros
    assert Page(html).having(role="status")
    assert "No data for this skill in this range" in html
    zeros = charts(empty)["overview-utterances"].figure["data"][0]["y"]
    assert zeros == [0, 0, 0]
    # And the intents tab explains its missing chart instead of drawing an empty one
    assert "No utterances in this range, so no intents." in html


def test_a_skill_with_data_has_no_empty_state(page: str) -> None:
    assert "No data for this skill in this range" not in page
    assert not Page(page).having(role="status")


def test_write_dashboard_writes_one_utf8_file(views: dict[str, dict[str, Any]], tmp_path: Path) -> None:
    # When the dashboard is written into a folder that does not exist yet
    out = write_dashboard(views, out=tmp_path / "site" / "metrics.html")
    # Then it is that one file, a whole HTML document
    assert out == tmp_path / "site" / "metrics.html"
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    assert [p.name for p in out.parent.iterdir()] == ["metrics.html"]


def test_importing_the_dashboard_loads_no_plotly() -> None:
    # When the package and its layout modules are imported in a fresh interpreter
    code = (
        "import sys, alexa_skill_metrics.dashboard as d, alexa_skill_metrics.dashboard.tabs; "
        "d.collect_views; print(sorted(m for m in sys.modules if m.split('.')[0] in ('plotly', 'boto3')))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    # Then neither Plotly nor boto3 was loaded
    assert loaded.strip() == "[]"


def test_quality_tab_shows_friction_cold_starts_and_endpoint_time(views: dict[str, dict[str, Any]]) -> None:
    # Given the sample: a Stop right after an ordinary prompt, a customer silent at the welcome, a cold
    # start with 600 ms start-up
    (quality,) = [tab for tab in build_tabs(views) if tab.id == "friction"]
    cards = {card.label: card for card in quality.cards}
    friction = views["friction"]["totals"]
    # Then the cards show the friction view's and the utterances view's figures, formatted only
    assert quality.title == "Quality"
    assert (
        cards["Terminations / no response"].value == f"{friction['terminations']} / {friction['noResponse']}"
    )
    assert friction["terminations"] == 0 and friction["noResponse"] >= 1  # silence at the welcome
    # And the Stop after an ordinary prompt is an exit, not friction: the worst question comes first
    assert cards["Exits at a prompt"].value == str(friction["exits"]) == "1"
    exits = next(c.values for c in charts(views).values() if c.id == "quality-exits")
    assert exits is not None and exits.rows[0][:3] == ("RollDiceIntent", "100.00%", "1")
    assert [row[0] for row in exits.rows] == [p["intent"] for p in views["friction"]["exits"]]
    assert cards["Cold-start share"].value == f"{views['utterances']['totals']['coldStartShare']:.2%}"
    endpoint = views["utterances"]["totals"]["endpointMs"]
    assert endpoint["p99"] >= 600.0 and cards["Endpoint time p50"].details[1].startswith("p99: 60")
    # And the prompts table ranks what the API ranked
    table = next(c.values for c in charts(views).values() if c.id == "quality-prompts")
    assert table is not None
    assert [row[0] for row in table.rows] == [p["intent"] for p in views["friction"]["prompts"]]


def test_releases_tab_shows_the_verdict_rates_and_list() -> None:
    # Given the releases view of release 7 all day and release 8 as a failing canary at 10:00 and 11:00
    from alexa_skill_metrics.aggregation.rollup import fold
    from alexa_skill_metrics.reporting.schema import to_json
    from alexa_skill_metrics.reporting.views.releases import ReleasesRequest, releases

    day = 1_767_571_200_000
    events = [
        Event(skill_id=SKILL, request_id=f"r{n}", request_type="IntentRequest", intent="RollDiceIntent",
          timestamp_ms=day + n * 60_000, received_ms=day + n * 60_000, customer=f"c{n % 40}", locale="en-US",
          handler_ms=10.0, release="8" if n % 10 == 0 and 600 <= n < 720 else "7",
          outcome=Outcome.HANDLED if n % 10 == 0 and 600 <= n < 720 else Outcome.RESPONSE)
        for n in range(1440)
    ]  # fmt: skip
    found = [
        (k, r) for k, r in fold(events, exact=True).items() if k.granularity == "PT1H" and k.intent == "*"
    ]
    request = ReleasesRequest.from_params(
        SKILL, {"startTime": "2026-01-05T00:00:00Z", "endTime": "2026-01-06T00:00:00Z"}
    )
    body = to_json(releases(request, found, day, exact=True))
    # When the dashboard lays it out
    (tab,) = [
        tab for tab in build_tabs({**report(sample_events()), "releases": body}) if tab.id == "releases"
    ]
    # Then the cards say the verdict, the chart draws both releases' rates, the tables list both
    assert tab.title == "Releases" and tab.cards[0].label == "8 against 7" and tab.cards[0].value == "worse"
    chart = next(b for b in tab.blocks if isinstance(b, Chart))
    assert [trace["name"] for trace in chart.figure["data"]] == ["Release 7", "Release 8"]
    assert chart.figure["data"][1]["x"][0] == body["comparison"]["failedUtteranceRate"]["candidate"] == 1.0
    listing = next(b for b in tab.blocks if getattr(b, "id", "") == "releases-list")
    assert [row[0] for row in listing.rows] == ["7", "8"]  # type: ignore[union-attr]
    assert "releases" in render_dashboard({**report(sample_events()), "releases": body})


def test_voice_model_tab_ranks_the_worst_slots_as_the_view_does() -> None:
    # Given utterances whose colour slot mostly did not resolve and whose sides slot had no resolution
    at = JAN5 + 10 * 3_600_000
    events = [
        event(n, at + n * 1_000, "IntentRequest", "c1", f"s{n}", at + n * 1_000, intent="RollDiceIntent",
              new_session=True, should_end_session=True, slots=codes, confirmation="d" if n == 0 else None)
        for n, codes in enumerate(["colour:fuuu- sides:fn---", "colour:fuuu- sides:fn---",
                                   "colour:frrr- sides:e---d"])
    ]  # fmt: skip
    views = report(events)
    (tab,) = [t for t in build_tabs(views) if t.id == "slots"]
    cards = {card.label: card for card in tab.cards}
    # Then the cards and the chart show the view's figures, worst slot first
    assert tab.title == "Voice model"
    assert cards["Unresolved rate"].value == "66.67%" and cards["Denied confirmations"].value == "2"
    chart = next(b for b in tab.blocks if isinstance(b, Chart) and b.id == "slots-worst")
    assert drawn(chart.figure) == [("Unresolved rate", ["RollDiceIntent.colour", "RollDiceIntent.sides"],
                                    [0.6667, 0.0])]  # fmt: skip
    assert chart.values is not None and chart.values.rows[0][2] == "3 / 0"  # filled / empty


def test_the_voice_model_tab_lists_dialogs_most_abandoned_first() -> None:
    # Given a session whose game set-up completes in three turns and one left while asked for the players
    a, b = JAN5 + 19 * 3_600_000, JAN5 + 20 * 3_600_000
    game = {"intent": "SetUpGameIntent", "new_session": False, "should_end_session": False}
    events = [
        event(1, a, "IntentRequest", "c1", "s1", a, intent="SetUpGameIntent", new_session=True,
              should_end_session=False, dialog="s e:players"),
        event(2, a + 5_000, "IntentRequest", "c1", "s1", a, **game, previous_ms=a,
              dialog=f"p d 1 e:players {a} SetUpGameIntent"),
        event(3, a + 9_000, "IntentRequest", "c1", "s1", a, **game, previous_ms=a + 5_000,
              dialog=f"c - 2 d {a} SetUpGameIntent"),
        event(4, b, "IntentRequest", "c2", "s2", b, intent="SetUpGameIntent", new_session=True,
              should_end_session=False, dialog="s e:players"),
        event(5, b + 9_000, "SessionEndedRequest", "c2", "s2", b, new_session=False,
              end_reason="USER_INITIATED", previous_ms=b, dialog=f"- - 1 e:players {b} SetUpGameIntent"),
    ]  # fmt: skip
    # When the dashboard is drawn
    page = render_dashboard(report(events))
    # Then the dialogs table has the intent's figures and the question customers left at
    table = re.search(r'id="dialogs-table".*?</table>', page, re.S)
    assert table is not None
    cells = [
        re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", table.group(0), re.S)
    ]
    assert "SetUpGameIntent" in table.group(0)  # the row's heading
    assert cells == ["2", "1", "1", "50.00%", "3 / 3", "asked for players: 1"]


def test_voice_model_tab_lists_unresolved_values_said_by_k_customers_escaped() -> None:
    # Given an opted-in slot's unresolved values: one said by five customers (with markup in it),
    # one by four
    from alexa_skill_metrics.model import encode_values

    at = JAN5 + 10 * 3_600_000
    said = [("<b>glittery</b>", 5), ("zqrare", 4)]
    events = [
        event(n, at + n * 1_000, "IntentRequest", f"c{n}", f"s{n}", at + n * 1_000, intent="RollDiceIntent",
              new_session=True, should_end_session=True, slots="colour:fuuu-",
              uv=encode_values([("colour", v)]))
        for n, (v, customers) in enumerate((v, c) for v, c in said for _ in range(c))
    ]  # fmt: skip
    views = report(events)
    (tab,) = [t for t in build_tabs(views) if t.id == "slots"]
    # Then the table lists the first with its counts, and says one other was withheld
    table = next(b for b in tab.blocks if getattr(b, "id", "") == "unresolved-values")
    assert table.rows == (("RollDiceIntent.colour", "<b>glittery</b>", "5", "5"),)  # type: ignore[union-attr]
    assert "1 other value said by fewer customers not shown" in table.caption  # type: ignore[union-attr]
    # And the page escapes what customers said, and never shows the value below k
    page = render_dashboard(views)
    assert "&lt;b&gt;glittery&lt;/b&gt;" in page and "<b>glittery" not in page and "zqrare" not in page
    # Without values of opted-in slots, a note says how to opt in
    (plain,) = [t for t in build_tabs(report(events[:1])) if t.id == "slots"]
    assert any("slot_values" in getattr(b, "text", "") for b in plain.blocks)
