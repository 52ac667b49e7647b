"""Turns one request into one ``Event`` and writes it, whatever path the dispatch takes.

The wrapper calls ``begin`` and ``finish`` around the Lambda handler; the interceptors call
``on_request`` and ``on_response`` inside the ASK SDK dispatch, and the recorder's exception
handlers ``on_exception`` (registered first: notes the exception class) and ``on_escape``
(registered last, by hand only: no exception handler answered). Which of them ran tells the
outcome: a response interceptor that never ran means an exception handler answered, an
interceptor that never ran means the SDK rejected the envelope. Every public method swallows
its own errors: recording is fail-open.

The reserved session attribute (``STAMP_KEY``) is invisible to the skill's code: ``on_request``
takes it out of the session attributes (the attributes manager's and the request envelope's)
and it goes back only onto the outgoing reply: after the skill's response interceptors, or, on
exception-handler paths, onto the serialized reply in ``finish`` (by hand, without the wrapper,
``on_exception`` is the last chance, so there the skill's exception handlers see it).

Example
-------
>>> from alexa_skill_metrics.config import Settings
>>> rec = Recorder(Settings(table_name="t", pseudonym_key="k" * 16))
>>> inv = rec.begin({"request": {"type": "CanFulfillIntentRequest", "requestId": "r1"}})
>>> rec.build_event(inv, response=None, error=None).request_type
'CanFulfillIntentRequest'
"""

from __future__ import annotations

import contextlib
import contextvars
import itertools
import time
import weakref
from typing import TYPE_CHECKING, Any

from alexa_skill_metrics import telemetry
from alexa_skill_metrics.config import Settings
from alexa_skill_metrics.exceptions import ConfigurationError
from alexa_skill_metrics.model import (
    FALLBACK_INTENT,
    NO_RELEASE,
    SESSION_ENDED,
    STARTED,
    UTTERANCE_TYPES,
    DialogStep,
    Event,
    Outcome,
    dialog_after,
)
from alexa_skill_metrics.recording.classify import RELEASE, STAMP_KEY, EnvelopeFields, Stamp, read_envelope
from alexa_skill_metrics.recording.dialogs import question_of

if TYPE_CHECKING:
    from collections.abc import Callable

    from ask_sdk_core.handler_input import HandlerInput
    from ask_sdk_model.response import Response

    from alexa_skill_metrics.recording.pseudonym import Pseudonymizer
    from alexa_skill_metrics.recording.slot_values import ValuePolicy
    from alexa_skill_metrics.storage.delivery import Delivery
    from alexa_skill_metrics.storage.writer import EventWriter


# Start-up time of a cold start counts from here (METRICS.md: from the recorder's import).
_IMPORTED_AT = time.perf_counter()
_requests = itertools.count()  # requests this process began; next() is atomic under the GIL
# Exception class names are cut here (identifiers at 100): with a release the event stays < 1 KB.
MAX_EXCEPTION = 60
MAX_ALIAS = 16


def _claim_cold_start() -> float | None:
    """Milliseconds since the recorder's import if this is the process's first request, else ``None``."""
    if next(_requests):
        return None
    return round((time.perf_counter() - _IMPORTED_AT) * 1000, 3)


def start_container(startup_ms: float) -> None:
    """Behave from now on as a new container whose start-up took ``startup_ms`` (simulations only).

    Lambda gives each container its own process, so a real skill's cold start is its process's
    first request; a simulation that sends weeks of traffic through one process calls this where
    Lambda would have started a container, and the recorder claims and measures the cold start
    as it does in a real one.
    """
    # The process's own state stays two module globals: the hot path reads them with no indirection.
    global _IMPORTED_AT, _requests  # noqa: PLW0603
    _IMPORTED_AT = time.perf_counter() - startup_ms / 1000
    _requests = itertools.count()


class Invocation:
    """What one request has shown so far; lives for one Lambda invocation.

    A plain class rather than a dataclass: it is created at import time of every skill, where
    dataclass code generation would cost more than everything else the recorder does there.
    """

    __slots__ = (
        "alias",
        "asked",
        "carried",
        "closed",
        "exception",
        "fields",
        "outcome",
        "planned",
        "raised_at",
        "received_ms",
        "release",
        "responded",
        "should_end_session",
        "stamp",
        "started",
        "startup_ms",
        "uv",
        "wrapped",
    )

    def __init__(
        self, fields: EnvelopeFields, received_ms: int, wrapped: bool, startup_ms: float | None = None
    ) -> None:
        self.fields = fields
        self.received_ms = received_ms
        self.wrapped = wrapped
        self.startup_ms = startup_ms  # set on the container's first request only
        self.started: float | None = None  # perf_counter at our request interceptor (start of dispatch)
        self.responded: float | None = None  # perf_counter at our response interceptor
        self.should_end_session: bool | None = None
        self.stamp: Stamp | None = None  # the stamp this utterance leaves in its session
        # ... as planned before the reply: each reply seen (``Stamp.answered``) starts from it again
        self.planned: Stamp | None = None
        self.carried: Any = None  # the incoming stamp as sent, put back when there is no new one
        self.exception: str | None = None  # class name noted by the recorder's exception handler
        self.raised_at: float | None = None  # perf_counter when that exception reached the handlers
        self.outcome: Outcome | None = None  # decided by an exception handler, by hand only
        self.closed = False  # by hand: the event was handed over (several paths may try)
        self.release: str | None = None  # METRICS.md, Releases: the label, else the function version
        self.alias: str | None = None  # the Lambda alias the request came through
        self.asked: str | None = None  # the question the reply's Dialog directive asked (recording.dialogs)
        self.uv: str | None = None  # unresolved values of opted-in slots (recording.slot_values)

    @property
    def outgoing(self) -> Any:
        """The reserved attribute's value on the reply, or ``None`` to leave the session as it is."""
        return self.stamp.to_attribute() if self.stamp is not None else self.carried


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
        self._health_attached = not _health_wanted(settings)
        self._values: ValuePolicy | None = None
        if settings is not None and settings.slot_values:
            from alexa_skill_metrics.recording.slot_values import ValuePolicy

            self._values = ValuePolicy(settings.slot_values) or None

    # --- the wrapper's side -------------------------------------------------------------------

    def begin(self, event: Any, context: Any = None) -> Invocation:
        """Start recording one Lambda invocation (called by the handler wrapper); never raises.

        ``context`` is Lambda's: its function version and invoked ARN name the release and alias.
        """
        inv = self._invocation(lambda: event, wrapped=True)
        if context is not None:
            try:
                version, inv.alias = lambda_release(context)
                if inv.release is None:
                    inv.release = version
            except Exception as exc:
                self._internal_error(exc)
        _current.set(inv)
        return inv

    def finish(self, inv: Invocation, response: Any = None, error: BaseException | None = None) -> None:
        """Complete the invocation: stamp the outgoing envelope, build the event and write it."""
        _current.set(None)
        if not self.enabled:
            return
        try:
            if inv.responded is None and isinstance(response, dict) and _in_dialog(inv):
                # No response interceptor saw this reply (an exception handler's): read it here
                inv.asked = question_of(response)
            event = self.build_event(inv, response, error)
            if error is None:
                if inv.planned is not None:
                    # Whether the reply prompted or failed is known only now (an exception handler's
                    # reply skips the response interceptors).
                    inv.stamp = inv.planned.answered(
                        prompt=event.keeps_open, unhandled=event.unhandled, asked=inv.asked
                    )
                _stamp_envelope(response, inv.outgoing)
            self._write(event)
        except Exception as exc:
            self._internal_error(exc)

    # --- the interceptors' side ----------------------------------------------------------------

    def on_request(self, handler_input: HandlerInput) -> None:
        """First request interceptor: start the clock, take the reserved attribute out of the skill's view."""
        if not self.enabled:
            return
        try:
            inv = _current.get()
            if inv is None or not inv.wrapped:  # interceptors registered by hand, no wrapper
                if inv is not None and inv.started is not None:
                    # The previous request ended unseen (its handler input is still alive): record
                    # it now, as itself, before this one.
                    self._close_unwrapped(inv)
                inv = self._invocation(lambda: _envelope_dict(handler_input), wrapped=False)
                _current.set(inv)
                # Without the wrapper, nothing runs when an exception handler's reply ends the
                # dispatch; the SDK drops its handler input right then, so that is our end signal.
                with contextlib.suppress(TypeError):  # no weak references: the next request closes it
                    weakref.finalize(handler_input, self._close_unwrapped, inv)
            inv.started = time.perf_counter()
            taken = _take_stamp(handler_input)
            if taken is not None:  # a second call in one dispatch finds nothing left to take
                inv.carried = taken
            inv.stamp = inv.planned = _next_stamp(inv.fields, inv.release)
        except Exception as exc:
            self._internal_error(exc)

    def on_response(self, handler_input: HandlerInput, response: Response | None) -> None:
        """Last response interceptor: note the reply, stamp it; without a wrapper, write the event now."""
        try:
            inv = _current.get()
            if inv is None or inv.started is None:
                return
            inv.responded = time.perf_counter()
            inv.should_end_session = getattr(response, "should_end_session", None)
            if inv.planned is not None:
                if _in_dialog(inv):
                    inv.asked = question_of(response)
                inv.stamp = inv.planned.answered(
                    prompt=inv.should_end_session is False,
                    unhandled=inv.planned.intent == FALLBACK_INTENT,
                    asked=inv.asked,
                )
            _put_stamp(handler_input, inv.outgoing)
            if not inv.wrapped:
                self._close_unwrapped(inv)
        except Exception as exc:
            self._internal_error(exc)

    def on_exception(self, handler_input: HandlerInput, exception: Exception) -> None:
        """First exception handler: note the exception class (METRICS.md) before the skill's own answer."""
        try:
            inv = _current.get()
            if inv is None or inv.started is None:
                return
            if inv.exception is None:
                inv.exception = type(exception).__name__[:MAX_EXCEPTION]
                inv.raised_at = time.perf_counter()
            if inv.wrapped:
                if inv.responded is not None:
                    # A response interceptor raised after ours: the reply comes from an exception
                    # handler after all (``finish`` stamps it), and that handler must not see the key.
                    inv.responded = None
                    inv.asked = None  # that reply's question, if any, is read in ``finish``
                    _hide_stamp(handler_input)
            else:
                # Without the wrapper the reply is never seen again: stamp the attributes now, as
                # a failed utterance's (unhandled, never a prompt).
                inv.asked = None  # the reply that goes out is not the one our interceptor saw
                if inv.planned is not None:
                    inv.stamp = inv.planned.answered(prompt=False, unhandled=True)
                _put_stamp(handler_input, inv.outgoing)
        except Exception as exc:
            self._internal_error(exc)

    def on_escape(self, handler_input: HandlerInput, exception: Exception) -> None:
        """Last exception handler, registered by hand: no handler answered, the exception escapes."""
        try:
            inv = _current.get()
            if inv is None or inv.wrapped or inv.started is None:
                return  # the wrapper sees the exception leave by itself
            if inv.exception is None:
                inv.exception = type(exception).__name__[:MAX_EXCEPTION]
                inv.raised_at = time.perf_counter()
            inv.outcome = Outcome.ESCAPED
            self._close_unwrapped(inv)
        except Exception as exc:
            self._internal_error(exc)

    # --- shared ----------------------------------------------------------------------------------

    def build_event(self, inv: Invocation, response: Any, error: BaseException | None) -> Event:
        """The ``Event`` for a finished invocation (pure apart from the pseudonym key)."""
        f = inv.fields
        if error is not None:
            outcome = Outcome.UNPARSEABLE if inv.started is None else Outcome.ESCAPED
        elif inv.outcome is not None:
            outcome = inv.outcome
        elif inv.started is not None and inv.responded is None:
            outcome = Outcome.HANDLED
        else:
            outcome = Outcome.RESPONSE
        should_end = _should_end_session(response)
        if should_end is None:
            should_end = inv.should_end_session
        end: float | None = inv.responded
        if end is None:
            # The wrapper builds the event at the end of dispatch; by hand, the end of an
            # exception's dispatch is not seen, so handler time stops where the exception surfaced.
            end = time.perf_counter() if inv.wrapped else inv.raised_at
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
            exception=type(error).__name__[:MAX_EXCEPTION] if error is not None else inv.exception,
            should_end_session=should_end if f.request_type in UTTERANCE_TYPES else None,
            handler_ms=round((end - inv.started) * 1000, 3) if inv.started is not None and end else None,
            stage=self._settings.stage if self._settings else "live",
            session_start_ms=f.timestamp_ms if starts else (incoming.start_ms if incoming else None),
            previous_ms=None if starts or incoming is None else incoming.last_ms,
            last_intent=None if starts or incoming is None else incoming.intent,
            cold_start=inv.startup_ms is not None,
            startup_ms=inv.startup_ms,
            last_prompt=None if starts or incoming is None else incoming.prompt,
            last_unhandled=None if starts or incoming is None else incoming.unhandled,
            path_node=None if starts or incoming is None else incoming.path,
            release=inv.release,
            alias=inv.alias,
            session_release=_session_release(inv.release, None if starts else incoming),
            slots=f.slots,
            confirmation=f.confirmation,
            dialog=_dialog_step(f, inv.asked, None if starts else incoming),
            uv=inv.uv,
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

    def use_delivery(self, delivery: Delivery) -> None:
        """Hand later events to ``delivery`` (a web service moves writes off the request thread)."""
        self._delivery = delivery
        self._health_attached = not _health_wanted(self._settings)

    def discard(self, inv: Invocation) -> None:
        """Forget ``inv`` without recording it (a web request that failed verification)."""
        if _current.get() is inv:
            _current.set(None)

    def _write(self, event: Event) -> None:
        if not self._health_attached:
            self._attach_health()
        self.delivery.submit(event)

    def _attach_health(self) -> None:
        """Once: the skill's health metrics go out where the writes happen (``recording.health``)."""
        from alexa_skill_metrics.recording.health import HealthMetrics

        self._health_attached = True
        writer = self.delivery.writer
        if writer.observer is None:
            writer.observer = HealthMetrics(self._require_settings().stage)

    def _invocation(self, envelope: Callable[[], Any], wrapped: bool) -> Invocation:
        received_ms = int(self._clock() * 1000)
        startup_ms = _claim_cold_start()
        uv = None
        try:
            raw = envelope()
            fields = read_envelope(raw, received_ms)
            if self._values is not None and fields.request_type == "IntentRequest":
                request = raw.get("request") if isinstance(raw, dict) else None
                uv = self._values.read(request.get("intent") if isinstance(request, dict) else None)
        except Exception as exc:  # classify tolerates any input; should it ever fail, record what is left
            self._internal_error(exc)
            fields = read_envelope(None, received_ms)
        inv = Invocation(fields, received_ms, wrapped, startup_ms)
        inv.uv = uv
        if self._settings is not None and self._settings.release:
            inv.release = self._settings.release  # the developer's label wins over the function version
        return inv

    def _close_unwrapped(self, inv: Invocation) -> None:
        """Write an invocation of interceptors registered by hand, once, and forget it."""
        if inv.closed:
            return
        inv.closed = True
        if _current.get() is inv:
            _current.set(None)
        if self.enabled:
            try:
                self._write(self.build_event(inv, response=None, error=None))
            except Exception as exc:  # may run from a weakref finalizer: nothing above would catch it
                self._internal_error(exc)

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


def _health_wanted(settings: Settings | None) -> bool:
    """Whether the skill's health metrics go out (``Settings.health``; ``auto``: in Lambda)."""
    if settings is None or settings.health == "off":
        return False
    import os

    return settings.health == "on" or bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME"))


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


def lambda_release(context: Any) -> tuple[str | None, str | None]:
    """``(function version, alias)`` of a Lambda context; either is ``None`` when it does not say.

    The invoked ARN ends in the alias for an invocation through one, in a version number or
    nothing when invoked by version or unqualified.

    >>> class Context:
    ...     function_version = "7"
    ...     invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:dice:live"
    >>> lambda_release(Context())
    ('7', 'live')
    """
    version = getattr(context, "function_version", None)
    arn = getattr(context, "invoked_function_arn", None)
    alias = None
    if isinstance(arn, str):
        parts = arn.split(":")
        if len(parts) == 8 and parts[7] and not parts[7].isdigit() and parts[7] != "$LATEST":
            alias = parts[7][:MAX_ALIAS]
    if not isinstance(version, str) or not RELEASE.fullmatch(version):
        version = None
    return version, alias


def _session_release(release: str | None, incoming: Stamp | None) -> str | None:
    """The release that started the session, where it is not the one serving (``Event.session_release``)."""
    if incoming is None:
        return None
    started = incoming.release or NO_RELEASE  # a stamp without one: the session predates releases
    return None if started == (release or NO_RELEASE) else started


def _next_stamp(f: EnvelopeFields, release: str | None = None) -> Stamp | None:
    """The stamp an utterance leaves in its session; ``None`` leaves the session as it is."""
    if f.request_type not in UTTERANCE_TYPES or f.session_id is None:
        return None
    from alexa_skill_metrics.pathtree import ROOT, child_of

    parent: str | None
    if f.new_session is True:
        start, parent = f.timestamp_ms, ROOT
    elif f.stamp is not None:
        start, parent, release = f.stamp.start_ms, f.stamp.path, f.stamp.release
    else:
        return None  # untracked session: recorder installed mid-session
    intent = "LaunchRequest" if f.request_type == "LaunchRequest" else (f.intent or "unknown")
    path = None if parent is None else child_of(parent, intent)  # None: a stamp from before paths
    before = None if f.new_session is True or f.stamp is None else f.stamp.dialog
    dialog = None
    if before is not None or f.dialog_state == STARTED:  # else no dialog is open, nor opens
        # The reply's question is not known yet: ``Stamp.answered`` puts it in.
        dialog = dialog_after(before, intent, f.dialog_state, f.timestamp_ms).after
    return Stamp(
        start_ms=start, last_ms=f.timestamp_ms, intent=intent, path=path, release=release, dialog=dialog
    )


def _in_dialog(inv: Invocation) -> bool:
    """Whether the reply's Dialog directive matters: a dialog is open once this utterance is answered."""
    return inv.planned is not None and inv.planned.dialog is not None


def _dialog_step(f: EnvelopeFields, asked: str | None, incoming: Stamp | None) -> str | None:
    """The event's ``dialog`` (``DialogStep``): only where a dialog starts or one is open."""
    if f.request_type not in UTTERANCE_TYPES and f.request_type != SESSION_ENDED:
        return None  # no other request moves a dialog (nor a session)
    before = incoming.dialog if incoming is not None else None
    if before is None and f.dialog_state != STARTED:
        return None  # nothing to count: the fold reads a missing step the same way
    return DialogStep(f.dialog_state, asked, before).encode()


def _take_stamp(handler_input: HandlerInput) -> Any:
    """Remove the reserved attribute from what the skill's code sees; return its incoming value."""
    session = handler_input.request_envelope.session
    if session is None:
        return None
    incoming = None
    if isinstance(session.attributes, dict):
        incoming = session.attributes.pop(STAMP_KEY, None)
    # The attributes manager deep-copied the envelope's attributes before any interceptor ran.
    managed = handler_input.attributes_manager.session_attributes
    if isinstance(managed, dict):
        value = managed.pop(STAMP_KEY, None)
        incoming = value if incoming is None else incoming
    return incoming


def _hide_stamp(handler_input: HandlerInput) -> None:
    if handler_input.request_envelope.session is not None:
        managed = handler_input.attributes_manager.session_attributes
        if isinstance(managed, dict):
            managed.pop(STAMP_KEY, None)  # always our own copy (``_put_stamp``), never the skill's dict


def _put_stamp(handler_input: HandlerInput, value: Any) -> None:
    """Put the reserved attribute into the reply's attributes: a new dict, the skill's own stays as it is."""
    if value is None or handler_input.request_envelope.session is None:
        return
    manager = handler_input.attributes_manager
    attributes = manager.session_attributes
    if attributes is None:
        manager.session_attributes = {STAMP_KEY: value}
    elif isinstance(attributes, dict):
        manager.session_attributes = {**attributes, STAMP_KEY: value}


def _stamp_envelope(response: Any, value: Any) -> None:
    """Re-assert the stamp in the serialized reply (exception-handler paths skip interceptors)."""
    if value is None or not isinstance(response, dict):
        return
    attributes = response.get("sessionAttributes")
    if isinstance(attributes, dict):
        attributes[STAMP_KEY] = value
    elif attributes is None and isinstance(response.get("response"), dict):
        response["sessionAttributes"] = {STAMP_KEY: value}  # the skill set its attributes to None


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
