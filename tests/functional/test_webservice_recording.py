"""Web-service skills recorded through the frameworks' own test clients, into in-process moto.

The sample skill is served by ask-sdk-webservice-support's ``WebserviceSkillHandler``,
flask-ask-sdk's ``SkillAdapter`` (Flask's test client) and django-ask-sdk's ``SkillAdapter``
(Django's test ``Client``), with the one-line integration ``metrics.webservice(...)``. Each
test sends the same request to the same framework without the recorder, and the HTTP answers
must be the same, byte for byte, apart from the recorder's reserved session attribute.
"""

from __future__ import annotations

import contextlib
import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.functional.webservice_compat import ensure_webservice_support_importable

ensure_webservice_support_importable()

from ask_sdk_core.exceptions import SerializationException  # noqa: E402
from ask_sdk_webservice_support.verifier import VerificationException  # noqa: E402
from ask_sdk_webservice_support.webservice_handler import WebserviceSkillHandler  # noqa: E402

from alexa_skill_metrics import SkillMetrics  # noqa: E402
from alexa_skill_metrics.model import Outcome  # noqa: E402
from alexa_skill_metrics.recording.classify import STAMP_KEY  # noqa: E402
from alexa_skill_metrics.storage.codec import item_to_event  # noqa: E402
from alexa_skill_metrics.storage.delivery import BackgroundDelivery  # noqa: E402
from sample_skill.app import BackendOutage, build_skill  # noqa: E402
from tests.conftest import KEY, TABLE, load_event, table_items  # noqa: E402

SKILL_ID = "amzn1.ask.skill.00000000-0000-0000-0000-000000000000"

# name -> (event file, expected outcome, expected exception class or None: whatever the Lambda
# wrapper records, which every test also compares field by field)
PATHS = {
    "reply": ("alexa-launch", Outcome.RESPONSE, None),
    "handled": ("alexa-intent-roll-dice-bad-number", Outcome.HANDLED, None),
    "escaped": ("alexa-intent-check-score-outage", Outcome.ESCAPED, "BackendOutage"),
    "unparseable": ("alexa-unknown-type", Outcome.UNPARSEABLE, "SerializationException"),
}


@pytest.fixture
def metrics(dynamodb: Any) -> Iterator[SkillMetrics]:
    m = SkillMetrics(table_name=TABLE, pseudonym_key=KEY, client=dynamodb)
    yield m
    delivery = m.recorder.delivery
    if isinstance(delivery, BackgroundDelivery):
        delivery.close(timeout_s=5)


def recorded(metrics: SkillMetrics, client: Any) -> list[Any]:
    metrics.recorder.delivery.flush(timeout_s=5)
    return [item_to_event(item) for item in table_items(client)]


# What an event says about the request; the times it was received and took differ by nature.
RECORDED_FIELDS = (
    "skill_id", "request_id", "request_type", "timestamp_ms", "timestamp_from_alexa", "customer",
    "session_id", "intent", "locale", "new_session", "end_reason", "error_type", "outcome",
    "exception", "should_end_session", "stage", "session_start_ms", "previous_ms", "last_intent",
)  # fmt: skip


def fields(event: Any) -> dict[str, Any]:
    return {name: getattr(event, name) for name in RECORDED_FIELDS}


def as_lambda_records(dynamodb: Any, path: str) -> Any:
    """The event the Lambda wrapper (``metrics.lambda_handler``) records for the same request."""
    from alexa_skill_metrics.storage.table import create_table

    create_table(dynamodb, "lambda-reference")
    reference = SkillMetrics(table_name="lambda-reference", pseudonym_key=KEY, client=dynamodb)
    handler = reference.lambda_handler(build_skill())
    with contextlib.suppress(Exception):
        handler(load_event(PATHS[path][0]), None)
    (item,) = table_items(dynamodb, "lambda-reference")
    return item_to_event(item)


def assert_recorded_like_lambda(event: Any, dynamodb: Any, path: str) -> None:
    name, outcome, exception = PATHS[path]
    expected = fields(as_lambda_records(dynamodb, path))
    assert fields(event) == expected
    assert event.outcome is outcome
    if outcome is not Outcome.HANDLED:  # a handled one's class is the recorder's to decide, as in Lambda
        assert event.exception == exception
    assert event.request_type == load_event(name)["request"]["type"]
    assert event.handler_ms is None if outcome is Outcome.UNPARSEABLE else event.handler_ms is not None


def body(name: str) -> str:
    return json.dumps(load_event(PATHS[name][0]))


def without_stamp(reply: bytes) -> Any:
    data = json.loads(reply)
    data.get("sessionAttributes", {}).pop(STAMP_KEY, None)
    return data


# --- WebserviceSkillHandler directly ------------------------------------------------------------


def handler(metrics: SkillMetrics | None, verify: bool = False) -> WebserviceSkillHandler:
    h = WebserviceSkillHandler(skill=build_skill().create(), verify_signature=verify, verify_timestamp=verify)
    return h if metrics is None else metrics.webservice(h)


@pytest.mark.parametrize("path", sorted(PATHS))
def test_webservice_handler_records_every_path_like_the_lambda_wrapper(
    dynamodb: Any, metrics: SkillMetrics, path: str
) -> None:
    # Given the sample skill behind a WebserviceSkillHandler with the recorder, and one without
    recorded_handler, bare = handler(metrics), handler(None)
    # When the same request reaches both
    results = []
    for h in (bare, recorded_handler):
        try:
            results.append(("reply", h.verify_request_and_dispatch({}, body(path))))
        except Exception as exc:
            results.append((type(exc).__name__, str(exc)))
    # Then the caller sees the same thing (reply or exception, unchanged) apart from the stamp
    (bare_kind, bare_result), (kind, result) = results
    assert kind == bare_kind
    if kind == "reply":
        result, bare_result = copy.deepcopy(result), copy.deepcopy(bare_result)
        assert result["sessionAttributes"].pop(STAMP_KEY)
        bare_result["sessionAttributes"].pop(STAMP_KEY, None)  # the request's own stamp, passed through
        assert result == bare_result
    else:
        assert result == bare_result
    # And one event with the Lambda wrapper's outcome and exception class is stored
    (event,) = recorded(metrics, dynamodb)
    assert_recorded_like_lambda(event, dynamodb, path)


def test_reply_does_not_wait_for_the_write(dynamodb: Any, metrics: SkillMetrics) -> None:
    # Given a DynamoDB that answers only when the test says so
    import threading

    gate = threading.Event()

    class HeldClient:
        def batch_write_item(self, **payload: Any) -> Any:
            gate.wait(timeout=10)
            return dynamodb.batch_write_item(**payload)

    held = SkillMetrics(table_name=TABLE, pseudonym_key=KEY, client=HeldClient())  # type: ignore[arg-type]
    h = held.webservice(handler(None))
    # When a request is answered while the write is held
    reply = h.verify_request_and_dispatch({}, body("reply"))
    # Then the reply is there and nothing is stored yet; the write lands once DynamoDB answers
    assert reply["response"]["outputSpeech"]
    assert table_items(dynamodb) == []
    gate.set()
    (event,) = recorded(held, dynamodb)
    assert event.outcome is Outcome.RESPONSE
    delivery = held.recorder.delivery
    assert isinstance(delivery, BackgroundDelivery)
    delivery.close(timeout_s=5)


def test_verification_failure_is_raised_unchanged_counted_and_not_recorded(
    dynamodb: Any, metrics: SkillMetrics, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given verification on (the default) and a request without Alexa's signature headers
    h = handler(metrics, verify=True)
    # When it arrives, the framework's own exception is raised unchanged
    with pytest.raises(VerificationException, match="Missing Signature/Certificate"):
        h.verify_request_and_dispatch({}, body("reply"))
    # And an envelope the SDK cannot parse (parsed before anything is verified) is not trusted either
    with pytest.raises(SerializationException):
        h.verify_request_and_dispatch({}, body("unparseable"))
    # Then nothing is stored: the content was never authenticated; both are counted as rejected
    assert recorded(metrics, dynamodb) == []
    assert metrics.rejections.count == 2
    # And each is a RejectedRequests metric (Embedded Metric Format) with its reason
    lines = capsys.readouterr().out.splitlines()
    reasons = [json.loads(line)["reason"] for line in lines if "RejectedRequests" in line]
    assert reasons == ["VerificationException", "SerializationException"]


def test_stale_timestamp_is_rejected_by_the_timestamp_verifier_and_not_recorded(
    dynamodb: Any, metrics: SkillMetrics
) -> None:
    # Given only the timestamp verifier on, and a request signed long ago (the sample's timestamp)
    h = metrics.webservice(
        WebserviceSkillHandler(skill=build_skill().create(), verify_signature=False, verify_timestamp=True)
    )
    with pytest.raises(VerificationException, match="Timestamp verification failed"):
        h.verify_request_and_dispatch({}, body("reply"))
    assert recorded(metrics, dynamodb) == []
    assert metrics.rejections.count == 1


def test_instrumenting_twice_records_once(dynamodb: Any, metrics: SkillMetrics) -> None:
    h = handler(metrics)
    metrics.webservice(h)
    h.verify_request_and_dispatch({}, body("reply"))
    assert len(recorded(metrics, dynamodb)) == 1
    dispatcher = h._skill.request_dispatcher
    assert dispatcher.request_interceptors.count(metrics.request_interceptor) == 1


def test_without_configuration_the_skill_answers_as_without_the_recorder(dynamodb: Any) -> None:
    # Given no METRICS_TABLE: recording is off (logged once), the integration still installs
    off = SkillMetrics()
    assert not off.enabled
    h = off.webservice(handler(None))
    # Then the reply is the bare skill's, with no stamp, and nothing is written
    reply = h.verify_request_and_dispatch({}, body("reply"))
    assert reply == handler(None).verify_request_and_dispatch({}, body("reply"))
    assert STAMP_KEY not in reply["sessionAttributes"]
    assert table_items(dynamodb) == []


def test_not_a_web_service_handler_is_a_clear_error(metrics: SkillMetrics) -> None:
    with pytest.raises(TypeError, match="takes a WebserviceSkillHandler"):
        metrics.webservice(object())


# --- Flask ------------------------------------------------------------------------------------


def flask_app(metrics: SkillMetrics | None, verify: bool = False) -> Any:
    from flask import Flask
    from flask_ask_sdk.skill_adapter import SkillAdapter

    app = Flask(f"skill-{id(metrics)}")
    app.config["ASK_SDK_VERIFY_SIGNATURE"] = verify
    app.config["ASK_SDK_VERIFY_TIMESTAMP"] = verify
    adapter = SkillAdapter(skill=build_skill().create(), skill_id=SKILL_ID, app=app)
    adapter.register(app=app, route="/")
    if metrics is not None:
        metrics.webservice(adapter)
    return app


def post_both(bare: Any, recorded_app: Any, data: str) -> tuple[Any, Any]:
    answers = []
    for app in (bare, recorded_app):
        answers.append(app.test_client().post("/", data=data, content_type="application/json"))
    return answers[0], answers[1]


def assert_same_http(bare: Any, got: Any) -> None:
    assert got.status_code == bare.status_code
    skip = {"Content-Length"}
    assert [(k, v) for k, v in got.headers if k not in skip] == [
        (k, v) for k, v in bare.headers if k not in skip
    ]
    if bare.status_code == 200:
        from flask import Flask

        assert json.loads(got.get_data())["sessionAttributes"][STAMP_KEY]
        # both replies, less the attribute, serialize to the same bytes; with no stamp in the
        # request, that is the bare reply's own bytes
        app = Flask("render")
        render = app.json.response
        assert (
            render(without_stamp(got.get_data())).get_data()
            == render(without_stamp(bare.get_data())).get_data()
        )
        if STAMP_KEY not in json.loads(bare.get_data()).get("sessionAttributes", {}):
            assert render(without_stamp(got.get_data())).get_data() == bare.get_data()
    else:
        assert got.get_data() == bare.get_data()


@pytest.mark.parametrize("path", sorted(PATHS))
def test_flask_adapter_records_every_path(dynamodb: Any, metrics: SkillMetrics, path: str) -> None:
    outcome = PATHS[path][1]
    bare, got = post_both(flask_app(None), flask_app(metrics), body(path))
    assert_same_http(bare, got)
    assert got.status_code == (200 if outcome in (Outcome.RESPONSE, Outcome.HANDLED) else 500)
    (event,) = recorded(metrics, dynamodb)
    assert_recorded_like_lambda(event, dynamodb, path)


def test_flask_rejected_request_gets_the_frameworks_400_and_is_not_recorded(
    dynamodb: Any, metrics: SkillMetrics
) -> None:
    bare, got = post_both(flask_app(None, verify=True), flask_app(metrics, verify=True), body("reply"))
    assert got.status_code == 400
    assert_same_http(bare, got)
    assert recorded(metrics, dynamodb) == []
    assert metrics.rejections.count == 1


def test_flask_session_continues_across_requests(dynamodb: Any, metrics: SkillMetrics) -> None:
    # Given a launch answered through Flask, whose reply carries the session stamp
    app = flask_app(metrics)
    launch = app.test_client().post("/", data=body("reply"), content_type="application/json")
    intent = load_event("alexa-intent-roll-dice")
    intent["session"]["attributes"] = launch.get_json()["sessionAttributes"]
    # When the next utterance of the session comes back with those attributes
    app.test_client().post("/", data=json.dumps(intent), content_type="application/json")
    # Then it is attributed to the session the launch started
    events = sorted(recorded(metrics, dynamodb), key=lambda e: e.received_ms)
    assert [e.request_type for e in events] == ["LaunchRequest", "IntentRequest"]
    assert events[1].last_intent == "LaunchRequest"


# --- Django -------------------------------------------------------------------------------------

urlpatterns: list[Any] = []  # this module is the Django URLconf; each test routes its own views


@pytest.fixture(scope="module")
def django_client() -> Any:
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(
            DEBUG=False,
            SECRET_KEY="test-only",
            ROOT_URLCONF=__name__,
            ALLOWED_HOSTS=["testserver"],
            MIDDLEWARE=["django.middleware.csrf.CsrfViewMiddleware"],
            INSTALLED_APPS=[],
            DATABASES={},
            LOGGING_CONFIG=None,
        )
        django.setup()
    from django.test import Client

    return Client(raise_request_exception=False, enforce_csrf_checks=True)


def django_views(metrics: SkillMetrics, verify: bool = False) -> Any:
    """Route /bare/ and /recorded/ to the sample skill; return the recorded one's skill."""
    from django.urls import clear_url_caches, path
    from django_ask_sdk.skill_adapter import SkillAdapter

    options = {"verify_signature": verify, "verify_timestamp": verify}
    bare = SkillAdapter.as_view(skill=build_skill().create(), **options)
    skill = build_skill().create()
    recorded_view = metrics.webservice(SkillAdapter.as_view(skill=skill, **options))
    # CsrfViewMiddleware is on: the recording view must keep the adapter's csrf_exempt
    urlpatterns[:] = [path("bare/", bare), path("recorded/", recorded_view)]
    clear_url_caches()
    return skill


def django_post_both(client: Any, data: str) -> tuple[Any, Any]:
    bare = client.post("/bare/", data=data, content_type="application/json")
    got = client.post("/recorded/", data=data, content_type="application/json")
    return bare, got


def assert_same_django(bare: Any, got: Any) -> None:
    assert got.status_code == bare.status_code
    skip = {"Content-Length"}
    assert [(k, v) for k, v in got.items() if k not in skip] == [
        (k, v) for k, v in bare.items() if k not in skip
    ]
    if bare.status_code == 200:
        from django.http import JsonResponse

        def render(content: bytes) -> bytes:
            return bytes(JsonResponse(data=without_stamp(content), safe=False).content)

        assert json.loads(got.content)["sessionAttributes"][STAMP_KEY]
        assert render(got.content) == render(bare.content)
        if STAMP_KEY not in json.loads(bare.content).get("sessionAttributes", {}):
            assert render(got.content) == bare.content
    else:
        assert got.content == bare.content


@pytest.mark.parametrize("path", sorted(PATHS))
def test_django_adapter_records_every_path(
    django_client: Any, dynamodb: Any, metrics: SkillMetrics, path: str
) -> None:
    outcome = PATHS[path][1]
    skill = django_views(metrics)
    bare, got = django_post_both(django_client, body(path))
    django_post_both(django_client, body(path))  # a second request through a new adapter
    # the interceptors went into the shared skill once, not once per request's adapter
    assert skill.request_dispatcher.request_interceptors.count(metrics.request_interceptor) == 1
    assert_same_django(bare, got)
    assert got.status_code == (200 if outcome in (Outcome.RESPONSE, Outcome.HANDLED) else 500)
    (event,) = recorded(metrics, dynamodb)  # the same request id twice: first write wins
    assert_recorded_like_lambda(event, dynamodb, path)
    assert metrics.recorder.writer.duplicates == 1


def test_django_rejected_request_gets_the_frameworks_400_and_is_not_recorded(
    django_client: Any, dynamodb: Any, metrics: SkillMetrics
) -> None:
    django_views(metrics, verify=True)
    bare, got = django_post_both(django_client, body("reply"))
    assert (got.status_code, got.content) == (400, b"Incoming request failed verification")
    assert_same_django(bare, got)
    assert recorded(metrics, dynamodb) == []
    assert metrics.rejections.count == 1


def test_escaped_exception_is_the_skills_own(dynamodb: Any, metrics: SkillMetrics) -> None:
    with pytest.raises(BackendOutage):
        handler(metrics).verify_request_and_dispatch({}, body("escaped"))
