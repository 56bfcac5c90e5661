"""The reflective proposer: show the reflector model one component, the inputs the prompt used, the
assistant's outputs and the evaluator's feedback; parse its new text from a fenced block or plain reply.

Two packaged prompts make the ``default``, picked per component:

- a component with ``{{field}}`` placeholders (a user template): the reflector sees and writes only the
  *instructions* around the inputs. gepa keeps the lines that hold placeholders and puts the new instructions
  after them, so small reflectors cannot drop, rename or answer a placeholder (they do all three when shown
  ``{{headline}}``). A reply that does write placeholders is taken as a whole template and checked as usual.
  The request follows three worked examples on made-up tasks (``_DEMOS``): without them a 1.5B
  reflector writes paragraphs that a small task model ignores; with them it writes a task line and an answer cue.
- a component without placeholders (a system prompt): the reflector rewrites it whole.

Examples show the fields the prompt actually fills as inputs; the expected answer only reaches the reflector
through the feedback, so it learns the answer's form instead of asking for the answer as an input.

A custom template (``string.Template``, ``$name``) replaces both and always rewrites the whole component.
Fields: ``$candidate``, ``$component``, ``$current_text``, ``$examples``, ``$placeholder_rule``, ``$failures``
(the first two failed outputs with their feedback, one line each), and for the first failed example
``$failed_output`` and ``$failed_feedback``. Lines ``<<user>>`` / ``<<assistant>>`` split
a template into chat turns, so it can carry worked examples as earlier turns: small reflectors such as
SmolLM2 follow demonstrations given as turns far better than instructions (``small`` ships one).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from string import Template
from typing import Any

from gepa.core.answers import answer_counts
from gepa.core.candidate import Candidate, placeholders
from gepa.core.text import clip
from gepa.core.types import Example, Rollout
from gepa.lm.base import Completes

PACKAGED_TEMPLATES = ("default", "scaffolded", "general", "small")  # default: a policy picked for the reflector
NO_INSTRUCTIONS = "(none yet)"
FEEDBACK_CHARS = 2000  # of one example's feedback in a reflection request: its gist, never a flood
_TURN = re.compile(r"^<<(user|assistant)>>[ \t]*$", re.MULTILINE)


def _read(filename: str) -> str:
    return resources.files("gepa.proposer").joinpath(f"templates/{filename}").read_text(encoding="utf-8")


def packaged_template(name: str) -> str:
    """A packaged reflection template as text: ``small`` (few-shot, for tiny reflectors), or a policy's prompt for
    components without placeholders (``default``, ``scaffolded``, ``general``)."""
    if name == "small":
        return _read("small.md")
    return POLICIES[DEFAULT_POLICY if name == "default" else name].component


def _chat_turns(text: str) -> list[dict[str, str]]:
    parts = _TURN.split(text)[1:]
    return [{"role": role, "content": body.strip("\n")} for role, body in zip(parts[::2], parts[1::2], strict=True)]


INSTRUCTIONS_TEMPLATE = _read("instructions.md")
COMPONENT_TEMPLATE = _read("component.md")
# Worked examples shown before an instructions request, as (user, assistant) turn pairs. Their tasks are made up
# and belong to no example or bench task: they teach the form (a short task line, then an answer cue that names
# the answers the feedback expects), and the answers come from the feedback.
# Each is rendered with the request's own template and example format, so the two cannot drift apart.
_WHOLE = "The whole output must be the answer and nothing else."
_DEMOS = (
    (NO_INSTRUCTIONS,
     [("The capital of Italy?", "The capital of Italy is Rome, a city with a long history.", "rome"),
      ("The capital of France?", "Paris is the capital and the largest city of France.", "paris")],
     "Name the capital city.\nReply with the city name only:"),
    (NO_INSTRUCTIONS,
     [("Which is heavier? 1) a brick 2) a feather", "A brick is heavier than a feather.", "1"),
      ("Which is colder? 1) fire 2) ice", "Ice is colder, because it is frozen water.", "2")],
     "Pick the option that fits the question.\nAnswer with the option's digit alone (1 or 2):"),
    ("Is this animal a mammal or a bird?",
     [("whale", "A whale lives in the sea but breathes air.", "mammal"),
      ("penguin", "The penguin cannot fly, but it swims very well.", "bird")],
     "Decide which class the animal belongs to.\nReply in one word (mammal or bird):"),
)


def _demo_turns(current: str, rows: list[tuple[str, str, str]], reply: str) -> list[dict[str, str]]:
    evidence = [(Example(id=str(n), fields={"input": question}),
                 Rollout(example_id=str(n), output=answer, score=0.0,
                         feedback=f"Wrong. Expected exactly '{expected}'. {_WHOLE}", expected=expected))
                for n, (question, answer, expected) in enumerate(rows)]
    request = Template(INSTRUCTIONS_TEMPLATE).substitute(current_text=current,
                                                         examples=format_examples(evidence, ["input"]))
    return [{"role": "user", "content": request.strip("\n")}, {"role": "assistant", "content": f"```\n{reply}\n```"}]
_FENCE = re.compile(r"```[^\n`]*\n(.*?)```", re.DOTALL)
_RULE = re.compile(r"(?:-{3,}|\*{3,}|_{3,})")
# Talk about the text, not part of it: a lead-in naming a new version of it, a remark on what it does.
_LEAD_IN = re.compile(r"^\W*(?:certainly|sure|of course|okay|ok|absolutely|here(?:'s| is| are)|below is)\b[^\n]*"
                      r"\b(?:improved|revised|updated|new|rewritten|better|modified)\b[^\n]*"
                      r"\b(?:prompt|text|instructions?|version|template)\b[^\n]*:\s*$", re.IGNORECASE)
_REMARK = re.compile(r"^\s*(?:this|the above)\s+(?:(?:improved|revised|updated|new|rewritten)\s+(?:\w+\s+)?"
                     r"(?:prompt|text|version|instructions?|template)\b|(?:\w+\s+)?(?:prompt|text|version|"
                     r"instructions?|template)\s+(?:is|are|should|will|helps|ensures|addresses|now|makes|keeps|"
                     r"clearly|provides|specifies|focuses|emphasizes|guides)\b)", re.IGNORECASE)
_WRAPPER_KEY = re.compile(r"(?:new|improved|revised|updated)\w*|\w*(?:prompt|instructions?)\w*", re.IGNORECASE)
_LABEL = re.compile(r"^\s*(?:new|improved|updated|revised)?\s*(?:text|prompt|instruction|version)?[^\n:]{0,40}:\s*\n",
                    re.IGNORECASE)


_FENCE_LINE = re.compile(r"[ \t]*```[^\n`]*[ \t]*")


def extract_text(reply: str) -> str:
    """The proposed text: the longest fenced block, a leading quoted block, or the reply without a label line;
    stray fence lines (bare ones before the text, an unpaired one after it) never become part of a prompt, while
    a fenced block inside the text (a prompt asking for a fenced JSON answer) stays."""
    lines = _without_chatter(_extracted(reply)).strip().splitlines()

    def unpaired() -> bool:
        return sum(bool(_FENCE_LINE.fullmatch(line)) for line in lines) % 2 == 1

    while lines and (not lines[0].strip() or lines[0].strip() == "```"
                     or (_FENCE_LINE.fullmatch(lines[0]) and unpaired())):
        lines.pop(0)
    if lines and _FENCE_LINE.fullmatch(lines[-1]) and unpaired():
        lines.pop()
    return "\n".join(lines).strip()


def _extracted(reply: str) -> str:
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


def _without_chatter(text: str) -> str:
    """The text without the reflector's talk around it: a lead-in line ("Certainly! Here's an improved prompt:"),
    horizontal rules at its ends, a closing remark about it ("This prompt is clear..."), a JSON wrapper with one
    string. Chat-tuned reflectors add these, and a kept lead-in is copied into every later prompt of the lineage."""
    try:
        wrapped = json.loads(text)
    except ValueError:
        wrapped = None
    if isinstance(wrapped, dict) and len(wrapped) == 1:
        (key, value), = wrapped.items()
        if isinstance(value, str) and _WRAPPER_KEY.fullmatch(key):
            text = value
    lines = text.strip().splitlines()
    if len(lines) > 1 and _LEAD_IN.match(lines[0]):
        lines = lines[1:]
    text = _strip_rules("\n".join(lines))
    paragraphs = text.split("\n\n")
    if len(paragraphs) > 1 and _REMARK.match(paragraphs[-1]) and not placeholders(paragraphs[-1]):
        text = _strip_rules("\n\n".join(paragraphs[:-1]))
    return text


def _strip_rules(text: str) -> str:
    lines = text.strip().splitlines()
    while lines and (not lines[0].strip() or _RULE.fullmatch(lines[0].strip())):
        lines.pop(0)
    while lines and (not lines[-1].strip() or _RULE.fullmatch(lines[-1].strip())):
        lines.pop()
    return "\n".join(lines)


def split_template(template: str) -> tuple[list[str], str]:
    """A template's input lines (those holding a placeholder) and the instructions (every other line)."""
    lines = template.splitlines()
    inputs = [line for line in lines if placeholders(line)]
    instructions = "\n".join(line for line in lines if not placeholders(line)).strip()
    return inputs, instructions


def with_instructions(template: str, instructions: str) -> str:
    """``template``'s input lines followed by ``instructions``: the answer cue comes last, where models heed it."""
    inputs, _ = split_template(template)
    return "\n".join(inputs) + "\n\n" + instructions.strip()


def input_names(candidate: Candidate, fallback: Sequence[str]) -> list[str]:
    """The example fields the prompt shows the model: its placeholders, else ``fallback`` (listed fields)."""
    names = list(dict.fromkeys(n for text in candidate.components.values() for n in placeholders(text)))
    return names or list(fallback)


def format_examples(evidence: Sequence[tuple[Example, Rollout]], names: Sequence[str], max_chars: int = 600, *,
                    expected_line: bool = True) -> str:
    """Each example as its inputs, the assistant's answer and the feedback (which carries the expected answer);
    then, when the assistant gave one answer to several examples, how often (a prompt that makes the model answer
    one label to everything is the commonest false gain); then (``expected_line``) the answers the evaluator
    expected, once each: a 1.5B reflector that reads "Expected exactly 'a'" in four feedback sentences still
    writes a cue for other answers ("1 or 2", "correct or incorrect"); named on a line of their own, they reach
    the cue."""
    blocks = []
    for number, (example, rollout) in enumerate(evidence, start=1):
        shown = [n for n in names if n in example.fields]
        if len(shown) == 1:
            inputs = f"Input: {str(example.fields[shown[0]])[:max_chars]}"
        else:
            inputs = "\n".join(f"Input {n}: {str(example.fields[n])[:max_chars]}" for n in shown)
        steps = rollout.trace.get("steps")  # a pipeline's intermediate outputs, step name -> text
        inputs += "".join(f"\nStep {name!s} wrote: {str(text)[:max_chars]}"
                          for name, text in (steps.items() if isinstance(steps, Mapping) else ()))
        blocks.append(f"Example {number}\n{inputs}\nAssistant's answer: {rollout.output[:max_chars]}\n"
                      f"Feedback: {clip(rollout.feedback, FEEDBACK_CHARS)}")
    if line := repeated_answer([r for _, r in evidence]):
        blocks.append(line)
    # a long free-form answer is named by its start: the line is about the answers' form, not their text
    expected = list(dict.fromkeys(clip(r.expected, 80) for _, r in evidence if r.expected is not None))
    if expected and expected_line:
        blocks.append("The feedback expects these answers: " + ", ".join(repr(v) for v in expected) + ".")
    return "\n\n".join(blocks)


def repeated_answer(rollouts: Sequence[Rollout]) -> str | None:
    """"The assistant answered 'b' on 3 of 4 examples." when one short answer covers two examples or more."""
    counts = answer_counts(rollouts)
    if not counts:
        return None
    answer, count = next(iter(counts.items()))
    if count < 2 or not answer or len(answer) > 40:
        return None
    whatever = ", whatever the input" if count == len(rollouts) else ""
    return f"The assistant answered {answer!r} on {count} of {len(rollouts)} examples{whatever}."


INSTRUCTIONS_DEMOS = [_demo_turns(*demo) for demo in _DEMOS]


@dataclass(frozen=True, kw_only=True)
class ReflectionPolicy:
    """How the packaged reflection request asks: its two templates (a component with placeholders, where only the
    instructions around the inputs are rewritten; one without), and whether the small-model scaffolding comes
    with it (worked examples before the request, the expected answers on a line of their own)."""

    instructions: str
    component: str
    worked_examples: bool
    expected_line: bool


POLICIES = {
    # For small reflectors: worked examples that end in an answer cue, the expected answers named, "keep it short".
    "scaffolded": ReflectionPolicy(instructions=INSTRUCTIONS_TEMPLATE, component=COMPONENT_TEMPLATE,
                                   worked_examples=True, expected_line=True),
    # The request of the GEPA paper's kind: write down the task's facts, rules and strategy that the failures show.
    "general": ReflectionPolicy(instructions=_read("general_instructions.md"), component=_read("general_component.md"),
                                worked_examples=False, expected_line=False),
}
DEFAULT_POLICY = "scaffolded"


class ReflectiveProposer:
    """Asks ``client`` (the reflection model) for a new component text, and to repair a broken one.

    ``input_fields`` names the fields a prompt without placeholders is shown (as the ``PromptSystem`` lists
    them), so the examples show the same inputs the task model saw.
    """

    def __init__(self, client: Completes, *, template: str | None = None, policy: str = DEFAULT_POLICY,
                 params: Mapping[str, Any] | None = None, input_fields: Sequence[str] = ()) -> None:
        self.client, self.params, self.input_fields = client, dict(params or {}), tuple(input_fields)
        self.custom = Template(template) if template is not None else None
        self.policy = POLICIES[policy]

    def instructions_mode(self, candidate: Candidate, component: str) -> bool:
        """Whether the reflector writes only the instructions around the inputs (default prompt, a template)."""
        return self.custom is None and bool(placeholders(candidate[component]))

    def messages(self, candidate: Candidate, component: str, evidence: Sequence[tuple[Example, Rollout]],
                 sample: int | None = None) -> list[dict[str, str]]:
        """The reflection request as chat turns (one user turn unless the template has turn markers).

        In instructions mode the request follows worked examples; ``sample`` rotates their order, so the example
        nearest the request (the one a small reflector imitates most) and with it the answer cue's wording vary
        between samples: a 1.5B reflector proposed 4x as many improving instructions with them as without."""
        text = self.prompt(candidate, component, evidence)
        if self.instructions_mode(candidate, component) and self.policy.worked_examples:
            first = (sample or 0) % len(INSTRUCTIONS_DEMOS)
            demos = INSTRUCTIONS_DEMOS[first:] + INSTRUCTIONS_DEMOS[:first]
            return [*(turn for pair in demos for turn in pair), {"role": "user", "content": text}]
        if not _TURN.search(text):
            return [{"role": "user", "content": text}]
        return _chat_turns(text)

    def prompt(self, candidate: Candidate, component: str, evidence: Sequence[tuple[Example, Rollout]]) -> str:
        current = candidate[component]
        names = placeholders(current)
        rule = ("The new text must keep these placeholders exactly as written, and add no others: "
                + ", ".join("{{" + n + "}}" for n in names) + ".") if names else ""
        if self.instructions_mode(candidate, component):
            template, current = Template(self.policy.instructions), split_template(current)[1] or NO_INSTRUCTIONS
        else:
            template = self.custom or Template(self.policy.component)
        what = "system prompt" if component == "system" else f'prompt part "{component}"'
        parts = "\n\n".join(f"[{name}]\n{text}" for name, text in candidate.components.items())
        failures = [r for _, r in evidence if r.score < 1.0] or [r for _, r in evidence[:1]]
        failed = failures[0] if failures else None
        return template.safe_substitute(
            candidate=parts, component=component, what=what, current_text=current, placeholder_rule=rule,
            examples=format_examples(evidence, input_names(candidate, self.input_fields),
                                     expected_line=self.custom is not None or self.policy.expected_line),
            failures="\n".join(f'The model answered: "{r.output[:300]}"\nFeedback: {clip(r.feedback, FEEDBACK_CHARS)}'
                                for r in failures[:2]),
            failed_output=failed.output[:300] if failed else "",
            failed_feedback=clip(failed.feedback, FEEDBACK_CHARS) if failed else "")

    def propose(self, candidate: Candidate, component: str, rollouts: Sequence[tuple[Example, Rollout]], *,
                sample: int | None = None) -> str:
        """New text for ``component``; ``sample`` picks the reflector's sample (its seed) for a sampled call."""
        messages = self.messages(candidate, component, rollouts, sample)
        return self._ask(candidate, component, messages, sample)

    def repair(self, candidate: Candidate, component: str, rollouts: Sequence[tuple[Example, Rollout]],
               text: str, problem: str, *, sample: int | None = None) -> str:
        """One more request that quotes what was wrong with ``text`` (a placeholder dropped or invented, a
        training example copied, the current text repeated)."""
        names = placeholders(candidate[component])
        if self.instructions_mode(candidate, component):
            ask = ("Do not write any {{...}} placeholder: the input is shown to the assistant for you. "
                   "Reply with the corrected instructions only, between ``` fences.")
        else:
            keep = ", ".join("{{" + n + "}}" for n in names) or "none"
            ask = (f"The text must contain exactly these placeholders, written as shown: {keep}. "
                   "Reply with the corrected text only, between ``` fences.")
        shown = text
        if self.instructions_mode(candidate, component) and placeholders(text) == placeholders(candidate[component]):
            shown = split_template(text)[1] or NO_INSTRUCTIONS  # the reflector wrote instructions, not the template
        messages = [*self.messages(candidate, component, rollouts, sample),
                    {"role": "assistant", "content": f"```\n{shown}\n```"},
                    {"role": "user", "content": f"That text cannot be used: it {problem}. {ask}"}]
        return self._ask(candidate, component, messages, sample)

    def _ask(self, candidate: Candidate, component: str, messages: list[dict[str, str]], sample: int | None) -> str:
        reply = self.client.complete(messages, self.params, sample=sample)
        text = extract_text(reply.text)
        if not text:  # an empty reply (or only fences) proposes nothing: an unchanged text
            return candidate[component]
        if not self.instructions_mode(candidate, component) or placeholders(text):
            return text  # a whole component (the engine checks its placeholders)
        current = candidate[component]
        if " ".join(text.split()) in (" ".join(split_template(current)[1].split()), NO_INSTRUCTIONS):
            return current  # the same instructions: unchanged, whatever the layout
        return with_instructions(current, text)
