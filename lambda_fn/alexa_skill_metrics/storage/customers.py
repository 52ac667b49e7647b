"""Customer first-seen items: where each customer's first utterance falls, and the moves that put it there.

One item per skill, stage and customer pseudonym (``keys.customer_pk``). It holds the first
utterance ever recorded (time, request id, locale, intent key, release) and a short log of ``moves``: each
time the aggregator set or moved the first utterance, which stream record did it (watermark key
and sequence number), from where and to where. The aggregator derives its new-customer rollup
changes from these moves, so a batch that wrote the customer item but crashed before its rollup
writes re-derives the same changes when the batch is delivered again (see ``aggregation.apply``).

Moves are kept for ``MOVE_RETENTION_MS`` of wall-clock time, twice the 24 hours a DynamoDB
stream keeps a record: older moves belong to records that can never be delivered again.

Example
-------
>>> from alexa_skill_metrics.model import FirstUtterance
>>> first = FirstUtterance(1_767_607_200_000, "r1", "en-US", "LaunchRequest")
>>> state = CustomerState("amzn1.ask.skill.1", "live", "c1", first=first,
...                       moves=[Move("20260105T10#5", 42, 1_767_607_201_000, first, None)])
>>> back = item_to_state(state_to_item(state))
>>> back.first == first, back.moves == state.moves, back.version
(True, True, 1)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from alexa_skill_metrics.model import NO_LOCALE, NO_RELEASE, FirstUtterance
from alexa_skill_metrics.storage.keys import CUSTOMER_PREFIX, CUSTOMER_SK, PK, SK, customer_pk
from alexa_skill_metrics.storage.rollups import VERSION, Item, TableAccess, _bytes

KIND = "customer"
Customer = tuple[str, str, str]  # (skill id, stage, pseudonym)
MOVE_RETENTION_MS = 48 * 3_600_000


@dataclass(frozen=True, slots=True)
class Move:
    """The stream record ``(source, seq)`` set the customer's first utterance to ``to`` (from ``from_``)."""

    source: str  # keys.watermark_key of the record's event partition key
    seq: int
    at_ms: int  # wall clock when the move was written
    to: FirstUtterance
    from_: FirstUtterance | None


@dataclass(frozen=True, slots=True)
class Act:
    """The stream record ``(source, seq)`` brought the customer new active days: these retention changes.

    ``changes`` are ``(epoch day of the rollup, counter key, delta)`` (``aggregation.retention``),
    applied to the day rollups of ``locale`` (``rollup.retention_key``; ``-`` for acts logged
    before counters went to each locale's rollups).
    """

    source: str
    seq: int
    at_ms: int
    changes: tuple[tuple[int, str, int], ...]
    locale: str = NO_LOCALE
    release: str = NO_RELEASE  # of the utterance, like ``locale`` (``-`` for acts logged before releases)


@dataclass(slots=True)
class CustomerState:
    """A customer's first-seen item; ``version`` 0 means it is not stored yet."""

    skill_id: str
    stage: str
    customer: str
    first: FirstUtterance | None = None
    moves: list[Move] = field(default_factory=list)
    version: int = 0
    days: list[int] = field(default_factory=list)  # epoch days with an utterance, ascending
    acts: list[Act] = field(default_factory=list)

    @property
    def item_key(self) -> tuple[str, str]:
        return customer_pk(self.skill_id, self.stage, self.customer), CUSTOMER_SK


def state_to_item(state: CustomerState) -> Item:
    """The full item (``ver`` is ``state.version + 1``: the version it writes)."""
    if state.first is None:
        raise ValueError("a customer item needs a first utterance")
    pk, sk = state.item_key
    return {
        PK: {"S": pk},
        SK: {"S": sk},
        "kind": {"S": KIND},
        VERSION: {"N": str(state.version + 1)},
        "first": _first_to_attr(state.first),
        "moves": {"L": [_move_to_attr(m) for m in state.moves]},
        **({"days": {"B": days_to_bytes(state.days)}} if state.days else {}),
        **({"acts": {"L": [_act_to_attr(a) for a in state.acts]}} if state.acts else {}),
    }


def item_to_state(item: Item) -> CustomerState:
    """Rebuild a customer's state; raises ``ValueError`` when the item is not readable."""
    try:
        rest = item[PK]["S"][len(CUSTOMER_PREFIX) :]
        skill_id, stage, customer = rest.split("#", 2)
        return CustomerState(
            skill_id=skill_id,
            stage=stage,
            customer=customer,
            first=_attr_to_first(item["first"]),
            moves=[_attr_to_move(m) for m in item.get("moves", {}).get("L", [])],
            version=int(item[VERSION]["N"]),
            days=bytes_to_days(_bytes(item["days"]["B"])) if "days" in item else [],
            acts=[_attr_to_act(a) for a in item.get("acts", {}).get("L", [])],
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"unreadable customer item: {type(exc).__name__}: {exc}") from None


class CustomerStore(TableAccess):
    """Reads and conditionally writes customer first-seen items (``items_read``/``calls`` count the cost)."""

    def get_many(
        self, customers: Iterable[tuple[str, str, str]]
    ) -> dict[tuple[str, str, str], CustomerState]:
        """States of ``(skill id, stage, customer)`` triples; customers never seen get version 0."""
        wanted = {c: CustomerState(*c) for c in customers}
        by_key = {state.item_key: triple for triple, state in wanted.items()}
        for item in self.batch_get(list(by_key)):
            state = item_to_state(item)
            wanted[by_key[state.item_key]] = state
        return wanted

    def get(self, skill_id: str, stage: str, customer: str) -> CustomerState:
        state = CustomerState(skill_id, stage, customer)
        item = self.get_item(*state.item_key)
        return state if item is None else item_to_state(item)

    def put(self, state: CustomerState) -> None:
        """Write ``state`` if the item is still at ``state.version``, then bump the version.

        Raises ``VersionConflict`` when another writer got there first.
        """
        self.put_if(state_to_item(state), state.version)
        state.version += 1


def _first_to_attr(first: FirstUtterance) -> dict[str, Any]:
    attr = {
        "t": {"N": str(first.timestamp_ms)},
        "r": {"S": first.request_id},
        "l": {"S": first.locale},
        "i": {"S": first.intent},
    }
    if first.release != NO_RELEASE:  # left out when none: items written before releases read the same
        attr["rl"] = {"S": first.release}
    return {"M": attr}


def _attr_to_first(attr: dict[str, Any]) -> FirstUtterance:
    m = attr["M"]
    release = m["rl"]["S"] if "rl" in m else NO_RELEASE
    return FirstUtterance(int(m["t"]["N"]), m["r"]["S"], m["l"]["S"], m["i"]["S"], release)


def _move_to_attr(move: Move) -> dict[str, Any]:
    attr: dict[str, Any] = {
        "s": {"S": move.source},
        "q": {"S": str(move.seq)},
        "a": {"N": str(move.at_ms)},
        "to": _first_to_attr(move.to),
    }
    if move.from_ is not None:
        attr["from"] = _first_to_attr(move.from_)
    return {"M": attr}


def _attr_to_move(attr: dict[str, Any]) -> Move:
    m = attr["M"]
    from_ = _attr_to_first(m["from"]) if "from" in m else None
    return Move(m["s"]["S"], int(m["q"]["S"]), int(m["a"]["N"]), _attr_to_first(m["to"]), from_)


def days_to_bytes(days: list[int]) -> bytes:
    """Active days as the first day (4 bytes) and a bitmap of the days after it: 12 weeks in 15 bytes.

    >>> bytes_to_days(days_to_bytes([20458, 20459, 20470]))
    [20458, 20459, 20470]
    """
    first = days[0]
    bits = bytearray((days[-1] - first) // 8 + 1)
    for day in days:
        offset = day - first
        bits[offset // 8] |= 1 << (offset % 8)
    return first.to_bytes(4, "big") + bytes(bits)


def bytes_to_days(data: bytes) -> list[int]:
    first = int.from_bytes(data[:4], "big")
    return [first + 8 * i + bit for i, byte in enumerate(data[4:]) for bit in range(8) if byte >> bit & 1]


def _act_to_attr(act: Act) -> dict[str, Any]:
    changes = ";".join(f"{day}:{key}:{delta}" for day, key, delta in act.changes)
    attr = {"s": {"S": act.source}, "q": {"S": str(act.seq)}, "a": {"N": str(act.at_ms)}, "c": {"S": changes}}
    if act.locale != NO_LOCALE:
        attr["l"] = {"S": act.locale}
    if act.release != NO_RELEASE:
        attr["rl"] = {"S": act.release}
    return {"M": attr}


def _attr_to_act(attr: dict[str, Any]) -> Act:
    m = attr["M"]
    changes = []
    for part in m["c"]["S"].split(";"):
        day, key, delta = part.split(":")
        changes.append((int(day), key, int(delta)))
    locale = m["l"]["S"] if "l" in m else NO_LOCALE
    release = m["rl"]["S"] if "rl" in m else NO_RELEASE
    return Act(m["s"]["S"], int(m["q"]["S"]), int(m["a"]["N"]), tuple(changes), locale, release)
