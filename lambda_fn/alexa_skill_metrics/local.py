"""Moved to ``alexa_skill_metrics.cli.local``: import from there; this name keeps working for old code."""

from alexa_skill_metrics.cli.local import *  # noqa: F403
