"""Candidates (named prompt components) and the ``{{field}}`` templates they hold.

A candidate is immutable and identified by the hash of its components, so two proposals with the same
text are the same candidate however they were made.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from gepa.errors import UserError

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*\}\}")
UNCLOSED = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.-]*)(?![A-Za-z0-9_.-]|\s*\}\})")


NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
MAX_NAME = 100


def name_problem(value: object, kind: str) -> str | None:
    """Why ``value`` cannot be a name that becomes one path part (a component, prompt, alias or task name), or
    None. Component names become file names (``best/<name>.txt``, ``prompts/<name>/v0001/<name>.txt``), so every
    name that reaches a path passes here first: no separator, no ``..``, no NUL."""
    if isinstance(value, str) and len(value) <= MAX_NAME and NAME.fullmatch(value):
        return None
    return (
        f"invalid {kind} {value!r}: use up to {MAX_NAME} letters, digits, '.', '_' and '-', "
        "starting with a letter or digit"
    )


def placeholders(template: str) -> list[str]:
    """Names of the ``{{field}}`` placeholders in ``template``, in order of first appearance."""
    seen: dict[str, None] = {}
    for match in PLACEHOLDER.finditer(template):
        seen.setdefault(match.group(1), None)
    return list(seen)


def unclosed_placeholders(template: str) -> list[str]:
    """Names opened as ``{{name`` but never closed with ``}}``: left as text, the field would never reach the model."""
    return list(dict.fromkeys(m.group(1) for m in UNCLOSED.finditer(template)))


def render(template: str, fields: Mapping[str, Any]) -> str:
    """Fill ``{{field}}`` placeholders from ``fields``; a missing field raises KeyError naming it."""

    def substitute(match: re.Match[str]) -> str:
        value = fields[match.group(1)]
        return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)

    return PLACEHOLDER.sub(substitute, template)


def canonical_json(value: Any) -> str:
    """The one JSON spelling used for hashes: sorted keys, compact, unicode kept."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(components: Mapping[str, str]) -> str:
    """Short SHA-256 of a candidate's components; the candidate's identity."""
    return hashlib.sha256(canonical_json(dict(components)).encode()).hexdigest()[:12]


@dataclass(frozen=True, kw_only=True)
class Candidate:
    """A mapping of component names (``system``, ``user``...) to text, with its lineage.

    ``origin`` says how it was made: ``seed``, ``mutation:<component>`` or ``merge``.
    """

    components: Mapping[str, str]
    parents: tuple[str, ...] = ()
    origin: str = "seed"
    id: str = field(init=False)

    def __post_init__(self) -> None:
        for name in self.components:
            if problem := name_problem(name, "component name"):
                raise UserError(problem)
        frozen = MappingProxyType(dict(self.components))
        object.__setattr__(self, "components", frozen)
        object.__setattr__(self, "id", content_hash(frozen))

    def __getitem__(self, name: str) -> str:
        return self.components[name]

    def with_component(self, name: str, text: str) -> Candidate:
        """A child that differs from this candidate in one component."""
        return Candidate(components={**self.components, name: text}, parents=(self.id,), origin=f"mutation:{name}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "components": dict(self.components),
            "parents": list(self.parents),
            "origin": self.origin,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Candidate:
        return cls(
            components=data["components"], parents=tuple(data.get("parents", ())), origin=data.get("origin", "seed")
        )
