"""The plain domain model passed between recording, storage, aggregation and reporting.

Every field and rule follows ``METRICS.md`` (the project's metric contract). Nothing here does I/O.

Example
-------
>>> e = Event(skill_id="amzn1.ask.skill.1", request_id="r1", request_type="LaunchRequest",
...           timestamp_ms=1_700_000_000_000, received_ms=1_700_000_000_050)
>>> e.is_utterance, e.intent_key
(True, 'LaunchRequest')
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # only annotations: the recorder imports this module and never needs sketches
    from alexa_skill_metrics.sketches import DistinctCounter, QuantileSummary

UTTERANCE_TYPES = frozenset({"LaunchRequest", "IntentRequest"})
SESSION_ENDED = "SessionEndedRequest"
SKILL_ENABLED = "AlexaSkillEvent.SkillEnabled"
FALLBACK_INTENT = "AMAZON.FallbackIntent"
LEAVING_INTENTS = frozenset({"AMAZON.StopIntent", "AMAZON.CancelIntent"})  # METRICS.md, Friction
LAUNCH_REQUEST = "LaunchRequest"  # the intent key of a launch: its reply is the skill's welcome
START_PROMPT = "start"  # friction before any answered utterance: the session's start
UNKNOWN_SKILL = "unknown"
# Releases (METRICS.md, Releases): the developer's label, else the Lambda function version.
NO_RELEASE = "-"  # the release of requests recorded without one (older recorders, or unlabelled)
# No '#' (rollup sort keys use it); at most 24 characters: the event stays one write unit.
RELEASE_PATTERN = r"[A-Za-z0-9$][A-Za-z0-9._:+@/$-]{0,23}"


class Outcome(StrEnum):
    """How the skill's dispatch of one request ended."""

    RESPONSE = "response"  # normal response
    HANDLED = "handled"  # an exception answered by an exception handler
    ESCAPED = "escaped"  # an exception that escaped the skill (re-raised to Lambda)
    UNPARSEABLE = "unparseable"  # the SDK could not parse the envelope

    @property
    def failed(self) -> bool:
        return self is not Outcome.RESPONSE


class EndType(StrEnum):
    """How a tracked session ended (METRICS.md, Sessions)."""

    SKILL_ENDED = "skill_ended"
    USER_ENDED = "user_ended"
    NO_RESPONSE = "no_response"
    FAILED = "failed"
    UNKNOWN = "unknown"

    @property
    def successful(self) -> bool:
        return self in (EndType.SKILL_ENDED, EndType.USER_ENDED)

    @property
    def counts_drop_off(self) -> bool:
        return self in (EndType.NO_RESPONSE, EndType.USER_ENDED, EndType.FAILED)


_END_REASONS = {
    "USER_INITIATED": EndType.USER_ENDED,
    "EXCEEDED_MAX_REPROMPTS": EndType.NO_RESPONSE,
    "ERROR": EndType.FAILED,
}


@dataclass(frozen=True, slots=True)
class Event:
    """One recorded request: what METRICS.md's "What is recorded per request" lists, nothing more.

    Times are epoch milliseconds (UTC). ``session_start_ms``, ``previous_ms`` and
    ``last_intent`` come from the recorder's stamp in the session attributes and are ``None`` for
    untracked sessions.
    """

    skill_id: str
    request_id: str
    request_type: str
    timestamp_ms: int  # request.timestamp (Alexa's clock), else the time received
    received_ms: int
    customer: str | None = None  # keyed pseudonym, never the raw id
    session_id: str | None = None
    intent: str | None = None
    locale: str | None = None
    timestamp_from_alexa: bool = True
    new_session: bool | None = None
    end_reason: str | None = None  # SessionEndedRequest request.reason
    error_type: str | None = None  # SessionEndedRequest request.error.type
    outcome: Outcome = Outcome.RESPONSE
    exception: str | None = None  # exception class name, never its message
    should_end_session: bool | None = None
    handler_ms: float | None = None
    stage: str = "live"
    session_start_ms: int | None = None
    previous_ms: int | None = None  # the session's previous answered utterance
    last_intent: str | None = None  # intent key the skill answered before this request
    cold_start: bool = False  # the first request this container handled
    startup_ms: float | None = None  # on a cold start: from the recorder's import to this request
    last_prompt: bool | None = None  # the utterance answered before this request was a prompt
    last_unhandled: bool | None = None  # ... was unhandled (fallback or failed)
    path_node: str | None = None  # pathtree node of the session's answered utterances before this one
    release: str | None = None  # the developer's label, else the Lambda function version that served it
    alias: str | None = None  # the Lambda alias it was invoked through, if any
    # The release that started its session (from the stamp), only where it is not ``release``.
    session_release: str | None = None
    # Slot statuses of an IntentRequest, never values: ``SlotStatus.encode`` (METRICS.md, Slots).
    slots: str | None = None
    confirmation: str | None = None  # the intent's confirmationStatus: "c" confirmed, "d" denied
    # The dialog step (``DialogStep.encode``): dialogState, the reply's question, the open dialog.
    dialog: str | None = None
    # Unresolved values of the slots the developer opted in (``encode_values``); nothing else's.
    uv: str | None = None

    @property
    def release_key(self) -> str:
        """The release its request figures count under (``NO_RELEASE`` when none was recorded)."""
        return self.release or NO_RELEASE

    @property
    def session_release_key(self) -> str:
        """The release its session figures count under: the one that started the session."""
        if self.starts_session or self.session_release is None:
            return self.release_key
        return self.session_release

    @property
    def is_utterance(self) -> bool:
        return self.request_type in UTTERANCE_TYPES

    @property
    def intent_key(self) -> str | None:
        """Intent name, ``LaunchRequest`` for a launch, ``None`` for non-utterances."""
        if self.request_type == "LaunchRequest":
            return "LaunchRequest"
        if self.request_type == "IntentRequest":
            return self.intent or "unknown"
        return None

    @property
    def failed(self) -> bool:
        """A failed utterance: dispatch raised anywhere, answered or not (METRICS.md)."""
        return self.is_utterance and self.outcome.failed

    @property
    def starts_session(self) -> bool:
        return self.is_utterance and bool(self.new_session) and self.session_id is not None

    @property
    def tracked(self) -> bool:
        """The session's start was recorded (by this event or an earlier one)."""
        return self.session_start_ms is not None and self.session_id is not None

    @property
    def end_type(self) -> EndType | None:
        """The session end this event signals, if any (METRICS.md, Sessions table)."""
        if not self.tracked:
            return None
        if self.request_type == SESSION_ENDED:
            return _END_REASONS.get(self.end_reason or "", EndType.UNKNOWN)
        if (
            self.is_utterance
            and self.outcome in (Outcome.RESPONSE, Outcome.HANDLED)
            and self.should_end_session is True
        ):
            return EndType.SKILL_ENDED
        return None

    @property
    def is_prompt(self) -> bool:
        """A successful response to an utterance that kept the microphone open."""
        return self.is_utterance and not self.failed and self.should_end_session is False

    @property
    def unhandled(self) -> bool:
        """An unhandled utterance: ``AMAZON.FallbackIntent`` or failed (METRICS.md, Friction)."""
        return self.is_utterance and (self.failed or self.intent_key == FALLBACK_INTENT)

    @property
    def keeps_open(self) -> bool:
        """A reply went out and kept the session open: friction's "prompt" (METRICS.md, Friction).

        Unlike ``is_prompt`` it includes an exception handler's reply that asked again.
        """
        return (
            self.is_utterance
            and self.outcome in (Outcome.RESPONSE, Outcome.HANDLED)
            and self.should_end_session is False
        )

    @property
    def leaves_at_prompt(self) -> bool:
        """Stop, Cancel or a USER_INITIATED end right after a prompt (tracked sessions only).

        ``no_response`` ends leave at a prompt too; they are session figures (``_add_end``).
        """
        if not self.tracked or self.last_prompt is not True or self.starts_session:
            return False
        if self.request_type == SESSION_ENDED:
            return self.end_reason == "USER_INITIATED"
        return self.is_utterance and self.intent_key in LEAVING_INTENTS

    @property
    def after_friction_prompt(self) -> bool:
        """The prompt before was the welcome (the LaunchRequest's reply) or an unhandled reply.

        Leaving there is friction (a termination, or no response); after any other prompt it is
        an exit at a prompt (METRICS.md, Friction).
        """
        return self.last_intent == LAUNCH_REQUEST or self.last_unhandled is True

    @property
    def is_termination(self) -> bool:
        """The customer left at the welcome or right after an unhandled reply (friction)."""
        return self.leaves_at_prompt and self.after_friction_prompt

    @property
    def is_exit(self) -> bool:
        """The customer left at any other prompt: an exit at a prompt, not friction."""
        return self.leaves_at_prompt and not self.after_friction_prompt

    @property
    def is_retry(self) -> bool:
        """An utterance right after an unhandled one in the same tracked session."""
        return self.is_utterance and self.tracked and not self.starts_session and self.last_unhandled is True

    @property
    def prompt_before(self) -> str:
        """The intent this event's friction is attributed to: ``start``, the last answered, or unknown."""
        if self.starts_session:
            return START_PROMPT
        return (self.last_intent if self.tracked else None) or "unknown"

    @property
    def endpoint_ms(self) -> float | None:
        """Handler time plus, on a cold start, the container's start-up time (METRICS.md)."""
        if self.handler_ms is None:
            return None
        startup = (self.startup_ms or 0.0) if self.cold_start else 0.0
        return self.handler_ms + startup

    @property
    def is_response_to_prompt(self) -> bool:
        """The customer spoke again in a tracked session ("responded")."""
        return self.is_utterance and self.tracked and self.new_session is False

    @property
    def dialog_change(self) -> DialogChange | None:
        """What this event does to its session's dialogs (METRICS.md, Dialogs); ``None``: nothing."""
        if not self.tracked or self.dialog is None:
            return None
        step = DialogStep.decode(self.dialog)
        before = None if self.starts_session else step.open
        if self.request_type == SESSION_ENDED:
            return DialogChange(before, None, abandoned=before) if before is not None else None
        if not self.is_utterance or self.outcome not in (Outcome.RESPONSE, Outcome.HANDLED):
            return None  # no reply went out: the session's stamp, and so its dialog, stays as it was
        change = dialog_after(before, self.intent_key, step.state, self.timestamp_ms, step.asked)
        if change.after is not None and self.end_type is not None:  # the skill ended the session
            return replace(change, after=None, abandoned=change.after)
        return change


# --- slots (METRICS.md, "Slots, confirmations and dialogs") -----------------------------------------

RESOLVED, UNRESOLVED, ERRORED, NO_RESOLUTION = "r", "u", "x", "n"
CONFIRMED, DENIED = "c", "d"
SLOT_OUTCOMES = {RESOLVED: "resolved", UNRESOLVED: "unresolved", ERRORED: "errored", NO_RESOLUTION: "none"}
AUTHORITY_KINDS = ("static", "dynamic")
_ABSENT = "-"


@dataclass(frozen=True, slots=True)
class SlotStatus:
    """What one slot of one utterance was: statuses only, never its value.

    ``resolution`` is ``None`` for an empty slot, else resolved / unresolved / errored / no
    resolution (``RESOLVED`` ...); ``static`` and ``dynamic`` apply the same rule to that
    authority kind's resolutions alone (``None``: the kind has none); ``confirmation`` is
    ``CONFIRMED``, ``DENIED`` or ``None``. Encoded in the event as ``name:`` and five letters.

    >>> codes = SlotStatus.encode([SlotStatus("dish", True, "u", "u", None, None), SlotStatus("size", False)])
    >>> codes, [s.name for s in SlotStatus.decode(codes)]
    ('dish:fuu-- size:e----', ['dish', 'size'])
    """

    name: str
    filled: bool
    resolution: str | None = None
    static: str | None = None
    dynamic: str | None = None
    confirmation: str | None = None

    def code(self) -> str:
        parts = (self.resolution, self.static, self.dynamic, self.confirmation)
        return f"{self.name}:{'f' if self.filled else 'e'}{''.join(p or _ABSENT for p in parts)}"

    @staticmethod
    def encode(statuses: Iterable[SlotStatus]) -> str:
        return " ".join(status.code() for status in statuses)

    @staticmethod
    def decode(codes: str | None) -> list[SlotStatus]:
        """The statuses ``encode`` wrote; anything unreadable is skipped, never raised."""
        out = []
        for code in (codes or "").split():
            name, _, letters = code.rpartition(":")
            if not name or len(letters) != 5 or letters[0] not in "fe":
                continue
            parts = [None if letter == _ABSENT else letter for letter in letters[1:]]
            out.append(SlotStatus(name, letters[0] == "f", *parts))
        return out

    def figures(self) -> list[str]:
        """The ``Rollup.slot_counts`` figures (``<figure>``, ``static.<figure>`` ...) this slot adds."""
        out = ["filled" if self.filled else "empty"]
        if self.filled and self.resolution in SLOT_OUTCOMES:
            out.append(SLOT_OUTCOMES[self.resolution])
        for kind, status in zip(AUTHORITY_KINDS, (self.static, self.dynamic), strict=True):
            if self.filled and status in (RESOLVED, UNRESOLVED, ERRORED):
                out.append(f"{kind}.{SLOT_OUTCOMES[status]}")
        if self.confirmation == CONFIRMED:
            out.append("confirmed")
        elif self.confirmation == DENIED:
            out.append("denied")
        return out


def slot_count_key(slot: str, figure: str) -> str:
    """The key of one slot's figure in ``Rollup.slot_counts``: ``<slot>|<figure>``."""
    return f"{slot}|{figure}"


# --- dialogs (METRICS.md, "Slots, confirmations and dialogs") ---------------------------------------

DIALOG_STATES = {"STARTED": "s", "IN_PROGRESS": "p", "COMPLETED": "c"}  # request.dialogState -> code
STARTED, IN_PROGRESS, COMPLETED = "s", "p", "c"
# The question a dialog's customer was asked last, as a code: the reply's Dialog directive.
ELICIT, CONFIRM_SLOT = "e:", "c:"  # + the slot's name: Dialog.ElicitSlot, Dialog.ConfirmSlot
CONFIRM_INTENT, DELEGATED, NOT_ASKED = "i", "d", "-"  # Dialog.ConfirmIntent, Dialog.Delegate, none yet
MAX_TURNS = 10_000  # turns a stamp may say; anything above is not one of ours


@dataclass(frozen=True, slots=True)
class Dialog:
    """A dialog still open in its session: what the recorder's stamp carries between requests.

    ``turns`` counts the intent's answered utterances since the ``STARTED`` one (included);
    ``asked`` is the code of the last question the skill's replies asked in it (``ELICIT`` +
    slot, ``CONFIRM_SLOT`` + slot, ``CONFIRM_INTENT``, ``DELEGATED``, or ``NOT_ASKED``).
    """

    intent: str
    start_ms: int
    turns: int = 1
    asked: str = NOT_ASKED


@dataclass(frozen=True, slots=True)
class DialogChange:
    """What one event does to its session's dialogs; every field but ``before``/``after`` is a figure.

    ``before`` is the dialog open when the event came (its open entry is taken out), ``after`` the
    one open once it was answered (its entry put in, at the event's minute); ``started`` the intent
    of a dialog the event starts; ``completed`` a dialog it completes (with its turns);
    ``abandoned`` one it ends before completion because the session ended, ``switched`` one it
    ends because another dialog started (both abandoned, with the question asked last).
    """

    before: Dialog | None
    after: Dialog | None
    started: str | None = None
    completed: Dialog | None = None
    abandoned: Dialog | None = None
    switched: Dialog | None = None


def dialog_after(
    before: Dialog | None, intent: str | None, state: str | None, at_ms: int, asked: str | None = None
) -> DialogChange:
    """The dialogs after an answered utterance of ``intent`` with ``state`` whose reply asked ``asked``.

    One dialog at a time, as Alexa's dialog manager runs them: a ``STARTED`` starts one and ends
    the one still open as abandoned (Alexa does not resume it). Utterances of the open dialog's
    intent are its turns; ``COMPLETED`` completes it. Utterances of other intents (help, say)
    leave it open. A reply's Dialog directive names what the open dialog asks from then on.

    >>> change = dialog_after(Dialog("OrderIntent", 0, 2, "e:dish"), "OrderIntent", "c", 9_000)
    >>> change.after, change.completed.turns
    (None, 3)
    >>> dialog_after(None, "OrderIntent", "s", 9_000, "d").after
    Dialog(intent='OrderIntent', start_ms=9000, turns=1, asked='d')
    """
    if state == STARTED and intent is not None:
        after: Dialog | None = Dialog(intent, at_ms, 1, asked or NOT_ASKED)
        return DialogChange(before, after, started=intent, switched=before)
    if before is None or intent != before.intent:
        after = before if before is None or asked is None else replace(before, asked=asked)
        return DialogChange(before, after)
    # Built directly, not with ``replace``: this runs in the skill for every turn of a dialog.
    turns = before.turns + 1
    if state == COMPLETED:
        return DialogChange(
            before, None, completed=Dialog(before.intent, before.start_ms, turns, before.asked)
        )
    return DialogChange(before, Dialog(before.intent, before.start_ms, turns, asked or before.asked))


@dataclass(frozen=True, slots=True)
class DialogStep:
    """What an event records of its session's dialog: never a slot value, only names and codes.

    ``state`` is the request's ``dialogState`` code (``None``: none), ``asked`` the question code
    of the reply's Dialog directive (``None``: it had none), ``open`` the dialog the incoming
    stamp said was open. Encoded as ``<state> <asked> [<turns> <asked> <start ms> <intent>]``,
    ``-`` for what is absent, the intent last (it is the only part that is free text).

    >>> step = DialogStep("p", "e:dish", Dialog("OrderIntent", 1_767_607_200_000, 2, "d"))
    >>> step.encode()
    'p e:dish 2 d 1767607200000 OrderIntent'
    >>> DialogStep.decode(step.encode()) == step, DialogStep.decode("s -")
    (True, DialogStep(state='s', asked=None, open=None))
    """

    state: str | None
    asked: str | None = None
    open: Dialog | None = None

    def encode(self) -> str:
        head = f"{self.state or _ABSENT} {self.asked or _ABSENT}"
        d = self.open
        return head if d is None else f"{head} {d.turns} {d.asked} {d.start_ms} {d.intent}"

    @staticmethod
    def decode(text: str | None) -> DialogStep:
        """The step ``encode`` wrote; anything unreadable reads as no state, no question, no dialog."""
        parts = (text or "").split(" ", 5)
        state = parts[0] if parts[0] in (STARTED, IN_PROGRESS, COMPLETED) else None
        asked = parts[1] if len(parts) > 1 and is_question(parts[1]) and parts[1] != NOT_ASKED else None
        dialog = None
        if (
            len(parts) == 6
            and parts[2].isdigit()
            and parts[4].isdigit()
            and parts[5]
            and is_question(parts[3])
        ):
            turns = int(parts[2])
            if 0 < turns <= MAX_TURNS:
                dialog = Dialog(parts[5], int(parts[4]), turns, parts[3])
        return DialogStep(state, asked, dialog)


def is_question(code: str) -> bool:
    """Whether ``code`` is a question code (``Dialog.asked``): slot names have no space or colon."""
    if code in (CONFIRM_INTENT, DELEGATED, NOT_ASKED):
        return True
    prefix, slot = code[:2], code[2:]
    return prefix in (ELICIT, CONFIRM_SLOT) and 0 < len(slot) <= 40 and " " not in slot and ":" not in slot


def dialog_open_key(asked: str, timestamp_ms: int) -> str:
    """The key of an open dialog in ``Rollup.dialogs_open``: ``<asked>@<epoch minute>``."""
    return f"{asked}@{timestamp_ms // 60_000}"


# --- unresolved values of opted-in slots (METRICS.md, "Unresolved values") ------------------------

DEFAULT_MIN_CUSTOMERS = 5  # k: a value is reported once this many distinct customers said it
LEAST_MIN_CUSTOMERS = 2
# Separators no spoken value holds (ASCII unit and record separators): a value with one is dropped.
_SLOT_SEP, _VALUE_SEP = "\x1f", "\x1e"
VALUE_SEPARATOR = _VALUE_SEP  # between two values in ``Event.uv`` (the codec cuts whole values)


def encode_values(pairs: Iterable[tuple[str, str]]) -> str | None:
    """``Event.uv``: ``(slot, value)`` pairs, values already case-folded and stripped.

    >>> text = encode_values([("dish", "pad see ew"), ("dish", "larb")])
    >>> decode_values(text)
    [('dish', 'pad see ew'), ('dish', 'larb')]
    """
    return _VALUE_SEP.join(f"{slot}{_SLOT_SEP}{value}" for slot, value in pairs) or None


def decode_values(text: str | None) -> list[tuple[str, str]]:
    """The pairs ``encode_values`` wrote; anything unreadable is skipped, never raised."""
    out = []
    for part in (text or "").split(_VALUE_SEP):
        slot, sep, value = part.partition(_SLOT_SEP)
        if sep and slot and value and _SLOT_SEP not in value:
            out.append((slot, value))
    return out


def has_separator(value: str) -> bool:
    return _SLOT_SEP in value or _VALUE_SEP in value


@dataclass(frozen=True, slots=True)
class ValueSighting:
    """One unresolved value of an opted-in slot in one utterance, as reports read it back.

    From the raw event (``Event.uv``) or from its copy in the value index, which carries the
    raw event's TTL (``aggregation.slot_values``); ``customer`` is the keyed pseudonym.
    """

    intent: str
    slot: str
    value: str
    customer: str | None
    locale: str | None
    release: str | None
    timestamp_ms: int

    @staticmethod
    def of_event(event: Event) -> list[ValueSighting]:
        """The sightings an event carries (none for an event without ``uv``)."""
        if not event.uv or event.intent is None:
            return []
        return [
            ValueSighting(
                event.intent, slot, value, event.customer, event.locale, event.release, event.timestamp_ms
            )
            for slot, value in decode_values(event.uv)
        ]


ALL_INTENTS = "*"  # the intent of a rollup covering every request of its bucket
NO_LOCALE = "-"  # the locale of requests that carry none (skill events)


@dataclass(frozen=True, slots=True)
class RollupKey:
    """One rollup: a skill, stage, granularity, clock-aligned bucket, locale, intent and release.

    ``intent`` is ``ALL_INTENTS`` for the rollup of the whole bucket (every request type,
    session and enablement figures), or an intent key for that intent's utterances only.
    """

    skill_id: str
    stage: str
    granularity: str  # PT15M | PT1H | P1D
    bucket_ms: int
    locale: str
    intent: str = ALL_INTENTS
    release: str = NO_RELEASE  # request figures: the serving release; session figures: the starting one


@dataclass(frozen=True, slots=True)
class FirstUtterance:
    """Where a customer's first utterance falls: what makes them new in a bucket.

    The fold decides it and the customer store keeps it (``storage.customers``), hence here.
    """

    timestamp_ms: int
    request_id: str
    locale: str
    intent: str
    release: str = NO_RELEASE

    @classmethod
    def of(cls, event: Event) -> FirstUtterance | None:
        """The candidate an event offers: only utterances with a customer make a customer."""
        intent = event.intent_key
        if event.customer is None or intent is None:
            return None
        return cls(event.timestamp_ms, event.request_id, event.locale or NO_LOCALE, intent, event.release_key)

    @property
    def order(self) -> tuple[int, str]:
        """Earlier is smaller; the request id breaks ties between equal timestamps."""
        return (self.timestamp_ms, self.request_id)


@dataclass(slots=True)
class Rollup:
    """Counters and summaries for one ``RollupKey``; rollups of any keys merge into one.

    Session figures are attributed to the bucket (and locale) in which the session started.
    ``open_sessions`` maps the epoch minute of a still-open tracked session's last answered
    utterance to how many such sessions started in this bucket: a report at time ``now`` counts
    those older than an hour as ``incomplete`` and the rest as ``active`` (METRICS.md).
    """

    customers: DistinctCounter
    latency: QuantileSummary  # handler ms of utterances
    utterances: int = 0
    failed_utterances: int = 0
    prompts: int = 0
    responded: int = 0  # utterances of tracked sessions with session.new false
    tracked_utterances: int = 0  # utterances of tracked sessions
    new_customers: int = 0
    # The following are kept on ALL_INTENTS rollups only.
    requests_by_type: dict[str, int] = field(default_factory=dict)
    sessions_started: int = 0
    session_ends: dict[str, int] = field(default_factory=dict)  # EndType value -> count
    open_sessions: dict[int, int] = field(default_factory=dict)  # epoch minute -> open sessions
    drop_off: dict[str, int] = field(default_factory=dict)  # last intent answered -> ended sessions
    enablements: int = 0
    # Friction and endpoint time (METRICS.md): unhandled, cold starts and endpoint on every rollup.
    unhandled: int = 0  # fallback or failed utterances
    cold_starts: int = 0  # utterances (with a handler time) that were a container's first request
    # Endpoint ms of utterances; None while no cold start is in it: then it equals ``latency``.
    endpoint: QuantileSummary | None = None
    terminations: int = 0  # ALL_INTENTS only, like the rest below
    retries: int = 0  # utterances right after an unhandled one
    launches: int = 0  # sessions started by a LaunchRequest
    one_shots: int = 0  # sessions started by an IntentRequest
    # Friction events by the intent answered before them ("start" when none, "unknown" untracked).
    # Terminations and no-response ends here are friction only: after the welcome or an unhandled reply.
    unhandled_after: dict[str, int] = field(default_factory=dict)
    terminated_after: dict[str, int] = field(default_factory=dict)
    no_response_after: dict[str, int] = field(default_factory=dict)  # at the session's start
    # Leaving at any other prompt (METRICS.md, Friction): exits, by the prompt's intent, not friction.
    exited_after: dict[str, int] = field(default_factory=dict)  # Stop, Cancel, USER_INITIATED
    no_response_exits_after: dict[str, int] = field(default_factory=dict)  # at the session's start
    kept_open: dict[str, int] = field(default_factory=dict)  # intent -> replies that kept it open
    # Kept on per-intent rollups only: slot figures (``slot_count_key`` -> utterances) and the
    # intent's confirmations (METRICS.md, Slots, confirmations and dialogs).
    slot_counts: dict[str, int] = field(default_factory=dict)
    intents_confirmed: int = 0
    intents_denied: int = 0
    # Dialogs of the intent, in the rollups of the bucket where each started (METRICS.md, Dialogs).
    dialogs_started: int = 0
    dialogs_completed: int = 0
    dialogs_switched: int = 0  # abandoned because another dialog started (also in dialogs_abandoned)
    dialog_turns: dict[str, int] = field(default_factory=dict)  # turns to completion -> dialogs
    dialogs_abandoned: dict[str, int] = field(default_factory=dict)  # question asked last -> dialogs
    dialogs_open: dict[str, int] = field(default_factory=dict)  # dialog_open_key -> open dialogs
    # Kept on the P1D ALL_INTENTS rollups only (see aggregation.retention and pathtree).
    retention: dict[str, int] = field(default_factory=dict)  # cohort counter key -> customers
    path_edges: dict[str, int] = field(default_factory=dict)  # pathtree.edge_key -> sessions
    transitions: dict[str, int] = field(default_factory=dict)  # "<A>><B>" -> sessions
    path_open: dict[str, int] = field(default_factory=dict)  # "<node>@<epoch minute>" -> open sessions

    def endpoint_summary(self) -> QuantileSummary:
        """Endpoint ms of the utterances: ``latency`` itself while no cold start is in this rollup."""
        return self.endpoint if self.endpoint is not None else self.latency

    def merge(self, other: Rollup) -> None:
        """Add ``other`` into this rollup (counters add, summaries merge)."""
        if self.endpoint is not None or other.endpoint is not None:
            endpoint = self.endpoint if self.endpoint is not None else self.latency.copy()
            endpoint.merge(other.endpoint_summary())
            self.endpoint = endpoint
        self.customers.merge(other.customers)
        self.latency.merge(other.latency)
        for name in _COUNTERS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name in _COUNTER_MAPS:
            mine: dict[Any, int] = getattr(self, name)
            for key, value in getattr(other, name).items():
                total = mine.get(key, 0) + value
                if total:
                    mine[key] = total
                else:
                    mine.pop(key, None)

    def open_split(self, now_ms: int) -> tuple[int, int]:
        """``(active, incomplete)`` open sessions as seen at ``now_ms``."""
        active = incomplete = 0
        for minute, count in self.open_sessions.items():
            if now_ms - (minute + 1) * 60_000 >= 3_600_000:
                incomplete += count
            else:
                active += count
        return active, incomplete


_COUNTERS = (
    "utterances",
    "failed_utterances",
    "prompts",
    "responded",
    "tracked_utterances",
    "new_customers",
    "sessions_started",
    "enablements",
    "unhandled",
    "cold_starts",
    "terminations",
    "retries",
    "launches",
    "one_shots",
    "intents_confirmed",
    "intents_denied",
    "dialogs_started",
    "dialogs_completed",
    "dialogs_switched",
)
DIALOG_MAPS = ("dialog_turns", "dialogs_abandoned", "dialogs_open")
_FRICTION_MAPS = ("unhandled_after", "terminated_after", "no_response_after")
_EXIT_MAPS = ("exited_after", "no_response_exits_after", "kept_open")
_JOURNEY_MAPS = ("retention", "path_edges", "transitions", "path_open")
_COUNTER_MAPS = (
    "requests_by_type",
    "session_ends",
    "open_sessions",
    "drop_off",
    *_FRICTION_MAPS,
    *_EXIT_MAPS,
    "slot_counts",
    *DIALOG_MAPS,
    *_JOURNEY_MAPS,
)
