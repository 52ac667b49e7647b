"""Moved to ``alexa_skill_metrics.cli.support``: import from there; this name keeps working for old code."""

from alexa_skill_metrics.cli.support import *  # noqa: F403
