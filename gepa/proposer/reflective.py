"""The reflective proposer: show the reflector model the whole candidate, the component to rewrite,
and the examples with outputs and feedback; parse its new text from a fenced block or plain reply.

The template is a ``string.Template`` (``$name``), so it never collides with ``{{field}}`` placeholders.
Fields: ``$candidate``, ``$component``, ``$current_text``, ``$examples``, ``$placeholder_rule``, and for the
first failed example ``$failed_output`` and ``$failed_feedback``. Lines ``<<user>>`` / ``<<assistant>>`` split
a template into chat turns, so it can carry worked examples as earlier turns: small reflectors such as
SmolLM2 follow demonstrations given as turns far better than instructions (``small`` ships one).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from importlib import resources
from string import Template
from typing import Any

from gepa.core.candidate import Candidate, placeholders
from gepa.core.types import Example, Rollout
from gepa.lm.base import Completes

PACKAGED_TEMPLATES = ("default", "small")
_TURN = re.compile(r"^<<(user|assistant)>>[ \t]*$", re.MULTILINE)


def packaged_template(name: str) -> str:
    """A reflection template shipped with gepa: ``default`` or ``small`` (few-shot, for tiny reflectors)."""
    filename = "reflection.md" if name == "default" else f"{name}.md"
    return resources.files("gepa.proposer").joinpath(f"templates/{filename}").read_text(encoding="utf-8")


DEFAULT_TEMPLATE = packaged_template("default")
_FENCE = re.compile(r"```[^\n`]*\n(.*?)```", re.DOTALL)
_LABEL = re.compile(r"^\s*(?:new|improved|updated|revised)?\s*(?:text|prompt|instruction|version)?[^\n:]{0,40}:\s*\n",
                    re.IGNORECASE)


def extract_text(reply: str) -> str:
    """The proposed text: the longest fenced block, a leading quoted block, or the reply without a label line."""
    quoted = re.match(r'^\s*"(.*?)"[ \t]*(?:\n|$)', reply, re.DOTALL)
    if quoted and quoted.group(1).strip():
        return quoted.group(1).strip()
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

    def messages(self, candidate: Candidate, component: str,
                 evidence: Sequence[tuple[Example, Rollout]]) -> list[dict[str, str]]:
        """The reflection request as chat turns (one user turn unless the template has turn markers)."""
        text = self.prompt(candidate, component, evidence)
        if not _TURN.search(text):
            return [{"role": "user", "content": text}]
        parts = _TURN.split(text)[1:]
        return [{"role": role, "content": body.strip("\n")} for role, body in zip(parts[::2], parts[1::2], strict=True)]

    def prompt(self, candidate: Candidate, component: str, evidence: Sequence[tuple[Example, Rollout]]) -> str:
        names = placeholders(candidate[component])
        if names:
            rule = ("The new text must keep these placeholders exactly as written, and add no others: "
                    + ", ".join("{{" + n + "}}" for n in names) + ".")
        else:
            rule = "Do not add any {{...}} placeholders."
        parts = "\n\n".join(f'[{name}]\n{text}' for name, text in candidate.components.items())
        failed = next((r for _, r in evidence if r.score < 1.0), evidence[0][1] if evidence else None)
        return self.template.safe_substitute(candidate=parts, component=component,
                                             current_text=candidate[component],
                                             examples=format_examples(evidence), placeholder_rule=rule,
                                             failed_output=failed.output[:300] if failed else "",
                                             failed_feedback=failed.feedback if failed else "")

    def propose(self, candidate: Candidate, component: str, rollouts: Sequence[tuple[Example, Rollout]]) -> str:
        reply = self.client.complete(self.messages(candidate, component, rollouts), self.params)
        text = extract_text(reply.text)
        if not text:
            raise ValueError("the reflector returned no text")
        return text
