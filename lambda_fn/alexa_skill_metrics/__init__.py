"""Alexa developer-console metrics for ASK SDK Python skills, in your own AWS account.

Example
-------
>>> from alexa_skill_metrics import SkillMetrics
>>> metrics = SkillMetrics(table_name="skill-metrics", pseudonym_key="a-secret-of-16-bytes-or-more")
>>> metrics.enabled
True
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from alexa_skill_metrics._lazy import lazy_exports

__version__ = "0.1.0"
__all__ = ["ConfigurationError", "Event", "Settings", "SkillMetrics", "__version__"]

if TYPE_CHECKING:
    from alexa_skill_metrics.config import Settings
    from alexa_skill_metrics.exceptions import ConfigurationError
    from alexa_skill_metrics.model import Event
    from alexa_skill_metrics.recording.skill_metrics import SkillMetrics

_LAZY = {
    "SkillMetrics": "alexa_skill_metrics.recording.skill_metrics",
    "Settings": "alexa_skill_metrics.config",
    "ConfigurationError": "alexa_skill_metrics.exceptions",
    "Event": "alexa_skill_metrics.model",
}


__getattr__ = lazy_exports(__name__, _LAZY)
