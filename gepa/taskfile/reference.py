"""The task-file reference (``docs/task-file.md``) as Markdown, generated from the task file's JSON Schema.

Written by ``gepa schema --markdown``; a test compares the checked-in file with what this prints, so the reference
cannot drift from the schema (every key, type, default and description comes from ``gepa.taskfile.spec``).
"""

from __future__ import annotations

import json
from typing import Any

from gepa.taskfile.spec import task_json_schema

HEADER = """# Task file reference

Every key of a task file, generated from its JSON Schema by `gepa schema --markdown` (do not edit by hand; a
test checks that this file is what the command prints). `gepa schema` writes the JSON Schema itself, for editors.
Unknown keys are errors; paths are relative to the task file."""


UNION = "One of these types, chosen by its `{key}` key; each type takes only the keys of its own table below."


def task_reference_markdown() -> str:
    schema = task_json_schema()
    definitions: dict[str, Any] = schema["$defs"]
    sections: list[tuple[str, dict[str, Any]]] = [("top level", schema)]
    named: dict[str, str] = {}  # definition -> the key it documents, e.g. BudgetSpec -> budget

    def collect(path: str, properties: dict[str, Any]) -> None:
        for key, spec in properties.items():
            where = f"{path}.{key}" if path else key
            tags = _tags(spec)
            if tags and tags.keys() - named.keys():  # a union chosen by a key: a table of its types first
                sections.append(
                    (
                        f"`{where}`",
                        {"types": {tag: definitions[ref] for ref, tag in tags.items()}, "key": _tag_key(spec)},
                    )
                )
            for ref in _refs(spec):
                if ref not in named:
                    named[ref] = where
                    sections.append(
                        (f"`{where}` of type `{tags[ref]}`" if ref in tags else f"`{where}`", definitions[ref])
                    )
                    collect(where, definitions[ref].get("properties", {}))

    collect("", schema["properties"])
    lines = [HEADER]
    for title, definition in sections:
        lines += ["", f"## {title}", ""]
        if "types" in definition:
            lines += [UNION.format(key=definition["key"]), "", "| type | scores |", "|---|---|"]
            lines += [f"| `{tag}` | {_cell(d.get('description', ''))} |" for tag, d in definition["types"].items()]
            continue
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


def _unions(spec: Any) -> list[dict[str, Any]]:
    """The unions chosen by a key (JSON Schema ``discriminator``) anywhere in a property's schema."""
    if isinstance(spec, dict):
        return ([spec] if "discriminator" in spec else []) + [u for value in spec.values() for u in _unions(value)]
    if isinstance(spec, list):
        return [union for value in spec for union in _unions(value)]
    return []


def _tags(spec: Any) -> dict[str, str]:
    """Definition -> the value of the key that chooses it, for the branches of the unions in ``spec``, in the
    order the union lists them."""
    tags = {}
    for union in _unions(spec):
        by_ref = {ref.rsplit("/", 1)[-1]: tag for tag, ref in union["discriminator"]["mapping"].items()}
        tags.update({ref: by_ref[ref] for ref in _refs(union["oneOf"])})
    return tags


def _tag_key(spec: Any) -> str:
    return str(_unions(spec)[0]["discriminator"]["propertyName"])


def _type(spec: dict[str, Any], named: dict[str, str]) -> str:
    if "$ref" in spec:
        return f"mapping (`{named[spec['$ref'].rsplit('/', 1)[-1]]}`)"
    if "discriminator" in spec:  # every branch documents the same key: name it once
        return _type(spec["oneOf"][0], named)
    if "const" in spec:
        return f"`{spec['const']}`"
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
    bounds = [
        f"{symbol} {spec[word]}"
        for word, symbol in (("exclusiveMinimum", ">"), ("minimum", ">="), ("exclusiveMaximum", "<"), ("maximum", "<="))
        if word in spec
    ]
    return (str(kind) if kind else "any") + (f" ({', '.join(bounds)})" if bounds else "")


def _default(spec: dict[str, Any]) -> str:
    if "default" not in spec or spec["default"] is None:
        return ""
    return f"`{json.dumps(spec['default'])}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
