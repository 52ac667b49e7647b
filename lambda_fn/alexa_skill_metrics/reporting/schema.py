"""Report dataclasses to JSON, and their JSON Schema for the OpenAPI document, from one definition.

Every report field is declared once, as ``field(metadata=doc("..."))``; ``to_json`` writes it in
camelCase and ``component_schemas`` documents it, so the document cannot drift from what is served.

Example
-------
>>> from dataclasses import dataclass, field
>>> @dataclass(frozen=True)
... class Peak:
...     "The busiest hour."
...     hour_start: str = field(metadata=doc("Start of the hour", fmt="date-time"))
...     value: int | None = field(metadata=doc("Requests in it"))
>>> to_json(Peak("2026-01-05T10:00:00Z", 3))
{'hourStart': '2026-01-05T10:00:00Z', 'value': 3}
>>> component_schemas(Peak)["Peak"]["properties"]["value"]
{'type': ['integer', 'null'], 'description': 'Requests in it'}
"""

from __future__ import annotations

import types
from dataclasses import fields, is_dataclass
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

_SCALARS: dict[Any, str] = {int: "integer", float: "number", str: "string", bool: "boolean"}


def doc(description: str, *, fmt: str | None = None) -> dict[str, str]:
    """Field metadata: the field's documentation (and its JSON Schema ``format``)."""
    metadata = {"description": description}
    if fmt is not None:
        metadata["format"] = fmt
    return metadata


def camel(name: str) -> str:
    """``latency_ms`` -> ``latencyMs``."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def to_json(value: Any) -> Any:
    """A report dataclass (or anything nested in one) as plain JSON-ready values with camelCase keys."""
    if is_dataclass(value) and not isinstance(value, type):
        return {camel(f.name): to_json(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, list | tuple):
        return [to_json(item) for item in value]
    if isinstance(value, dict):
        return {str(key): to_json(item) for key, item in value.items()}
    return value


def component_schemas(*roots: type) -> dict[str, dict[str, Any]]:
    """JSON Schemas (OpenAPI 3.1 ``components.schemas``) of ``roots`` and every dataclass they nest."""
    found: dict[str, dict[str, Any]] = {}
    for root in roots:
        _visit(root, found)
    return found


def _visit(cls: type, found: dict[str, dict[str, Any]]) -> None:
    if cls.__name__ in found:
        return
    found[cls.__name__] = {}  # placeholder first: nesting may come back to this class
    hints = get_type_hints(cls)
    properties: dict[str, Any] = {}
    for f in fields(cls):
        schema = _schema(hints[f.name], found)
        if "$ref" in schema and f.metadata:
            schema = {"allOf": [schema]}  # keep the description beside, not inside, the reference
        properties[camel(f.name)] = {**schema, **f.metadata}
    found[cls.__name__] = {
        "type": "object",
        "description": _summary(cls),
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def _schema(tp: Any, found: dict[str, dict[str, Any]]) -> dict[str, Any]:
    origin, args = get_origin(tp), get_args(tp)
    if origin in (Union, types.UnionType):
        options = [a for a in args if a is not type(None)]
        if len(options) != 1:
            raise TypeError(f"only 'X | None' unions are supported, not {tp}")
        inner = _schema(options[0], found)
        if isinstance(inner.get("type"), str):
            return {**inner, "type": [inner["type"], "null"]}
        return {"anyOf": [inner, {"type": "null"}]}
    if origin is list:
        return {"type": "array", "items": _schema(args[0], found)}
    if origin is dict:
        return {"type": "object", "additionalProperties": _schema(args[1], found)}
    if origin is Literal:
        return {"type": "string", "enum": list(args)}
    if tp in _SCALARS:
        return {"type": _SCALARS[tp]}
    if isinstance(tp, type) and is_dataclass(tp):
        _visit(tp, found)
        return {"$ref": f"#/components/schemas/{tp.__name__}"}
    raise TypeError(f"no JSON Schema for {tp!r}")


def _summary(cls: type) -> str:
    text = cls.__doc__ or cls.__name__
    return " ".join(text.strip().split("\n\n")[0].split())
