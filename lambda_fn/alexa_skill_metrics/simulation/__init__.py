"""The scale simulation: what real DynamoDB enforces and moto does not, on a virtual clock.

``bench/bench_scale.py`` runs the real aggregator on it and prints the figures the README
quotes; ``tests/unit/test_simulation.py`` keeps the machinery honest. Its parts:

``clock.VirtualClock``
    A discrete-event scheduler for threads: every simulated Lambda invocation lane is a real
    thread running the real aggregator code, one at a time, in virtual-time order.

``client.LimitedClient``
    A boto3 DynamoDB client stand-in (the methods the aggregator calls) over a moto client or a
    ``table.MemoryTable``. Each call takes the modelled latency; in the middle of it, at one
    virtual instant, it is checked against ``limits.Limits`` and, if admitted, executed. Throttled
    requests are retried the way the aggregator's botocore client retries them, in virtual time.
    ``client.VirtualExecutor`` is the aggregator's thread pool on the same clock.

``limits``
    The per-partition throughput, write and read units, and item size DynamoDB enforces, with
    where AWS documents each.

``table.MemoryTable``
    A dictionary serving the five calls the aggregator and reports make, with the same two
    conditions (``attribute_not_exists(#pk)``, ``#ver = :ver``) and the same key-range query.
    moto takes about 5 ms of this machine's CPU per call, which caps a run at about 100 events
    per wall second; ``bench_scale.py --backend moto`` runs the same simulation on moto at a low
    rate, to check that both give the same figures.

Not modelled: table-level on-demand ramp-up (a new on-demand table takes 4,000 write units per
second at once and doubles its previous peak within 30 minutes: the knowledge-center page of
``limits``) and account quotas (40,000 write units per second per table by default). Both are
table-wide and far above the per-partition limits that bind first here.

Nothing on the data path imports this package: it is a tool beside it, like the CLI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from alexa_skill_metrics._lazy import lazy_exports

__all__ = [
    "CallStats",
    "LimitedClient",
    "Limits",
    "MemoryTable",
    "VirtualClock",
    "VirtualExecutor",
    "item_size",
]

if TYPE_CHECKING:
    from alexa_skill_metrics.simulation.client import CallStats, LimitedClient, VirtualExecutor
    from alexa_skill_metrics.simulation.clock import VirtualClock
    from alexa_skill_metrics.simulation.limits import Limits, item_size
    from alexa_skill_metrics.simulation.table import MemoryTable

_LAZY = {
    "CallStats": "alexa_skill_metrics.simulation.client",
    "LimitedClient": "alexa_skill_metrics.simulation.client",
    "VirtualExecutor": "alexa_skill_metrics.simulation.client",
    "VirtualClock": "alexa_skill_metrics.simulation.clock",
    "Limits": "alexa_skill_metrics.simulation.limits",
    "item_size": "alexa_skill_metrics.simulation.limits",
    "MemoryTable": "alexa_skill_metrics.simulation.table",
}

__getattr__ = lazy_exports(__name__, _LAZY)
