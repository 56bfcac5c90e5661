"""Records the engine passes around, and the small Protocols through which everything plugs in.

Extension points (each a one-method Protocol):
- ``System``: turns a candidate and one example into an output (a prompt + model call, or a whole pipeline).
- ``Evaluator``: scores one output in [0, 1] and says in words what went wrong.
- ``Proposer``: rewrites one component from the parent and the minibatch rollouts (the reflector); it may
  also ``repair`` a text whose placeholders broke (``Repairs``).
- ``Callback``: receives every ``Event``; must not raise (failures are isolated by the engine).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from gepa.core.candidate import Candidate


@dataclass(frozen=True, kw_only=True)
class Example(Mapping[str, Any]):
    """One labelled example. ``id`` is unique within a run (e.g. ``val/7``); ``fields`` fill placeholders.

    It reads like the mapping of its fields (``example["label"]``, ``example.get("text")``), so a metric written
    for a dict of fields takes it as it is."""

    id: str
    fields: Mapping[str, Any]
    sample: int | None = None  # which of a pair's samples this run is (samples_per_example); None: the only one

    def __getitem__(self, name: str) -> Any:
        return self.fields[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.fields)

    def __len__(self) -> int:
        return len(self.fields)


@dataclass(frozen=True, kw_only=True)
class EvalResult:
    """A score in [0, 1] plus feedback text that tells the reflector what went wrong (or right). ``scores``
    carries named scores (each an objective the search may keep apart, e.g. ``{"accuracy": 1, "tone": 0.5}``).
    ``expected`` is the answer the evaluator wanted, when it has one: the reflector is told which answers a
    minibatch expects, because small reflectors miss them inside the feedback sentences."""

    score: float
    feedback: str = ""
    scores: Mapping[str, float] = field(default_factory=dict)
    expected: str | None = None


@dataclass(frozen=True, kw_only=True)
class SystemOutput:
    """What a ``System`` produced: the text to score, a JSON-able trace (e.g. the rendered messages) and what it
    cost (``tokens``, ``cost_usd``, ``latency_s``), which cost objectives read."""

    text: str
    trace: Mapping[str, Any] = field(default_factory=dict)
    usage: Mapping[str, float] = field(default_factory=dict)


ErrorSource = Literal["system", "evaluator", "unreachable"]  # unreachable: a transient error outlived its retries


# A rollout keeps at most this much of its output, feedback and error (about 5,000 tokens: more than any answer a
# prompt is graded on); a longer text keeps its prefix and its full length, since 48 rollouts of 20 MB of feedback
# made a 960 MB rollouts.jsonl.
MAX_STORED_CHARS = 20_000


def _prefix(text: str) -> tuple[str, int | None]:
    """``text`` cut to ``MAX_STORED_CHARS`` (its last an ellipsis) and its full length, or itself and None. A cut
    text is not cut again, so a rollout rebuilt from its record keeps the length first recorded."""
    if len(text) <= MAX_STORED_CHARS:
        return text, None
    return text[: MAX_STORED_CHARS - 1] + "…", len(text)


@dataclass(frozen=True, kw_only=True)
class Rollout:
    """One scored run of a candidate on one example. ``error`` is set when the system or the evaluator
    failed on it, and ``error_source`` says which. ``output``, ``feedback`` and ``error`` are bounded prefixes
    (``MAX_STORED_CHARS``); ``output_chars`` and ``feedback_chars`` hold the full lengths of the ones cut."""

    example_id: str
    output: str
    score: float
    feedback: str
    trace: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None
    error_source: ErrorSource | None = None
    objectives: Mapping[str, float] = field(default_factory=dict)  # every measured objective, "score" included
    expected: str | None = None  # the evaluator's expected answer, when it has one
    output_chars: int | None = None
    feedback_chars: int | None = None

    def __post_init__(self) -> None:
        for name in ("output", "feedback"):
            text, length = _prefix(getattr(self, name))
            if length is not None:
                object.__setattr__(self, name, text)
                object.__setattr__(self, f"{name}_chars", length)
        if self.error is not None:
            object.__setattr__(self, "error", _prefix(self.error)[0])

    def to_dict(self) -> dict[str, Any]:
        cut = {
            k: v
            for k, v in (("output_chars", self.output_chars), ("feedback_chars", self.feedback_chars))
            if v is not None
        }
        return {
            "example_id": self.example_id,
            "output": self.output,
            "score": self.score,
            "feedback": self.feedback,
            "trace": dict(self.trace),
            "error": self.error,
            "error_source": self.error_source,
            "objectives": dict(self.objectives),
            "expected": self.expected,
            **cut,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Rollout:
        return cls(
            example_id=data["example_id"],
            output=data["output"],
            score=float(data["score"]),
            feedback=data["feedback"],
            trace=data.get("trace", {}),
            error=data.get("error"),
            error_source=data.get("error_source"),
            objectives={k: float(v) for k, v in (data.get("objectives") or {}).items()},
            expected=data.get("expected"),
            output_chars=data.get("output_chars"),
            feedback_chars=data.get("feedback_chars"),
        )


@runtime_checkable
class System(Protocol):
    """Maps a candidate + example to an output. Raise on failure; the engine records it as score 0.

    Raise ``gepa.errors.SystemicModelError`` for failures every call would repeat (bad key): they stop the run.
    Must be thread-safe: the engine calls it concurrently.
    """

    def run(self, candidate: Candidate, example: Example) -> SystemOutput: ...


@runtime_checkable
class AsyncSystem(Protocol):
    """A ``System`` that can also run as a coroutine, so one thread keeps many rollouts in flight. The engine
    uses ``arun`` when ``supports_async`` is true (``executor: auto``) or when told to (``executor: async``)."""

    supports_async: bool

    async def arun(self, candidate: Candidate, example: Example) -> SystemOutput: ...


@runtime_checkable
class Evaluator(Protocol):
    """Scores ``output`` for ``example``: a score in [0, 1] and feedback. Must be thread-safe and deterministic.

    A score that is not a number in [0, 1] is an error on that example (never clipped or read as 0); an
    evaluator that fails on every example of the seed stops the run. A ``name`` attribute names it in errors.
    """

    def __call__(self, example: Example, output: str) -> EvalResult: ...


@runtime_checkable
class Proposer(Protocol):
    """Returns new text for ``component`` of ``candidate``, learning from ``rollouts`` (with their examples).

    It need not check placeholders: the engine rejects a text that drops, renames or invents one. ``sample``
    numbers the attempt within the run: a sampling proposer should give different texts for different numbers
    and the same text for the same number (the engine's determinism rests on it).
    """

    def propose(
        self,
        candidate: Candidate,
        component: str,
        rollouts: Sequence[tuple[Example, Rollout]],
        *,
        sample: int | None = None,
    ) -> str: ...


@runtime_checkable
class Repairs(Protocol):
    """A proposer that can fix a text whose placeholders broke, that copied a training example or that repeats
    the current text, given the ``problem`` in words."""

    def repair(
        self,
        candidate: Candidate,
        component: str,
        rollouts: Sequence[tuple[Example, Rollout]],
        text: str,
        problem: str,
        *,
        sample: int | None = None,
    ) -> str: ...
