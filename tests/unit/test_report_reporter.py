"""The Reporter: which rollups each view reads (cost follows buckets), view-level rules, the clock."""

from __future__ import annotations

import pytest

from alexa_skill_metrics.model import RollupKey
from alexa_skill_metrics.reporting.errors import BadRequest
from alexa_skill_metrics.reporting.params import ReportRequest, format_time
from alexa_skill_metrics.reporting.plan import Span
from alexa_skill_metrics.reporting.reporter import Reporter
from tests.unit.test_report_sources import ListSource
from tests.unit.test_views import rollup

SKILL = "amzn1.ask.skill.00000000-0000-4000-8000-00000000d1ce"
JAN5 = 1_767_571_200_000
H = 3_600_000
D = 86_400_000


def request(start: int = JAN5, end: int = JAN5 + 7 * D, **params: str) -> ReportRequest:
    return ReportRequest.from_params(
        SKILL, {"startTime": format_time(start), "endTime": format_time(end), **params}
    )


def asked(name: str, req: ReportRequest) -> list[tuple[Span, bool, str | None]]:
    source = ListSource([])
    Reporter(source, clock=lambda: JAN5).view(name, req)
    return source.asked


@pytest.mark.parametrize(
    ("view", "params", "spans", "intents"),
    [
        ("customers", {"period": "P1D"}, [Span("P1D", JAN5, JAN5 + 7 * D)], False),
        ("sessions", {"period": "PT1H"}, [Span("PT1H", JAN5, JAN5 + 7 * D)], False),
        ("utterances", {"period": "SINGLE"}, [Span("P1D", JAN5, JAN5 + 7 * D)], False),
        ("customers", {"period": "P1D", "intent": "RollDiceIntent"}, [Span("P1D", JAN5, JAN5 + 7 * D)], True),
        # The overview's peak and average are per hour, whatever the period
        ("overview", {"period": "P1D"}, [Span("PT1H", JAN5, JAN5 + 7 * D)], False),
        ("overview", {"period": "PT15M"}, [Span("PT15M", JAN5, JAN5 + 7 * D)], False),
        # The intents view reads the coarsest tiling
        ("intents", {"period": "PT1H"}, [Span("P1D", JAN5, JAN5 + 7 * D)], True),
    ],
)
def test_each_view_reads_the_coarsest_rollups_its_figures_allow(
    view: str, params: dict[str, str], spans: list[Span], intents: bool
) -> None:
    assert asked(view, request(**params)) == [(span, intents, None) for span in spans]


def test_single_over_an_unaligned_range_reads_days_inside_and_finer_buckets_at_the_edges() -> None:
    spans = [
        span
        for span, _, _ in asked(
            "sessions", request(JAN5 + 22 * H + 15 * 60_000, JAN5 + 3 * D + H, period="SINGLE")
        )
    ]
    assert [(s.granularity, s.buckets) for s in spans] == [("PT15M", 3), ("PT1H", 1), ("P1D", 2), ("PT1H", 1)]


def test_unknown_view_is_a_400_naming_view() -> None:
    with pytest.raises(BadRequest) as caught:
        Reporter(ListSource([])).view("funnel", request())
    assert caught.value.parameter == "view"


@pytest.mark.parametrize("view", ["overview", "sessions", "intents"])
def test_views_with_session_or_all_intent_figures_refuse_an_intent_filter(view: str) -> None:
    with pytest.raises(BadRequest) as caught:
        Reporter(ListSource([])).view(view, request(intent="RollDiceIntent"))
    assert caught.value.parameter == "intent"


def test_too_many_points_is_a_400_naming_period_and_the_way_out() -> None:
    with pytest.raises(BadRequest, match="coarser period") as caught:
        Reporter(ListSource([])).view("utterances", request(end=JAN5 + 40 * D, period="PT15M"))
    assert caught.value.parameter == "period"
    # The same range at hourly points is fine, and so is any range for the intents view
    assert (
        len(Reporter(ListSource([])).view("utterances", request(end=JAN5 + 40 * D, period="PT1H"))["series"])
        == 960
    )
    assert (
        Reporter(ListSource([])).view("intents", request(end=JAN5 + 366 * D, period="PT15M"))["intents"] == []
    )


def test_intent_filtered_views_use_only_that_intents_rollups() -> None:
    source = ListSource(
        [
            (RollupKey(SKILL, "live", "P1D", JAN5, "en-US", "RollDiceIntent"), rollup(["a"], utterances=3)),
            (
                RollupKey(SKILL, "live", "P1D", JAN5, "en-US", "AMAZON.StopIntent"),
                rollup(["b"], utterances=1),
            ),
        ]
    )
    body = Reporter(source).view("utterances", request(intent="RollDiceIntent"))
    assert (body["totals"]["utterances"], body["totals"]["uniqueCustomers"], body["intent"]) == (
        3,
        1,
        "RollDiceIntent",
    )


def test_the_report_echoes_the_effective_range_and_its_clock() -> None:
    body = Reporter(ListSource([]), clock=lambda: JAN5 + 61_000).view(
        "customers", request(JAN5 + 90 * 60_000, JAN5 + 5 * H + 1_000, period="PT1H")
    )
    assert (body["startTime"], body["endTime"], body["asOf"]) == (
        "2026-01-05T01:00:00Z", "2026-01-05T06:00:00Z", "2026-01-05T00:01:01Z",
    )  # fmt: skip
    assert len(body["series"]) == 5


def test_build_view_returns_the_dataclass() -> None:
    view = Reporter(ListSource([])).build_view("intents", request())
    assert type(view).__name__ == "IntentsView"
