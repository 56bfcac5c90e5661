"""The reflective proposer: show the reflector model one component, the inputs the prompt used, the
assistant's outputs and the evaluator's feedback; take its new text from the reply.

Each component is asked for by one of two request kinds (``InstructionsRequest`` for a template with
``{{field}}`` inputs under a packaged policy, ``WholeTextRequest`` otherwise); docs/reflection.md says why.

A custom template (``string.Template``, ``$name``) always rewrites the whole component. Fields: ``$candidate``,
``$component``, ``$what``, ``$current_text``, ``$examples``, ``$placeholder_rule``, ``$failures`` (the first two
failed outputs with their feedback), and for the first failed example ``$failed_output`` and
``$failed_feedback``. Lines ``<<user>>`` / ``<<assistant>>`` split a template into chat turns, so it can carry
worked examples as earlier turns (``small`` ships one).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from string import Template
from typing import Any

from gepa.core.candidate import Candidate, placeholders
from gepa.core.text import clip
from gepa.lm.base import Completes
from gepa.proposer.evidence import FEEDBACK_CHARS, Evidence, format_examples, input_names
from gepa.proposer.replies import extract_text
from gepa.proposer.templates import (
    DEFAULT_POLICY,
    NO_INSTRUCTIONS,
    PACKAGED_TEMPLATES,
    POLICIES,
    TURN,
    ReflectionPolicy,
    chat_turns,
    packaged_template,
    split_template,
    with_instructions,
)
from gepa.proposer.worked_examples import INSTRUCTIONS_DEMOS

__all__ = [
    "DEFAULT_POLICY",
    "PACKAGED_TEMPLATES",
    "POLICIES",
    "InstructionsRequest",
    "ReflectiveProposer",
    "WholeTextRequest",
    "packaged_template",
]


def _as_turns(text: str) -> list[dict[str, str]]:
    return chat_turns(text) if TURN.search(text) else [{"role": "user", "content": text}]


class InstructionsRequest:
    """For a component with placeholders (a user template) under a packaged policy: the reflector sees and writes
    only the instructions around the inputs, and the input lines are kept as they are, so a small reflector cannot
    drop, rename or answer a placeholder. A reply that does write placeholders is taken as a whole template."""

    def __init__(self, policy: ReflectionPolicy) -> None:
        self.policy, self.template = policy, Template(policy.instructions)
        self.expected_line = policy.expected_line

    def current(self, text: str) -> str:
        return split_template(text)[1] or NO_INSTRUCTIONS

    def turns(self, request: str, sample: int | None) -> list[dict[str, str]]:
        """The request after the worked examples, when the policy has them; ``sample`` rotates their order, so the
        example nearest the request (the one a small reflector imitates most) varies between samples."""
        if not self.policy.worked_examples:
            return _as_turns(request)
        first = (sample or 0) % len(INSTRUCTIONS_DEMOS)
        demos = INSTRUCTIONS_DEMOS[first:] + INSTRUCTIONS_DEMOS[:first]
        return [*(turn for pair in demos for turn in pair), {"role": "user", "content": request}]

    def repair_ask(self, names: Sequence[str]) -> str:
        return (
            "Do not write any {{...}} placeholder: the input is shown to the assistant for you. "
            "Reply with the corrected instructions only, between ``` fences."
        )

    def shown(self, text: str, current: str) -> str:
        """What a repair request quotes: the instructions the reflector wrote, not the template they went into."""
        return self.current(text) if placeholders(text) == placeholders(current) else text

    def finish(self, text: str, current: str) -> str:
        if placeholders(text):
            return text  # a whole template (the engine checks its placeholders)
        if " ".join(text.split()) in (" ".join(split_template(current)[1].split()), NO_INSTRUCTIONS):
            return current  # the same instructions: unchanged, whatever the layout
        return with_instructions(current, text)


class WholeTextRequest:
    """For a component rewritten whole: a system prompt under a packaged policy, or any component under a custom
    template (whose ``<<user>>`` / ``<<assistant>>`` lines become chat turns)."""

    def __init__(self, template: str, *, expected_line: bool) -> None:
        self.template, self.expected_line = Template(template), expected_line

    def current(self, text: str) -> str:
        return text

    def turns(self, request: str, sample: int | None) -> list[dict[str, str]]:
        return _as_turns(request)

    def repair_ask(self, names: Sequence[str]) -> str:
        keep = ", ".join("{{" + n + "}}" for n in names) or "none"
        return (
            f"The text must contain exactly these placeholders, written as shown: {keep}. "
            "Reply with the corrected text only, between ``` fences."
        )

    def shown(self, text: str, current: str) -> str:
        return text

    def finish(self, text: str, current: str) -> str:
        return text


Request = InstructionsRequest | WholeTextRequest


class ReflectiveProposer:
    """Asks ``client`` (the reflection model) for a new component text, and to repair a broken one.

    ``input_fields`` names the fields a prompt without placeholders is shown (as the ``PromptSystem`` lists
    them), so the examples show the same inputs the task model saw.
    """

    def __init__(
        self,
        client: Completes,
        *,
        template: str | None = None,
        policy: str = DEFAULT_POLICY,
        params: Mapping[str, Any] | None = None,
        input_fields: Sequence[str] = (),
    ) -> None:
        self.client, self.params, self.input_fields = client, dict(params or {}), tuple(input_fields)
        self.policy = POLICIES[policy]
        self._instructions = InstructionsRequest(self.policy)
        self._whole = (
            WholeTextRequest(template, expected_line=True)
            if template is not None
            else WholeTextRequest(self.policy.component, expected_line=self.policy.expected_line)
        )
        self._custom = template is not None

    def request_for(self, candidate: Candidate, component: str) -> Request:
        """The request kind for ``component``: instructions only for a template under a packaged policy."""
        if not self._custom and placeholders(candidate[component]):
            return self._instructions
        return self._whole

    def messages(
        self, candidate: Candidate, component: str, evidence: Evidence, sample: int | None = None
    ) -> list[dict[str, str]]:
        """The reflection request as chat turns."""
        return self.request_for(candidate, component).turns(self.prompt(candidate, component, evidence), sample)

    def prompt(self, candidate: Candidate, component: str, evidence: Evidence) -> str:
        request, current = self.request_for(candidate, component), candidate[component]
        names = placeholders(current)
        rule = (
            (
                "The new text must keep these placeholders exactly as written, and add no others: "
                + ", ".join("{{" + n + "}}" for n in names)
                + "."
            )
            if names
            else ""
        )
        what = "system prompt" if component == "system" else f'prompt part "{component}"'
        parts = "\n\n".join(f"[{name}]\n{text}" for name, text in candidate.components.items())
        failures = [r for _, r in evidence if r.score < 1.0] or [r for _, r in evidence[:1]]
        failed = failures[0] if failures else None
        return request.template.safe_substitute(
            candidate=parts,
            component=component,
            what=what,
            current_text=request.current(current),
            placeholder_rule=rule,
            examples=format_examples(
                evidence, input_names(candidate, self.input_fields), expected_line=request.expected_line
            ),
            failures="\n".join(
                f'The model answered: "{r.output[:300]}"\nFeedback: {clip(r.feedback, FEEDBACK_CHARS)}'
                for r in failures[:2]
            ),
            failed_output=failed.output[:300] if failed else "",
            failed_feedback=clip(failed.feedback, FEEDBACK_CHARS) if failed else "",
        )

    def propose(self, candidate: Candidate, component: str, rollouts: Evidence, *, sample: int | None = None) -> str:
        """New text for ``component``; ``sample`` picks the reflector's sample (its seed) for a sampled call."""
        return self._ask(candidate, component, self.messages(candidate, component, rollouts, sample), sample)

    def repair(
        self,
        candidate: Candidate,
        component: str,
        rollouts: Evidence,
        text: str,
        problem: str,
        *,
        sample: int | None = None,
    ) -> str:
        """One more request that quotes what was wrong with ``text`` (a placeholder dropped or invented, a
        training example copied, the current text repeated)."""
        request, current = self.request_for(candidate, component), candidate[component]
        messages = [
            *self.messages(candidate, component, rollouts, sample),
            {"role": "assistant", "content": f"```\n{request.shown(text, current)}\n```"},
            {
                "role": "user",
                "content": f"That text cannot be used: it {problem}. {request.repair_ask(placeholders(current))}",
            },
        ]
        return self._ask(candidate, component, messages, sample)

    def _ask(self, candidate: Candidate, component: str, messages: list[dict[str, str]], sample: int | None) -> str:
        reply = self.client.complete(messages, self.params, sample=sample)
        text = extract_text(reply.text)
        if not text:  # an empty reply (or only fences) proposes nothing: an unchanged text
            return candidate[component]
        return self.request_for(candidate, component).finish(text, candidate[component])
