"""The evidence block of a reflection request: each example's inputs, the answer and the feedback, then what the
answers have in common (one answer given to many examples; the answers the feedback expects)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from gepa.core.answers import answer_counts
from gepa.core.candidate import Candidate, placeholders
from gepa.core.text import clip
from gepa.core.types import Example, Rollout

FEEDBACK_CHARS = 2000  # of one example's feedback in a reflection request: its gist, never a flood
Evidence = Sequence[tuple[Example, Rollout]]


def input_names(candidate: Candidate, fallback: Sequence[str]) -> list[str]:
    """The example fields the prompt shows the model: its placeholders, else ``fallback`` (listed fields)."""
    names = list(dict.fromkeys(n for text in candidate.components.values() for n in placeholders(text)))
    return names or list(fallback)


def format_examples(
    evidence: Evidence, names: Sequence[str], max_chars: int = 600, *, expected_line: bool = True
) -> str:
    """Each example as its inputs, the assistant's answer and the feedback (which carries the expected answer);
    then, when the assistant gave one answer to several examples, how often (a prompt that makes the model answer
    one label to everything is the commonest false gain); then (``expected_line``) the answers the evaluator
    expected, once each, on a line of their own (docs/reflection.md says why)."""
    blocks = []
    for number, (example, rollout) in enumerate(evidence, start=1):
        shown = [n for n in names if n in example.fields]
        if len(shown) == 1:
            inputs = f"Input: {str(example.fields[shown[0]])[:max_chars]}"
        else:
            inputs = "\n".join(f"Input {n}: {str(example.fields[n])[:max_chars]}" for n in shown)
        steps = rollout.trace.get("steps")  # a pipeline's intermediate outputs, step name -> text
        inputs += "".join(
            f"\nStep {name!s} wrote: {str(text)[:max_chars]}"
            for name, text in (steps.items() if isinstance(steps, Mapping) else ())
        )
        blocks.append(
            f"Example {number}\n{inputs}\nAssistant's answer: {rollout.output[:max_chars]}\n"
            f"Feedback: {clip(rollout.feedback, FEEDBACK_CHARS)}"
        )
    if line := repeated_answer([r for _, r in evidence]):
        blocks.append(line)
    # a long free-form answer is named by its start: the line is about the answers' form, not their text
    expected = list(dict.fromkeys(clip(r.expected, 80) for _, r in evidence if r.expected is not None))
    if expected and expected_line:
        blocks.append("The feedback expects these answers: " + ", ".join(repr(v) for v in expected) + ".")
    return "\n\n".join(blocks)


def repeated_answer(rollouts: Sequence[Rollout]) -> str | None:
    """ "The assistant answered 'b' on 3 of 4 examples." when one short answer covers two examples or more."""
    counts = answer_counts(rollouts)
    if not counts:
        return None
    answer, count = next(iter(counts.items()))
    if count < 2 or not answer or len(answer) > 40:
        return None
    whatever = ", whatever the input" if count == len(rollouts) else ""
    return f"The assistant answered {answer!r} on {count} of {len(rollouts)} examples{whatever}."
