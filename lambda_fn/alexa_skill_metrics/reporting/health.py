"""The template's health alarms, evaluated over recorded data: which would have fired, and when.

``template.yaml``'s skill health alarms read the recorder's ``AlexaSkillHealth`` metrics over
15-minute windows; the same rules over the 15-minute rollups give the same windows: the
failed-utterance rate and the unhandled rate of a window with at least ``min_utterances``
utterances above their thresholds, and the window's 90th percentile endpoint time above its
threshold. Windows are evaluated for the whole skill (the alarms' ``SkillId, Stage`` dimension
set) and for each release (what a canary's alarms watch, by ``FunctionVersion``; here by the
recorded release, which is the function version unless a label names it). The silence alarm
is CloudWatch's anomaly detection, which has no local equivalent: it is not evaluated.

Example
-------
>>> from alexa_skill_metrics.aggregation.rollup import new_rollup
>>> from alexa_skill_metrics.model import RollupKey
>>> r = new_rollup(exact=True)
>>> r.utterances, r.failed_utterances, r.unhandled = 40, 4, 4
>>> key = RollupKey("amzn1.ask.skill.1", "live", "PT15M", 1_767_607_200_000, "en-US", "*", "2")
>>> [(f.alarm, f.release, f.value) for f in evaluate([(key, r)], HealthRules(), exact=True)]
[('failed-utterance rate', None, 0.1), ('failed-utterance rate', '2', 0.1)]
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from alexa_skill_metrics.periods import format_time
from alexa_skill_metrics.reporting.views.common import endpoint, ratio

if TYPE_CHECKING:
    from alexa_skill_metrics.model import Rollup, RollupKey

HEALTH_GRANULARITY = "PT15M"


@dataclass(frozen=True)
class HealthRules:
    """The alarms' thresholds: the template's parameters, with the same defaults."""

    failed_rate: float = 0.05  # FailedUtteranceRateThreshold
    unhandled_rate: float = 0.2  # UnhandledRateThreshold
    endpoint_p90_ms: float = 2000.0  # EndpointP90ThresholdMs
    min_utterances: int = 10  # HealthAlarmMinUtterances


@dataclass(frozen=True)
class Firing:
    """A window in which an alarm would have fired."""

    alarm: str  # failed-utterance rate, unhandled rate, endpoint p90
    start: str  # the window's start (UTC, ISO 8601)
    release: str | None  # None: the skill-wide alarm; else the release's (a canary's) alarm
    value: float
    threshold: float
    utterances: int

    @property
    def line(self) -> str:
        """``2026-01-06T12:15Z failed-utterance rate 12.5% > 5% (release 2, 40 utterances)``."""
        shown = f"{self.value:.0f} ms" if self.alarm == "endpoint p90" else f"{100 * self.value:.1f}%"
        limit = f"{self.threshold:.0f} ms" if self.alarm == "endpoint p90" else f"{100 * self.threshold:g}%"
        who = "the skill" if self.release is None else f"release {self.release}"
        return f"{self.start} {self.alarm} {shown} > {limit} ({who}, {self.utterances:,} utterances)"


def evaluate(rollups: Sequence[tuple[RollupKey, Rollup]], rules: HealthRules, *, exact: bool) -> list[Firing]:
    """Every window (15-minute ``ALL_INTENTS`` rollups) in which an alarm would have fired, in time order."""
    from alexa_skill_metrics.aggregation.rollup import new_rollup

    groups: dict[tuple[int, str | None], Rollup] = defaultdict(lambda: new_rollup(exact=exact))
    for key, rollup in rollups:
        if key.granularity != HEALTH_GRANULARITY:
            continue
        groups[(key.bucket_ms, None)].merge(rollup)
        groups[(key.bucket_ms, key.release)].merge(rollup)
    firings = []
    for (bucket_ms, release), rollup in sorted(
        groups.items(), key=lambda item: (item[0][0], item[0][1] or "")
    ):
        start = format_time(bucket_ms)
        if rollup.utterances >= rules.min_utterances:
            for alarm, count, threshold in (
                ("failed-utterance rate", rollup.failed_utterances, rules.failed_rate),
                ("unhandled rate", rollup.unhandled, rules.unhandled_rate),
            ):
                value = ratio(count, rollup.utterances)
                if value > threshold:
                    firings.append(Firing(alarm, start, release, value, threshold, rollup.utterances))
        p90 = endpoint(rollup).p90
        if p90 is not None and p90 > rules.endpoint_p90_ms:
            firings.append(
                Firing("endpoint p90", start, release, p90, rules.endpoint_p90_ms, rollup.utterances)
            )
    return firings
