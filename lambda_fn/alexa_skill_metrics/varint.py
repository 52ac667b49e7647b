"""Unsigned and zigzag varints: the compact integers of the binary rollup attributes.

>>> out = bytearray()
>>> for number in (0, 300, zigzag(-2)):
...     write_varint(out, number)
>>> bytes(out).hex(), list(read_varints(bytes(out)))
('00ac0203', [0, 300, 3])
>>> unzigzag(zigzag(-2)), unzigzag(zigzag(7))
(-2, 7)
"""

from __future__ import annotations

from collections.abc import Iterator


def write_varint(out: bytearray, number: int) -> None:
    """Append ``number`` (>= 0) as a little-endian base-128 varint."""
    if number < 0:
        raise ValueError(f"a varint is not negative: {number}")
    while number >= 0x80:
        out.append(number & 0x7F | 0x80)
        number >>= 7
    out.append(number)


def read_varints(data: bytes) -> Iterator[int]:
    """Every varint in ``data``; raises ``ValueError`` when the last one is cut off."""
    value = shift = 0
    for byte in data:
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            yield value
            value = shift = 0
    if shift:
        raise ValueError("truncated varint")


def zigzag(number: int) -> int:
    """A signed integer as an unsigned one, small magnitudes staying small."""
    return number * 2 if number >= 0 else -number * 2 - 1


def unzigzag(number: int) -> int:
    return number // 2 if number % 2 == 0 else -(number + 1) // 2
