"""One frozen ``Settings`` object, resolved once: argument, then environment, then default.

Endpoint, region and credentials are deliberately absent: boto3 resolves them from its standard
configuration (``AWS_ENDPOINT_URL``, ``AWS_ENDPOINT_URL_DYNAMODB``, ``AWS_REGION``, profiles ...).

Example
-------
>>> settings = Settings.from_env({"METRICS_TABLE": "skill-metrics", "METRICS_PSEUDONYM_KEY": "k" * 32})
>>> settings.table_name, settings.stage, settings.retention_days
('skill-metrics', 'live', 90)
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from alexa_skill_metrics.exceptions import ConfigurationError
from alexa_skill_metrics.model import NO_RELEASE, RELEASE_PATTERN

# The environment variable names, in one place.
ENV_TABLE = "METRICS_TABLE"
ENV_STAGE = "METRICS_STAGE"
ENV_PSEUDONYM_KEY = "METRICS_PSEUDONYM_KEY"
ENV_RETENTION_DAYS = "METRICS_RETENTION_DAYS"
ENV_TIMEOUT_MS = "METRICS_TIMEOUT_MS"
ENV_DELIVERY = "METRICS_DELIVERY"
ENV_EVENT_WRITE_SHARDS = "METRICS_EVENT_WRITE_SHARDS"
ENV_EVENT_READ_SHARDS = "METRICS_EVENT_READ_SHARDS"
ENV_ROLLUP_PARTS = "METRICS_ROLLUP_PARTS"
ENV_RELEASE = "METRICS_RELEASE"
ENV_HEALTH = "METRICS_HEALTH"
ENV_SLOT_VALUES = "METRICS_SLOT_VALUES"
HEALTH_MODES = ("auto", "on", "off")  # auto: on in Lambda (its logs are CloudWatch Logs), else off

STAGES = ("live", "development")
# auto: in Lambda, write after the reply is posted (internal extension), else inline; inline: always inline.
DELIVERY_MODES = ("auto", "inline")
SSM_PREFIX = "ssm:"
MIN_KEY_BYTES = 16

DEFAULT_STAGE = "live"
DEFAULT_RETENTION_DAYS = 90
# Connect and read timeout of one DynamoDB call from the skill. Inline, two attempts at most, so
# the recorder adds at most ~4 x this to a request whose write hangs (Alexa allows 8 s); after
# the reply, the connect timeout, while the read timeout grows with the time left.
DEFAULT_TIMEOUT_MS = 400
# How far one skill's writes spread (storage/keys.py): event partition keys per hour, and the most
# items a hot rollup is split into. Every function of a deployment must see the same values.
DEFAULT_EVENT_WRITE_SHARDS = 32
DEFAULT_ROLLUP_PARTS = 8
MAX_EVENT_WRITE_SHARDS = 1024
MAX_ROLLUP_PARTS = 64
# An opted-in slot: (intent, slot, the slot type the developer declared or None).
SlotOptIn = tuple[str, str, str | None]
_INTENT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.]{0,99}")
_SLOT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,39}")
_TYPE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.]{0,99}")
MAX_SLOT_OPT_INS = 50


def _env_write_shards() -> int:
    """``METRICS_EVENT_WRITE_SHARDS`` (the default when unset or bad: ``from_env`` reports it), so that
    ``Settings`` built in code writes over the shards the deployment's readers query."""
    try:
        return _int_setting(os.environ, ENV_EVENT_WRITE_SHARDS, DEFAULT_EVENT_WRITE_SHARDS)
    except ConfigurationError:
        return DEFAULT_EVENT_WRITE_SHARDS


@dataclass(frozen=True)
class Settings:
    """What the recorder, aggregator and reporting functions need to know.

    Parameters
    ----------
    table_name:
        DynamoDB table holding events and rollups (``METRICS_TABLE``).
    pseudonym_key:
        Secret for customer pseudonyms (``METRICS_PSEUDONYM_KEY``), either the secret itself
        (at least 16 bytes) or ``ssm:<parameter name>`` / a name starting with ``/`` naming an
        SSM SecureString parameter, read once per container.
    stage:
        ``live`` or ``development`` (``METRICS_STAGE``).
    retention_days:
        Raw events expire this many days after the request (``METRICS_RETENTION_DAYS``).
    timeout_ms:
        Connect and read timeout of the recorder's inline write (``METRICS_TIMEOUT_MS``); after
        the reply, its connect timeout and the shortest read timeout.
    delivery:
        ``auto`` or ``inline`` (``METRICS_DELIVERY``): when the write happens, see the README's
        "How events are delivered".
    event_write_shards:
        Event partition keys per skill and hour the recorder spreads its writes over
        (``METRICS_EVENT_WRITE_SHARDS``, 32): about 1,000 requests per second each. Readers take
        theirs from the environment: a value given here must not exceed their read shards.
    event_read_shards:
        Shards per hour that readers (rebuild, erasure, recomputed reports) query
        (``METRICS_EVENT_READ_SHARDS``): at least ``event_write_shards``; keep it at the old
        count for ``retention_days`` after lowering the write shards, so older hours stay read.
    rollup_parts:
        Items a rollup is split into once it is written concurrently (``METRICS_ROLLUP_PARTS``, 8);
        a rollup already split keeps its own count (``storage/keys.py``).
    slot_values:
        The slots whose unresolved values are recorded (``METRICS_SLOT_VALUES``), per intent:
        ``{"OrderIntent": ["dish"]}``, or with the slot type declared, ``{"OrderIntent": {"dish":
        "DishType"}}``; in the environment ``OrderIntent.dish,OrderIntent.size=SizeType``. None
        by default; personal built-in types are refused even here (``recording.slot_values``).
    health:
        ``auto`` (default), ``on`` or ``off`` (``METRICS_HEALTH``): the skill's health as
        CloudWatch metrics, one Embedded Metric Format log line per utterance on stdout
        (``recording.health``). ``auto`` is on in Lambda, whose stdout is CloudWatch Logs, and
        off elsewhere (a web service behind the CloudWatch agent sets ``on``).
    release:
        The developer's name for the running release (``METRICS_RELEASE``), e.g. a git commit:
        up to 24 letters, digits and ``. _ : + @ / $ -``. Empty: in Lambda, the function version
        that served each request; elsewhere, none (``-``).
    """

    table_name: str
    pseudonym_key: str = ""
    stage: str = DEFAULT_STAGE
    retention_days: int = DEFAULT_RETENTION_DAYS
    timeout_ms: int = DEFAULT_TIMEOUT_MS
    delivery: str = DELIVERY_MODES[0]
    event_write_shards: int = field(default_factory=_env_write_shards)
    event_read_shards: int = 0  # 0: as many as event_write_shards
    rollup_parts: int = DEFAULT_ROLLUP_PARTS
    release: str = ""
    health: str = HEALTH_MODES[0]
    slot_values: tuple[SlotOptIn, ...] = ()

    def __post_init__(self) -> None:
        # Given as a mapping (SkillMetrics(slot_values={...}), Settings(...)): kept as sorted triples.
        object.__setattr__(self, "slot_values", parse_slot_values(self.slot_values))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Build settings from ``environ`` (default ``os.environ``); keyword arguments win.

        Raises ``ConfigurationError`` naming the setting when one is missing or invalid.
        """
        env = os.environ if environ is None else environ
        known = {f.name for f in fields(cls)}
        unknown = set(overrides) - known
        if unknown:
            raise TypeError(f"unknown settings: {', '.join(sorted(unknown))}")
        given = {k: v for k, v in overrides.items() if v is not None}
        values: dict[str, Any] = {
            "table_name": given.get("table_name", env.get(ENV_TABLE, "")),
            "pseudonym_key": given.get("pseudonym_key", env.get(ENV_PSEUDONYM_KEY, "")),
            "stage": given.get("stage", env.get(ENV_STAGE, DEFAULT_STAGE)),
            "retention_days": given.get(
                "retention_days", _int_setting(env, ENV_RETENTION_DAYS, DEFAULT_RETENTION_DAYS)
            ),
            "timeout_ms": given.get("timeout_ms", _int_setting(env, ENV_TIMEOUT_MS, DEFAULT_TIMEOUT_MS)),
            "delivery": given.get("delivery", env.get(ENV_DELIVERY) or DELIVERY_MODES[0]),
            **spread_settings(env, given),
            "release": given.get("release", env.get(ENV_RELEASE, "")).strip(),
            "health": given.get("health", env.get(ENV_HEALTH) or HEALTH_MODES[0]),
            "slot_values": parse_slot_values(given.get("slot_values", env.get(ENV_SLOT_VALUES, ""))),
        }
        return cls(**values).validated()

    def validated(self, *, need_key: bool = False) -> Settings:
        """Return ``self`` when every setting is usable, else raise ``ConfigurationError``."""
        if not self.table_name:
            raise ConfigurationError(ENV_TABLE, "is not set; name the DynamoDB table for metrics")
        if self.stage not in STAGES:
            raise ConfigurationError(ENV_STAGE, f"is {self.stage!r}; use one of {', '.join(STAGES)}")
        if not 1 <= self.retention_days <= 3650:
            raise ConfigurationError(ENV_RETENTION_DAYS, f"is {self.retention_days}; use 1 to 3650 days")
        if not 10 <= self.timeout_ms <= 5000:
            raise ConfigurationError(ENV_TIMEOUT_MS, f"is {self.timeout_ms}; use 10 to 5000 ms")
        if self.delivery not in DELIVERY_MODES:
            raise ConfigurationError(
                ENV_DELIVERY, f"is {self.delivery!r}; use one of {', '.join(DELIVERY_MODES)}"
            )
        check_spread(self.event_write_shards, self.event_read_shards, self.rollup_parts)
        if self.release and (self.release == NO_RELEASE or not re.fullmatch(RELEASE_PATTERN, self.release)):
            raise ConfigurationError(
                ENV_RELEASE,
                f"is {self.release[:60]!r}; use up to 24 letters, digits and . _ : + @ / $ - "
                "(a short git commit, v1.4.2)",
            )
        if self.health not in HEALTH_MODES:
            raise ConfigurationError(ENV_HEALTH, f"is {self.health!r}; use one of {', '.join(HEALTH_MODES)}")
        if need_key:
            self._check_key()
        return self

    @property
    def shards_read(self) -> int:
        """Event write shards per hour that readers query (``event_read_shards``, at least the written)."""
        return max(self.event_write_shards, self.event_read_shards)

    @property
    def key_parameter(self) -> str | None:
        """The SSM parameter name when the pseudonym key is stored in SSM, else ``None``."""
        key = self.pseudonym_key
        if key.startswith(SSM_PREFIX):
            return key[len(SSM_PREFIX) :]
        if key.startswith("/"):
            return key
        return None

    def _check_key(self) -> None:
        if not self.pseudonym_key:
            raise ConfigurationError(
                ENV_PSEUDONYM_KEY, "is not set; give a secret of 16+ bytes or ssm:<parameter name>"
            )
        if self.key_parameter is None and len(self.pseudonym_key.encode()) < MIN_KEY_BYTES:
            raise ConfigurationError(ENV_PSEUDONYM_KEY, f"is shorter than {MIN_KEY_BYTES} bytes")


def parse_slot_values(raw: Any) -> tuple[SlotOptIn, ...]:
    """The opted-in slots of ``slot_values`` (a mapping) or ``METRICS_SLOT_VALUES`` (text), sorted.

    Raises ``ConfigurationError`` naming ``METRICS_SLOT_VALUES`` for anything it cannot read.

    >>> parse_slot_values({"OrderIntent": ["dish"], "SizeIntent": {"size": "SizeType"}})
    (('OrderIntent', 'dish', None), ('SizeIntent', 'size', 'SizeType'))
    >>> parse_slot_values("OrderIntent.dish, SizeIntent.size=SizeType")
    (('OrderIntent', 'dish', None), ('SizeIntent', 'size', 'SizeType'))
    """
    found: set[SlotOptIn] = set()
    if isinstance(raw, str):
        for entry in filter(None, (part.strip() for part in raw.split(","))):
            pair, _, declared = entry.partition("=")
            intent, dot, slot = pair.strip().rpartition(".")
            if not dot:
                raise ConfigurationError(
                    ENV_SLOT_VALUES, f"has {entry[:60]!r}; write Intent.slot or Intent.slot=SlotType"
                )
            found.add(_opt_in(intent, slot, declared.strip() or None))
    elif isinstance(raw, Mapping):
        for intent, slots in raw.items():
            if isinstance(slots, Mapping):
                found.update(_opt_in(intent, slot, declared) for slot, declared in slots.items())
            elif isinstance(slots, (list, tuple, set, frozenset)):
                found.update(_opt_in(intent, slot, None) for slot in slots)
            else:
                raise ConfigurationError(
                    ENV_SLOT_VALUES,
                    f"maps {str(intent)[:40]!r} to {type(slots).__name__}; give a list of slots",
                )
    elif raw is not None and raw != ():
        if isinstance(raw, tuple) and all(isinstance(t, tuple) and len(t) == 3 for t in raw):
            found.update(_opt_in(*entry) for entry in raw)  # a Settings' own value, given back
        else:
            raise ConfigurationError(
                ENV_SLOT_VALUES, f"is a {type(raw).__name__}; give {{intent: [slot, ...]}}"
            )
    if len(found) > MAX_SLOT_OPT_INS:
        raise ConfigurationError(
            ENV_SLOT_VALUES, f"names {len(found)} slots; opt in at most {MAX_SLOT_OPT_INS}"
        )
    return tuple(sorted(found, key=lambda t: (t[0], t[1], t[2] or "")))


def _opt_in(intent: Any, slot: Any, declared: Any) -> SlotOptIn:
    for what, value, rule in (("intent", intent, _INTENT_NAME), ("slot", slot, _SLOT_NAME)):
        if not isinstance(value, str) or not rule.fullmatch(value):
            raise ConfigurationError(
                ENV_SLOT_VALUES,
                f"has the {what} {str(value)[:60]!r}; use the name from the interaction model",
            )
    if declared is not None and (not isinstance(declared, str) or not _TYPE_NAME.fullmatch(declared)):
        raise ConfigurationError(
            ENV_SLOT_VALUES, f"declares {str(declared)[:60]!r} for {intent}.{slot}; use a slot type name"
        )
    return intent, slot, declared


def spread_settings(env: Mapping[str, str], given: Mapping[str, Any] | None = None) -> dict[str, int]:
    """``event_write_shards``, ``event_read_shards`` and ``rollup_parts`` from ``given``, else ``env``.

    >>> spread_settings({"METRICS_ROLLUP_PARTS": "4"})
    {'event_write_shards': 32, 'event_read_shards': 0, 'rollup_parts': 4}
    """
    given = given or {}
    return {
        "event_write_shards": given.get(
            "event_write_shards", _int_setting(env, ENV_EVENT_WRITE_SHARDS, DEFAULT_EVENT_WRITE_SHARDS)
        ),
        "event_read_shards": given.get("event_read_shards", _int_setting(env, ENV_EVENT_READ_SHARDS, 0)),
        "rollup_parts": given.get("rollup_parts", _int_setting(env, ENV_ROLLUP_PARTS, DEFAULT_ROLLUP_PARTS)),
    }


def check_spread(write_shards: int, read_shards: int, parts: int) -> None:
    """Raise ``ConfigurationError`` naming the first spread setting out of range."""
    if not 1 <= write_shards <= MAX_EVENT_WRITE_SHARDS:
        raise ConfigurationError(
            ENV_EVENT_WRITE_SHARDS, f"is {write_shards}; use 1 to {MAX_EVENT_WRITE_SHARDS}"
        )
    if not 0 <= read_shards <= MAX_EVENT_WRITE_SHARDS:
        raise ConfigurationError(
            ENV_EVENT_READ_SHARDS, f"is {read_shards}; use 0 (as written) to {MAX_EVENT_WRITE_SHARDS}"
        )
    if not 1 <= parts <= MAX_ROLLUP_PARTS:
        raise ConfigurationError(ENV_ROLLUP_PARTS, f"is {parts}; use 1 to {MAX_ROLLUP_PARTS}")


def _int_setting(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigurationError(name, f"is {raw!r}; expected a whole number") from None
