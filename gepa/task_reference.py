"""The task-file reference (``docs/task-file.md``) as Markdown, generated from the task file's JSON Schema.

Written by ``gepa schema --markdown``; a test compares the checked-in file with what this prints, so the reference
cannot drift from the schema (every key, type, default and description comes from ``gepa.task``).
"""

from __future__ import annotations

import json
from typing import Any

from gepa.task import task_json_schema

HEADER = """# Task file reference

Every key of a task file, generated from its JSON Schema by `gepa schema --markdown` (do not edit by hand; a
test checks that this file is what the command prints). `gepa schema` writes the JSON Schema itself, for editors.
Unknown keys are errors; paths are relative to the task file."""


def task_reference_markdown() -> str:
    schema = task_json_schema()
    definitions: dict[str, Any] = schema["$defs"]
    sections: list[tuple[str, dict[str, Any]]] = [("top level", schema)]
    named: dict[str, str] = {}  # definition -> the key it documents, e.g. BudgetSpec -> budget

    def collect(path: str, properties: dict[str, Any]) -> None:
        for key, spec in properties.items():
            for ref in _refs(spec):
                if ref not in named:
                    named[ref] = f"{path}.{key}" if path else key
                    sections.append((named[ref], definitions[ref]))
                    collect(named[ref], definitions[ref].get("properties", {}))

    collect("", schema["properties"])
    lines = [HEADER]
    for title, definition in sections:
        lines += ["", f"## {title if title == 'top level' else f'`{title}`'}", ""]
        if definition.get("description") and title != "top level":
            lines += [definition["description"], ""]
        lines += ["| key | type | default | meaning |", "|---|---|---|---|"]
        required = set(definition.get("required", ()))
        for key, spec in definition.get("properties", {}).items():
            default = "required" if key in required else _default(spec)
            lines.append(f"| `{key}` | {_type(spec, named)} | {default} | {_cell(spec.get('description', ''))} |")
    return "\n".join(lines) + "\n"


def _refs(spec: Any) -> list[str]:
    """Definitions a property refers to, in order, wherever they sit (unions, lists, mappings)."""
    if isinstance(spec, dict):
        found = [spec["$ref"].rsplit("/", 1)[-1]] if "$ref" in spec else []
        return found + [ref for value in spec.values() for ref in _refs(value)]
    if isinstance(spec, list):
        return [ref for value in spec for ref in _refs(value)]
    return []


def _type(spec: dict[str, Any], named: dict[str, str]) -> str:
    if "$ref" in spec:
        return f"mapping (`{named[spec['$ref'].rsplit('/', 1)[-1]]}`)"
    if "enum" in spec:
        return " \\| ".join(f"`{value}`" for value in spec["enum"])
    for union in ("anyOf", "oneOf"):
        if union in spec:
            shown = [_type(option, named) for option in spec[union] if option.get("type") != "null"]
            return " or ".join(dict.fromkeys(shown))
    kind = spec.get("type")
    if kind == "array":
        return f"list of {_type(spec.get('items', {}), named)}"
    if kind == "object":
        values = spec.get("additionalProperties")
        keys = spec.get("propertyNames", {}).get("enum")
        key = " \\| ".join(f"`{k}`" for k in keys) if keys else "name"
        if not isinstance(values, dict):
            return "mapping"
        value_type = _type(values, named)
        return f"mapping of {key} to " + (f"({value_type})" if " or " in value_type else value_type)
    bounds = [f"{symbol} {spec[word]}" for word, symbol in (("exclusiveMinimum", ">"), ("minimum", ">="),
                                                             ("exclusiveMaximum", "<"), ("maximum", "<="))
              if word in spec]
    return (str(kind) if kind else "any") + (f" ({', '.join(bounds)})" if bounds else "")


def _default(spec: dict[str, Any]) -> str:
    if "default" not in spec or spec["default"] is None:
        return ""
    return f"`{json.dumps(spec['default'])}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
