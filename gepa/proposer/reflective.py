"""The reflective proposer: show the reflector model the whole candidate, the component to rewrite,
and the examples with outputs and feedback; parse its new text from a fenced block or plain reply.

The template is a ``string.Template`` (``$name``), so it never collides with ``{{field}}`` placeholders.
Fields: ``$candidate``, ``$component``, ``$current_text``, ``$examples``, ``$placeholder_rule``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from importlib import resources
from string import Template
from typing import Any, Protocol

from gepa.core.candidate import Candidate, placeholders
from gepa.core.types import Example, Rollout

DEFAULT_TEMPLATE = resources.files("gepa.proposer").joinpath("templates/reflection.md").read_text(encoding="utf-8")
_FENCE = re.compile(r"```[^\n`]*\n(.*?)```", re.DOTALL)
_LABEL = re.compile(r"^\s*(?:new|improved|updated|revised)?\s*(?:text|prompt|instruction|version)?[^\n:]{0,40}:\s*\n",
                    re.IGNORECASE)


class Completes(Protocol):
    def complete(self, messages: Any, params: Mapping[str, Any] | None = None) -> Any: ...


def extract_text(reply: str) -> str:
    """The proposed text: the longest fenced block, else the reply without a leading label line."""
    blocks = [b.strip() for b in _FENCE.findall(reply) if b.strip()]
    if blocks:
        return max(blocks, key=len)
    unterminated = reply.split("```", 1)
    if len(unterminated) == 2 and unterminated[1].strip():
        body = unterminated[1]
        return (body.split("\n", 1)[1] if "\n" in body and not body.startswith("\n") else body).strip()
    return _LABEL.sub("", reply, count=1).strip()


def format_examples(evidence: Sequence[tuple[Example, Rollout]], max_chars: int = 600) -> str:
    blocks = []
    for number, (example, rollout) in enumerate(evidence, start=1):
        fields = "\n".join(f"  {k}: {str(v)[:max_chars]}" for k, v in example.fields.items())
        verdict = "PASSED" if rollout.score >= 1.0 else f"FAILED (score {rollout.score:.2f})"
        blocks.append(f"Example {number} - {verdict}\n Inputs:\n{fields}\n Model output: {rollout.output[:max_chars]!r}\n"
                      f" Feedback: {rollout.feedback}")
    return "\n\n".join(blocks)


class ReflectiveProposer:
    """Asks ``client`` (the reflection model) for a new component text."""

    def __init__(self, client: Completes, *, template: str = DEFAULT_TEMPLATE,
                 params: Mapping[str, Any] | None = None) -> None:
        self.client, self.template = client, Template(template)
        self.params = dict(params or {})

    def prompt(self, candidate: Candidate, component: str, evidence: Sequence[tuple[Example, Rollout]]) -> str:
        names = placeholders(candidate[component])
        if names:
            rule = ("The new text must keep these placeholders exactly as written, and add no others: "
                    + ", ".join("{{" + n + "}}" for n in names) + ".")
        else:
            rule = "Do not add any {{...}} placeholders."
        parts = "\n\n".join(f'[{name}]\n{text}' for name, text in candidate.components.items())
        return self.template.safe_substitute(candidate=parts, component=component,
                                             current_text=candidate[component],
                                             examples=format_examples(evidence), placeholder_rule=rule)

    def propose(self, candidate: Candidate, component: str, rollouts: Sequence[tuple[Example, Rollout]]) -> str:
        message = {"role": "user", "content": self.prompt(candidate, component, rollouts)}
        reply = self.client.complete([message], self.params)
        text = extract_text(reply.text)
        if not text:
            raise ValueError("the reflector returned no text")
        return text
