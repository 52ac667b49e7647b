"""MkDocs hook: the HTTP API reference, generated from the OpenAPI document the code serves.

A page containing ``<!-- openapi -->`` gets it replaced by every route (parameters, responses)
and every response schema (each field with its description), all from
``alexa_skill_metrics.reporting.openapi_document()``; the document itself is written beside the
site as ``openapi.json``. Nothing is fetched: it builds offline.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

MARKER = "<!-- openapi -->"
HERE = Path(__file__).resolve().parent


def on_config(config: Any, **_: Any) -> Any:
    """Make the package importable for mkdocstrings and mkdocs-click, also when not installed."""
    folder = str(HERE.parents[1] / "lambda_fn")
    if folder not in sys.path:
        sys.path.insert(0, folder)
    return config


def _document() -> dict[str, Any]:
    from alexa_skill_metrics.reporting.openapi import openapi_document

    return openapi_document()


def _cell(value: Any) -> str:
    text = " ".join(str(value).split()).replace("|", "\\|")
    text = text.replace("<", "&lt;").replace(">", "&gt;")
    # The code cites the contract by its file name; the site's own page of definitions is this one
    return text.replace("METRICS.md", "[Metrics definitions](metrics.md)")


def _type(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#{str(name).lower()})"
    if "allOf" in schema:
        return _type(schema["allOf"][0])
    if "anyOf" in schema:
        return " or ".join(_type(s) for s in schema["anyOf"])
    if "oneOf" in schema:
        return " or ".join(_type(s) for s in schema["oneOf"])
    kind = schema.get("type", "object")
    if kind == "array":
        return f"array of {_type(schema.get('items', {}))}"
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return f"map of {_type(schema['additionalProperties'])}"
    if isinstance(kind, list):
        kind = " or ".join(kind)
    if "enum" in schema:
        return f"{kind}: " + ", ".join(f"`{v}`" for v in schema["enum"])
    return str(kind)


def render(document: dict[str, Any]) -> str:
    """The document as Markdown: routes first, then the schemas they answer with."""
    lines = [f"OpenAPI {document['openapi']}, API version {document['info']['version']}.", ""]
    for path, operations in document["paths"].items():
        for method, op in operations.items():
            lines += [f"### `{method.upper()} {path}`", "", _cell(op.get("summary", "")), ""]
            if op.get("parameters"):
                lines += ["| parameter | in | required | schema | description |", "|---|---|---|---|---|"]
                for p in op["parameters"]:
                    lines.append(
                        f"| `{p['name']}` | {p['in']} | {'yes' if p.get('required') else 'no'} "
                        f"| {_cell(_type(p.get('schema', {})))} | {_cell(p.get('description', ''))} |"
                    )
                lines.append("")
            if "requestBody" in op:
                content = op["requestBody"]["content"]["application/json"]["schema"]
                lines += [f"Request body: {_type(content)}", ""]
            lines += ["| status | answer |", "|---|---|"]
            for status, response in op["responses"].items():
                schema = response.get("content", {}).get("application/json", {}).get("schema", {})
                answer = _cell(response.get("description", ""))
                if schema:
                    answer += f": {_cell(_type(schema))}"
                lines.append(f"| {status} | {answer} |")
            lines.append("")
    lines += ["## Schemas", ""]
    for name, schema in document["components"]["schemas"].items():
        lines += [f"### {name}", "", _cell(schema.get("description", "")), ""]
        properties = schema.get("properties", {})
        if properties:
            lines += ["| field | type | description |", "|---|---|---|"]
            for field, sub in properties.items():
                lines.append(f"| `{field}` | {_cell(_type(sub))} | {_cell(sub.get('description', ''))} |")
            lines.append("")
    return "\n".join(lines)


def on_page_markdown(markdown: str, **_: Any) -> str:
    if MARKER not in markdown:
        return markdown
    return markdown.replace(MARKER, render(_document()))


def on_post_build(config: Any, **_: Any) -> None:
    (Path(config["site_dir"]) / "openapi.json").write_text(json.dumps(_document(), indent=2))
