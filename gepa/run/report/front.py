"""The report's view of the final pool: the Pareto front's scores on every split, which member wins which
validation example, and what the prompts answer against what the data gives for free."""

from __future__ import annotations

import numpy as np

from gepa.core.answers import confusion, normalized
from gepa.core.pareto import best_mask, frontier_weights
from gepa.core.state import RunState
from gepa.run.report.markup import esc, score_cell, score_text
from gepa.run.summary import RunSummary


def front_scores(summary: RunSummary | None) -> str:
    """Validation, test and guard scores of every front member, flagging one whose validation rose while a
    guard set fell."""
    if summary is None or not summary.front:
        return ""
    guard_names = list(summary.seed.guard)
    constant = {found["candidate"] for found in summary.constant_answers}
    noisy = {found["candidate"] for found in summary.within_noise}
    head = "".join(f"<th>guard {esc(n)}</th>" for n in guard_names)
    seed = summary.seed
    on_front = " (on the front)" if any(m.id == seed.id for m in summary.front) else ""
    on_front += " (best)" if summary.best.id == seed.id else ""
    rows = [
        f"<tr><th>seed {esc(seed.id)}{on_front}</th><td>{score_text(seed.val)}</td><td>{score_text(seed.test)}"
        "</td>" + "".join(f"<td>{score_text(seed.guard.get(n))}</td>" for n in guard_names) + "<td></td></tr>"
    ]
    for member in summary.front:
        if member.id == seed.id:  # the seed's row is already first
            continue
        note = (
            "answers one label to everything: never the best"
            if member.id in constant
            else "gain over the seed within noise: not the best"
            if member.id in noisy
            else "guard failed: never the best"
            if member.guard_failed
            else "guard not checked (budget spent): never the best"
            if member.guard_unpaid
            else "val rose while a guard set fell"
            if member.guard_warning
            else ""
        )
        marker = " (best)" if member.id == summary.best.id else ""
        css = ' class="warn"' if note else ""
        rows.append(
            f"<tr{css}><th>{esc(member.id)}{marker}</th><td>{score_text(member.val)}</td>"
            f"<td>{score_text(member.test)}</td>"
            + "".join(f"<td>{score_text(member.guard.get(n))}</td>" for n in guard_names)
            + f"<td>{esc(note)}</td></tr>"
        )
    return (
        "<table><tr><th>candidate</th><th>val</th><th>test</th>"
        + head
        + "<th>flag</th></tr>"
        + "".join(rows)
        + "</table><p class=muted>Guard sets are scored only for candidates that could become "
        "the best; '-' where one was not.</p>"
    )


def pareto_table(state: RunState, max_examples: int = 60) -> str:
    """Each front member's score on each validation example, coloured by value; the members no one beats on an
    example (with a score above 0) are outlined there."""
    scores = state.score_matrix()
    if scores.size == 0:
        return "<p class=muted>no scores yet</p>"
    weights = frontier_weights(scores)
    wins = best_mask(scores) & (scores > 0)
    shown = min(scores.shape[1], max_examples)
    head = "".join(f"<th>{j + 1}</th>" for j in range(shown))  # numbered as in the examples table
    rows = []
    for i in np.flatnonzero(weights).tolist():
        cells = "".join(
            score_cell(float(scores[i, j]), digits=1, extra=" win" if wins[i, j] else "") for j in range(shown)
        )
        rows.append(f"<tr><th>{esc(state.candidates[i].id)}</th><td>{int(weights[i])}</td>{cells}</tr>")
    note = f" (first {shown} of {scores.shape[1]} examples)" if shown < scores.shape[1] else ""
    return (
        f"<p>Front members, how many validation examples each wins, and its score on each example (numbered as "
        f"in the table of validation examples){note}: red 0, green 1; outlined where no member scores higher.</p>"
        "<div class=wide><table class=pareto><tr><th>candidate</th><th>wins</th>"
        + head
        + "</tr>"
        + "".join(rows)
        + "</table></div>"
    )


def answers_section(state: RunState, summary: RunSummary | None) -> str:
    """What the data gives for free on each split (majority label, chance), what the seed and the best answer
    there, and the best's per-label recall and confusion table on validation: a score that a constant answer
    explains shows here."""
    if summary is None or not summary.baselines:
        return ""

    def shown(who: str, split: str) -> str:
        counts = summary.answers.get(who, {}).get(split)
        return ", ".join(f"{esc(a or '(empty)')} {n}" for a, n in counts.items()) if counts else "-"

    rows = [
        f"<tr><th>{esc(split)}</th><td>{esc(base['majority'])} {float(base['majority_rate']):.3f}</td>"
        f"<td>{float(base['chance']):.3f}</td><td>{shown('seed', split)}</td><td>{shown('best', split)}</td></tr>"
        for split, base in summary.baselines.items()
    ]
    parts = [
        "<table><tr><th>split</th><th>majority label, its rate</th><th>chance</th>"
        "<th>seed answers</th><th>best answers</th></tr>" + "".join(rows) + "</table>"
    ]
    best = state.candidates[state.best_index()]
    val = [r for eid, r in state.rollouts.get(best.id, {}).items() if eid.startswith("val/")]
    table = confusion(val)
    if table:
        answers = [a for a in dict.fromkeys(a for row in table.values() for a in row) if a in table]
        answers += [label for label in table if label not in answers]  # a label never answered: a column of 0
        others = {a for row in table.values() for a in row} - set(answers)
        head = "".join(f"<th>{esc(a or '(empty)')}</th>" for a in answers)
        head += f"<th>{len(others)} other answer{'' if len(others) == 1 else 's'}</th>" if others else ""
        recall = {
            label: float(np.mean([r.score for r in val if normalized(str(r.expected)) == label])) for label in table
        }

        def cells(row: dict[str, int]) -> str:
            other = f"<td>{sum(n for a, n in row.items() if a in others)}</td>" if others else ""
            return "".join(f"<td>{row.get(a, 0)}</td>" for a in answers) + other

        body = "".join(
            f"<tr><th>{esc(label)}</th>{cells(row)}<td>{recall[label]:.3f}</td></tr>" for label, row in table.items()
        )
        parts.append(
            f"<p>The best prompt on validation: expected label (rows) against its answer (columns; an "
            f"answer that is no label is counted under other), with each label's recall; their mean "
            f"(balanced) is {np.mean(list(recall.values())):.3f}.</p>"
            f"<div class=wide><table><tr><th>expected</th>{head}<th>recall</th></tr>{body}</table></div>"
        )
    return "".join(parts)
