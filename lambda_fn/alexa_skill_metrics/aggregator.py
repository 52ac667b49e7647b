"""The aggregator's stable entry point: ``alexa_skill_metrics.aggregator.lambda_handler``.

Templates and users reference this name; the implementation lives in
``alexa_skill_metrics.aggregation``. The function consumes the metrics table's DynamoDB stream
(view type ``NEW_IMAGE``) with ``FunctionResponseTypes: [ReportBatchItemFailures]``, reads
``METRICS_TABLE`` from the environment, and returns a partial batch response.

Example
-------
>>> from alexa_skill_metrics.aggregator import lambda_handler
>>> callable(lambda_handler)
True
"""

from __future__ import annotations

from alexa_skill_metrics.aggregation.handler import lambda_handler

__all__ = ["lambda_handler"]
