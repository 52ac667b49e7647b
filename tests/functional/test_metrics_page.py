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


def test_the_pending_friction_change_is_flagged_while_the_code_counts_the_older_rule() -> None:
    from alexa_skill_metrics.model import Event

    # The code counts a Stop after any prompt as a termination: the page says so and flags the change
    stop = Event(
        skill_id="amzn1.ask.skill.1", request_id="r2", request_type="IntentRequest",
        intent="AMAZON.StopIntent", timestamp_ms=1, received_ms=1, session_id="s", session_start_ms=0,
        new_session=False, last_prompt=True, last_intent="RollDiceIntent",
    )  # fmt: skip
    text = PAGE.read_text()
    if stop.is_termination:
        assert '!!! warning "Pending change in the contract: exits at a prompt"' in text
    else:  # the code has moved to exits at a prompt: the page must describe it, not flag it
        assert "Pending change" not in text, "the code now counts exits at a prompt: update the page"
