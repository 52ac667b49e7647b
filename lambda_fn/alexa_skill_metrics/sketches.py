"""Mergeable summaries for rollups: distinct customers and handler-latency quantiles.

Two implementations of each, with the same methods: the sketches stored in rollups (Apache
DataSketches' Theta and HLL for customers, logarithmic buckets for latency), and exact ones used
by the recomputation from raw events, which is the reference the sketches are tested against.

``CustomerSketch`` keeps a Theta sketch (lg_k=10), exact while it has not entered estimation
mode (at least 1,000 distinct customers), beside an HLL sketch (lg_k=14, RSE about 0.8%) that
answers beyond that: METRICS.md asks for exact counts up to 1,000 and 2% beyond.

Example
-------
>>> s = CustomerSketch()
>>> for c in ["a", "b", "a"]:
...     s.add(c)
>>> t = CustomerSketch.from_bytes(s.to_bytes())
>>> t.merge(s); t.count()
2
>>> lat = LatencySketch()
>>> for ms in (10.0, 20.0, 30.0):
...     lat.add(ms)
>>> lat.quantile(0.5)
20.0
"""

from __future__ import annotations

import itertools
import math
import struct
from abc import ABC, abstractmethod
from typing import Any

from alexa_skill_metrics.varint import read_varints, unzigzag, write_varint, zigzag

THETA_LG_K = 10
HLL_LG_K = 14
RELATIVE_ACCURACY = 0.01
_GAMMA = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY)
_LOG_GAMMA = math.log(_GAMMA)
EXACT_LIMIT = 200
# The first byte of a stored LatencySketch (a KLL sketch's, stored by earlier versions, is 1, 2 or 5).
_EXACT = b"\xde"
_BUCKETS = b"\xdd"
_HEADER = struct.Struct(">I")  # length of the Theta part; the HLL part follows


class DistinctCounter(ABC):
    """A mergeable count of distinct strings."""

    @abstractmethod
    def add(self, value: str) -> None: ...

    @abstractmethod
    def merge(self, other: DistinctCounter) -> None: ...

    @abstractmethod
    def count(self) -> int: ...


class QuantileSummary(ABC):
    """A mergeable summary of a distribution of non-negative floats."""

    @abstractmethod
    def add(self, value: float) -> None: ...

    @abstractmethod
    def merge(self, other: QuantileSummary) -> None: ...

    @abstractmethod
    def quantile(self, q: float) -> float | None: ...

    @abstractmethod
    def total(self) -> int: ...

    def copy(self) -> QuantileSummary:
        """An independent summary holding the same values."""
        raise NotImplementedError


class CustomerSketch(DistinctCounter):
    """Theta (exact for small counts) plus HLL (compact and accurate for large ones)."""

    def __init__(self, theta: Any = None, hll: Any = None) -> None:
        import datasketches as ds

        self._theta = ds.theta_union(THETA_LG_K)
        self._hll = ds.hll_union(HLL_LG_K)
        self._pending_theta = ds.update_theta_sketch(THETA_LG_K)
        self._pending_hll = ds.hll_sketch(HLL_LG_K, ds.tgt_hll_type.HLL_4)
        if theta is not None:
            self._theta.update(theta)
        if hll is not None:
            self._hll.update(hll)

    def add(self, value: str) -> None:
        self._pending_theta.update(value)
        self._pending_hll.update(value)

    def merge(self, other: DistinctCounter) -> None:
        if not isinstance(other, CustomerSketch):
            raise TypeError("a CustomerSketch merges only with another CustomerSketch")
        theta, hll = other._parts()
        self._theta.update(theta)
        self._hll.update(hll)

    def count(self) -> int:
        theta, hll = self._parts()
        estimate: float = hll.get_estimate() if theta.is_estimation_mode() else theta.get_estimate()
        return round(estimate)

    def _parts(self) -> tuple[Any, Any]:
        self._theta.update(self._pending_theta)
        self._hll.update(self._pending_hll)
        self._pending_theta.reset()
        self._pending_hll.reset()
        return self._theta.get_result(), self._hll.get_result()

    def to_bytes(self) -> bytes:
        theta, hll = self._parts()
        theta_bytes = theta.serialize()
        hll_bytes = hll.serialize_compact() if not hll.is_empty() else b""
        return bytes(_HEADER.pack(len(theta_bytes)) + theta_bytes + hll_bytes)

    @classmethod
    def from_bytes(cls, data: bytes) -> CustomerSketch:
        import datasketches as ds

        (size,) = _HEADER.unpack_from(data)
        theta = ds.compact_theta_sketch.deserialize(data[_HEADER.size : _HEADER.size + size])
        rest = data[_HEADER.size + size :]
        hll = ds.hll_sketch.deserialize(rest) if rest else None
        return cls(theta=theta, hll=hll)


class ExactCustomers(DistinctCounter):
    """The reference: a plain set."""

    def __init__(self) -> None:
        self.values: set[str] = set()

    def add(self, value: str) -> None:
        self.values.add(value)

    def merge(self, other: DistinctCounter) -> None:
        if not isinstance(other, ExactCustomers):
            raise TypeError("an ExactCustomers merges only with another ExactCustomers")
        self.values |= other.values

    def count(self) -> int:
        return len(self.values)


class LatencySketch(QuantileSummary):
    """Exact up to 200 values, then logarithmic buckets (DDSketch's mapping) within 1%.

    Values are kept to the microsecond, as the recorder measures them. Up to ``EXACT_LIMIT``
    values the sketch keeps them all and its quantiles are exact. Beyond, a value ``v > 0`` counts
    in bucket ``ceil(log(v) / log(gamma))`` with ``gamma = (1 + a) / (1 - a)`` and
    ``a = RELATIVE_ACCURACY``; a quantile is the bucket holding the value of that rank (the rank
    rule of ``ExactLatency``), reported as the point of the bucket within ``a`` of every value in
    it, so never more than 1% (relative) from the exact quantile of the same values. Values of
    0 ms or less share one bucket, reported as 0.

    Merging keeps values or adds bucket counts, so a sketch depends only on the values it holds:
    not on how they were split over rollups, nor on the order of merges. (The KLL sketches that
    earlier versions stored compacted at random: two reads of one range could differ.)

    >>> s = LatencySketch()
    >>> for ms in (10.0, 20.0, 30.0):
    ...     s.add(ms)
    >>> s.quantile(0.5), s.total()
    (20.0, 3)
    >>> many = LatencySketch()
    >>> for ms in range(1, 1001):
    ...     many.add(float(ms))
    >>> abs(many.quantile(0.9) - 900.0) <= RELATIVE_ACCURACY * 900.0
    True
    """

    def __init__(self) -> None:
        self._exact: list[int] | None = []  # microseconds, while there are at most EXACT_LIMIT
        self._buckets: dict[int, int] = {}
        self._zeros = 0

    def add(self, value: float) -> None:
        if not math.isfinite(value):
            raise ValueError(f"a latency is a finite number of milliseconds, not {value!r}")
        micros = max(0, round(value * 1000))
        if self._exact is None:
            self._count(micros, 1)
        else:
            self._exact.append(micros)
            if len(self._exact) > EXACT_LIMIT:
                self._to_buckets()

    def merge(self, other: QuantileSummary) -> None:
        if not isinstance(other, LatencySketch):
            raise TypeError("a LatencySketch merges only with another LatencySketch")
        if self._exact is not None and other._exact is not None:
            self._exact.extend(other._exact)
            if len(self._exact) > EXACT_LIMIT:
                self._to_buckets()
            return
        self._to_buckets()
        if other._exact is not None:
            for micros in other._exact:
                self._count(micros, 1)
            return
        buckets = self._buckets
        for index, count in other._buckets.items():
            buckets[index] = buckets.get(index, 0) + count
        self._zeros += other._zeros

    def quantile(self, q: float) -> float | None:
        total = self.total()
        if not total:
            return None
        wanted = rank(q, total)
        if self._exact is not None:
            return sorted(self._exact)[wanted - 1] / 1000
        seen = self._zeros
        if seen >= wanted:
            return 0.0
        for index in sorted(self._buckets):
            seen += self._buckets[index]
            if seen >= wanted:
                return 2.0 * _GAMMA**index / (_GAMMA + 1.0)
        raise AssertionError("unreachable: the last bucket holds the largest rank")

    def total(self) -> int:
        if self._exact is not None:
            return len(self._exact)
        return self._zeros + sum(self._buckets.values())

    def _count(self, micros: int, count: int) -> None:
        if micros == 0:
            self._zeros += count
        else:
            index = math.ceil(math.log(micros / 1000) / _LOG_GAMMA)
            self._buckets[index] = self._buckets.get(index, 0) + count

    def _to_buckets(self) -> None:
        if self._exact is not None:
            exact, self._exact = self._exact, None
            for micros in exact:
                self._count(micros, 1)

    def to_bytes(self) -> bytes:
        """A marker byte, then varints: the count and the sorted values' deltas, or the zero count and
        the buckets (index delta, count)."""
        out = bytearray()
        previous = 0
        if self._exact is not None:
            out += _EXACT
            write_varint(out, len(self._exact))
            for micros in sorted(self._exact):
                write_varint(out, micros - previous)
                previous = micros
            return bytes(out)
        out += _BUCKETS
        write_varint(out, self._zeros)
        for index in sorted(self._buckets):
            write_varint(out, zigzag(index - previous))
            write_varint(out, self._buckets[index])
            previous = index
        return bytes(out)

    def copy(self) -> LatencySketch:
        twin = LatencySketch()
        twin._exact = None if self._exact is None else list(self._exact)
        twin._buckets = dict(self._buckets)
        twin._zeros = self._zeros
        return twin

    @classmethod
    def from_bytes(cls, data: bytes) -> LatencySketch:
        """Read ``to_bytes``'s format, or a KLL sketch that an earlier version stored."""
        sketch = cls()
        marker, numbers = data[:1], list(read_varints(data[1:]))
        if marker == _EXACT:
            if not numbers or len(numbers) != numbers[0] + 1:
                raise ValueError("truncated latency sketch")
            sketch._exact = list(itertools.accumulate(numbers[1:]))
        elif marker == _BUCKETS:
            if len(numbers) % 2 != 1:
                raise ValueError("truncated latency sketch")
            sketch._exact, sketch._zeros = None, numbers[0]
            indexes = itertools.accumulate(map(unzigzag, numbers[1::2]))
            sketch._buckets = dict(zip(indexes, numbers[2::2], strict=True))
        else:
            sketch._add_kll(data)
        return sketch

    def _add_kll(self, data: bytes) -> None:
        import datasketches as ds

        for value, weight in ds.kll_floats_sketch.deserialize(data):
            for _ in range(int(weight)):
                self.add(float(value))


def rank(q: float, total: int) -> int:
    """The 1-based rank of quantile ``q`` among ``total`` values: the smallest with rank/total >= q."""
    return min(total, max(1, math.ceil(q * total)))


class ExactLatency(QuantileSummary):
    """The reference: every value; quantile = the value of rank ``rank(q, n)`` in ascending order."""

    def __init__(self) -> None:
        self.values: list[float] = []

    def add(self, value: float) -> None:
        self.values.append(value)

    def merge(self, other: QuantileSummary) -> None:
        if not isinstance(other, ExactLatency):
            raise TypeError("an ExactLatency merges only with another ExactLatency")
        self.values.extend(other.values)

    def quantile(self, q: float) -> float | None:
        if not self.values:
            return None
        return sorted(self.values)[rank(q, len(self.values)) - 1]

    def total(self) -> int:
        return len(self.values)

    def copy(self) -> ExactLatency:
        twin = ExactLatency()
        twin.values = list(self.values)
        return twin
