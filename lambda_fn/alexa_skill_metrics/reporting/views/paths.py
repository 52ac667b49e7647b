"""The paths view: the interaction-path tree and the transitions between steps (METRICS.md).

Read from day rollups (``path_edges``, ``transitions``, ``path_open``) of the sessions that started
in the range, so a 90-day tree reads 90 items per locale. The tree is rebuilt from the root: a
node's children are its edges, each child's id is ``pathtree.child_of(node, step)``. A node's
sessions are the edge count into it; its children (intents and exits) add up to them, with the
sessions still open split into ``active`` and ``incomplete`` at the report's time.

Example
-------
>>> from alexa_skill_metrics.aggregation.rollup import fold
>>> from alexa_skill_metrics.model import Event
>>> from alexa_skill_metrics.pathtree import ROOT, child_of
>>> t = 1_767_607_200_000
>>> launch = Event(skill_id="amzn1.ask.skill.1", request_id="r1", request_type="LaunchRequest",
...                timestamp_ms=t, received_ms=t, customer="c", session_id="s", new_session=True,
...                should_end_session=False, session_start_ms=t)
>>> stop = Event(skill_id="amzn1.ask.skill.1", request_id="r2", request_type="IntentRequest",
...              intent="AMAZON.StopIntent", timestamp_ms=t + 5000, received_ms=t, customer="c",
...              session_id="s", new_session=False, should_end_session=True, session_start_ms=t,
...              previous_ms=t, last_intent="LaunchRequest", path_node=child_of(ROOT, "LaunchRequest"))
>>> rollups = [(k, r) for k, r in fold([launch, stop], exact=True).items() if k.granularity == "P1D"]
>>> view = paths(PathsRequest("amzn1.ask.skill.1", "live", None, t - t % 86_400_000, t + 1), rollups, t)
>>> view.sessions, [(c.step, c.sessions) for c in view.tree.children]
(1, [('LaunchRequest', 1)])
>>> launched = view.tree.children[0].node
>>> [(c.step, c.share) for c in launched.children]
[('AMAZON.StopIntent', 1.0)]
>>> [(c.step, c.exit, c.node) for c in launched.children[0].node.children]
[('exit:skill_ended', True, None)]
>>> for tr in view.transitions:
...     print(tr.source, "->", tr.target, tr.sessions)
AMAZON.StopIntent -> exit:skill_ended 1
LaunchRequest -> AMAZON.StopIntent 1
start -> LaunchRequest 1
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from alexa_skill_metrics.aggregation.retention import DAY_MS
from alexa_skill_metrics.config import STAGES
from alexa_skill_metrics.pathtree import (
    MAX_DEPTH,
    ROOT,
    START,
    child_of,
    edge_key,
    exit_label,
    is_exit,
    split_transition,
)
from alexa_skill_metrics.periods import HOUR_MS, MINUTE_MS
from alexa_skill_metrics.reporting.params import (
    LOCALE,
    ceil_ms,
    check_known,
    check_skill_id,
    choice,
    format_time,
    parse_range,
    pattern,
    release_param,
)
from alexa_skill_metrics.reporting.schema import doc
from alexa_skill_metrics.reporting.views.common import ratio

if TYPE_CHECKING:
    from alexa_skill_metrics.model import Rollup, RollupKey

PATHS_PARAMS = ("startTime", "endTime", "stage", "locale", "release")


@dataclass(frozen=True, slots=True)
class PathsRequest:
    """Sessions of one skill and stage (and locale) that started in ``[start_ms, end_ms)``, whole UTC days."""

    skill_id: str
    stage: str
    locale: str | None
    start_ms: int
    end_ms: int
    release: str | None = None  # sessions started on this release (METRICS.md, Releases)

    @classmethod
    def from_params(cls, skill_id: str, params: Mapping[str, str]) -> PathsRequest:
        """Validate query parameters; the range is widened to whole UTC days (paths are kept per day)."""
        check_skill_id(skill_id)
        check_known(params, PATHS_PARAMS)
        start, end = parse_range(params)
        return cls(
            skill_id=skill_id,
            stage=choice("stage", params.get("stage"), STAGES, "live"),
            locale=pattern("locale", params.get("locale"), LOCALE, "en-US"),
            start_ms=start - start % DAY_MS,
            end_ms=ceil_ms(end, "P1D"),
            release=release_param(params),
        )


@dataclass(frozen=True)
class PathNode:
    """A path prefix from the start: the sessions that reached it and where they went next."""

    step: str = field(metadata=doc("The last step of the prefix: an intent key, LaunchRequest, or 'start'"))
    depth: int = field(metadata=doc("Answered utterances in the prefix (0 for start)"))
    sessions: int = field(metadata=doc("Sessions that reached this prefix"))
    children: list[PathChild] = field(
        metadata=doc("Next steps, most sessions first; they add up to sessions")
    )


@dataclass(frozen=True)
class PathChild:
    """One next step of a node: an intent (with its own node) or an exit."""

    step: str = field(
        metadata=doc(
            "Intent key, or exit:<end type> (skill_ended, user_ended, no_response, failed, unknown, "
            "active, incomplete)"
        )
    )
    exit: bool = field(metadata=doc("Whether the step is an exit"))
    sessions: int = field(metadata=doc("Sessions that went on to it"))
    share: float = field(metadata=doc("Its share of the node's sessions"))
    node: PathNode | None = field(
        metadata=doc(f"The prefix it leads to (null for exits and past depth {MAX_DEPTH})")
    )


@dataclass(frozen=True)
class Transition:
    """Sessions in which step ``target`` directly followed step ``source``."""

    source: str = field(metadata=doc("'start', an intent key or LaunchRequest"))
    target: str = field(metadata=doc("An intent key, or exit:<end type> for a session's end"))
    sessions: int = field(metadata=doc("How many times target followed source"))
    share: float = field(metadata=doc("Its share of every transition from source"))


@dataclass(frozen=True)
class PathsView:
    """Interaction paths of the sessions that started in the range: the path tree and transitions."""

    view: str = field(metadata=doc("paths"))
    skill_id: str = field(metadata=doc("The skill (amzn1.ask.skill.<uuid>)"))
    stage: str = field(metadata=doc("live or development"))
    locale: str | None = field(metadata=doc("The locale filter, or null for every locale"))
    release: str | None = field(
        metadata=doc("The release filter (sessions that started on it), or null for every release")
    )
    start_time: str = field(
        metadata=doc("Effective start: startTime floored to the UTC day", fmt="date-time")
    )
    end_time: str = field(metadata=doc("Effective end: endTime ceiled to the UTC day", fmt="date-time"))
    as_of: str = field(
        metadata=doc("The report's time: open sessions idle for an hour are incomplete", fmt="date-time")
    )
    sessions: int = field(metadata=doc("Tracked sessions that started in the range (the tree's root)"))
    max_depth: int = field(metadata=doc("Deepest prefix kept; later steps fold into their depth-limit node"))
    tree: PathNode = field(metadata=doc("The path tree from the start"))
    transitions: list[Transition] = field(
        metadata=doc("Every transition A -> B (ends of open sessions aside), most sessions first")
    )


def paths(request: PathsRequest, rollups: Sequence[tuple[RollupKey, Rollup]], now_ms: int) -> PathsView:
    """Build the view from the all-intents day rollups of the range."""
    edges: dict[str, int] = defaultdict(int)
    opened: dict[str, list[tuple[int, int]]] = defaultdict(list)  # node -> (minute, sessions)
    transitions: dict[tuple[str, str], int] = defaultdict(int)
    for _, rollup in rollups:
        for key, count in rollup.path_edges.items():
            edges[key] += count
        for key, count in rollup.path_open.items():
            node, minute = key.rsplit("@", 1)
            opened[node].append((int(minute), count))
        for key, count in rollup.transitions.items():
            transitions[split_transition(key)] += count

    labels = sorted({target for _, target in transitions})  # every step taken is some transition's target

    def build(node: str, step: str, sessions: int) -> PathNode:
        counts = {label: edges[edge_key(node, label)] for label in labels if edge_key(node, label) in edges}
        active = incomplete = 0
        for minute, count in opened.get(node, ()):
            if now_ms - (minute + 1) * MINUTE_MS >= HOUR_MS:
                incomplete += count
            else:
                active += count
        for name, count in (("active", active), ("incomplete", incomplete)):
            if count > 0:
                counts[exit_label(name)] = count
        children = [
            PathChild(
                step=child,
                exit=is_exit(child),
                sessions=count,
                share=ratio(count, sessions),
                node=None
                if is_exit(child) or child_of(node, child) == node
                else build(child_of(node, child), child, count),
            )
            for child, count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
            if count > 0
        ]
        return PathNode(step=step, depth=int(node[0]), sessions=sessions, children=children)

    started = sum(edges[edge_key(ROOT, label)] for label in labels if edge_key(ROOT, label) in edges)
    outgoing: dict[str, int] = defaultdict(int)
    for (source, _), count in transitions.items():
        outgoing[source] += count
    return PathsView(
        view="paths",
        skill_id=request.skill_id,
        stage=request.stage,
        locale=request.locale,
        release=request.release,
        start_time=format_time(request.start_ms),
        end_time=format_time(request.end_ms),
        as_of=format_time(now_ms),
        sessions=started,
        max_depth=MAX_DEPTH,
        tree=build(ROOT, START, started),
        transitions=[
            Transition(source, target, count, ratio(count, outgoing[source]))
            for (source, target), count in sorted(transitions.items(), key=lambda item: (-item[1], item[0]))
            if count > 0
        ],
    )
