"""Lazy re-exports for package ``__init__`` modules: importing a package loads none of its parts.

Example
-------
>>> __getattr__ = lazy_exports("alexa_skill_metrics", {"Settings": "alexa_skill_metrics.config"})
>>> __getattr__("Settings").__name__
'Settings'
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports ``exports[name]`` on first access of ``name``."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(module), name)

    return __getattr__
