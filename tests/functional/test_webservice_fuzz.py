"""Property: whatever body reaches a web-service skill, the recorder changes nothing the caller sees.

Bodies are mutated real envelopes (leaves replaced by arbitrary JSON values, keys dropped) and
arbitrary text. The same body goes to the sample skill behind a bare ``WebserviceSkillHandler``
and behind one with ``metrics.webservice(...)``: the reply, or the exception's class and message,
must be the same (apart from the reserved session attribute), and exactly one event is written
per request, by the background worker: what the SDK cannot parse is recorded as unparseable.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.functional.webservice_compat import ensure_webservice_support_importable

ensure_webservice_support_importable()

from ask_sdk_webservice_support.webservice_handler import WebserviceSkillHandler  # noqa: E402

from alexa_skill_metrics import SkillMetrics  # noqa: E402
from alexa_skill_metrics.recording.classify import STAMP_KEY  # noqa: E402
from sample_skill.app import build_skill  # noqa: E402
from tests.conftest import KEY, load_event  # noqa: E402

SAMPLES = ["alexa-launch", "alexa-intent-roll-dice", "alexa-session-ended-user", "alexa-can-fulfill"]


class ListClient:
    """Stands in for DynamoDB: keeps every item written (the background delivery batches them)."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def batch_write_item(self, **payload: Any) -> dict[str, Any]:
        (requests,) = payload["RequestItems"].values()
        self.items.extend(request["PutRequest"]["Item"] for request in requests)
        return {}


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)  # infinities: see the last test
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            out += paths(child, (*prefix, key))
    return out


@st.composite
def mutated_envelopes(draw: st.DrawFn) -> str:
    envelope = load_event(draw(st.sampled_from(SAMPLES)))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        path = draw(st.sampled_from(paths(envelope)))
        parent = envelope
        for key in path[:-1]:
            parent = parent[key]
        if draw(st.booleans()):
            parent[path[-1]] = draw(json_values)
        else:
            del parent[path[-1]]
    return json.dumps(envelope)


bodies = mutated_envelopes() | st.text(max_size=50)


def answer(handler: WebserviceSkillHandler, body: str) -> tuple[str, Any]:
    try:
        reply = copy.deepcopy(handler.verify_request_and_dispatch({}, body))
    except Exception as exc:
        return type(exc).__name__, str(exc)
    if isinstance(reply, dict) and isinstance(reply.get("sessionAttributes"), dict):
        reply["sessionAttributes"].pop(STAMP_KEY, None)
    # The sample skill seeds its die with the request id: without one, its roll is random.
    return "reply", re.sub(r"You rolled a \d+", "You rolled a N", json.dumps(reply, sort_keys=True))


client = ListClient()
metrics = SkillMetrics(table_name="fuzz", pseudonym_key=KEY, client=client)  # type: ignore[arg-type]
bare = WebserviceSkillHandler(skill=build_skill().create(), verify_signature=False, verify_timestamp=False)
recorded = metrics.webservice(
    WebserviceSkillHandler(skill=build_skill().create(), verify_signature=False, verify_timestamp=False)
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=bodies)
def test_caller_sees_the_same_answer_and_one_event_is_written(body: str) -> None:
    before = handled()
    assert answer(recorded, body) == answer(bare, body)
    metrics.recorder.delivery.flush(timeout_s=5)
    assert handled() - before == 1  # written, or a request id already written (first write wins)
    assert metrics.recorder.delivery.writer.dropped == 0


def handled() -> int:
    """Events written, plus those recognised as a request id already written."""
    return len(client.items) + metrics.recorder.writer.duplicates


def test_every_sample_envelope_is_recorded_once() -> None:
    before = handled()
    for name in SAMPLES:
        recorded.verify_request_and_dispatch({}, json.dumps(load_event(name)))
    metrics.recorder.delivery.flush(timeout_s=5)
    assert handled() - before == len(SAMPLES)


def test_recorder_failure_on_an_absurd_timestamp_leaves_the_answer_unchanged() -> None:
    # An infinite timestamp made the recorder itself fail (issue 8, item 4, fixed in the recorder);
    # whatever the recorder does with it, the web-service wrapper must answer as the bare skill does.
    envelope = load_event("alexa-launch")
    envelope["request"]["timestamp"] = float("inf")
    body = json.dumps(envelope)
    assert answer(recorded, body) == answer(bare, body)
