"""The top of the report, what a reader opens it for: how much better the best prompt is than the seed on
every split (with the paired interval, which says how sure), the run's one-line warnings, and the best prompt
itself with its changes from the seed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gepa.core.intervals import PairedDifference, paired_difference
from gepa.core.state import RunState
from gepa.run.report.markup import chip, esc, score_cell, word_diff
from gepa.run.summary import RunSummary


@dataclass(frozen=True, kw_only=True)
class SplitScores:
    """The seed's and the best's mean on one split, and the paired best-minus-seed difference when known."""

    split: str
    seed: float | None
    best: float | None
    gain: PairedDifference | None


def split_scores(state: RunState, summary: RunSummary | None) -> list[SplitScores]:
    """Validation, test and each guard set from the summary; for a run without one yet (``gepa runs report`` on
    an unfinished run), validation from the state, paired over its examples here."""
    if summary is not None:
        gains = {split: PairedDifference(**gain) for split, gain in summary.gains.items()}
        rows = [
            SplitScores(split="validation", seed=summary.seed.val, best=summary.best.val, gain=gains.get("validation"))
        ]
        if summary.seed.test is not None:
            rows.append(
                SplitScores(split="test", seed=summary.seed.test, best=summary.best.test, gain=gains.get("test"))
            )
        return rows + [
            SplitScores(split=f"guard {name}", seed=value, best=summary.best.guard.get(name), gain=gains.get(name))
            for name, value in summary.seed.guard.items()
        ]
    if not state.val_scores or not state.val_scores[0]:
        return []
    best = state.best_index()
    means = state.mean_scores()
    gain = paired_difference(state.val_scores[best], state.val_scores[0]) if best else None
    return [SplitScores(split="validation", seed=means[0], best=means[best], gain=gain)]


def status_line(state: RunState, summary: RunSummary | None, config: dict[str, Any]) -> str:
    """Whether the run finished and why it stopped, what it spent, and on which models."""
    status = summary.status if summary is not None else "finished" if state.finished else "unfinished"
    parts = [
        f"{status}" + (f": {state.stop_reason}" if state.stop_reason else ""),
        f"{state.iteration} iteration{'' if state.iteration == 1 else 's'}",
        f"{len(state.candidates)} candidates",
        f"{state.metric_calls} metric calls",
    ]
    if summary is not None:
        parts.append(f"{summary.usage.model_calls} model calls (${summary.usage.cost_usd:.2f})")
    models = config.get("models") or {}
    if models.get("task"):
        reflection = models.get("reflection")
        parts.append(
            f"task model {models['task']}"
            + (f", reflection model {reflection}" if reflection and reflection != models["task"] else "")
        )
    return "<p class=muted>" + esc(" · ".join(parts)) + "</p>"


def headline(state: RunState, summary: RunSummary | None, config: dict[str, Any]) -> str:
    """The task's name, seed against best on validation in large type, then every split in a table."""
    name = esc(config.get("task", {}).get("name", "run"))
    rows = split_scores(state, summary)
    parts = [f"<h1>{name}</h1>"]
    if rows:
        val = rows[0]
        delta = (val.best or 0.0) - (val.seed or 0.0)
        parts.append(f"<p class=verdict>validation {chip(val.seed)} &rarr; {chip(val.best)} <b>{delta:+.3f}</b></p>")
        body = "".join(
            f"<tr><th>{esc(r.split)}</th>{score_cell(r.seed, digits=3)}{score_cell(r.best, digits=3)}"
            f"<td>{esc(r.gain.line()) if r.gain is not None else '-'}</td></tr>"
            for r in rows
        )
        parts.append(
            "<table class=headline><tr><th>split</th><th>seed</th><th>best</th>"
            f"<th>best &minus; seed, paired over the split's examples</th></tr>{body}</table>"
        )
    parts.append(status_line(state, summary, config))
    lines = summary.diagnosis if summary is not None else []
    if lines:
        parts.append("<ul class=notes>" + "".join(f"<li>{esc(line)}</li>" for line in lines) + "</ul>")
    return "<header>" + "".join(parts) + "</header>"


def best_prompt(state: RunState) -> str:
    """The best candidate's components in full, each followed by its words added and dropped against the
    seed's."""
    if not state.candidates:
        return "<p class=muted>no candidate yet</p>"
    index = state.best_index()
    best, seed = state.candidates[index], state.candidates[0]
    found = state.found_at[index] if index < len(state.found_at) else {}
    parts = [
        "<p>The seed itself: no candidate beat it on validation.</p>"
        if index == 0
        else f"<p>Candidate <code>{esc(best.id)}</code> ({esc(best.origin)}), found in iteration "
        f"{esc(found.get('iteration', '?'))} after {esc(found.get('metric_calls', '?'))} metric calls.</p>"
    ]
    for component, text in best.components.items():
        before = seed.components.get(component)
        same = before == text
        note = "unchanged from the seed" if same else "new" if before is None else "changed from the seed"
        parts.append(
            f"<h3><code>{esc(component)}</code> <span class=muted>{note}</span></h3><pre class=prompt>{esc(text)}</pre>"
        )
        if not same and index != 0:
            parts.append(
                f"<p class=muted>Against the seed (<ins>added</ins>, <del>dropped</del>):</p>"
                f'<div class="text diff">{word_diff(before or "", text)}</div>'
            )
    return "".join(parts)
