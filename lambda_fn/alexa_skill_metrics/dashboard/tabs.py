"""The tabs, laid out like the console's metrics pages, from the reporting API's view bodies.

Every number shown is a field of a view, passed through unchanged (only formatted); no figure is
derived here. Each chart's traces name the fields they draw, which the browser test checks.

Example
-------
>>> from alexa_skill_metrics.dashboard.tabs import customers_tab
>>> view = {"view": "customers", "period": "P1D", "startTime": "2026-01-05T00:00:00Z",
...         "endTime": "2026-01-06T00:00:00Z", "asOf": "2026-01-06T00:00:00Z",
...         "totals": {"uniqueCustomers": 2, "newCustomers": 1, "enablements": None},
...         "series": [{"start": "2026-01-05T00:00:00Z", "uniqueCustomers": 2, "newCustomers": 1,
...                     "enablements": None}]}
>>> tab = customers_tab(view)
>>> [card.value for card in tab.cards][:2], [trace["name"] for trace in tab.blocks[0].figure["data"]]
(['2', '1'], ['Unique customers', 'New customers'])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from alexa_skill_metrics.dashboard.charts import (
    COLORS,
    END_TYPES,
    SUCCESSFUL_END_TYPES,
    Trace,
    category_figure,
    per_point,
    percentiles_figure,
    time_figure,
)
from alexa_skill_metrics.dashboard.collect import VIEWS
from alexa_skill_metrics.dashboard.journeys import paths_tab, retention_tab
from alexa_skill_metrics.dashboard.layout import (
    Block,
    Card,
    Chart,
    Note,
    Tab,
    Table,
    View,
    count,
    ms,
    percent,
    ratio,
    tab_for,
    when,
)

END_LABELS = {key: label for key, label, _ in END_TYPES}
LATENCIES = (("p50", "p50"), ("p90", "p90"), ("p99", "p99"))
PERCENTILES_CAPTION = (
    "Each percentile on its own scale (a log scale where its values differ tenfold or more)."
)


def _starts(view: View) -> list[str]:
    return [point["start"] for point in view["series"]]


def _column(view: View, *path: str) -> list[Any]:
    """One field of every point of the series (``path`` into nested objects)."""
    values = []
    for point in view["series"]:
        value: Any = point
        for key in path:
            value = value[key]
        values.append(value)
    return values


def _idle(view: View, key: str) -> list[bool]:
    """The points where ``key`` (a ratio's denominator: sessions or utterances) is 0: no traffic."""
    return [point[key] == 0 for point in view["series"]]


def overview_tab(view: View) -> Tab:
    """Customers, sessions and utterances: total, peak hour and hourly average, and one chart each."""
    period = view["period"]
    figures = (("customers", "Unique customers"), ("sessions", "Sessions"), ("utterances", "Utterances"))
    cards = [_headline(label, view[key]) for key, label in figures]
    charts = [
        Chart(
            id=f"overview-{key}",
            title=f"{label} {per_point(period)}",
            figure=time_figure(
                _starts(view),
                [Trace(label, _column(view, key), COLORS[key])],
                period=period,
                y_title=label,
                height=280,
            ),
        )
        for key, label in figures
    ]
    return tab_for(view, "Overview", cards, charts, columns=3)


def _headline(label: str, headline: Mapping[str, Any]) -> Card:
    peak = headline["peakHour"]
    return Card(
        label,
        count(headline["total"]),
        (
            f"Peak hour: {count(peak['value'])} at {when(peak['start'])}",
            f"Average per hour: {ratio(headline['averagePerHour'])}",
        ),
    )


def customers_tab(view: View) -> Tab:
    """Unique and new customers (and enablements, unless filtered) per point and over the range."""
    period, totals = view["period"], view["totals"]
    cards = [
        Card("Unique customers", count(totals["uniqueCustomers"]), ("Distinct customers over the range",)),
        Card("New customers", count(totals["newCustomers"]), ("First utterance ever in the range",)),
        Card(
            "Enablements",
            count(totals["enablements"]),
            ("Skill enabled events" if totals["enablements"] is not None else "Not available with a filter",),
        ),
    ]
    traces = [
        Trace("Unique customers", _column(view, "uniqueCustomers"), COLORS["customers"]),
        Trace("New customers", _column(view, "newCustomers"), COLORS["newCustomers"]),
    ]
    if totals["enablements"] is not None:
        traces.append(Trace("Enablements", _column(view, "enablements"), COLORS["enablements"], kind="line"))
    chart = Chart(
        id="customers-over-time",
        title=f"Unique and new customers {per_point(period)}",
        figure=time_figure(_starts(view), traces, period=period, y_title="Customers"),
        caption="Unique customers of the range are distinct customers, not the sum of the points.",
        wide=True,
    )
    return tab_for(view, "Customers", cards, [chart])


def sessions_tab(view: View) -> Tab:
    """Sessions by end type over time, successful ones, per customer, shares and drop-off."""
    period, totals, starts = view["period"], view["totals"], _starts(view)
    cards = [
        Card("Sessions started", count(totals["started"]), ("Attributed to the point they started in",)),
        Card("Successful sessions", count(totals["successful"]), ("Ended by the skill or the user",)),
        Card("Sessions per customer", ratio(totals["sessionsPerCustomer"])),
        Card(
            "User did not respond",
            count(totals["noResponse"]),
            (percent(totals["shareByEndType"]["noResponse"]),),
        ),
        Card("Failed (error)", count(totals["failed"]), (percent(totals["shareByEndType"]["failed"]),)),
        Card(
            "Incomplete / active",
            f"{count(totals['incomplete'])} / {count(totals['active'])}",
            ("No end signal within an hour / still open",),
        ),
    ]
    by_end = [Trace(label, _column(view, key), color) for key, label, color in END_TYPES]
    started = Trace("Started", _column(view, "started"), COLORS["total"], kind="overlay")
    successful_ends = [
        trace for trace, (key, _, _) in zip(by_end, END_TYPES, strict=True) if key in SUCCESSFUL_END_TYPES
    ]
    blocks: list[Block] = [
        Chart(
            id="sessions-by-end-type",
            title=f"Sessions {per_point(period)} by end type",
            figure=time_figure(starts, [*by_end, started], period=period, y_title="Sessions", stacked=True),
            caption="Stacked by how each session ended; Started (dotted) is all sessions started.",
            wide=True,
        ),
        Chart(
            id="sessions-successful",
            title=f"Successful sessions {per_point(period)}",
            figure=time_figure(
                starts,
                [
                    *successful_ends,
                    Trace("Successful", _column(view, "successful"), COLORS["total"], kind="overlay"),
                ],
                period=period,
                y_title="Sessions",
                stacked=True,
            ),
        ),
        Chart(
            id="sessions-per-customer",
            title=f"Sessions per customer {per_point(period)}",
            figure=time_figure(
                starts,
                [
                    Trace(
                        "Sessions per customer",
                        _column(view, "sessionsPerCustomer"),
                        COLORS["perCustomer"],
                        "line",
                    )
                ],
                period=period,
                y_title="Sessions per customer",
                kind="ratio",
                idle=_idle(view, "started"),
            ),
        ),
        Chart(
            id="sessions-share-by-end-type",
            index_label="End type",
            title="Share of sessions by end type",
            figure=category_figure(
                [label for _, label, _ in END_TYPES],
                [Trace("Share", [totals["shareByEndType"][key] for key, _, _ in END_TYPES], COLORS["share"])],
                x_title="Share of sessions started",
                kind="percent",
                colors=[color for _, _, color in END_TYPES],
            ),
            kind="percent",
        ),
        *_drop_off(view["dropOff"]),
    ]
    return tab_for(view, "Sessions", cards, blocks)


def _drop_off(rows: Sequence[Mapping[str, Any]]) -> list[Block]:
    title = "Drop-off by last intent"
    if not rows:
        return [Note(title, "No session ended without a response, by the user or by an error in this range.")]
    intents = [row["lastIntent"] for row in rows]
    table = Table(
        id="sessions-drop-off-table",
        title=title,
        columns=("Last intent", "Sessions", "Share"),
        rows=tuple((row["lastIntent"], count(row["sessions"]), percent(row["share"])) for row in rows),
        numeric=(False, True, True),
    )
    return [
        Chart(
            id="sessions-drop-off",
            index_label="Last intent",
            title=title,
            figure=category_figure(
                intents,
                [Trace("Sessions", [row["sessions"] for row in rows], COLORS["notResponded"])],
                x_title="Sessions that ended after it",
                labels=[f"{count(row['sessions'])} ({percent(row['share'])})" for row in rows],
            ),
            caption="Sessions that ended without a response, by the user or by an error, by the last intent "
            "answered; in brackets, the share of all such sessions.",
            values=table,
        )
    ]


def utterances_tab(view: View) -> Tab:
    """Utterances over time, per customer and session, responses, and handler latency percentiles."""
    period, totals, starts = view["period"], view["totals"], _starts(view)
    latency = totals["latencyMs"]
    cards = [
        Card(
            "Utterances",
            count(totals["utterances"]),
            (f"Unique customers: {count(totals['uniqueCustomers'])}",),
        ),
        Card("Failed utterances", count(totals["failed"]), (f"Successful: {count(totals['successful'])}",)),
        Card("Per customer", ratio(totals["perCustomer"]), (f"Per session: {ratio(totals['perSession'])}",)),
        Card(
            "Responded",
            count(totals["responded"]),
            (f"Not responded: {count(totals['notResponded'])}", f"Prompts: {count(totals['prompts'])}"),
        ),
        Card(
            "Handler latency p50",
            ms(latency["p50"]),
            (f"p90: {ms(latency['p90'])}", f"p99: {ms(latency['p99'])}"),
        ),
    ]
    blocks: list[Block] = [
        Chart(
            id="utterances-over-time",
            title=f"Utterances {per_point(period)}",
            figure=time_figure(
                starts,
                [
                    Trace("Successful", _column(view, "successful"), COLORS["successful"]),
                    Trace("Failed", _column(view, "failed"), COLORS["failed"]),
                    Trace("Utterances", _column(view, "utterances"), COLORS["total"], kind="overlay"),
                ],
                period=period,
                y_title="Utterances",
                stacked=True,
            ),
            caption="Failed: the skill's dispatch raised, whether or not an exception handler answered.",
            wide=True,
        ),
        Chart(
            id="utterances-per-customer-session",
            title=f"Utterances per customer and per session, {per_point(period)}",
            figure=time_figure(
                starts,
                [
                    Trace("Per customer", _column(view, "perCustomer"), COLORS["perCustomer"], kind="line"),
                    Trace("Per session", _column(view, "perSession"), COLORS["perSession"], kind="line"),
                ],
                period=period,
                y_title="Utterances",
                kind="ratio",
                idle=_idle(view, "utterances"),
            ),
        ),
        Chart(
            id="utterances-responses",
            title=f"Responded vs not responded, {per_point(period)}",
            figure=time_figure(
                starts,
                [
                    Trace("Responded", _column(view, "responded"), COLORS["responded"]),
                    Trace("Not responded", _column(view, "notResponded"), COLORS["notResponded"]),
                    Trace("Prompts", _column(view, "prompts"), COLORS["prompts"], kind="overlay"),
                ],
                period=period,
                y_title="Utterances / sessions",
            ),
            caption="Responded: the customer spoke again in the session. Not responded: sessions that ended "
            "because the customer did not answer a prompt.",
        ),
        Chart(
            id="utterances-latency",
            title=f"Handler latency percentiles {per_point(period)}",
            figure=time_figure(
                starts,
                [
                    Trace(label, _column(view, "latencyMs", key), COLORS[key], kind="line")
                    for key, label in LATENCIES
                ],
                period=period,
                y_title="Handler time (ms)",
                kind="ms",
                idle=_idle(view, "utterances"),
            ),
            caption="Gaps (No traffic) are points without utterances, which have no latency.",
            kind="ms",
            wide=True,
        ),
    ]
    return tab_for(view, "Utterances", cards, blocks)


def intents_tab(view: View) -> Tab:
    """Per intent: customers, utterances, failures, shares and latency, as charts and a table."""
    totals, rows = view["totals"], view["intents"]
    cards = [
        Card("Utterances", count(totals["utterances"])),
        Card("Failed utterances", count(totals["failed"])),
        Card("Unique customers", count(totals["uniqueCustomers"])),
        Card("Fallback rate", percent(view["fallbackRate"]), ("AMAZON.FallbackIntent share of utterances",)),
    ]
    if not rows:
        return tab_for(
            view, "Intents", cards, [Note("Intents", "No utterances in this range, so no intents.")]
        )
    names = [row["intent"] for row in rows]
    blocks: list[Block] = [
        Chart(
            id="intents-counts",
            index_label="Intent",
            title="Customers, utterances and failed utterances by intent",
            figure=category_figure(
                names,
                [
                    Trace("Customers", [row["uniqueCustomers"] for row in rows], COLORS["customers"]),
                    Trace("Utterances", [row["utterances"] for row in rows], COLORS["utterances"]),
                    Trace("Failed utterances", [row["failed"] for row in rows], COLORS["failed"]),
                ],
                x_title="Count over the range",
            ),
            wide=True,
        ),
        Chart(
            id="intents-shares",
            index_label="Intent",
            title="Share of utterances and of failed utterances",
            figure=category_figure(
                names,
                [
                    Trace("Share", [row["share"] for row in rows], COLORS["share"]),
                    Trace("Failed share", [row["failedShare"] for row in rows], COLORS["failedShare"]),
                ],
                x_title="Share over the range",
                kind="percent",
            ),
            kind="percent",
        ),
        Chart(
            id="intents-latency",
            index_label="Intent",
            title="Handler latency by intent",
            figure=percentiles_figure(
                names,
                [
                    Trace(label, [row["latencyMs"][key] for row in rows], COLORS[key])
                    for key, label in LATENCIES
                ],
                x_title="Handler time (ms)",
            ),
            caption=PERCENTILES_CAPTION,
            kind="ms",
            wide=True,
        ),
        Table(
            id="intents-table",
            title="Intents",
            columns=(
                "Intent",
                "Customers",
                "Utterances",
                "Failed",
                "Failure rate",
                "Share",
                "Failed share",
                "p50",
                "p90",
                "p99",
            ),
            rows=tuple(
                (
                    row["intent"],
                    count(row["uniqueCustomers"]),
                    count(row["utterances"]),
                    count(row["failed"]),
                    percent(row["failureRate"]),
                    percent(row["share"]),
                    percent(row["failedShare"]),
                    *(ms(row["latencyMs"][key]) for key, _ in LATENCIES),
                )
                for row in rows
            ),
            numeric=(False, *([True] * 9)),
            caption="Most utterances first. Failure rate: its failed utterances / its utterances. "
            "Latency is the handler time of the intent's utterances.",
        ),
    ]
    return tab_for(view, "Intents", cards, blocks)


def quality_tab(views: Mapping[str, View]) -> Tab:
    """Friction rate over time, the prompts where sessions are lost, the questions customers walk away
    from (exit rate by prompt, worst first), cold-start share and endpoint time.

    Drawn from three views: friction (its own), utterances (endpoint time and cold starts per
    point) and intents (endpoint time per intent).
    """
    friction, utterances, intents = views["friction"], views["utterances"], views["intents"]
    period, totals, starts = friction["period"], friction["totals"], _starts(friction)
    timing = utterances["totals"]
    endpoint_ms = timing["endpointMs"]
    cards = [
        Card(
            "Friction rate",
            percent(totals["frictionRate"]),
            (f"{count(totals['frictionEvents'])} friction events, {count(totals['utterances'])} utterances",),
        ),
        Card(
            "Unhandled utterances",
            count(totals["unhandled"]),
            (percent(totals["quality"]["unhandledRequestRate"]), "AMAZON.FallbackIntent or failed"),
        ),
        Card(
            "Terminations / no response",
            f"{count(totals['terminations'])} / {count(totals['noResponse'])}",
            ("Left or went silent at the welcome or after an unhandled reply",),
        ),
        Card(
            "Exits at a prompt",
            count(totals["exits"]),
            ("Left at any other prompt: not friction",),
        ),
        Card(
            "Retries after unhandled",
            count(totals["retries"]),
            (f"{percent(totals['retryShare'])} of unhandled utterances",),
        ),
        Card(
            "Cold-start share",
            percent(timing["coldStartShare"]),
            (f"Cold starts: {count(timing['coldStarts'])}",),
        ),
        Card(
            "Endpoint time p50",
            ms(endpoint_ms["p50"]),
            (f"p90: {ms(endpoint_ms['p90'])}", f"p99: {ms(endpoint_ms['p99'])}"),
        ),
    ]
    blocks: list[Block] = [
        Chart(
            id="quality-friction-rate",
            title=f"Friction rate {per_point(period)}",
            figure=time_figure(
                starts,
                [Trace("Friction rate", _column(friction, "frictionRate"), COLORS["friction"], kind="line")],
                period=period,
                y_title="Friction events / utterances",
                kind="percent",
                idle=_idle(friction, "utterances"),
            ),
            caption="(Unhandled utterances + terminations + sessions that ended without a response) / "
            "utterances. No-response ends count where their session started.",
            kind="percent",
        ),
        Chart(
            id="quality-friction-events",
            title=f"Friction events {per_point(period)}",
            figure=time_figure(
                starts,
                [
                    Trace("Unhandled", _column(friction, "unhandled"), COLORS["unhandled"]),
                    Trace("Terminations", _column(friction, "terminations"), COLORS["terminations"]),
                    Trace("No response", _column(friction, "noResponse"), COLORS["notResponded"]),
                    Trace("Retries", _column(friction, "retries"), COLORS["total"], kind="overlay"),
                ],
                period=period,
                y_title="Events",
                stacked=True,
            ),
            caption="Stacked friction events; Retries (dotted): utterances right after an unhandled one.",
        ),
        *_prompts(friction["prompts"]),
        *_exits(friction["exits"]),
        Chart(
            id="quality-endpoint",
            title=f"Endpoint time percentiles {per_point(period)}",
            figure=time_figure(
                _starts(utterances),
                [
                    Trace(label, _column(utterances, "endpointMs", key), COLORS[key], kind="line")
                    for key, label in LATENCIES
                ],
                period=utterances["period"],
                y_title="Endpoint time (ms)",
                kind="ms",
                idle=_idle(utterances, "utterances"),
            ),
            caption="Handler time plus container start-up on cold starts. Gaps (No traffic): points without "
            "utterances.",
            kind="ms",
        ),
        Chart(
            id="quality-cold-starts",
            title=f"Cold-start share {per_point(period)}",
            figure=time_figure(
                _starts(utterances),
                [
                    Trace(
                        "Cold-start share",
                        _column(utterances, "coldStartShare"),
                        COLORS["coldStarts"],
                        kind="line",
                    )
                ],
                period=utterances["period"],
                y_title="Share of utterances",
                kind="percent",
                idle=_idle(utterances, "utterances"),
            ),
            caption="Utterances that were the first request of a skill container.",
            kind="percent",
        ),
    ]
    rows = intents["intents"]
    if rows:
        blocks.append(
            Chart(
                id="quality-endpoint-by-intent",
                index_label="Intent",
                title="Endpoint time by intent",
                figure=percentiles_figure(
                    [row["intent"] for row in rows],
                    [
                        Trace(label, [row["endpointMs"][key] for row in rows], COLORS[key])
                        for key, label in LATENCIES
                    ],
                    x_title="Endpoint time (ms)",
                ),
                caption=PERCENTILES_CAPTION,
                kind="ms",
                wide=True,
            )
        )
    return tab_for(friction, "Quality", cards, blocks)


def _prompts(rows: Sequence[Mapping[str, Any]]) -> list[Block]:
    title = "Prompts where sessions are lost"
    if not rows:
        return [Note(title, "No friction in this range: nothing to rank.")]
    table = Table(
        id="quality-prompts-table",
        title=title,
        columns=(
            "Prompt (intent before)",
            "Sessions lost",
            "Terminations",
            "No response",
            "Unhandled after",
            "Share",
        ),
        rows=tuple(
            (
                row["intent"],
                count(row["lost"]),
                count(row["terminations"]),
                count(row["noResponse"]),
                count(row["unhandled"]),
                percent(row["share"]),
            )
            for row in rows
        ),
        numeric=(False, True, True, True, True, True),
    )
    return [
        Chart(
            id="quality-prompts",
            index_label="Prompt",
            title=title,
            figure=category_figure(
                [row["intent"] for row in rows],
                [
                    Trace("Sessions lost", [row["lost"] for row in rows], COLORS["terminations"]),
                    Trace("Unhandled after", [row["unhandled"] for row in rows], COLORS["unhandled"]),
                ],
                x_title="Friction events right after it",
            ),
            # "lost" counts sessions ended at the prompt (one customer can lose several), never customers.
            caption="By the intent the skill answered just before: sessions lost (terminations and "
            "no-response ends; a customer can lose several) first; 'start' is before any answer.",
            values=table,
            wide=True,
        )
    ]


def _exits(rows: Sequence[Mapping[str, Any]]) -> list[Block]:
    """The questions customers walk away from: exit rate by prompt intent, worst first (the view's order)."""
    title = "Questions customers walk away from"
    if not rows:
        return [Note(title, "No prompt kept a session open in this range: no exit rate to show.")]
    table = Table(
        id="quality-exits-table",
        title=title,
        columns=("Prompt (intent)", "Exit rate", "Exits", "Stop / cancel / left", "No response", "Prompts"),
        rows=tuple(
            (
                row["intent"],
                percent(row["exitRate"]),
                count(row["exits"]),
                count(row["left"]),
                count(row["noResponse"]),
                count(row["prompts"]),
            )
            for row in rows
        ),
        numeric=(False, True, True, True, True, True),
    )
    return [
        Chart(
            id="quality-exits",
            index_label="Prompt",
            title=title,
            figure=category_figure(
                [row["intent"] for row in rows],
                [Trace("Exit rate", [row["exitRate"] for row in rows], COLORS["terminations"])],
                x_title="Exits / prompts",
                kind="percent",
                labels=[
                    f"{percent(r['exitRate'])} ({count(r['exits'])} of {count(r['prompts'])})" for r in rows
                ],
            ),
            caption="Exit rate = customers leaving (stop, cancel, leaving, or silence) right after the "
            "intent's reply kept the session open / its replies that did. Not friction: leaving at the "
            "welcome or after an unhandled reply counts above, as terminations.",
            kind="percent",
            values=table,
            wide=True,
        )
    ]


def voice_model_tab(view: View) -> Tab:
    """Slots worst first (unresolved rate), slot figures over time, and denied confirmations."""
    totals, rows, period = view["totals"], view["slots"], view["period"]
    denied = sum(row["denied"] for row in view["confirmations"])
    cards = [
        Card("Filled slots", count(totals["filled"]), (f"Empty: {count(totals['empty'])}",)),
        Card(
            "Unresolved rate",
            percent(totals["unresolvedRate"]),
            (f"Unresolved: {count(totals['unresolved'])}, errored: {count(totals['errored'])}",),
        ),
        Card("Denied confirmations", count(denied + totals["denied"]), ("Intents and slots",)),
    ]
    if not rows:
        note = Note("Slots", "No intent with slots in this range.")
        return tab_for(view, "Voice model", cards, [note, *_dialog_blocks(view["dialogs"])])
    names = [f"{row['intent']}.{row['slot']}" for row in rows]
    table = Table(
        id="slots-table",
        title="Slots, worst first",
        columns=(
            "Intent.slot",
            "Unresolved rate",
            "Filled / empty",
            "Resolved",
            "Unresolved / errored",
            "No resolution",
            "Dynamic unresolved",
            "Confirmed / denied",
        ),
        rows=tuple(
            (
                name,
                percent(row["unresolvedRate"]),
                # pairs in one cell: eleven columns do not fit a 1024 px screen
                f"{count(row['filled'])} / {count(row['empty'])}",
                count(row["resolved"]),
                f"{count(row['unresolved'])} / {count(row['errored'])}",
                count(row["noResolution"]),
                count(row["dynamic"]["unresolved"]),
                f"{count(row['confirmed'])} / {count(row['denied'])}",
            )
            for name, row in zip(names, rows, strict=True)
        ),
        numeric=(False, *([True] * 7)),
    )
    blocks: list[Block] = [
        Chart(
            id="slots-worst",
            index_label="Intent.slot",
            title="Slots the voice model does not resolve, worst first",
            figure=category_figure(
                names,
                [Trace("Unresolved rate", [row["unresolvedRate"] for row in rows], COLORS["failed"])],
                x_title="(Unresolved + errored) / filled with a resolution",
                kind="percent",
            ),
            caption="Statuses only, never what customers said. Add the synonyms customers use to the "
            "slot type (static) or to the dynamic entities.",
            kind="percent",
            values=table,
            wide=True,
        ),
        Chart(
            id="slots-over-time",
            title=f"Slot resolutions {per_point(period)}",
            figure=time_figure(
                _starts(view),
                [
                    Trace("Resolved", _column(view, "resolved"), COLORS["successful"]),
                    Trace("Unresolved", _column(view, "unresolved"), COLORS["failed"]),
                    Trace("Errored", _column(view, "errored"), COLORS["notResponded"]),
                ],
                period=period,
                y_title="Filled slots",
                stacked=True,
            ),
            caption="Filled slots with a resolution, by outcome.",
        ),
        *_dialog_blocks(view["dialogs"]),
        unresolved_values_table(view["unresolvedValues"]),
    ]
    return tab_for(view, "Voice model", cards, blocks)


_QUESTIONS = {"elicit_slot": "asked for {slot}", "confirm_slot": "asked to confirm {slot}",
              "confirm_intent": "asked to confirm the intent", "delegated": "Alexa asked (delegated)",
              "none": "no Dialog directive"}  # fmt: skip


def _dialog_blocks(dialogs: dict[str, Any]) -> list[Block]:
    """Dialogs per intent, most abandoned first, with the question customers left at most."""
    if not dialogs["intents"]:
        return [Note("Dialogs", "No dialog (dialogState STARTED) started in this range.")]
    left: dict[str, dict[str, Any]] = {}
    for where in dialogs["abandonedAt"]:  # most dialogs first: the first of an intent is its worst
        left.setdefault(where["intent"], where)

    def worst(intent: str) -> str:
        where = left.get(intent)
        if where is None:
            return "-"
        return f"{_QUESTIONS[where['question']].format(slot=where['slot'])}: {count(where['dialogs'])}"

    def turns(row: dict[str, Any]) -> str:
        p50, p90 = row["turns"]["p50"], row["turns"]["p90"]
        return "-" if p50 is None else f"{p50} / {p90}"

    return [
        Table(
            id="dialogs-table",
            title="Dialogs, most abandoned first",
            columns=(
                "Intent",
                "Started",
                "Completed",
                "Abandoned",
                "Completion rate",
                "Turns p50 / p90",
                "Left most when",
            ),
            rows=tuple(
                (
                    row["intent"],
                    count(row["started"]),
                    count(row["completed"]),
                    count(row["abandoned"]),
                    percent(row["completionRate"]),
                    turns(row),
                    worst(row["intent"]),
                )
                for row in dialogs["intents"]
            ),
            numeric=(False, True, True, True, True, True, False),
            caption="Counted at each dialog's start. Abandoned: the session ended (or had no end for an "
            "hour) before COMPLETED, or another dialog started; the question is the skill's last Dialog "
            "directive in it.",
        )
    ]


def unresolved_values_table(values: dict[str, Any]) -> Table | Note:
    """What customers said that did not resolve, for the opted-in slots: synonyms to add."""
    k = values["minCustomers"]
    withheld = values["withheld"]
    hidden = (
        f" {count(withheld)} other value{'s' if withheld != 1 else ''} said by fewer customers not shown."
        if withheld
        else ""
    )
    if not values["values"]:
        return Note(
            "Unresolved values",
            f"No value of an opted-in slot was said by {k} or more distinct customers in this range.{hidden} "
            "Values are recorded only for the slots a skill opts in (SkillMetrics(slot_values=...)).",
        )
    return Table(
        id="unresolved-values",
        title=f"Unresolved values said by {k} or more customers",
        columns=("Intent.slot", "Value (case-folded)", "Customers", "Utterances"),
        rows=tuple(
            (f"{v['intent']}.{v['slot']}", v["value"], count(v["customers"]), count(v["utterances"]))
            for v in values["values"]
        ),
        numeric=(False, False, True, True),
        caption="What customers said for the opted-in slots that matched no value, synonym or dynamic "
        f"entity: add the ones that mean a value as synonyms.{hidden}",
    )


BUILDERS = {
    "overview": overview_tab,
    "customers": customers_tab,
    "sessions": sessions_tab,
    "utterances": utterances_tab,
    "intents": intents_tab,
    "slots": voice_model_tab,
}
# Tabs drawn from several views: built from all of them.
MULTI_VIEW_BUILDERS = {"friction": quality_tab}


def build_tabs(views: Mapping[str, View]) -> list[Tab]:
    """Every tab, in the console's order and then ours; Retention and Paths when their views are given."""
    from alexa_skill_metrics.dashboard.releases import releases_tab

    extra = {"retention": retention_tab, "paths": paths_tab, "releases": releases_tab}
    return [
        MULTI_VIEW_BUILDERS[name](views) if name in MULTI_VIEW_BUILDERS else BUILDERS[name](views[name])
        for name in VIEWS
    ] + [build(views[name]) for name, build in extra.items() if name in views]


def has_data(views: Mapping[str, View]) -> bool:
    """Whether the range holds any utterance or session (else the page shows its empty state)."""
    overview = views["overview"]
    return bool(
        overview["utterances"]["total"] or overview["sessions"]["total"] or views["intents"]["intents"]
    )
