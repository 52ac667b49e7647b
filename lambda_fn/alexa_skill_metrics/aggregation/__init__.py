"""Aggregation: stream records of events in, rollups out, every event counted exactly once.

* ``rollup``: the pure fold from events to rollups (also the recomputation path's reference).
* ``apply``: applying a batch of stream records to the stored rollups, exactly once.
* ``handler``: the DynamoDB Streams Lambda handler (``alexa_skill_metrics.aggregator`` re-exports it).
* ``stream``: draining a table's stream locally (moto's server, ``skill-metrics aggregate``).

Importing this package loads none of them.

Example
-------
>>> from alexa_skill_metrics.aggregation import fold
>>> fold([])
{}
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from alexa_skill_metrics._lazy import lazy_exports

__all__ = ["Aggregator", "DrainResult", "drain_stream", "fold", "new_rollup"]

if TYPE_CHECKING:
    from alexa_skill_metrics.aggregation.apply import Aggregator
    from alexa_skill_metrics.aggregation.rollup import fold, new_rollup
    from alexa_skill_metrics.aggregation.stream import DrainResult, drain_stream

_LAZY = {
    "Aggregator": "alexa_skill_metrics.aggregation.apply",
    "fold": "alexa_skill_metrics.aggregation.rollup",
    "new_rollup": "alexa_skill_metrics.aggregation.rollup",
    "DrainResult": "alexa_skill_metrics.aggregation.stream",
    "drain_stream": "alexa_skill_metrics.aggregation.stream",
}


__getattr__ = lazy_exports(__name__, _LAZY)
