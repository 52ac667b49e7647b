"""Recording for skills served as web services: ask-sdk-webservice-support, flask-ask-sdk, django-ask-sdk.

All three hand each request to ``WebserviceSkillHandler.verify_request_and_dispatch(headers,
body)``, which parses the envelope, runs the verifiers (signature, timestamp), invokes the
skill and serializes its reply. ``instrument`` wraps that one method of the handler instance,
exactly as ``SkillMetrics.wrap`` wraps a Lambda handler: ``Recorder.begin`` before, and
``Recorder.finish`` with the reply or the exception after, which is re-raised unchanged so the
framework answers with its own error response. The recorder's interceptors go into the created
skill's dispatcher, and the events are written by a ``BackgroundDelivery``, off the request thread.

Requests that fail verification (``VerificationException``, or any failure before the recorder's
request interceptor ran while verifiers are configured: the SDK parses an envelope before it
verifies it) are not recorded as events. Nothing in them is authenticated: recording them would
let anyone who can reach the endpoint write events claiming any skill, customer or intent. They
are counted instead: ``Rejections.count`` and the CloudWatch metric
``AlexaSkillMetrics/RejectedRequests`` with the exception class as its ``reason`` dimension.

Example
-------
>>> _parse('{"request": {"type": "LaunchRequest"}}'), _parse("not json")
({'request': {'type': 'LaunchRequest'}}, None)
"""

from __future__ import annotations

import contextlib
import json
import threading
from typing import TYPE_CHECKING, Any, TypeVar, cast

from alexa_skill_metrics import telemetry

if TYPE_CHECKING:
    from collections.abc import Callable

    from alexa_skill_metrics.recording.recorder import Invocation, Recorder
    from alexa_skill_metrics.recording.skill_metrics import SkillMetrics

T = TypeVar("T")
REJECTED_METRIC = "RejectedRequests"
_MARK = "_skill_metrics_recorded"  # set on an instrumented handler: instrumenting twice is a no-op


class Rejections:
    """Requests that failed verification, per container (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.count = 0

    def note(self, exc: BaseException, stage: str) -> None:
        with self._lock:
            self.count += 1
        with contextlib.suppress(Exception):  # the framework's own error response goes out regardless
            telemetry.count(REJECTED_METRIC, reason=type(exc).__name__[:100], stage=stage)


def instrument(metrics: SkillMetrics, target: T, max_pending: int | None = None) -> T:
    """Record every request ``target`` dispatches; see ``SkillMetrics.webservice``.

    ``target`` is a ``WebserviceSkillHandler``, a flask-ask-sdk ``SkillAdapter`` (after
    ``init_app``) or the view django-ask-sdk's ``SkillAdapter.as_view(...)`` returned. Handlers
    and Flask adapters are instrumented in place and returned; for Django a recording view is
    returned, because Django builds a new adapter (and handler) for every request.
    ``max_pending`` bounds the background queue (``BackgroundDelivery``'s default when ``None``).
    """
    if getattr(target, "view_class", None) is not None:  # a Django class-based view function
        from alexa_skill_metrics.recording.webservice_django import recording_view

        _use_background_delivery(metrics.recorder, max_pending)
        return cast("T", recording_view(target, metrics))
    handler = getattr(target, "_webservice_handler", target)  # flask-ask-sdk keeps it here
    if handler is None:
        raise TypeError("the flask-ask-sdk SkillAdapter has no Flask app yet: call init_app(app) first")
    if not callable(getattr(handler, "verify_request_and_dispatch", None)):
        raise TypeError(
            "metrics.webservice() takes a WebserviceSkillHandler, a flask-ask-sdk SkillAdapter or a "
            f"django-ask-sdk SkillAdapter.as_view(...) view, not {type(target).__name__}"
        )
    _use_background_delivery(metrics.recorder, max_pending)
    instrument_handler(metrics, handler)
    return target


def instrument_handler(metrics: SkillMetrics, handler: Any, install: bool = True) -> None:
    """Wrap one ``WebserviceSkillHandler`` instance's dispatch; with ``install``, add the interceptors.

    ``install=False`` is for a handler whose skill already has them (Django's per-request
    handlers): installing on every request from several threads could add them twice.
    """
    if getattr(handler, _MARK, False):
        return
    if install:
        install_interceptors(metrics, handler._skill)
    dispatch: Callable[..., Any] = handler.verify_request_and_dispatch
    recorder = metrics.recorder
    verifies = bool(getattr(handler, "_verifiers", None))
    rejections = metrics.rejections

    def verify_request_and_dispatch(http_request_headers: Any, http_request_body: str) -> Any:
        try:
            inv = recorder.begin(_parse(http_request_body))
        except Exception:  # fail-open: a recorder bug must not change the skill's answer
            return dispatch(http_request_headers, http_request_body)
        try:
            response = dispatch(http_request_headers, http_request_body)
        except BaseException as exc:
            if _unverified(exc, inv, verifies):
                recorder.discard(inv)
                if recorder.enabled:
                    rejections.note(exc, metrics.settings.stage if metrics.settings else "live")
            else:
                recorder.finish(inv, error=exc)
            raise
        recorder.finish(inv, response=response)
        return response

    verify_request_and_dispatch.__doc__ = dispatch.__doc__
    handler.verify_request_and_dispatch = verify_request_and_dispatch
    setattr(handler, _MARK, True)


def install_interceptors(metrics: SkillMetrics, skill: Any) -> None:
    """What ``SkillMetrics.lambda_handler`` does on the builder, on a skill already created."""
    dispatcher = skill.request_dispatcher
    metrics.register(
        dispatcher.request_interceptors,
        dispatcher.response_interceptors,
        dispatcher.exception_mapper.exception_handlers,
    )


def _use_background_delivery(recorder: Recorder, max_pending: int | None) -> None:
    if not recorder.enabled:
        return
    from alexa_skill_metrics.storage.delivery import DEFAULT_MAX_PENDING, BackgroundDelivery

    current = recorder.delivery
    if not isinstance(current, BackgroundDelivery):
        bound = DEFAULT_MAX_PENDING if max_pending is None else max_pending
        recorder.use_delivery(BackgroundDelivery(current.writer, max_pending=bound))


def _unverified(exc: BaseException, inv: Invocation, verifies: bool) -> bool:
    from ask_sdk_webservice_support.verifier import VerificationException

    return isinstance(exc, VerificationException) or (verifies and inv.started is None)


def _parse(body: Any) -> Any:
    """The envelope as the Lambda wrapper sees it; anything unparseable is recorded as it comes."""
    try:
        return json.loads(body)
    except (TypeError, ValueError, RecursionError):
        return None
