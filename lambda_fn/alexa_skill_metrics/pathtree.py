"""Node ids of the interaction-path tree (METRICS.md, Interaction paths), shared by every stage.

A session's path so far is named by a short node id: its depth, then a hash of its parent's id
and its last step. The recorder carries the id of the path so far in the session's stamp, so
every event knows the node it continues from and adds its own edge (node -> child) to counters,
independently of every other event: no per-session state anywhere. Reports rebuild the tree
from the root by recomputing the children's ids from the edges' labels.

Steps deeper than ``MAX_DEPTH`` fold into their depth-limit ancestor: ``child_of`` returns the
ancestor itself, so such a session stays at that node until its exit.

Example
-------
>>> launch = child_of(ROOT, "LaunchRequest")
>>> depth_of(ROOT), depth_of(launch), len(launch)
(0, 1, 9)
>>> child_of(launch, "RollDiceIntent") == child_of(launch, "RollDiceIntent") != launch
True
>>> deep = ROOT
>>> for step in range(8):
...     deep = child_of(deep, f"Intent{step}")
>>> depth_of(deep) == MAX_DEPTH
True
>>> exit_label("no_response"), is_exit("exit:no_response"), is_exit("AMAZON.StopIntent")
('exit:no_response', True, False)
"""

from __future__ import annotations

import base64
import hashlib

ROOT = "0"  # the node every tracked session starts from ("start")
START = "start"  # the root's name in transitions
MAX_DEPTH = 5  # steps (answered utterances) the tree keeps apart; deeper ones fold into depth 5
EXIT_PREFIX = "exit:"  # intent names cannot hold ':', so exits never collide with intents


def child_of(node: str, label: str) -> str:
    """The id of ``node``'s child reached by the step ``label`` (``node`` itself at the depth limit)."""
    return node if depth_of(node) >= MAX_DEPTH else edge_key(node, label)


def edge_key(node: str, label: str) -> str:
    """How the edge ``node -> label`` is counted in a rollup: the id of the prefix it makes.

    Never folded, so exits past the depth limit have keys too. A report finds a node's edges by
    trying the labels it knows (every step's label is also a transition's target): the key stays
    9 characters, where ``<node>|<label>`` would take three times as many bytes in every day rollup.
    """
    digest = hashlib.blake2b(f"{node}\x1f{label}".encode(), digest_size=6).digest()
    return f"{depth_of(node) + 1}{base64.urlsafe_b64encode(digest).decode()}"


def depth_of(node: str) -> int:
    """How many steps the path named by ``node`` has (0 for the root)."""
    return int(node[0])


def exit_label(end_type: str) -> str:
    """The label of an exit step: the session's end type (``skill_ended``, ``active``, ...)."""
    return EXIT_PREFIX + end_type


def is_exit(label: str) -> bool:
    return label.startswith(EXIT_PREFIX)


def transition_key(source: str, target: str) -> str:
    """How a transition A -> B is counted in a rollup: ``<A>><B>``."""
    return f"{source}>{target}"


def split_transition(key: str) -> tuple[str, str]:
    source, target = key.split(">", 1)
    return source, target
