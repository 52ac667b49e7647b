"""Moved to ``alexa_skill_metrics.cli.console``: import from there; this name keeps working for old code."""

from alexa_skill_metrics.cli.console import *  # noqa: F403
