"""``RunSummary``: what a finished (or stopped) run reports, written as ``summary.json``.

One typed contract for everything that reads it (the CLI, the report, export, benchmarks), so a renamed field
breaks at the type checker instead of in a user's report. ``to_dict`` / ``from_dict`` keep the JSON shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True, kw_only=True)
class CandidateScores:
    """A candidate's mean validation score, test score (None without a test split) and guard-set scores."""

    id: str
    val: float
    test: float | None
    guard: dict[str, float] = field(default_factory=dict)

    def gaps(self) -> dict[str, Any]:
        """How far test and each guard set fall from validation (negative: worse than validation)."""
        return {
            "val_to_test": None if self.test is None else self.test - self.val,
            "val_to_guard": {name: value - self.val for name, value in self.guard.items()},
        }


@dataclass(frozen=True, kw_only=True)
class FrontMember(CandidateScores):
    """A member of the final Pareto front. ``guard_warning`` marks one whose validation score rose above the
    seed's while a guard set fell below the seed's."""

    origin: str
    objectives: dict[str, float] = field(default_factory=dict)  # mean over validation, per objective
    guard_failed: bool = False
    guard_unpaid: bool = False  # it would have been the best, but its guard check no longer fit the budget
    guard_warning: bool = False


@dataclass(frozen=True, kw_only=True)
class BestScores(CandidateScores):
    components: dict[str, str]


@dataclass(frozen=True, kw_only=True)
class UsageTotals:
    model_calls: int
    cache_hits: int
    input_tokens: int
    output_tokens: int
    tokens_saved: int
    cost_usd: float


@dataclass(frozen=True, kw_only=True)
class ExportRecord:
    """What the end-of-run export did (``export:`` in the task file)."""

    name: str
    version: int
    created: bool
    alias: str | None
    promoted: bool
    reason: str


@dataclass(frozen=True, kw_only=True)
class RunSummary:
    task: str
    run_dir: str
    status: str  # "finished" or "stopped (resumable)"
    stop_reason: str
    iterations: int
    candidates: int
    metric_calls: int
    seed: CandidateScores
    best: BestScores
    best_prompt_dir: str
    counts: dict[str, int]
    usage: UsageTotals
    usage_by_model: list[dict[str, Any]]
    test_examples: int
    front: list[FrontMember] = field(default_factory=list)
    objectives: list[dict[str, str]] = field(default_factory=list)  # the front's objectives: name and direction
    diagnosis: list[str] = field(default_factory=list)
    report: str = ""
    export: ExportRecord | None = None
    # What the data gives for free and what the prompts answer (splits with a label set only; see gepa.core.answers)
    baselines: dict[str, dict[str, Any]] = field(default_factory=dict)  # split -> labels, majority, rates
    answers: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)  # seed/best -> split -> counts
    constant_answers: list[dict[str, Any]] = field(default_factory=list)  # candidates never the best for it
    # candidates above the best on validation whose gain over the seed noise explains: candidate, val, gain
    within_noise: list[dict[str, Any]] = field(default_factory=list)
    # best - seed per split, paired over its examples, with a bootstrap interval (gepa.core.intervals)
    gains: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def resumable(self) -> bool:
        return self.status != "finished"

    @property
    def gaps(self) -> dict[str, Any]:
        """val -> test and val -> guard gaps of the seed and the best."""
        return {"seed": self.seed.gaps(), "best": self.best.gaps()}

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "gaps": self.gaps}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunSummary:
        export = data.get("export")
        fields = {k: v for k, v in data.items() if k != "gaps"}
        return cls(
            **{
                **fields,
                "seed": CandidateScores(**data["seed"]),
                "best": BestScores(**data["best"]),
                "usage": UsageTotals(**data["usage"]),
                "front": [FrontMember(**m) for m in data.get("front", [])],
                "export": ExportRecord(**export) if export else None,
            }
        )
