"""The package's layout follows the data path: imports only point down it, and no import circles back.

Stages, lowest first (a stage may import its own and those listed under it in ``MAY_IMPORT``)::

    base         model, periods, config, sketches, pathtree, formatting, telemetry, exceptions,
                 retention_keys, varint, _lazy: plain types and helpers that import no stage
    storage      the table's items and the clients that read and write them
    recording    the recorder in the skill (and the package's face, ``alexa_skill_metrics``)
    aggregation  stream -> rollups, rebuild and redrive (and the ``aggregator`` entry point)
    reporting    rollups -> views, metrics and the HTTP API
    dashboard    views -> one HTML page
    cli          ``skill-metrics`` (and the old module names left as shims, ``__main__``)
    simulation   the scale simulator the benchmarks run: a tool beside the path, like the CLI

Recording and aggregation are two branches above storage: neither imports the other.

Every import counts, wherever it stands: at module level, inside a function (the lazy imports
that keep start-up cheap), under ``if TYPE_CHECKING:``, and a string that is exactly a module's
dotted name (what ``lazy_exports`` and ``importlib`` take). Docstring examples do not. No module
is exempt from the cycle check: the package ``__init__`` modules only re-export lazily, and
nothing below a package imports that package back.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = "alexa_skill_metrics"
ROOT = Path(__file__).resolve().parents[2] / "lambda_fn" / PACKAGE

MAY_IMPORT: dict[str, frozenset[str]] = {
    "base": frozenset(),
    "storage": frozenset({"base"}),
    "recording": frozenset({"base", "storage"}),
    "aggregation": frozenset({"base", "storage"}),
    "reporting": frozenset({"base", "storage", "aggregation"}),
    "dashboard": frozenset({"base", "storage", "aggregation", "reporting"}),
    "cli": frozenset({"base", "storage", "recording", "aggregation", "reporting", "dashboard"}),
    "simulation": frozenset({"base", "storage"}),
}
BASE = ("model", "periods", "config", "sketches", "pathtree", "formatting", "telemetry", "exceptions")
# Module (or subpackage) -> stage; a module not named here is in the stage of its subpackage.
STAGE_OF: dict[str, str] = {
    **{f"{PACKAGE}.{name}": "base" for name in (*BASE, "retention_keys", "varint", "_lazy")},
    f"{PACKAGE}.storage": "storage",
    f"{PACKAGE}.recording": "recording",
    PACKAGE: "recording",  # ``from alexa_skill_metrics import SkillMetrics`` and the base types
    f"{PACKAGE}.aggregation": "aggregation",
    f"{PACKAGE}.aggregator": "aggregation",  # the aggregator's stable handler name
    f"{PACKAGE}.reporting": "reporting",
    f"{PACKAGE}.dashboard": "dashboard",
    f"{PACKAGE}.cli": "cli",
    f"{PACKAGE}.__main__": "cli",
    # Moved into ``cli``: these names stay importable for old code.
    **{f"{PACKAGE}.{name}": "cli" for name in ("cli_support", "cli_metrics", "console", "demo", "local")},
    f"{PACKAGE}.simulation": "simulation",
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(ROOT.rglob("*.py"))}


def stage(module: str) -> str | None:
    """The stage of the most specific entry of ``STAGE_OF`` that ``module`` is or lies in."""
    while module not in STAGE_OF:
        if "." not in module:
            return None
        module = module.rsplit(".", 1)[0]
    return STAGE_OF[module]


def _target(name: str) -> str | None:
    """The package's module that importing ``name`` runs last (``a.b.c`` may be a name in ``a.b``)."""
    while name not in MODULES:
        if "." not in name:
            return None
        name = name.rsplit(".", 1)[0]
    return name


def imported_names(module: str, source: str, *, is_package: bool = False) -> Iterator[str]:
    """Every dotted name ``source`` imports, at any depth, as an absolute name."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = module.split(".") if is_package else module.split(".")[:-1]
                base = ".".join([*parts[: len(parts) - node.level + 1], *filter(None, [node.module])])
            else:
                base = node.module or ""
            # ``from a.b import c`` imports module ``a.b.c`` if there is one, else ``a.b``; the
            # parent packages every import runs first are left out: they only re-export lazily.
            yield from (base if alias.name == "*" else f"{base}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in MODULES:
            yield node.value


def imports_of(module: str, source: str, *, is_package: bool = False) -> set[str]:
    """The package's modules that ``module`` imports (itself left out)."""
    targets = {_target(name) for name in imported_names(module, source, is_package=is_package)}
    return {t for t in targets if t is not None and t != module}


def import_graph() -> dict[str, set[str]]:
    return {
        module: imports_of(module, path.read_text(encoding="utf-8"), is_package=path.name == "__init__.py")
        for module, path in MODULES.items()
    }


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_every_module_has_a_stage() -> None:
    # A new module or subpackage is placed on the data path deliberately, here
    assert [m for m in MODULES if stage(m) is None] == []
    assert all(f"{PACKAGE}.{name}" in MODULES for name in BASE), "a base module was renamed: update BASE"


def test_imports_only_point_down_the_data_path() -> None:
    upward = [
        f"{module} ({stage(module)}) imports {target} ({stage(target)})"
        for module, targets in import_graph().items()
        for target in sorted(targets)
        if stage(target) != stage(module) and stage(target) not in MAY_IMPORT[stage(module) or ""]
    ]
    assert upward == []


def test_no_module_imports_itself_back_through_others() -> None:
    assert cycles(import_graph()) == []


def test_every_kind_of_import_counts() -> None:
    # The check sees what a lazy import would hide: in functions, under TYPE_CHECKING, in strings
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from alexa_skill_metrics.reporting.params import ReportRequest\n"
        "def fold():\n"
        "    from alexa_skill_metrics.aggregation import rollup\n"
        "    import alexa_skill_metrics.dashboard.tabs\n"
        "LAZY = {'Store': 'alexa_skill_metrics.storage.rollups'}\n"
        "from . import keys\n"
    )
    assert imports_of(f"{PACKAGE}.storage.codec", source) == {
        f"{PACKAGE}.reporting.params",
        f"{PACKAGE}.aggregation.rollup",
        f"{PACKAGE}.dashboard.tabs",
        f"{PACKAGE}.storage.rollups",
        f"{PACKAGE}.storage.keys",
    }
    # and the graph is the package's: the aggregator writes rollups through storage
    assert f"{PACKAGE}.storage.rollups" in import_graph()[f"{PACKAGE}.aggregation.apply"]


def test_a_circle_is_found_however_long() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"f"}, "f": {"e"}}
    assert cycles(graph) == [["a", "b", "c"], ["e", "f"]]
