"""Turns one request into one ``Event`` and writes it, whatever path the dispatch takes.

The wrapper calls ``begin`` and ``finish`` around the Lambda handler; the interceptors call
``on_request`` and ``on_response`` inside the ASK SDK dispatch. Which of them ran tells the
outcome: a response interceptor that never ran means an exception handler answered, an
interceptor that never ran means the SDK rejected the envelope. Every public method swallows
its own errors: recording is fail-open.

Example
-------
>>> from alexa_skill_metrics.config import Settings
>>> rec = Recorder(Settings(table_name="t", pseudonym_key="k" * 16))
>>> inv = rec.begin({"request": {"type": "CanFulfillIntentRequest", "requestId": "r1"}})
>>> rec.build_event(inv, response=None, error=None).request_type
'CanFulfillIntentRequest'
"""

from __future__ import annotations

import contextvars
import time
from typing import TYPE_CHECKING, Any

from alexa_skill_metrics import telemetry
from alexa_skill_metrics.config import Settings
from alexa_skill_metrics.exceptions import ConfigurationError
from alexa_skill_metrics.model import UTTERANCE_TYPES, Event, Outcome
from alexa_skill_metrics.recording.classify import STAMP_KEY, EnvelopeFields, Stamp, read_envelope

if TYPE_CHECKING:
    from collections.abc import Callable

    from ask_sdk_core.handler_input import HandlerInput
    from ask_sdk_model.response import Response

    from alexa_skill_metrics.recording.pseudonym import Pseudonymizer
    from alexa_skill_metrics.storage.delivery import Delivery
    from alexa_skill_metrics.storage.writer import EventWriter


class Invocation:
    """What one request has shown so far; lives for one Lambda invocation.

    A plain class rather than a dataclass: it is created at import time of every skill, where
    dataclass code generation would cost more than everything else the recorder does there.
    """

    __slots__ = ("fields", "received_ms", "responded", "should_end_session", "stamp", "started", "wrapped")

    def __init__(self, fields: EnvelopeFields, received_ms: int, wrapped: bool) -> None:
        self.fields = fields
        self.received_ms = received_ms
        self.wrapped = wrapped
        self.started: float | None = None  # perf_counter at our request interceptor (start of dispatch)
        self.responded: float | None = None  # perf_counter at our response interceptor
        self.should_end_session: bool | None = None
        self.stamp: Stamp | None = None  # what we put into the session attributes


_current: contextvars.ContextVar[Invocation | None] = contextvars.ContextVar("skill_metrics", default=None)


class Recorder:
    """Records requests for one skill container; see the module docstring for the protocol.

    Parameters
    ----------
    settings:
        Resolved settings, or ``None`` when configuration failed (recording is then off).
    delivery:
        How events reach storage (``storage.delivery``); by default an ``InlineDelivery`` over
        an ``EventWriter`` built from ``settings`` on first use.
    clock:
        Wall clock in seconds, for the received time (tests pass a fixed one).
    """

    def __init__(
        self,
        settings: Settings | None,
        delivery: Delivery | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._settings = settings
        self._delivery = delivery
        self._clock = clock
        self._pseudonymizer: Pseudonymizer | None = None
        self.enabled = settings is not None

    # --- the wrapper's side -------------------------------------------------------------------

    def begin(self, event: Any) -> Invocation:
        """Start recording one Lambda invocation (called by the handler wrapper)."""
        received_ms = int(self._clock() * 1000)
        inv = Invocation(fields=read_envelope(event, received_ms), received_ms=received_ms, wrapped=True)
        _current.set(inv)
        return inv

    def finish(self, inv: Invocation, response: Any = None, error: BaseException | None = None) -> None:
        """Complete the invocation: stamp the outgoing envelope, build the event and write it."""
        _current.set(None)
        if not self.enabled:
            return
        try:
            if error is None and inv.stamp is not None:
                _stamp_envelope(response, inv.stamp)
            self._write(self.build_event(inv, response, error))
        except Exception as exc:
            self._internal_error(exc)

    # --- the interceptors' side ----------------------------------------------------------------

    def on_request(self, handler_input: HandlerInput) -> None:
        """First request interceptor: start the clock and stamp the session attributes."""
        if not self.enabled:
            return
        try:
            inv = _current.get()
            if inv is None:  # interceptors registered by hand, no wrapper
                received_ms = int(self._clock() * 1000)
                envelope = read_envelope(_envelope_dict(handler_input), received_ms)
                inv = Invocation(fields=envelope, received_ms=received_ms, wrapped=False)
                _current.set(inv)
            inv.started = time.perf_counter()
            inv.stamp = _next_stamp(inv.fields)
            if inv.stamp is not None:
                _put_stamp(handler_input, inv.stamp)
        except Exception as exc:
            self._internal_error(exc)

    def on_response(self, handler_input: HandlerInput, response: Response | None) -> None:
        """Last response interceptor: note the reply; without a wrapper, write the event now."""
        try:
            inv = _current.get()
            if inv is None or inv.started is None:
                return
            inv.responded = time.perf_counter()
            inv.should_end_session = getattr(response, "should_end_session", None)
            if inv.stamp is not None:  # the handler may have replaced the attribute dict
                _put_stamp(handler_input, inv.stamp)
            if not inv.wrapped:
                _current.set(None)
                if self.enabled:
                    self._write(self.build_event(inv, response=None, error=None))
        except Exception as exc:
            self._internal_error(exc)

    # --- shared ----------------------------------------------------------------------------------

    def build_event(self, inv: Invocation, response: Any, error: BaseException | None) -> Event:
        """The ``Event`` for a finished invocation (pure apart from the pseudonym key)."""
        f = inv.fields
        if error is not None:
            outcome = Outcome.UNPARSEABLE if inv.started is None else Outcome.ESCAPED
        elif inv.started is not None and inv.responded is None:
            outcome = Outcome.HANDLED
        else:
            outcome = Outcome.RESPONSE
        should_end = _should_end_session(response)
        if should_end is None:
            should_end = inv.should_end_session
        end = inv.responded if inv.responded is not None else time.perf_counter()
        incoming = f.stamp
        starts = f.request_type in UTTERANCE_TYPES and f.new_session is True and f.session_id is not None
        return Event(
            skill_id=f.skill_id,
            request_id=f.request_id,
            request_type=f.request_type,
            timestamp_ms=f.timestamp_ms,
            received_ms=inv.received_ms,
            timestamp_from_alexa=f.timestamp_from_alexa,
            customer=self._pseudonym(f.user_id),
            session_id=f.session_id,
            intent=f.intent,
            locale=f.locale,
            new_session=f.new_session,
            end_reason=f.end_reason,
            error_type=f.error_type,
            outcome=outcome,
            exception=type(error).__name__[:100] if error is not None else None,
            should_end_session=should_end if f.request_type in UTTERANCE_TYPES else None,
            handler_ms=round((end - inv.started) * 1000, 3) if inv.started is not None else None,
            stage=self._settings.stage if self._settings else "live",
            session_start_ms=f.timestamp_ms if starts else (incoming.start_ms if incoming else None),
            previous_ms=None if starts or incoming is None else incoming.last_ms,
            last_intent=None if starts or incoming is None else incoming.intent,
            path_node=None if starts or incoming is None else incoming.path,
        )

    @property
    def delivery(self) -> Delivery:
        if self._delivery is None:
            from alexa_skill_metrics.storage.delivery import InlineDelivery
            from alexa_skill_metrics.storage.writer import EventWriter

            self._delivery = InlineDelivery(EventWriter(self._require_settings()))
        return self._delivery

    @property
    def writer(self) -> EventWriter:
        return self.delivery.writer

    def _write(self, event: Event) -> None:
        self.delivery.submit(event)

    def _pseudonym(self, user_id: str | None) -> str | None:
        if user_id is None:
            return None
        if self._pseudonymizer is None:
            from alexa_skill_metrics.recording.pseudonym import Pseudonymizer

            self._pseudonymizer = Pseudonymizer(resolve_key(self._require_settings()))
        return self._pseudonymizer(user_id)

    def _require_settings(self) -> Settings:
        if self._settings is None:
            raise ConfigurationError("METRICS_TABLE", "recording is off: configuration failed")
        return self._settings

    def _internal_error(self, exc: Exception) -> None:
        """A bug or an unreadable key: switch off rather than fail every request the same way."""
        if isinstance(exc, ConfigurationError):
            self.enabled = False
            telemetry.error("skill metrics recording is off", setting=exc.setting, problem=str(exc))
            return
        telemetry.warn("skill metrics recorder error", error=type(exc).__name__)


def resolve_key(settings: Settings) -> bytes:
    """The pseudonym key's bytes, from SSM (SecureString, read once) or the setting itself."""
    name = settings.key_parameter
    if name is None:
        return settings.pseudonym_key.encode()
    try:
        from aws_lambda_powertools.utilities.parameters import get_parameter

        value = get_parameter(name, decrypt=True, max_age=365 * 86_400)
    except Exception as exc:
        raise ConfigurationError(
            "METRICS_PSEUDONYM_KEY",
            f"names SSM parameter {name!r}, which could not be read ({type(exc).__name__})",
        ) from None
    key = value.encode() if isinstance(value, str) else bytes(value)
    if len(key) < 16:
        raise ConfigurationError("METRICS_PSEUDONYM_KEY", f"SSM parameter {name!r} holds fewer than 16 bytes")
    return key


def _next_stamp(f: EnvelopeFields) -> Stamp | None:
    """The stamp an utterance leaves in its session; ``None`` leaves the session as it is."""
    if f.request_type not in UTTERANCE_TYPES or f.session_id is None:
        return None
    from alexa_skill_metrics.pathtree import ROOT, child_of

    parent: str | None
    if f.new_session is True:
        start, parent = f.timestamp_ms, ROOT
    elif f.stamp is not None:
        start, parent = f.stamp.start_ms, f.stamp.path
    else:
        return None  # untracked session: recorder installed mid-session
    intent = "LaunchRequest" if f.request_type == "LaunchRequest" else (f.intent or "unknown")
    path = None if parent is None else child_of(parent, intent)  # None: a stamp from before paths
    return Stamp(start_ms=start, last_ms=f.timestamp_ms, intent=intent, path=path)


def _put_stamp(handler_input: HandlerInput, stamp: Stamp) -> None:
    manager = handler_input.attributes_manager
    attributes = manager.session_attributes
    if attributes is None:
        manager.session_attributes = {STAMP_KEY: stamp.to_attribute()}
    else:
        attributes[STAMP_KEY] = stamp.to_attribute()


def _stamp_envelope(response: Any, stamp: Stamp) -> None:
    """Re-assert the stamp in the serialized reply (exception-handler paths skip interceptors)."""
    if isinstance(response, dict):
        attributes = response.get("sessionAttributes")
        if isinstance(attributes, dict):
            attributes[STAMP_KEY] = stamp.to_attribute()


def _should_end_session(response: Any) -> bool | None:
    if isinstance(response, dict):
        inner = response.get("response")
        if isinstance(inner, dict):
            value = inner.get("shouldEndSession")
            return value if isinstance(value, bool) else None
    return None


def _envelope_dict(handler_input: HandlerInput) -> Any:
    from ask_sdk_core.serialize import DefaultSerializer

    return DefaultSerializer().serialize(handler_input.request_envelope)
