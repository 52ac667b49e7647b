"""Moved to ``alexa_skill_metrics.cli.metrics``: import from there; this name keeps working for old code."""

from alexa_skill_metrics.cli.metrics import *  # noqa: F403
