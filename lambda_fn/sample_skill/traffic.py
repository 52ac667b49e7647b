"""Seeded, realistic traffic for the sample skill, sent the way Alexa sends it.

Customers return over the days of the simulation, in three locales, mostly in the evening.
A session launches (or opens with a one-shot intent), rolls dice, sometimes says a number the
skill cannot parse (answered by the exception handler), sometimes asks for the score before
rolling (the outage escapes, and Alexa ends the session with reason ``ERROR``), hits the fallback
intent (and mostly rephrases right after it: a retry), and ends by ``AMAZON.StopIntent`` right
after a prompt (the skill ends it), by the customer leaving
(``USER_INITIATED``) or by not answering (``EXCEEDED_MAX_REPROMPTS``). Session attributes are
carried from each reply into the next request, as Alexa does. New customers enable the skill.
Some sessions set up a game, a dialog (``SetUpGameIntent``: players, dice, a confirmation), now
and then with a help request in the middle; some customers leave in the middle of one (silence,
``USER_INITIATED``, or "stop"). The dialogs draw from a generator of their own, seeded by the
session, so every other request of a seeded simulation stays what it was.

Example
-------
>>> sent = []
>>> sim = Simulation(customers=5, days=1, seed=7)
>>> stats = sim.run(lambda event, context: sent.append(event) or {"sessionAttributes": {}, "response": {}})
>>> stats.requests == len(sent) > 0
True
"""

from __future__ import annotations

import itertools
import random
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sample_skill.envelopes import DEMO_SKILL_ID, Envelopes, iso

DAY_MS = 86_400_000
LOCALES = (("en-US", 0.6), ("en-GB", 0.25), ("de-DE", 0.15))
# Share of sessions starting in each hour of the day (UTC), evening-heavy.
_HOURLY = [1, 1, 1, 1, 1, 2, 3, 4, 5, 5, 5, 5, 6, 6, 6, 6, 7, 9, 11, 12, 11, 8, 4, 2]

Handler = Callable[[dict[str, Any], Any], Any]
FALLBACK = "AMAZON.FallbackIntent"
RETRY_AFTER_FALLBACK = 0.7  # most customers rephrase after the fallback's reprompt (friction: retries)
# Lambda reclaims an idle container after some minutes (AWS publishes no figure; observed 5 to 45).
IDLE_MS = 30 * 60_000
GAME = "SetUpGameIntent"
GAME_SHARE = 0.15  # sessions that set up a game after the first reply
LEFT_IN_DIALOG = 0.2  # sessions whose customer leaves in the middle of a game's set-up


@dataclass
class Stats:
    """What the simulation sent, by request type and by what happened."""

    requests: int = 0
    by_type: Counter[str] = field(default_factory=Counter)
    escaped: int = 0
    sessions: int = 0

    def note(self, request: dict[str, Any]) -> None:
        self.requests += 1
        self.by_type[request["request"]["type"]] += 1


@dataclass
class Simulation:
    """``customers`` people over ``days`` days from ``start_ms`` (default: the week before now)."""

    customers: int = 200
    days: int = 7
    seed: int = 42
    start_ms: int | None = None
    skill_id: str = DEMO_SKILL_ID

    def run(self, handler: Handler, progress: Callable[[int], None] | None = None) -> Stats:
        """Send every request of the simulation to ``handler``, in time order per session."""
        rng = random.Random(self.seed)
        start = self.start_ms if self.start_ms is not None else _week_start(self.days)
        stats = Stats()
        ids = itertools.count()  # one sequence of request ids across locales, so none repeats
        envelopes = {loc: Envelopes(skill_id=self.skill_id, locale=loc, _ids=ids) for loc, _ in LOCALES}
        sessions = sorted(self._sessions(rng, start), key=lambda s: s[0])
        for number, (at_ms, customer, locale, first) in enumerate(sessions):
            env = envelopes[locale]
            if first:
                self._send(
                    handler,
                    env.skill_event("AlexaSkillEvent.SkillEnabled", user=customer, at_ms=at_ms - 60_000),
                    stats,
                )
            self._session(handler, env, rng, customer, f"{customer}-{number}", at_ms, stats)
            if progress is not None:
                progress(number + 1)
        return stats

    def session_count(self) -> int:
        return sum(1 for _ in self._sessions(random.Random(self.seed), 0))

    def _sessions(self, rng: random.Random, start: int) -> Iterator[tuple[int, str, str, bool]]:
        """(start time, customer, locale, first session?) for every session of the simulation."""
        hours = list(range(24))
        for c in range(self.customers):
            customer = f"{self.seed:04d}{c:06d}"
            locale = rng.choices([loc for loc, _ in LOCALES], [w for _, w in LOCALES])[0]
            first_day = rng.randrange(self.days)
            loyalty = rng.random()  # the chance of coming back on a later day
            first = True
            for day in range(first_day, self.days):
                if not first and rng.random() > loyalty * 0.8:
                    continue
                for _ in range(1 + (rng.random() < 0.2)):
                    hour = rng.choices(hours, _HOURLY)[0]
                    at = start + day * DAY_MS + hour * 3_600_000 + rng.randrange(3_600_000)
                    yield at, customer, locale, first
                    first = False

    def _session(
        self,
        handler: Handler,
        env: Envelopes,
        rng: random.Random,
        user: str,
        session: str,
        t: int,
        stats: Stats,
    ) -> None:
        stats.sessions += 1
        attributes: dict[str, Any] = {}
        if rng.random() < 0.25:  # a one-shot: "ask dice coach to roll a twenty sided die"
            request = env.intent(
                "RollDiceIntent",
                user=user,
                session=session,
                at_ms=t,
                new=True,
                slots={"sides": str(rng.choice([6, 12, 20]))},
            )
        else:
            request = env.launch(user=user, session=session, at_ms=t)
        dialogs = random.Random(zlib.crc32(session.encode()))  # its own: the rest stays as it was

        def send(request: dict[str, Any]) -> dict[str, Any] | None:
            return self._send(handler, request, stats)

        for turn in range(12):
            reply = self._send(handler, request, stats)
            if reply is None:  # the skill failed: Alexa ends the session with an error
                t += 1_000
                self._send(
                    handler,
                    env.session_ended(
                        "ERROR",
                        user=user,
                        session=session,
                        at_ms=t,
                        attributes=attributes,
                        error_type="INVALID_RESPONSE",
                    ),
                    stats,
                )
                return
            attributes = reply.get("sessionAttributes") or {}
            if reply.get("response", {}).get("shouldEndSession") is not False:
                return
            t += rng.randrange(3_000, 15_000)
            roll = rng.random()
            leaves = roll < 0.15 + 0.05 * turn
            if leaves and dialogs.random() < LEFT_IN_DIALOG:  # ... in the middle of setting up a game
                t, attributes = game_dialog(send, env, dialogs, user, session, t, attributes, leave=True)
            if roll < 0.08 + 0.04 * turn:
                self._send(
                    handler,
                    env.session_ended(
                        "EXCEEDED_MAX_REPROMPTS",
                        user=user,
                        session=session,
                        at_ms=t + 16_000,
                        attributes=attributes,
                    ),
                    stats,
                )
                return
            if roll < 0.15 + 0.05 * turn:
                self._send(
                    handler,
                    env.session_ended(
                        "USER_INITIATED", user=user, session=session, at_ms=t, attributes=attributes
                    ),
                    stats,
                )
                return
            if turn == 0 and dialogs.random() < GAME_SHARE:
                t, attributes = game_dialog(send, env, dialogs, user, session, t, attributes)
            if _intent_of(request) == FALLBACK and rng.random() < RETRY_AFTER_FALLBACK:
                request = self._rephrase(env, rng, user, session, t, attributes)
            else:
                request = self._next_utterance(env, rng, user, session, t, attributes, turn)
            if _intent_of(request) == "AMAZON.StopIntent" and dialogs.random() < LEFT_IN_DIALOG:
                # "stop" while the skill sets up a game: the dialog is abandoned as the skill ends it
                t, attributes = game_dialog(send, env, dialogs, user, session, t, attributes, leave=True)
                request["request"]["timestamp"] = iso(t)
                request["session"]["attributes"] = dict(attributes)

    @staticmethod
    def _next_utterance(
        env: Envelopes,
        rng: random.Random,
        user: str,
        session: str,
        t: int,
        attributes: dict[str, Any],
        turn: int,
    ) -> dict[str, Any]:
        choice = rng.random()
        slots: dict[str, str] = {}
        if choice < 0.5:
            name, slots = "RollDiceIntent", {"sides": str(rng.choice([4, 6, 8, 10, 12, 20]))}
        elif choice < 0.58:
            name, slots = "RollDiceIntent", {"sides": rng.choice(["lots", "one", "a hundred"])}
        elif choice < 0.66:
            name = "CheckScoreIntent"
        elif choice < 0.74:
            name = "AMAZON.HelpIntent"
        elif choice < 0.82:
            name = "AMAZON.FallbackIntent"
        else:
            name = "AMAZON.StopIntent" if turn > 0 or choice < 0.95 else "AMAZON.CancelIntent"
        return env.intent(name, user=user, session=session, at_ms=t, slots=slots, attributes=attributes)

    @staticmethod
    def _rephrase(
        env: Envelopes, rng: random.Random, user: str, session: str, t: int, attributes: dict[str, Any]
    ) -> dict[str, Any]:
        """After "Sorry, I didn't get that": the customer tries again, in words the model knows."""
        sides = {"sides": str(rng.choice([6, 20]))}
        return env.intent(
            "RollDiceIntent", user=user, session=session, at_ms=t, slots=sides, attributes=attributes
        )

    @staticmethod
    def _send(handler: Handler, request: dict[str, Any], stats: Stats) -> dict[str, Any] | None:
        stats.note(request)
        try:
            reply: dict[str, Any] = handler(request, None)
        except Exception:
            stats.escaped += 1
            return None
        return reply


def game_dialog(
    send: Callable[[dict[str, Any]], dict[str, Any] | None],
    env: Envelopes,
    rng: random.Random,
    user: str,
    session: str,
    t: int,
    attributes: dict[str, Any],
    *,
    leave: bool = False,
) -> tuple[int, dict[str, Any]]:
    """Set up a game, a dialog as Alexa runs it with the skill's dialog model; ``leave``: part of one.

    STARTED (the customer may name the players at once), the players asked by the skill, the
    dice asked by Alexa (the skill delegates), a help request now and then, the confirmation
    (COMPLETED, confirmed or denied). ``send`` answers each request (``None``: it failed).
    Returns the time and the session attributes after it.
    """
    players = str(rng.choice([2, 3, 4])) if rng.random() < 0.4 else None
    said: dict[str, str] = {"players": players} if players else {}
    empty: tuple[str, ...] = ("dice",) if players else ("players", "dice")
    turns: list[tuple[str, dict[str, str], tuple[str, ...], str]] = [("STARTED", said, empty, "NONE")]
    players = players or str(rng.choice([2, 3, 4, 5]))
    if not said:
        turns.append(("IN_PROGRESS", {"players": players}, ("dice",), "NONE"))
    if rng.random() < 0.15:
        turns.append(("HELP", {}, (), "NONE"))
    dice = {"players": players, "dice": str(rng.choice([6, 12, 20]))}
    turns.append(("IN_PROGRESS", dice, (), "NONE"))
    turns.append(("COMPLETED", dice, (), rng.choice(["CONFIRMED"] * 4 + ["DENIED"])))
    if leave:
        turns = turns[: rng.randrange(1, len(turns))]
    for state, slots, empty, confirmation in turns:
        if state == "HELP":
            request = env.intent(
                "AMAZON.HelpIntent", user=user, session=session, at_ms=t, attributes=attributes
            )
        else:
            request = env.intent(
                GAME, user=user, session=session, at_ms=t, slots=slots, attributes=attributes,
                dialog_state=state, empty=empty, confirmation=confirmation,
            )  # fmt: skip
        reply = send(request)
        attributes = (reply or {}).get("sessionAttributes") or {}
        t += rng.randrange(3_000, 9_000)
    return t, attributes


@dataclass(frozen=True)
class LambdaContext:
    """The parts of Lambda's context object the recorder reads."""

    function_version: str
    invoked_function_arn: str
    aws_request_id: str | None = None


@dataclass
class Rollout:
    """Release ``candidate`` takes over from ``baseline`` at ``at_ms``, behind a weighted alias.

    For ``canary_ms`` the alias sends each request (not each session: Lambda routes invocations)
    to the candidate with probability ``canary_share``, then every request; ``serve`` routes a
    simulation's requests so, each with the context Lambda would give (function version, the
    alias's ARN), to the handler of that version.
    """

    at_ms: int
    baseline: str = "1"
    candidate: str = "2"
    canary_share: float = 0.1
    canary_ms: int = 6 * 3_600_000
    alias: str = "live"
    function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:dice-coach"
    seed: int = 0
    served: Counter[str] = field(default_factory=Counter)

    def release_at(self, at_ms: int, rng: random.Random) -> str:
        if at_ms < self.at_ms:
            return self.baseline
        if at_ms < self.at_ms + self.canary_ms and rng.random() >= self.canary_share:
            return self.baseline
        return self.candidate

    def serve(self, handlers: dict[str, Handler]) -> Handler:
        """A handler sending each request to ``handlers[release]`` with that release's context."""
        rng = random.Random(self.seed)  # its own: the traffic's choices stay the same
        arn = f"{self.function_arn}:{self.alias}"

        def route(event: dict[str, Any], context: Any) -> Any:
            at_ms = int(datetime.fromisoformat(event["request"]["timestamp"]).timestamp() * 1000)
            release = self.release_at(at_ms, rng)
            self.served[release] += 1
            return handlers[release](
                event, LambdaContext(release, arn, getattr(context, "aws_request_id", None))
            )

        return route


class Containers:
    """The simulation's requests spread over Lambda containers, as Lambda would start them.

    A container stays warm while requests keep coming; after ``idle_ms`` without one, Lambda
    has reclaimed it and the next request starts a new one, which takes 150 to 850 ms to start
    (seeded). ``start(startup_ms)`` is called right before that request: the demo passes the
    recorder's ``start_container``, so the recorder claims and records each cold start itself.
    Overlapping sessions share one container here (Lambda would start one per concurrent request).
    """

    def __init__(
        self, handler: Handler, start: Callable[[float], None], *, seed: int, idle_ms: int = IDLE_MS
    ) -> None:
        self._handler = handler
        self._start = start
        self._rng = random.Random(seed)  # its own: the traffic stays the same with or without it
        self._idle_ms = idle_ms
        self._last_ms: int | None = None
        self.started = 0

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        at_ms = int(datetime.fromisoformat(event["request"]["timestamp"]).timestamp() * 1000)
        if self._last_ms is None or at_ms - self._last_ms > self._idle_ms:
            self._start(float(self._rng.randrange(150, 850)))
            self.started += 1
        self._last_ms = at_ms if self._last_ms is None else max(self._last_ms, at_ms)
        return self._handler(event, context)


def _intent_of(request: dict[str, Any]) -> str | None:
    intent = request["request"].get("intent")
    return intent.get("name") if isinstance(intent, dict) else None


def _week_start(days: int) -> int:
    """Midnight UTC ``days`` days before today's midnight, so the simulated week ends today."""
    import time

    today = int(time.time() * 1000) // DAY_MS * DAY_MS
    return today - days * DAY_MS
