"""How a finished event reaches the ``EventWriter``: the one seam between recorder and storage.

The recorder hands every event to a ``Delivery`` and never waits on anything else. A delivery
decides *when* the write happens: ``InlineDelivery`` writes at once, on the request's thread
(today's behaviour, and the fallback of every other delivery). Other deliveries (after the
Lambda reply is posted, on a background thread for web services) implement the same protocol.

Example
-------
>>> from alexa_skill_metrics.config import Settings
>>> from alexa_skill_metrics.storage.writer import EventWriter
>>> delivery = InlineDelivery(EventWriter(Settings(table_name="skill-metrics")))
>>> delivery.flush(timeout_s=0.1)   # nothing pending: returns at once
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from alexa_skill_metrics.model import Event
    from alexa_skill_metrics.storage.writer import EventWriter


class Delivery(Protocol):
    """Takes events from the recorder; never raises into the skill."""

    writer: EventWriter

    def submit(self, event: Event) -> None:
        """Hand over one finished event."""
        ...

    def flush(self, timeout_s: float) -> None:
        """Write whatever is pending, waiting at most ``timeout_s`` seconds."""
        ...


class InlineDelivery:
    """Writes each event at once, on the caller's thread: the reply waits for the write."""

    def __init__(self, writer: EventWriter) -> None:
        self.writer = writer

    def submit(self, event: Event) -> None:
        self.writer.put(event)

    def flush(self, timeout_s: float) -> None:
        return None
