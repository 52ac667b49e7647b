"""Recording one ``WebserviceSkillHandler``: its dispatch wrapped, requests failing verification counted.

``instrument_handler`` wraps the one method every web-service framework calls,
``verify_request_and_dispatch(headers, body)``, exactly as ``SkillMetrics.wrap`` wraps a Lambda
handler: ``Recorder.begin`` before, and ``Recorder.finish`` with the reply or the exception
after, which is re-raised unchanged so the framework answers with its own error response.

Requests that fail verification (``VerificationException``, or any failure before the recorder's
request interceptor ran while verifiers are configured: the SDK parses an envelope before it
verifies it) are not recorded as events. Nothing in them is authenticated: recording them would
let anyone who can reach the endpoint write events claiming any skill, customer or intent. They
are counted instead: ``Rejections.count`` and the CloudWatch metric
``AlexaSkillMetrics/RejectedRequests`` with the exception class as its ``reason`` dimension.

The functions take any ``Instrumentable`` (in practice a ``SkillMetrics``) rather than
importing ``SkillMetrics``, which imports the web-service modules.

Example
-------
>>> _parse('{"request": {"type": "LaunchRequest"}}'), _parse("not json")
({'request': {'type': 'LaunchRequest'}}, None)
"""

from __future__ import annotations

import contextlib
import json
import threading
from typing import TYPE_CHECKING, Any, Protocol

from alexa_skill_metrics import telemetry

if TYPE_CHECKING:
    from collections.abc import Callable

    from alexa_skill_metrics.config import Settings
    from alexa_skill_metrics.recording.recorder import Invocation, Recorder

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


class Instrumentable(Protocol):
    """What instrumenting a web service needs of ``SkillMetrics``."""

    recorder: Recorder
    settings: Settings | None

    @property
    def rejections(self) -> Rejections: ...

    def register(
        self, request_interceptors: list[Any], response_interceptors: list[Any], exception_handlers: list[Any]
    ) -> None: ...


def instrument_handler(metrics: Instrumentable, handler: Any, install: bool = True) -> None:
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


def install_interceptors(metrics: Instrumentable, skill: Any) -> None:
    """What ``SkillMetrics.lambda_handler`` does on the builder, on a skill already created."""
    dispatcher = skill.request_dispatcher
    metrics.register(
        dispatcher.request_interceptors,
        dispatcher.response_interceptors,
        dispatcher.exception_mapper.exception_handlers,
    )


def _unverified(exc: BaseException, inv: Invocation, verifies: bool) -> bool:
    from ask_sdk_webservice_support.verifier import VerificationException

    return isinstance(exc, VerificationException) or (verifies and inv.started is None)


def _parse(body: Any) -> Any:
    """The envelope as the Lambda wrapper sees it; anything unparseable is recorded as it comes."""
    try:
        return json.loads(body)
    except (TypeError, ValueError, RecursionError):
        return None
