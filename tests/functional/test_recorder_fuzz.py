"""Property-based: mutated real envelopes change nothing for the customer and lose no event.

Each example takes a real envelope (this project's ``events/`` samples, or the shared fixture
envelopes other projects wrote), replaces or deletes a few of its parts with what a broken client
or a future Alexa might send (absurd numbers where a timestamp belongs, huge integers, wrong
types, lone surrogates, ...), and sends it through the sample skill with and without the
recorder. The caller must see the same reply or the same exception, the recorder must not fail
internally, and exactly one event must be stored for the request.
"""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ask_sdk_core.exceptions import SerializationException
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alexa_skill_metrics import SkillMetrics
from alexa_skill_metrics.storage.codec import item_to_event
from sample_skill.app import build_handler
from tests.conftest import EVENTS, KEY, TABLE, shared_fixture_files, table_items
from tests.functional.test_recorder_by_hand import by_hand
from tests.functional.test_recorder_transparency import run, without_stamp

Path_ = tuple[str | int, ...]

OWN = [json.loads(p.read_text()) for p in sorted(EVENTS.glob("alexa-*.json"))]

# What may land where a value belongs: the numbers are the ones that broke the recorder before.
NASTY = st.one_of(
    st.sampled_from([math.inf, -math.inf, math.nan, 1e300, -1e300, 10**30, -(10**30), 10**400, 2**63, -1]),
    st.integers(),
    st.floats(),
    st.booleans(),
    st.none(),
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec=None, categories=["Cs", "Lo", "Nd", "So"]), max_size=20),
    st.sampled_from(
        ["", "9" * 80, "²", "2026-13-45T99:99:99Z", "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+01:00"]
    ),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)


def paths(value: Any, prefix: Path_ = ()) -> Iterator[Path_]:
    """Every path to a part of the envelope, outermost first."""
    if prefix:
        yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from paths(item, (*prefix, key))
    elif isinstance(value, list):
        for n, item in enumerate(value):
            yield from paths(item, (*prefix, n))


def mutate(envelope: dict[str, Any], path: Path_, value: Any, delete: bool) -> None:
    parent: Any = envelope
    for part in path[:-1]:
        parent = parent[part]
    if delete and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = value


# Parts that decide what the recorder reads, chosen more often than any other part.
HOT = [
    ("request", "timestamp"),
    ("request", "requestId"),
    ("request", "type"),
    ("request", "intent", "name"),
    ("session", "new"),
    ("session", "attributes", "_skill_metrics"),
    ("session", "attributes", "_skill_metrics", "s"),
    ("session", "attributes", "_skill_metrics", "t"),
    ("context", "System", "user", "userId"),
    ("context", "System", "application", "applicationId"),
]


@st.composite
def mutated(draw: st.DrawFn, sources: list[dict[str, Any]]) -> dict[str, Any]:
    envelope = copy.deepcopy(draw(st.sampled_from(sources)))
    if draw(st.booleans()) and isinstance(envelope.get("session"), dict):  # a session the recorder tracks
        envelope["session"].setdefault("attributes", {})["_skill_metrics"] = {"s": 1, "t": 2, "i": "X"}
    for _ in range(draw(st.integers(1, 3))):
        existing = list(paths(envelope))
        if not existing:
            break
        path = draw(st.one_of(st.sampled_from(existing), st.sampled_from(HOT)))
        try:
            mutate(envelope, path, draw(NASTY), delete=draw(st.integers(0, 5)) == 0)
        except (KeyError, IndexError, TypeError):
            continue  # a hot path this envelope does not have
    return envelope


def same_dice(result: tuple[str, Any]) -> tuple[str, Any]:
    """The sample skill seeds its die with the request id: without one, its roll is random."""
    kind, value = result
    return (kind, re.sub(r"You rolled a \d+", "You rolled a N", value)) if kind == "reply" else result


class Skills:
    """The sample skill with and without the recorder, and the recorder's internal errors."""

    def __init__(self, client: Any, integration: str) -> None:
        self.client = client
        self.errors: list[str] = []
        self.metrics = SkillMetrics(table_name=TABLE, pseudonym_key=KEY, client=client)
        self.by_hand = integration == "by hand"
        self.recorded = (
            by_hand(self.metrics, exception_handlers=True) if self.by_hand else build_handler(self.metrics)
        )
        self.bare = build_handler(None)


def check_one(skills: Skills, envelope: dict[str, Any]) -> None:
    client = skills.client
    # When the mutated envelope goes through the skill with and without the recorder
    with_recorder, without = run(skills.recorded, envelope), run(skills.bare, envelope)
    try:
        # Then the caller sees the same reply or the same exception
        assert same_dice(without_stamp(with_recorder)) == same_dice(without_stamp(without))
        # And the recorder never failed internally, nor dropped the write
        assert skills.errors == []
        assert skills.metrics.recorder.writer.dropped == 0
        # And exactly one event is stored for the request: its own id, or a fresh one when it has none
        events = [item_to_event(item) for item in table_items(client)]
        if skills.by_hand and without[0] == "raised" and without[1][0] is SerializationException:
            assert events == []  # by hand, no interceptor runs for an envelope the SDK rejects
            return
        assert len(events) == 1, events
        request = envelope.get("request")
        sent_id = request.get("requestId") if isinstance(request, dict) else None
        if isinstance(sent_id, str) and sent_id:
            assert events[0].request_id == sent_id.encode("utf-8", "replace").decode()[:100]
        elif not skills.by_hand:  # by hand the recorder reads the SDK's parse, which may make one up
            assert events[0].request_id.startswith("unidentified-")
    finally:
        skills.errors.clear()
        for item in table_items(client):  # the next example starts from an empty table
            client.delete_item(TableName=TABLE, Key={"pk": item["pk"], "sk": item["sk"]})


@pytest.fixture(params=["wrapper", "by hand"])
def skills(dynamodb: Any, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Skills:
    skills = Skills(dynamodb, request.param)
    original = skills.metrics.recorder._internal_error

    def noted(exc: Exception) -> None:
        skills.errors.append(f"{type(exc).__name__}: {exc}")
        original(exc)

    monkeypatch.setattr(skills.metrics.recorder, "_internal_error", noted)
    return skills


# Every example is two real dispatches and a PutItem into moto: enough examples to meet each kind
# of breakage above in every run, few enough to keep the suite quick.
FUZZ = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(data=st.data())
def test_mutated_events_samples(skills: Skills, data: st.DataObject) -> None:
    check_one(skills, data.draw(mutated(OWN)))


@FUZZ
@given(data=st.data())
def test_mutated_shared_fixture_envelopes(skills: Skills, shared_fixtures: Path, data: st.DataObject) -> None:
    sources = [json.loads(p.read_text(encoding="utf-8-sig")) for p in shared_fixture_files()]
    requests = [s for s in sources if isinstance(s, dict) and "request" in s]
    check_one(skills, data.draw(mutated(requests)))
