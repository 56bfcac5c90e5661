"""Worked examples shown before an instructions request, as (user, assistant) turn pairs.

Their tasks are made up and belong to no example or bench task: they teach the form of a good reply (a short task
line, then an answer cue naming the answers the feedback expects), and the answers come from the feedback. Each
is rendered with the request's own template and example format, so the two cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from string import Template

from gepa.core.types import Example, Rollout
from gepa.proposer.evidence import format_examples
from gepa.proposer.templates import INSTRUCTIONS_TEMPLATE, NO_INSTRUCTIONS

_WHOLE = "The whole output must be the answer and nothing else."


@dataclass(frozen=True)
class Attempt:
    """One made-up example: its input, the assistant's wrong answer, and the answer expected."""

    question: str
    answer: str
    expected: str


@dataclass(frozen=True)
class WorkedExample:
    """The current instructions, the attempts the reflector is shown, and the reply it should learn from."""

    current: str
    attempts: tuple[Attempt, ...]
    reply: str

    def turns(self) -> list[dict[str, str]]:
        evidence = [
            (
                Example(id=str(n), fields={"input": a.question}),
                Rollout(
                    example_id=str(n),
                    output=a.answer,
                    score=0.0,
                    feedback=f"Wrong. Expected exactly '{a.expected}'. {_WHOLE}",
                    expected=a.expected,
                ),
            )
            for n, a in enumerate(self.attempts)
        ]
        request = Template(INSTRUCTIONS_TEMPLATE).substitute(
            current_text=self.current, examples=format_examples(evidence, ["input"])
        )
        return [
            {"role": "user", "content": request.strip("\n")},
            {"role": "assistant", "content": f"```\n{self.reply}\n```"},
        ]


WORKED_EXAMPLES = (
    WorkedExample(
        NO_INSTRUCTIONS,
        (
            Attempt("The capital of Italy?", "The capital of Italy is Rome, a city with a long history.", "rome"),
            Attempt("The capital of France?", "Paris is the capital and the largest city of France.", "paris"),
        ),
        "Name the capital city.\nReply with the city name only:",
    ),
    WorkedExample(
        NO_INSTRUCTIONS,
        (
            Attempt("Which is heavier? 1) a brick 2) a feather", "A brick is heavier than a feather.", "1"),
            Attempt("Which is colder? 1) fire 2) ice", "Ice is colder, because it is frozen water.", "2"),
        ),
        "Pick the option that fits the question.\nAnswer with the option's digit alone (1 or 2):",
    ),
    WorkedExample(
        "Is this animal a mammal or a bird?",
        (
            Attempt("whale", "A whale lives in the sea but breathes air.", "mammal"),
            Attempt("penguin", "The penguin cannot fly, but it swims very well.", "bird"),
        ),
        "Decide which class the animal belongs to.\nReply in one word (mammal or bird):",
    ),
)
INSTRUCTIONS_DEMOS = [example.turns() for example in WORKED_EXAMPLES]
