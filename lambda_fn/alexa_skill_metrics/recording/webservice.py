"""Recording for skills served as web services: ask-sdk-webservice-support, flask-ask-sdk, django-ask-sdk.

All three hand each request to ``WebserviceSkillHandler.verify_request_and_dispatch(headers,
body)``, which parses the envelope, runs the verifiers (signature, timestamp), invokes the
skill and serializes its reply. ``instrument`` wraps that one method of the handler instance
(``recording.webservice_handler``, which also counts the requests that fail verification
instead of recording them), or for Django returns a view that does so for each request's
handler (``recording.webservice_django``). The recorder's interceptors go into the created
skill's dispatcher, and the events are written by a ``BackgroundDelivery``, off the request thread.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar, cast

from alexa_skill_metrics.recording.webservice_handler import (
    REJECTED_METRIC,
    Instrumentable,
    Rejections,
    install_interceptors,
    instrument_handler,
)

if TYPE_CHECKING:
    from alexa_skill_metrics.recording.recorder import Recorder

# Re-exported: these lived here before the handler's part moved into its own module.
__all__ = ["REJECTED_METRIC", "Instrumentable", "Rejections", "install_interceptors", "instrument_handler"]

T = TypeVar("T")


def instrument(metrics: Instrumentable, target: T, max_pending: int | None = None) -> T:
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


def _use_background_delivery(recorder: Recorder, max_pending: int | None) -> None:
    if not recorder.enabled:
        return
    from alexa_skill_metrics.storage.delivery import DEFAULT_MAX_PENDING, BackgroundDelivery

    current = recorder.delivery
    if not isinstance(current, BackgroundDelivery):
        bound = DEFAULT_MAX_PENDING if max_pending is None else max_pending
        recorder.use_delivery(BackgroundDelivery(current.writer, max_pending=bound))
