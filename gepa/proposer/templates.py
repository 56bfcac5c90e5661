"""The packaged reflection requests and the two reflection policies built from them, and the layout rules of a
template with inputs (its input lines stay as they are; the instructions around them are what gets rewritten).

Which policy suits which reflector, and why, is in docs/reflection.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

from gepa.core.candidate import placeholders

PACKAGED_TEMPLATES = ("default", "scaffolded", "general", "small")  # default: a policy picked for the reflector
NO_INSTRUCTIONS = "(none yet)"
TURN = re.compile(r"^<<(user|assistant)>>[ \t]*$", re.MULTILINE)


def read_template(filename: str) -> str:
    return resources.files("gepa.proposer").joinpath(f"templates/{filename}").read_text(encoding="utf-8")


@dataclass(frozen=True, kw_only=True)
class ReflectionPolicy:
    """How the packaged reflection request asks: its two templates (a component with placeholders, where only the
    instructions around the inputs are rewritten; one without), and whether the small-model scaffolding comes
    with it (worked examples before the request, the expected answers on a line of their own)."""

    instructions: str
    component: str
    worked_examples: bool
    expected_line: bool


INSTRUCTIONS_TEMPLATE = read_template("instructions.md")
COMPONENT_TEMPLATE = read_template("component.md")
POLICIES = {
    # For small reflectors: worked examples that end in an answer cue, the expected answers named, "keep it short".
    "scaffolded": ReflectionPolicy(
        instructions=INSTRUCTIONS_TEMPLATE, component=COMPONENT_TEMPLATE, worked_examples=True, expected_line=True
    ),
    # The request of the GEPA paper's kind: write down the task's facts, rules and strategy that the failures show.
    "general": ReflectionPolicy(
        instructions=read_template("general_instructions.md"),
        component=read_template("general_component.md"),
        worked_examples=False,
        expected_line=False,
    ),
}
DEFAULT_POLICY = "scaffolded"


def packaged_template(name: str) -> str:
    """A packaged reflection template as text: ``small`` (few-shot, for tiny reflectors), or a policy's prompt for
    components without placeholders (``default``, ``scaffolded``, ``general``)."""
    if name == "small":
        return read_template("small.md")
    return POLICIES[DEFAULT_POLICY if name == "default" else name].component


def chat_turns(text: str) -> list[dict[str, str]]:
    """A template's text split at its ``<<user>>`` / ``<<assistant>>`` lines into chat turns."""
    parts = TURN.split(text)[1:]
    return [{"role": role, "content": body.strip("\n")} for role, body in zip(parts[::2], parts[1::2], strict=True)]


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
