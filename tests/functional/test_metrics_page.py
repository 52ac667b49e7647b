"""``docs/reference/metrics.md`` defines every figure the code reports, so it stays equal to the code.

Every field of every response schema the API documents (the views, retention, paths, the v1 and
v2 metrics calls, errors: ``openapi_document()``, built from the same dataclasses that serve the
JSON), every v1 metric name (``METRICS``), every v2 name the API answers and every one it refuses
(``METRICS_V2``) and every view name must appear on the page as code (`` `name` ``). Adding a field
or a metric without defining it fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

from alexa_skill_metrics.reporting import METRICS, VIEWS
from alexa_skill_metrics.reporting.openapi import openapi_document
from alexa_skill_metrics.reporting.v2 import METRICS_V2

PAGE = Path(__file__).resolve().parents[2] / "docs" / "reference" / "metrics.md"


def defined() -> set[str]:
    """Every `code` span of the page, and each dotted part of one (`quality.unhandledRequests`)."""
    spans = set(re.findall(r"`([^`\n]+)`", PAGE.read_text()))
    return spans | {part for span in spans for part in span.split(".")}


def test_every_field_of_every_response_is_defined() -> None:
    schemas = openapi_document()["components"]["schemas"]
    fields = {name for schema in schemas.values() for name in schema.get("properties", {})}
    assert fields - defined() == set()


def test_every_metric_name_and_view_is_defined() -> None:
    names = {*METRICS, *VIEWS, "retention", "paths", "releases"}
    names |= {name for _, name in METRICS_V2} | {namespace for namespace, _ in METRICS_V2}
    assert names - defined() == set()
