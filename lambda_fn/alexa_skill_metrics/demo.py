"""Moved to ``alexa_skill_metrics.cli.demo``: import from there; this name keeps working for old code."""

from alexa_skill_metrics.cli.demo import *  # noqa: F403
