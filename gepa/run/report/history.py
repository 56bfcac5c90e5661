"""How the search got to its best prompt, from the run's events: the lineage tree, each accepted change as a
diff with the feedback that motivated it, and the proposals that went no further, grouped by why."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gepa.core.admission import REJECTION_WORDS
from gepa.core.state import RunState
from gepa.run.report.markup import chip, esc, feedback_block, line_diff, text_block

GROUPS: dict[str, str] = {  # what each kind of rejection means, for a reader who does not know the engine's words
    **{reason: words.meaning for reason, words in REJECTION_WORDS.items()},
    "not better": "scored on the minibatch and not better than its parent",
    "outscored": "beaten by another proposal of the same iteration",
    "validation subset": "below the best on a sample of the validation set",
    "merge": "a merge of two lineages that scored below its parents on a sample",
}


def lineage_tree(state: RunState) -> str:
    """Every candidate under its parent, with its validation mean (a merge names its second parent)."""
    means = state.mean_scores()
    index = {c.id: i for i, c in enumerate(state.candidates)}
    children: dict[str | None, list[int]] = {}
    for i, candidate in enumerate(state.candidates):
        parent = candidate.parents[0] if candidate.parents and candidate.parents[0] in index else None
        children.setdefault(parent, []).append(i)
    best = state.best_index()

    def branch(i: int) -> str:
        c = state.candidates[i]
        extra = f" &larr; also {esc(', '.join(c.parents[1:]))}" if len(c.parents) > 1 else ""
        kids = "".join(branch(k) for k in children.get(c.id, []))
        marker = " <b>best</b>" if i == best else ""
        return (
            f"<li><code>{esc(c.id)}</code> {esc(c.origin)} {chip(means[i], 'val ')}{extra}{marker}"
            + (f"<ul class=tree>{kids}</ul>" if kids else "")
            + "</li>"
        )

    return "<ul class=tree>" + "".join(branch(i) for i in children.get(None, [])) + "</ul>"


def accepted_changes(state: RunState, events: Sequence[Mapping[str, Any]]) -> str:
    """Each child that beat its parent on a minibatch (or merge that held up): its diff from the parent and the
    feedback on the parent's failures that the reflector was shown."""
    by_id = {c.id: c for c in state.candidates}
    blocks = []
    for event in events:
        if event.get("kind") not in ("candidate_accepted", "merge_accepted"):
            continue
        child = by_id.get(event.get("child", ""))
        parent = by_id.get(event.get("parent") or event.get("first", ""))
        if child is None or parent is None:
            continue
        lines = [
            line
            for name in child.components
            for line in line_diff(
                parent.components.get(name, ""), child[name], f"{parent.id}/{name}", f"{child.id}/{name}"
            )
        ]
        feedback = "".join(f"<li>{feedback_block(str(f))}</li>" for f in event.get("feedback", [])[:5])
        moved = (
            f" (minibatch {float(event['parent_minibatch']):g} &rarr; {float(event['child_minibatch']):g})"
            if "child_minibatch" in event and "parent_minibatch" in event
            else ""
        )
        blocks.append(
            f"<h3>iteration {esc(event.get('iteration'))}: {esc(child.id)} ({esc(child.origin)}) from "
            f"{esc(parent.id)}{moved}</h3><pre>{chr(10).join(lines)}</pre>"
            + (f"<p>Feedback that motivated it:</p><ul class=feedback>{feedback}</ul>" if feedback else "")
        )
    return "".join(blocks) or "<p class=muted>no accepted changes yet</p>"


@dataclass(frozen=True, kw_only=True)
class Rejection:
    """One proposal that went no further: the group it belongs to, why in its own numbers, and its text."""

    group: str
    why: str
    text: str
    iteration: int


def rejection(event: Mapping[str, Any]) -> Rejection | None:
    """The rejection an event records, or None for an event that is not one."""
    kind, reason = event.get("kind"), str(event.get("reason", "not better"))
    iteration = int(event.get("iteration", 0))
    if kind == "proposal_rejected":
        text = str(event.get("text") or "")
        component = event.get("component")
        return Rejection(
            group=reason,
            why=f"{reason}: {event.get('detail', '')}",
            iteration=iteration,
            text=f"[{component}] {text}" if component and text else text,
        )
    if kind == "merge_rejected":
        return Rejection(
            group="merge",
            iteration=iteration,
            text="",
            why=(
                f"merge of {event.get('first')} and {event.get('second')}: "
                f"{float(event.get('subsample', 0)):.2f} against the better parent's "
                f"{float(event.get('best_parent_subsample', 0)):.2f} on the sample"
            ),
        )
    if kind != "candidate_rejected":
        return None
    if reason == "validation subset":
        return Rejection(
            group=reason,
            iteration=iteration,
            text="",
            why=(
                f"below the best on a validation subset of {event.get('subset')}: "
                f"{float(event.get('child_subset', 0)):.2f} against {float(event.get('best_subset', 0)):.2f}"
            ),
        )
    why = (
        f"{reason} on the minibatch: {float(event['child_minibatch']):.2f} against the parent's "
        f"{float(event['parent_minibatch']):.2f}"
    )
    if "select_rank" in event:
        child_rank, parent_rank = (
            ", ".join("unmeasured" if v is None else f"{v:.3f}" for v in rank) for rank in event["select_rank"]
        )
        why += f" (the select rule ranks them ({child_rank}) against ({parent_rank}))"
    text = "\n".join(f"[{name}] {value}" for name, value in (event.get("components") or {}).items())
    return Rejection(group=reason, why=why, text=text, iteration=iteration)


def spans(numbers: Sequence[int]) -> str:
    """``1, 2, 3, 5`` as ``1-3, 5``: where in the run a kind of rejection happened, in a few characters."""
    runs: list[list[int]] = []
    for n in sorted(set(numbers)):
        if runs and n == runs[-1][-1] + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    return ", ".join(str(r[0]) if len(r) == 1 else f"{r[0]}&ndash;{r[-1]}" for r in runs)


def rejected_proposals(events: Sequence[Mapping[str, Any]]) -> str:
    """Every proposal that went no further, grouped by why (most frequent first): how many, in which
    iterations, how many distinct texts, and the first of them as an example."""
    groups: dict[str, list[Rejection]] = {}
    for event in events:
        if (found := rejection(event)) is not None:
            groups.setdefault(found.group, []).append(found)
    if not groups:
        return "<p class=muted>none</p>"
    rows = []
    for group, members in sorted(groups.items(), key=lambda item: -len(item[1])):
        first = members[0]
        distinct = len({m.text for m in members if m.text})
        plural = "" if distinct == 1 else "s"
        texts = f"<br><span class=muted>{distinct} distinct text{plural}</span>" if distinct else ""
        example = text_block(first.why) + (text_block(first.text[:600], "text clip") if first.text else "")
        rows.append(
            f"<tr><td class=num>{len(members)}</td><td><b>{esc(group)}</b><br>"
            f"<span class=muted>{esc(GROUPS.get(group, ''))}</span>{texts}</td>"
            f"<td>{spans([m.iteration for m in members])}</td><td>{example}</td></tr>"
        )
    total = sum(len(m) for m in groups.values())
    return (
        f"<p>{total} proposal{'' if total == 1 else 's'} went no further; each row is one reason, with the "
        "first proposal rejected for it (every one is in events.jsonl).</p><table class=groups><tr>"
        "<th>count</th><th>why</th><th>iterations</th><th>the first of them</th></tr>" + "".join(rows) + "</table>"
    )
