"""A task file's YAML as a node tree (for line numbers) and its data, refusing what YAML allows but a task file
never needs and a hostile one uses: aliases (761 bytes of nested anchors expand to gigabytes), nesting too
deep for the parser's recursion, and keys given twice (YAML silently keeps the last).
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from gepa.errors import TaskSpecError


class _AliasFound(Exception):
    def __init__(self, event: yaml.AliasEvent) -> None:
        self.event = event


class _NoAliasLoader(yaml.SafeLoader):
    """The safe loader with aliases refused where they are met, before anything is expanded."""

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            raise _AliasFound(self.peek_event())  # type: ignore[no-untyped-call]  # PyYAML's stubs leave it untyped
        return super().compose_node(parent, index)


# YAML 1.1 reads 1e-3 and 1e308 (no dot) as strings; a task file means numbers, as YAML 1.2 and JSON do.
_NoAliasLoader.yaml_implicit_resolvers = {k: list(v) for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}
_NoAliasLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float", re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"), list("-+0123456789")
)


def _refuse_repeated_keys(root: yaml.Node | None, path: str) -> None:
    """A key given twice in one mapping: YAML keeps the last silently, so a task would run on the value it
    does not show first."""
    stack = [root] if root is not None else []
    while stack:  # iterative: the tree has no aliases, and no depth limit of its own
        node = stack.pop()
        if isinstance(node, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key, value in node.value:
                line = key.start_mark.line + 1
                if isinstance(key, yaml.ScalarNode) and key.value in seen:
                    raise TaskSpecError(
                        f"the key {key.value!r} appears twice (first on line {seen[key.value]}); keep one",
                        path=path,
                        line=line,
                    )
                if isinstance(key, yaml.ScalarNode):
                    seen[key.value] = line
                stack.append(value)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)


def read_yaml(text: str, path: str) -> tuple[yaml.Node | None, Any]:
    """The document's root node and its data; a problem is a ``TaskSpecError`` naming ``path`` and the line."""
    loader = _NoAliasLoader(text)
    try:
        root = loader.get_single_node()
        _refuse_repeated_keys(root, path)
        return root, None if root is None else loader.construct_document(root)
    except _AliasFound as found:
        mark = found.event.start_mark
        raise TaskSpecError(
            f"YAML aliases (*{found.event.anchor}) are not allowed in a task file; write the value "
            "out where it is used",
            path=path,
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise TaskSpecError(
            f"malformed YAML: {problem}",
            path=path,
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
        ) from exc
    except RecursionError:
        raise TaskSpecError("the YAML is nested too deeply to read", path=path) from None
    finally:
        loader.dispose()
