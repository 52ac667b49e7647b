"""``skill-metrics``, the command-line tool: the top of the data path, importing every stage below.

``commands`` holds the click group and ``main`` (the console script ``alexa_skill_metrics.cli:main``
and ``python -m alexa_skill_metrics``), ``metrics`` the ``query`` and ``compare`` commands,
``support`` the argument types and one-line errors they share, ``console`` the terminal tables,
``demo`` the local demo and ``local`` the local DynamoDB (moto) it runs on.

Importing the package loads none of them (``infra/local_moto.py`` and the tests use ``local``
without click's command tree).

Example
-------
>>> from alexa_skill_metrics.cli import cli
>>> sorted(cli.commands)[:3]
['aggregate', 'compare', 'create-table']
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from alexa_skill_metrics._lazy import lazy_exports

__all__ = ["Context", "cli", "main"]

if TYPE_CHECKING:
    from alexa_skill_metrics.cli.commands import Context, cli, main

__getattr__ = lazy_exports(__name__, dict.fromkeys(__all__, "alexa_skill_metrics.cli.commands"))
