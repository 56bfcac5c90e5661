"""Export a run's best candidate into the prompt registry, optionally promoting an alias only if it wins."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from gepa.core.candidate import Candidate
from gepa.core.config import GUARD_TOLERANCE
from gepa.core.intervals import paired_difference
from gepa.errors import RunStateError, UserError
from gepa.registry import PromptRegistry, PromptVersion
from gepa.run.rundir import RunDir
from gepa.run.summary import ExportRecord

Scorer = Callable[[Candidate], list[float]]  # a candidate's score on each example of the task's test split
GuardScorer = Callable[[Candidate], dict[str, float]]


@dataclass(frozen=True, kw_only=True)
class ExportResult:
    version: PromptVersion
    created: bool
    alias: str | None
    promoted: bool
    reason: str

    def record(self) -> ExportRecord:
        """What ``summary.json`` keeps of this export: the version by name and number, not its texts."""
        return ExportRecord(
            name=self.version.name,
            version=self.version.version,
            created=self.created,
            alias=self.alias,
            promoted=self.promoted,
            reason=self.reason,
        )


def best_of(run_dir: RunDir, candidate_id: str | None = None) -> tuple[Candidate, dict[str, Any]]:
    """The run's best candidate (or the one named) and what is known about it (scores, models, task)."""
    state = run_dir.load_state()
    if not state.candidates:
        raise RunStateError(f"{run_dir.root}: the run has no scored candidate yet")
    best = state.best_index()
    config, summary = run_dir.config(), run_dir.summary()
    if candidate_id is not None:
        try:
            best = state.index_of(candidate_id)
        except KeyError:
            front = [m.id for m in summary.front] if summary else [state.candidates[best].id]
            raise UserError(f"{run_dir.root}: no candidate {candidate_id!r}; the front is {', '.join(front)}") from None
        if candidate_id in state.guard_failed:
            raise UserError(f"candidate {candidate_id} fell on a guard set of the task; it is never exported")
        if candidate_id in state.constant_answers:
            raise UserError(
                f"candidate {candidate_id} {state.constant_answers[candidate_id]['line']}; a prompt that "
                "gives one answer to everything is never exported"
            )
        if candidate_id in state.guard_unpaid:
            raise UserError(
                f"candidate {candidate_id} was never checked on the task's guard sets (the budget ran "
                "out); check it with `gepa optimize TASK --resume RUN --budget N`, N above the run's "
                "budget"
            )
    chosen = state.candidates[best].id
    known = {m.id: m.test for m in summary.front} | {summary.best.id: summary.best.test} if summary else {}
    test = known.get(chosen)
    task, models = config.get("task", {}), config.get("models", {})
    meta = {
        "source_run": str(run_dir.root),
        "task": task.get("name"),
        "task_path": config.get("task_path"),
        "model": models.get("task"),
        "reflection_model": models.get("reflection"),
        "val_score": state.mean_scores()[best],
        "test_score": test,
        "guard_scores": state.guard_scores.get(state.candidates[best].id, {}),
        "guard_tolerance": config.get("optimizer", {}).get("guard_tolerance", GUARD_TOLERANCE),
        "mlflow_run_id": run_dir.mlflow_run_id(),
    }
    return state.candidates[best], meta


def export_run(
    run_dir: RunDir,
    name: str,
    *,
    registry: PromptRegistry,
    alias: str | None = None,
    promote_if_better: bool = False,
    scorer: Scorer | None = None,
    guard_scorer: GuardScorer | None = None,
    candidate_id: str | None = None,
    level: float = 0.95,
    any_gain: bool = False,
) -> ExportResult:
    """Register the best candidate; with ``promote_if_better``, move ``alias`` only if the evidence says it beats
    the incumbent on the task's test split: the paired bootstrap interval of new - old over the test examples
    (at ``level``) lies above 0, so a gain noise could explain does not promote (``any_gain``: a higher mean
    suffices, the old rule); and it must not fall more than the tolerance below it on any guard set."""
    candidate, meta = best_of(run_dir, candidate_id)
    if promote_if_better and not alias:
        raise UserError("--promote-if-better needs --alias (the alias to move if the new version wins)")
    if not promote_if_better:
        version, created = registry.publish(name, candidate.components, meta, alias=alias)
        return ExportResult(
            version=version,
            created=created,
            alias=alias,
            promoted=alias is not None,
            reason=f"alias {alias!r} set" if alias else "",
        )
    assert alias is not None
    try:
        incumbent: PromptVersion | None = registry.get(f"{name}@{alias}")
    except UserError:
        incumbent = None
    if incumbent is None:
        version, created = registry.publish(name, candidate.components, meta)
        registry.promote(name, version.version, alias)
        return ExportResult(
            version=version,
            created=created,
            alias=alias,
            promoted=True,
            reason=f"no version had alias {alias!r}; it now points at v{version.version}",
        )
    if incumbent.candidate().id == candidate.id:
        version, created = registry.publish(name, candidate.components, meta)
        return ExportResult(
            version=version,
            created=created,
            alias=alias,
            promoted=False,
            reason=f"{alias!r} already points at this content (v{version.version})",
        )
    won, figures, meta["promotion"] = _evidence(
        candidate, meta, incumbent, alias, scorer, guard_scorer, level=level, any_gain=any_gain
    )
    version, created = registry.publish(name, candidate.components, meta)
    if won:
        registry.promote(name, version.version, alias)
        return ExportResult(
            version=version, created=created, alias=alias, promoted=True, reason=f"v{version.version} {figures}"
        )
    return ExportResult(
        version=version,
        created=created,
        alias=alias,
        promoted=False,
        reason=f"v{version.version} {figures}; {alias!r} stays on v{incumbent.version}",
    )


def _evidence(
    candidate: Candidate,
    meta: Mapping[str, Any],
    incumbent: PromptVersion,
    alias: str,
    scorer: Scorer | None,
    guard_scorer: GuardScorer | None,
    *,
    level: float,
    any_gain: bool,
) -> tuple[bool, str, dict[str, Any]]:
    """Whether ``candidate`` should take ``alias`` from ``incumbent``, the figures that say why, and the record
    of the decision (kept in the new version's meta.json: the interval, the counts, the rule)."""
    record: dict[str, Any] = {
        "alias": alias,
        "against": incumbent.version,
        "rule": "any gain" if any_gain else "interval above 0",
    }
    regression = _guard_regression(meta, incumbent, guard_scorer)
    if regression:
        return False, regression, {**record, "promoted": False, "guard": regression}
    if any_gain and scorer is None:
        new_score = _known_or_scored(meta.get("test_score"), f"the new version of {incumbent.name}")
        old_score = _known_or_scored(incumbent.meta.get("test_score"), incumbent.ref)
        won = new_score > old_score
        figures = f"test {new_score:.3f} against v{incumbent.version}'s {old_score:.3f}"
        return (
            won,
            figures if won else f"{figures}, no higher",
            {**record, "promoted": won, "test": new_score, "incumbent_test": old_score},
        )
    if scorer is None:
        raise UserError(
            "promoting by evidence scores both versions on the task's test split, and this run has no "
            "task to score them on"
        )
    new_scores, old_scores = scorer(candidate), scorer(incumbent.candidate())
    found = paired_difference(new_scores, old_scores, level=level)
    won = found.mean > 0 if any_gain else found.low > 0
    figures = (
        f"test {sum(new_scores) / len(new_scores):.3f} against v{incumbent.version}'s "
        f"{sum(old_scores) / len(old_scores):.3f}: {found.mean:+.3f} ({found.level:.0%} interval "
        f"{found.low:+.3f} to {found.high:+.3f}; {found.better} of {found.n} examples better, "
        f"{found.worse} worse)"
    )
    if not won:
        figures += ", no higher" if any_gain else ", an interval that reaches 0: noise could explain the difference"
    return (
        won,
        figures,
        {
            **record,
            "promoted": won,
            "mean": found.mean,
            "low": found.low,
            "high": found.high,
            "level": found.level,
            "better": found.better,
            "worse": found.worse,
            "n": found.n,
        },
    )


def _known_or_scored(known: Any, what: str) -> float:
    if isinstance(known, (int, float)) and not math.isnan(float(known)):
        return float(known)
    raise UserError(f"{what} has no test score and no task to score it on")


def _guard_regression(new_meta: Mapping[str, Any], old: PromptVersion, guard_scorer: GuardScorer | None) -> str:
    """Why the new version (``new_meta``) may not replace ``old``: a guard set it scores lower on by more than the
    tolerance; else ''."""
    new_guard = dict(new_meta.get("guard_scores") or {})
    if not new_guard:
        return ""
    old_guard = dict(old.meta.get("guard_scores") or {})
    if not all(name in old_guard for name in new_guard) and guard_scorer is not None:
        old_guard = {**guard_scorer(old.candidate()), **old_guard}
    tolerance = float(new_meta.get("guard_tolerance", GUARD_TOLERANCE))
    fell = [
        f"{name!r} {value:.3f} against v{old.version}'s {old_guard[name]:.3f}"
        for name, value in new_guard.items()
        if name in old_guard and value < old_guard[name] - tolerance
    ]
    return f"falls on the guard set {', '.join(fell)} (tolerance {tolerance:.2f})" if fell else ""
