"""The pure fold from events to rollups: every rule of METRICS.md that turns requests into numbers.

The aggregator (stream consumer) and the recomputation from raw events both use these functions,
so the two can only differ in what they are fed, never in how they count.

What one event contributes, at every granularity (``PT15M``, ``PT1H``, ``P1D``), under its stage
and its locale (``NO_LOCALE`` when it has none):

* the ``ALL_INTENTS`` rollup of the event's own bucket: ``requests_by_type``; for an utterance
  also utterances, failed utterances, prompts, responded, tracked utterances, the customer and
  the handler latency, which the intent's own rollup of that bucket gets as well; enablements
  for ``AlexaSkillEvent.SkillEnabled``;
* the ``ALL_INTENTS`` rollup of the bucket in which its (tracked) session **started**: the
  session figures. A start opens the session (``open_sessions`` at the minute of the start) or
  ends it at once when the skill ended it; each later answered utterance moves the open count
  from the minute of the previous answered utterance to its own, or ends the session; a
  SessionEndedRequest takes it out of ``open_sessions`` and counts the end and the drop-off.

Friction (METRICS.md): an unhandled utterance counts in its own bucket's rollups (all intents and
its intent); in the ``ALL_INTENTS`` rollup of its own bucket also a termination (leaving at the
welcome or right after an unhandled reply) or an exit at a prompt (leaving at any other prompt),
a retry, and each reply that kept the session open (``kept_open``, the exit rate's denominator);
each friction event and exit under the intent answered before it (``Event.prompt_before``). A
``no_response`` end counts under its last intent with the session's end, in the start's bucket,
as friction or as an exit by the same rule.
Endpoint time: a cold start gives a rollup its own ``endpoint`` summary, begun as a copy of the
handler latency so far (until then the two are the same).

A reply that never went out (an exception escaped the skill) changes no session figure: Alexa
follows it with a SessionEndedRequest of reason ``ERROR``, which carries the session's stamp
and ends the session as ``failed``. The one exception is a session whose *first* utterance
escaped: Alexa's SessionEndedRequest then carries no stamp (no reply ever set one), so the
session's ``failed`` end is counted with its start, and its drop-off goes to ``unknown``.

New customers are not a property of one event but of a customer's history: a customer is new
in the bucket, locale and intent of their first utterance ever recorded (ordered by
``(timestamp_ms, request_id)``). ``fold`` decides it over the events it is given; the aggregator
keeps one first-seen item per customer for it.

Example
-------
>>> from alexa_skill_metrics.model import Event
>>> launch = Event(skill_id="amzn1.ask.skill.1", request_id="r1", request_type="LaunchRequest",
...                timestamp_ms=1_767_607_200_000, received_ms=1_767_607_200_000, customer="c1",
...                session_id="s1", new_session=True, should_end_session=False, locale="en-US",
...                session_start_ms=1_767_607_200_000, handler_ms=12.5)
>>> rollups = fold([launch], exact=True)
>>> hour = rollups[RollupKey("amzn1.ask.skill.1", "live", "PT1H", 1_767_607_200_000, "en-US")]
>>> hour.utterances, hour.sessions_started, hour.new_customers, hour.customers.count()
(1, 1, 1, 1)
>>> hour.open_sessions
{29460120: 1}
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import TypeVar

from alexa_skill_metrics.aggregation.retention import (
    DAY_MS,
    RETENTION_GRANULARITY,
    contributions,
    day_of,
)
from alexa_skill_metrics.model import (
    ALL_INTENTS,
    CONFIRMED,
    DENIED,
    NO_LOCALE,
    NO_RELEASE,
    SESSION_ENDED,
    SKILL_ENABLED,
    EndType,
    Event,
    FirstUtterance,
    Outcome,
    Rollup,
    RollupKey,
    SlotStatus,
    dialog_open_key,
    slot_count_key,
)
from alexa_skill_metrics.pathtree import ROOT, START, child_of, edge_key, exit_label, is_exit, transition_key
from alexa_skill_metrics.periods import GRANULARITIES, MINUTE_MS, floor_ms

__all__ = [
    "GRANULARITIES",
    "FirstUtterance",
    "apply_event",
    "fold",
    "new_customer_keys",
    "new_rollup",
    "retention_key",
    "rollup_keys",
]

PATH_GRANULARITY = "P1D"  # paths are kept per day: their maps would make every finer rollup larger
UNKNOWN_INTENT = "unknown"  # drop-off of a session whose last answered intent is not known
_ANSWERED = (Outcome.RESPONSE, Outcome.HANDLED)  # outcomes whose reply reached Alexa
K = TypeVar("K", str, int)


def new_rollup(*, exact: bool = False) -> Rollup:
    """An empty rollup with sketches, or with the exact reference summaries when ``exact``."""
    from alexa_skill_metrics import sketches

    if exact:
        return Rollup(customers=sketches.ExactCustomers(), latency=sketches.ExactLatency())
    return Rollup(customers=sketches.CustomerSketch(), latency=sketches.LatencySketch())


def rollup_keys(event: Event, granularities: Sequence[str] = GRANULARITIES) -> list[RollupKey]:
    """Every rollup ``event`` contributes to (new-customer counts aside), without duplicates.

    Request figures go to the release that served the event, session figures to the release
    that started its session (``Event.session_release_key``): both are the same but for a
    session that two releases served (a weighted alias).
    """
    locale = event.locale or NO_LOCALE
    intent = event.intent_key
    release, session_release = event.release_key, event.session_release_key
    session_bucket_of = event.session_start_ms if _changes_session(event) else None
    keys: list[RollupKey] = []
    dialogs = {(figure[0], figure[1]) for figure in dialog_contributions(event)}
    for granularity in granularities:
        bucket = floor_ms(event.timestamp_ms, granularity)
        keys.append(RollupKey(event.skill_id, event.stage, granularity, bucket, locale, ALL_INTENTS, release))
        if intent is not None:
            keys.append(RollupKey(event.skill_id, event.stage, granularity, bucket, locale, intent, release))
        if session_bucket_of is not None:
            start = floor_ms(session_bucket_of, granularity)
            if start != bucket or session_release != release:
                keys.append(
                    RollupKey(
                        event.skill_id, event.stage, granularity, start, locale, ALL_INTENTS, session_release
                    )
                )
        for dialog_intent, at_ms in dialogs:
            key = RollupKey(
                event.skill_id, event.stage, granularity, floor_ms(at_ms, granularity), locale,
                dialog_intent, session_release,
            )  # fmt: skip
            if key not in keys:
                keys.append(key)
    return keys


def apply_event(rollup: Rollup, key: RollupKey, event: Event) -> None:
    """Add what ``event`` contributes to the rollup of ``key`` (one of ``rollup_keys(event)``)."""
    locale = event.locale or NO_LOCALE
    if key.locale != locale or key.skill_id != event.skill_id or key.stage != event.stage:
        return
    own_bucket = (
        key.bucket_ms == floor_ms(event.timestamp_ms, key.granularity) and key.release == event.release_key
    )
    if key.intent == ALL_INTENTS:
        if own_bucket:
            _add_request(rollup, event)
        start = event.session_start_ms
        in_start_bucket = (
            start is not None
            and key.bucket_ms == floor_ms(start, key.granularity)
            and key.release == event.session_release_key
        )
        if in_start_bucket and _changes_session(event):
            _add_session(rollup, event)
            if key.granularity == PATH_GRANULARITY:
                _add_path(rollup, event)
    else:
        if own_bucket and key.intent == event.intent_key:
            _add_utterance(rollup, event)
            _add_slots(rollup, event)
        if event.dialog is not None and key.release == event.session_release_key:
            for intent, at_ms, name, figure, delta in dialog_contributions(event):
                if intent == key.intent and floor_ms(at_ms, key.granularity) == key.bucket_ms:
                    _add_dialog(rollup, name, figure, delta)


def new_customer_keys(
    skill_id: str, stage: str, first: FirstUtterance, granularities: Sequence[str] = GRANULARITIES
) -> list[RollupKey]:
    """The rollups counting a customer whose first utterance is ``first`` as new."""
    keys: list[RollupKey] = []
    for granularity in granularities:
        bucket = floor_ms(first.timestamp_ms, granularity)
        keys.append(RollupKey(skill_id, stage, granularity, bucket, first.locale, ALL_INTENTS, first.release))
        keys.append(
            RollupKey(skill_id, stage, granularity, bucket, first.locale, first.intent, first.release)
        )
    return keys


def fold(
    events: Iterable[Event], *, exact: bool = False, granularities: Sequence[str] = GRANULARITIES
) -> dict[RollupKey, Rollup]:
    """All rollups of ``events``, as the aggregator would store them after processing exactly these.

    A customer is new in the bucket of their earliest utterance among ``events``: right for the
    recomputation path, which folds every event from the beginning of the recording.
    """
    rollups: dict[RollupKey, Rollup] = {}
    firsts: dict[tuple[str, str, str], FirstUtterance] = {}
    events = list(events)
    for event in events:
        for key in rollup_keys(event, granularities):
            rollup = rollups.get(key)
            if rollup is None:
                rollup = rollups[key] = new_rollup(exact=exact)
            apply_event(rollup, key, event)
        candidate = FirstUtterance.of(event)
        if candidate is not None and event.customer is not None:
            customer = (event.skill_id, event.stage, event.customer)
            known = firsts.get(customer)
            if known is None or candidate.order < known.order:
                firsts[customer] = candidate
    for (skill_id, stage, _), first in firsts.items():
        for key in new_customer_keys(skill_id, stage, first, granularities):
            rollup = rollups.get(key)
            if rollup is None:
                rollup = rollups[key] = new_rollup(exact=exact)
            rollup.new_customers += 1
    if RETENTION_GRANULARITY in granularities:
        for (skill_id, stage, _), days in active_days(events).items():
            for (day, counter), count in contributions(days).items():
                key = retention_key(skill_id, stage, day, *days[day])
                rollup = rollups.get(key)
                if rollup is None:
                    rollup = rollups[key] = new_rollup(exact=exact)
                _bump(rollup.retention, counter, count)
    return rollups


def active_days(events: Iterable[Event]) -> dict[tuple[str, str, str], dict[int, tuple[str, str]]]:
    """Each customer's active days among ``events``, with the locale and release of the day's first utterance.

    That locale's day rollup is where a clean pass puts the day's retention counters
    (``retention_key``).
    """
    earliest: dict[tuple[str, str, str], dict[int, FirstUtterance]] = defaultdict(dict)
    for event in events:
        candidate = FirstUtterance.of(event)
        if candidate is None or event.customer is None:
            continue
        days = earliest[(event.skill_id, event.stage, event.customer)]
        day = day_of(event.timestamp_ms)
        if day not in days or candidate.order < days[day].order:
            days[day] = candidate
    return {
        who: {day: (first.locale, first.release) for day, first in days.items()}
        for who, days in earliest.items()
    }


def retention_key(skill_id: str, stage: str, day: int, locale: str, release: str = NO_RELEASE) -> RollupKey:
    """The day rollup that takes retention counters of ``day`` brought by an utterance of ``locale``.

    Cohorts are not per locale: a report adds up the counters of every locale's day rollup. They
    go to the locale of the utterance that brought the customer's day (the first of that day, in
    a clean pass), whose all-intents day rollup the aggregator writes in the same batch anyway:
    a rollup of its own would cost a write per batch. The same holds for its ``release``.
    """
    return RollupKey(skill_id, stage, RETENTION_GRANULARITY, day * DAY_MS, locale, ALL_INTENTS, release)


# --- the rules ------------------------------------------------------------------------------------


def _add_request(rollup: Rollup, event: Event) -> None:
    rollup.requests_by_type[event.request_type] = rollup.requests_by_type.get(event.request_type, 0) + 1
    if event.request_type == SKILL_ENABLED:
        rollup.enablements += 1
    if event.is_utterance:
        _add_utterance(rollup, event)
    _add_friction(rollup, event)


def _add_friction(rollup: Rollup, event: Event) -> None:
    """Friction counted at the event's own time (METRICS.md, Friction); no-response ends are sessions'."""
    if event.unhandled:
        _bump(rollup.unhandled_after, event.prompt_before, 1)
    if event.is_termination:
        rollup.terminations += 1
        _bump(rollup.terminated_after, event.prompt_before, 1)
    elif event.is_exit:
        _bump(rollup.exited_after, event.prompt_before, 1)
    if event.is_retry:
        rollup.retries += 1
    if event.keeps_open:  # the exit rate's denominator: this intent's prompts
        _bump(rollup.kept_open, event.intent_key or UNKNOWN_INTENT, 1)


def _add_utterance(rollup: Rollup, event: Event) -> None:
    rollup.utterances += 1
    if event.failed:
        rollup.failed_utterances += 1
    if event.is_prompt:
        rollup.prompts += 1
    if event.is_response_to_prompt:
        rollup.responded += 1
    if event.tracked:
        rollup.tracked_utterances += 1
    if event.customer is not None:
        rollup.customers.add(event.customer)
    if event.unhandled:
        rollup.unhandled += 1
    if event.handler_ms is not None:
        endpoint_ms = event.endpoint_ms
        if event.cold_start:
            rollup.cold_starts += 1
            if rollup.endpoint is None:  # until now endpoint time was handler time: start from it
                rollup.endpoint = rollup.latency.copy()
        if rollup.endpoint is not None and endpoint_ms is not None:
            rollup.endpoint.add(endpoint_ms)
        rollup.latency.add(event.handler_ms)


def _add_slots(rollup: Rollup, event: Event) -> None:
    """Slot statuses and the intent's confirmation, on the intent's own rollups (METRICS.md, Slots)."""
    for status in SlotStatus.decode(event.slots):
        for figure in status.figures():
            _bump(rollup.slot_counts, slot_count_key(status.name, figure), 1)
    if event.confirmation == CONFIRMED:
        rollup.intents_confirmed += 1
    elif event.confirmation == DENIED:
        rollup.intents_denied += 1


# (intent, dialog start ms, Rollup field, map key or "", delta): one dialog figure an event moves.
DialogFigure = tuple[str, int, str, str, int]
_DIALOG_COUNTERS = frozenset({"dialogs_started", "dialogs_completed", "dialogs_switched"})


@lru_cache(maxsize=4096)  # asked once per rollup key of an event: decode the step once
def dialog_contributions(event: Event) -> tuple[DialogFigure, ...]:
    """Each dialog figure ``event`` moves, with the dialog's intent and start (METRICS.md, Dialogs).

    Dialog figures live in the intent's own rollups of the bucket where the dialog started, under
    the event's locale and the release that started its session (like session figures). An open
    dialog is kept as ``dialogs_open[<question>@<minute>]``, the minute of the session's last
    answered utterance, moved by each later one as ``open_sessions`` is: a report counts it as
    abandoned once its session is incomplete (an hour without an end), like ``Rollup.open_split``.
    """
    change = event.dialog_change
    if change is None:
        return ()
    out: list[DialogFigure] = []
    before, after = change.before, change.after
    old = (
        dialog_open_key(before.asked, event.previous_ms) if before and event.previous_ms is not None else None
    )
    new = dialog_open_key(after.asked, event.timestamp_ms) if after else None
    same = before and after and (before.intent, before.start_ms) == (after.intent, after.start_ms)
    if not (same and old == new):  # a step that moves nothing writes nothing
        if before is not None and old is not None:
            out.append((before.intent, before.start_ms, "dialogs_open", old, -1))
        if after is not None and new is not None:
            out.append((after.intent, after.start_ms, "dialogs_open", new, 1))
    if change.started is not None:
        out.append((change.started, event.timestamp_ms, "dialogs_started", "", 1))
    done = change.completed
    if done is not None:
        out.append((done.intent, done.start_ms, "dialogs_completed", "", 1))
        out.append((done.intent, done.start_ms, "dialog_turns", str(done.turns), 1))
    for ended in (change.abandoned, change.switched):
        if ended is not None:
            out.append((ended.intent, ended.start_ms, "dialogs_abandoned", ended.asked, 1))
    if change.switched is not None:
        out.append((change.switched.intent, change.switched.start_ms, "dialogs_switched", "", 1))
    return tuple(out)


def _add_dialog(rollup: Rollup, name: str, key: str, delta: int) -> None:
    if name in _DIALOG_COUNTERS:
        setattr(rollup, name, getattr(rollup, name) + delta)
    else:
        _bump(getattr(rollup, name), key, delta)


def _changes_session(event: Event) -> bool:
    """Whether the event moves a session figure (in the bucket where its session started)."""
    if event.session_start_ms is None:
        return False
    if event.starts_session:
        return True
    if event.request_type == SESSION_ENDED:
        return event.tracked
    return event.is_utterance and event.tracked and event.outcome in _ANSWERED


def _add_session(rollup: Rollup, event: Event) -> None:
    end = event.end_type
    if event.starts_session:
        rollup.sessions_started += 1
        if event.request_type == "LaunchRequest":
            rollup.launches += 1
        else:
            rollup.one_shots += 1
        if event.outcome not in _ANSWERED:
            # No reply went out, so the SessionEndedRequest that follows carries no stamp.
            _add_end(rollup, EndType.FAILED, None)
        elif end is not None:
            _add_end(rollup, end, event)
        else:
            _bump(rollup.open_sessions, event.timestamp_ms // MINUTE_MS, 1)
        return
    if event.previous_ms is not None:
        _bump(rollup.open_sessions, event.previous_ms // MINUTE_MS, -1)
    if end is not None:
        _add_end(rollup, end, event)
    elif event.request_type != SESSION_ENDED:
        _bump(rollup.open_sessions, event.timestamp_ms // MINUTE_MS, 1)


def _add_path(rollup: Rollup, event: Event) -> None:
    """The path tree's edges and the transitions one session-changing event adds (METRICS.md)."""
    if event.starts_session:
        if event.outcome not in _ANSWERED:  # no step was answered: start -> failed
            _count_step(rollup, ROOT, START, exit_label(EndType.FAILED.value))
            return
        parent, source = ROOT, START
    else:
        if event.path_node is None:
            return  # recorded before paths were: the session is left out of the tree
        parent, source = event.path_node, event.last_intent or UNKNOWN_INTENT
        if event.previous_ms is not None:
            _bump(rollup.path_open, _open_key(parent, event.previous_ms), -1)
    end = event.end_type
    if event.request_type == SESSION_ENDED:
        if end is not None:
            _count_step(rollup, parent, source, exit_label(end.value))
        return
    step = event.intent_key or UNKNOWN_INTENT
    node = _count_step(rollup, parent, source, step)
    if end is not None:
        _count_step(rollup, node, step, exit_label(end.value))
    else:
        _bump(rollup.path_open, _open_key(node, event.timestamp_ms), 1)


def _count_step(rollup: Rollup, node: str, source: str, step: str) -> str:
    """Count the transition ``source -> step`` and the tree edge from ``node``; return the node reached."""
    _bump(rollup.transitions, transition_key(source, step), 1)
    child = child_of(node, step)
    if child != node or is_exit(step):  # steps past the depth limit fold into ``node``
        _bump(rollup.path_edges, edge_key(node, step), 1)
    return child


def _open_key(node: str, timestamp_ms: int) -> str:
    return f"{node}@{timestamp_ms // MINUTE_MS}"


def _add_end(rollup: Rollup, end: EndType, event: Event | None) -> None:
    """Count a session's end; ``event`` signalled it (``None``: a start whose reply never went out)."""
    last_intent = event.last_intent if event is not None else None
    _bump(rollup.session_ends, end.value, 1)
    if end.counts_drop_off:
        _bump(rollup.drop_off, last_intent or UNKNOWN_INTENT, 1)
    if end is EndType.NO_RESPONSE and event is not None:
        # Silence at the welcome or after an unhandled reply is friction; at any other prompt an exit.
        lost = rollup.no_response_after if event.after_friction_prompt else rollup.no_response_exits_after
        _bump(lost, last_intent or UNKNOWN_INTENT, 1)


def _bump(counts: dict[K, int], key: K, delta: int) -> None:
    total = counts.get(key, 0) + delta
    if total:
        counts[key] = total
    else:
        counts.pop(key, None)  # zero entries are dropped, as Rollup.merge does
