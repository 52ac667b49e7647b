"""Recording: interceptors and a handler wrapper turning every request into one event."""

from alexa_skill_metrics.recording.interceptors import (
    RecordingRequestInterceptor,
    RecordingResponseInterceptor,
)
from alexa_skill_metrics.recording.recorder import Recorder
from alexa_skill_metrics.recording.skill_metrics import SkillMetrics

__all__ = ["Recorder", "RecordingRequestInterceptor", "RecordingResponseInterceptor", "SkillMetrics"]
