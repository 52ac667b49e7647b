"""The ``skill-metrics`` click group, for mkdocs-click, wherever the command-line package keeps it.

``alexa_skill_metrics.cli`` is the command's home (``skill-metrics = alexa_skill_metrics.cli:main``);
its click group is ``cli`` and ``main`` the console entry point that wraps it. This picks the click
command among them, so the reference keeps building if the module becomes a package.
"""

from __future__ import annotations

import click

from alexa_skill_metrics import cli as _module

command: click.Command = next(
    value
    for value in (getattr(_module, "main", None), getattr(_module, "cli", None))
    if isinstance(value, click.Command)
)
