"""``runs/<id>/report.html``: one static page a person opens in a browser to see what a run did.

Score against budget spent (every candidate and the best so far), the Pareto front (which candidate wins
which validation example), the lineage tree, and each accepted child's diff from its parent with the
feedback that motivated it. Inline SVG and CSS only: no script, no network, opens from disk.
"""

from __future__ import annotations

import difflib
import html
from pathlib import Path
from typing import Any

import numpy as np

from gepa.core.answers import confusion, normalized
from gepa.core.intervals import PairedDifference
from gepa.core.pareto import best_mask, frontier_weights
from gepa.core.state import RunState
from gepa.runs import RunDir, atomic_write
from gepa.summary import RunSummary

STYLE = """body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#222}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:2px 6px;font-size:12px}
td.win{background:#2e8b57;color:#fff}td.lose{background:#f4f4f4}pre{background:#f7f7f7;padding:.5rem;
white-space:pre-wrap}.add{color:#116611}.del{color:#aa1111}.muted{color:#777}ul.tree{list-style:none;padding-left:1.2rem}
code{background:#f2f2f2;padding:0 3px}tr.warn{background:#fff3cd}"""


def write_report(run_dir: RunDir, summary: RunSummary | None = None) -> Path:
    """Render the report from the run's state and events (and summary, if known); returns its path."""
    state = run_dir.load_state()
    page = render(state, run_dir.events(), run_dir.config(), summary if summary is not None else run_dir.summary())
    path = run_dir.root / "report.html"
    atomic_write(path, page)
    return path


def render(state: RunState, events: list[dict[str, Any]], config: dict[str, Any], summary: RunSummary | None) -> str:
    name = html.escape(str(config.get("task", {}).get("name", "run")))
    means = state.mean_scores()
    best = state.best_index()
    parts = [f"<!doctype html><html lang=en><head><meta charset=utf-8><title>gepa report: {name}</title>",
             f"<style>{STYLE}</style></head><body>",
             f"<h1>gepa run: {name}</h1>",
             f"<p>{state.iteration} iterations, {len(state.candidates)} candidates, {state.metric_calls} metric calls. "
             f"Seed {means[0]:.3f} &rarr; best <b>{means[best]:.3f}</b> on validation"
             + (f"; test {_score(summary.seed.test)} &rarr; {_score(summary.best.test)}" if summary else "")
             + f". Status: {'finished' if state.finished else 'unfinished'} {html.escape(state.stop_reason)}</p>",
             gains_line(summary),
             *(f"<p>{html.escape(line)}</p>" for line in (summary.diagnosis if summary else [])),
             "<h2>Score against budget</h2>", score_chart(state),
             answers_section(state, summary),
             "<h2>Pareto front</h2>", front_scores(summary), tradeoff_chart(state, summary), pareto_table(state),
             "<h2>Lineage</h2>", lineage_tree(state),
             "<h2>Accepted changes</h2>", accepted_changes(state, events),
             "<h2>Rejected proposals</h2>", rejected_proposals(events),
             "<h2>Best prompt</h2>"]
    for component, text in state.candidates[best].components.items():
        parts.append(f"<p><code>{html.escape(component)}</code></p><pre>{html.escape(text)}</pre>")
    parts.append("</body></html>")
    return "\n".join(parts)


def gains_line(summary: RunSummary | None) -> str:
    """Best minus seed on each split, paired over its examples, with the interval: how sure the gain is."""
    if summary is None or not summary.gains or summary.best.id == summary.seed.id:
        return ""
    parts = [f"{html.escape(split)} {PairedDifference(**gain).line()}" for split, gain in summary.gains.items()]
    return "<p>Best &minus; seed, paired: " + "; ".join(parts) + ".</p>"


def _score(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def score_chart(state: RunState, width: int = 760, height: int = 280, pad: int = 40) -> str:
    """Each candidate as a dot at (metric calls when found, validation mean), the best so far as a step line."""
    means = state.mean_scores()
    calls = [int(f.get("metric_calls", 0)) for f in state.found_at]
    top = max(max(calls, default=1), state.metric_calls, 1)

    def x(value: float) -> float:
        return pad + value / top * (width - 2 * pad)

    def y(value: float) -> float:
        return height - pad - value * (height - 2 * pad)

    marks = [f'<line x1="{pad}" y1="{y(0)}" x2="{width - pad}" y2="{y(0)}" stroke="#999"/>',
             f'<line x1="{pad}" y1="{y(0)}" x2="{pad}" y2="{y(1)}" stroke="#999"/>',
             f'<text x="{pad - 8}" y="{y(1) + 4}" text-anchor="end" font-size="11">1.0</text>',
             f'<text x="{pad - 8}" y="{y(0) + 4}" text-anchor="end" font-size="11">0.0</text>',
             f'<text x="{width - pad}" y="{height - 10}" text-anchor="end" font-size="11">metric calls ({top})</text>']
    order = sorted(range(len(means)), key=lambda i: (calls[i], i))
    best_so_far, points = -1.0, []
    for i in order:
        best_so_far = max(best_so_far, means[i])
        points.append(f"{x(calls[i]):.1f},{y(best_so_far):.1f}")
    points.append(f"{x(state.metric_calls):.1f},{y(best_so_far):.1f}")
    marks.append(f'<polyline fill="none" stroke="#2e8b57" stroke-width="2" points="{" ".join(points)}"/>')
    for i in order:
        title = html.escape(f"{state.candidates[i].id} {state.candidates[i].origin}: {means[i]:.3f}")
        marks.append(f'<circle cx="{x(calls[i]):.1f}" cy="{y(means[i]):.1f}" r="4" fill="#3366cc">'
                     f"<title>{title}</title></circle>")
    return f'<svg width="{width}" height="{height}" role="img" aria-label="score against budget">{"".join(marks)}</svg>'


def pareto_table(state: RunState, max_examples: int = 60) -> str:
    scores = state.score_matrix()
    if scores.size == 0:
        return "<p class=muted>no scores yet</p>"
    weights = frontier_weights(scores)
    wins = best_mask(scores)
    members = np.flatnonzero(weights).tolist()
    shown = min(scores.shape[1], max_examples)
    head = "".join(f"<th>{j}</th>" for j in range(shown))
    rows = []
    for i in members:
        cells = "".join(f'<td class="{"win" if wins[i, j] else "lose"}">{scores[i, j]:.2g}</td>' for j in range(shown))
        rows.append(f"<tr><th>{state.candidates[i].id}</th><td>{int(weights[i])}</td>{cells}</tr>")
    note = f" (first {shown} of {scores.shape[1]} examples)" if shown < scores.shape[1] else ""
    return (f"<p>Front members, how many validation examples each wins, and its score per example{note}; "
            f"green = best on that example.</p><table><tr><th>candidate</th><th>wins</th>{head}</tr>"
            + "".join(rows) + "</table>")


def lineage_tree(state: RunState) -> str:
    means = state.mean_scores()
    index = {c.id: i for i, c in enumerate(state.candidates)}
    children: dict[str | None, list[int]] = {}
    for i, candidate in enumerate(state.candidates):
        parent = candidate.parents[0] if candidate.parents and candidate.parents[0] in index else None
        children.setdefault(parent, []).append(i)

    def branch(i: int) -> str:
        c = state.candidates[i]
        extra = f" &larr; also {', '.join(c.parents[1:])}" if len(c.parents) > 1 else ""
        kids = "".join(branch(k) for k in children.get(c.id, []))
        return (f"<li><code>{c.id}</code> {html.escape(c.origin)} val {means[i]:.3f}{extra}"
                + (f"<ul class=tree>{kids}</ul>" if kids else "") + "</li>")

    return "<ul class=tree>" + "".join(branch(i) for i in children.get(None, [])) + "</ul>"


def accepted_changes(state: RunState, events: list[dict[str, Any]]) -> str:
    by_id = {c.id: c for c in state.candidates}
    blocks = []
    for event in events:
        if event.get("kind") not in ("candidate_accepted", "merge_accepted"):
            continue
        child = by_id.get(event.get("child", ""))
        parent = by_id.get(event.get("parent") or event.get("first", ""))
        if child is None or parent is None:
            continue
        lines = []
        for name in child.components:
            diff = difflib.unified_diff(parent.components.get(name, "").splitlines(), child[name].splitlines(),
                                        f"{parent.id}/{name}", f"{child.id}/{name}", lineterm="")
            for line in diff:
                css = "add" if line.startswith("+") else "del" if line.startswith("-") else ""
                lines.append(f'<span class="{css}">{html.escape(line)}</span>')
        feedback = "".join(f"<li>{html.escape(str(f))}</li>" for f in event.get("feedback", [])[:5])
        blocks.append(f"<h3>iteration {event.get('iteration')}: {child.id} ({html.escape(child.origin)}) from "
                      f"{parent.id}</h3><pre>{chr(10).join(lines)}</pre>"
                      + (f"<p>Feedback that motivated it:</p><ul>{feedback}</ul>" if feedback else ""))
    return "".join(blocks) or "<p class=muted>no accepted changes yet</p>"


def rejected_proposals(events: list[dict[str, Any]], limit: int = 200) -> str:
    """Every proposal that went no further, with why: wasted before a rollout, or beaten on the minibatch."""
    rows = []
    for event in events:
        kind = event.get("kind")
        if kind == "proposal_rejected":
            why = f"{event.get('reason')}: {event.get('detail', '')}"
            text = event.get("text") or ""
        elif kind == "candidate_rejected" and event.get("reason") == "validation subset":
            why = (f"below the best on a validation subset of {event.get('subset')}: "
                   f"{event.get('child_subset', 0):.2f} against {event.get('best_subset', 0):.2f}")
            text = ""
        elif kind == "candidate_rejected":
            why = (f"{event.get('reason', 'not better')} on the minibatch: {event['child_minibatch']:.2f} "
                   f"against the parent's {event['parent_minibatch']:.2f}")
            if "select_rank" in event:
                child_rank, parent_rank = (", ".join("unmeasured" if v is None else f"{v:.3f}" for v in rank)
                                           for rank in event["select_rank"])
                why += f" (the select rule ranks them ({child_rank}) against ({parent_rank}))"
            text = "\n".join(f"[{name}] {value}" for name, value in (event.get("components") or {}).items())
        else:
            continue
        rows.append(f"<tr><td>{event.get('iteration')}</td><td>{html.escape(why)}</td>"
                    f"<td><pre>{html.escape(text[:600])}</pre></td></tr>")
    if not rows:
        return "<p class=muted>none</p>"
    more = f"<p class=muted>and {len(rows) - limit} more in events.jsonl</p>" if len(rows) > limit else ""
    return ("<table><tr><th>iteration</th><th>why</th><th>text</th></tr>" + "".join(rows[:limit]) + "</table>"
            + more)


def front_scores(summary: RunSummary | None) -> str:
    """Validation, test and guard scores of every front member, flagging one whose validation rose while a
    guard set fell."""
    if summary is None or not summary.front:
        return ""
    guard_names = list(summary.seed.guard)
    constant = {found["candidate"] for found in summary.constant_answers}
    head = "".join(f"<th>guard {html.escape(n)}</th>" for n in guard_names)
    seed = summary.seed
    on_front = " (on the front)" if any(m.id == seed.id for m in summary.front) else ""
    on_front += " (best)" if summary.best.id == seed.id else ""
    rows = [f"<tr><th>seed {seed.id}{on_front}</th><td>{_score(seed.val)}</td><td>{_score(seed.test)}</td>"
            + "".join(f"<td>{_score(seed.guard.get(n))}</td>" for n in guard_names) + "<td></td></tr>"]
    for member in summary.front:
        if member.id == seed.id:  # the seed's row is already first
            continue
        note = ("answers one label to everything: never the best" if member.id in constant
                else "guard failed: never the best" if member.guard_failed
                else "guard not checked (budget spent): never the best" if member.guard_unpaid
                else "val rose while a guard set fell" if member.guard_warning else "")
        marker = " (best)" if member.id == summary.best.id else ""
        css = ' class="warn"' if note else ""
        rows.append(f"<tr{css}><th>{member.id}{marker}</th><td>{_score(member.val)}</td><td>{_score(member.test)}</td>"
                    + "".join(f"<td>{_score(member.guard.get(n))}</td>" for n in guard_names)
                    + f"<td>{html.escape(note)}</td></tr>")
    return ("<table><tr><th>candidate</th><th>val</th><th>test</th>" + head + "<th>flag</th></tr>"
            + "".join(rows) + "</table><p class=muted>Guard sets are scored only for candidates that could become "
            "the best; '-' where one was not.</p>")


def answers_section(state: RunState, summary: RunSummary | None) -> str:
    """What the data gives for free on each split (majority label, chance), what the seed and the best answer
    there, and the best's per-label recall and confusion table on validation: a score that a constant answer
    explains shows here."""
    if summary is None or not summary.baselines:
        return ""
    def shown(who: str, split: str) -> str:
        counts = summary.answers.get(who, {}).get(split)
        return ", ".join(f"{html.escape(a or '(empty)')} {n}" for a, n in counts.items()) if counts else "-"

    rows = [f"<tr><th>{html.escape(split)}</th><td>{html.escape(str(base['majority']))} "
            f"{float(base['majority_rate']):.3f}</td><td>{float(base['chance']):.3f}</td>"
            f"<td>{shown('seed', split)}</td><td>{shown('best', split)}</td></tr>"
            for split, base in summary.baselines.items()]
    parts = ["<h2>Answers</h2><table><tr><th>split</th><th>majority label, its rate</th><th>chance</th>"
             "<th>seed answers</th><th>best answers</th></tr>" + "".join(rows) + "</table>"]
    best = state.candidates[state.best_index()]
    val = [r for eid, r in state.rollouts.get(best.id, {}).items() if eid.startswith("val/")]
    table = confusion(val)
    if table:
        answers = list(dict.fromkeys(a for row in table.values() for a in row))
        head = "".join(f"<th>{html.escape(a or '(empty)')}</th>" for a in answers)
        recall = {label: float(np.mean([r.score for r in val if normalized(str(r.expected)) == label]))
                  for label in table}
        body = "".join(f"<tr><th>{html.escape(label)}</th>" + "".join(f"<td>{row.get(a, 0)}</td>" for a in answers)
                       + f"<td>{recall[label]:.3f}</td></tr>" for label, row in table.items())
        parts.append(f"<p>The best prompt on validation: expected label (rows) against its answer (columns), "
                     f"with each label's recall; their mean (balanced) is {np.mean(list(recall.values())):.3f}.</p>"
                     f"<table><tr><th>expected</th>{head}<th>recall</th></tr>{body}</table>")
    return "".join(parts)


def tradeoff_chart(state: RunState, summary: RunSummary | None, width: int = 760, height: int = 300,
                   pad: int = 50) -> str:
    """The primary objective against a cost (the first ``min`` objective, else the prompt's length) for every
    candidate; front members filled, the chosen prompt ringed."""
    if summary is None or not state.candidates:
        return ""
    minimised = [o["name"] for o in summary.objectives if o["direction"] == "min"]
    maximised = [o["name"] for o in summary.objectives if o["direction"] == "max"]
    x_name, y_name = (minimised or ["prompt_chars"])[0], (maximised or ["score"])[0]
    means = [state.objective_means(i) for i in range(len(state.candidates))]
    if any(x_name not in m for m in means):
        return ""
    ids = [c.id for c in state.candidates]
    xs, ys = [m[x_name] for m in means], [m.get(y_name, 0.0) for m in means]
    x_low, x_high = min(xs), max(xs)
    y_low, y_high = min(min(ys), 0.0), max(max(ys), 1.0)
    front = {m.id for m in summary.front}

    def x(value: float) -> float:
        return pad + (value - x_low) / ((x_high - x_low) or 1.0) * (width - 2 * pad)

    def y(value: float) -> float:
        return height - pad - (value - y_low) / ((y_high - y_low) or 1.0) * (height - 2 * pad)

    marks = [f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#999"/>',
             f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{height - pad}" stroke="#999"/>',
             f'<text x="{width - pad}" y="{height - 12}" text-anchor="end" font-size="11">{html.escape(x_name)} '
             f'({x_low:.4g} to {x_high:.4g})</text>',
             f'<text x="12" y="{pad - 12}" font-size="11">{html.escape(y_name)} ({y_low:.3g} to {y_high:.3g})</text>']
    for cid, xv, yv in zip(ids, xs, ys, strict=True):
        fill = "#3366cc" if cid in front else "#bbbbbb"
        title = html.escape(f"{cid}: {y_name} {yv:.3f}, {x_name} {xv:.4g}")
        marks.append(f'<circle cx="{x(xv):.1f}" cy="{y(yv):.1f}" r="5" fill="{fill}"><title>{title}</title></circle>')
        if cid == summary.best.id:
            marks.append(f'<circle cx="{x(xv):.1f}" cy="{y(yv):.1f}" r="9" fill="none" stroke="#2e8b57" '
                         f'stroke-width="2"><title>chosen: {html.escape(cid)}</title></circle>')
    return (f"<p>Trade-off: {html.escape(y_name)} against {html.escape(x_name)} (mean over validation); blue: on "
            f"the front, grey: off it, ringed: the chosen prompt.</p><svg width=\"{width}\" height=\"{height}\" "
            f'role="img" aria-label="trade-off">{"".join(marks)}</svg>')
