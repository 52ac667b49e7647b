"""Exceptions raised by alexa_skill_metrics; each says what to do about it."""

from __future__ import annotations


class SkillMetricsError(Exception):
    """Base class of every error this package raises on purpose."""


class ConfigurationError(SkillMetricsError):
    """A setting is missing or invalid; ``setting`` names the environment variable."""

    def __init__(self, setting: str, problem: str) -> None:
        self.setting = setting
        super().__init__(f"{setting} {problem}")
