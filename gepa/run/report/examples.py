"""The report's per-example view: one row per validation example with its input fields, the expected answer,
what the seed and the best prompt answered, their scores and the best's feedback; the view a person reads to
see *what* changed, not just by how much. Complete without script; a few lines of script filter it to the rows
whose score changed."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from gepa.core.state import RunState
from gepa.core.text import clip
from gepa.core.types import Rollout
from gepa.run.report.markup import esc, feedback_block, score_cell, text_block

CELL_CHARS = 2000  # a cell shows this much of a text (a rollout keeps up to 20,000 characters)
Change = Literal["better", "worse", "same"]

FILTER_SCRIPT = """(() => {
  const bar = document.getElementById("example-filter");
  bar.hidden = false;
  bar.addEventListener("click", (event) => {
    const button = event.target.closest("button");
    if (!button) return;
    for (const other of bar.querySelectorAll("button")) other.setAttribute("aria-pressed", String(other === button));
    const show = button.dataset.show;
    for (const row of document.querySelectorAll("#examples tbody tr")) {
      const change = row.dataset.change;
      row.hidden = !(show === "all" || show === change || (show === "changed" && change !== "same"));
    }
  });
})();"""


@dataclass(frozen=True, kw_only=True)
class ExampleRow:
    """One validation example as the seed and the best prompt did on it (a rollout is None where the run
    directory lost it)."""

    id: str
    inputs: Mapping[str, Any]
    seed: Rollout | None
    best: Rollout | None
    seed_score: float | None
    best_score: float | None

    @property
    def expected(self) -> str | None:
        return next((r.expected for r in (self.best, self.seed) if r is not None and r.expected is not None), None)

    @property
    def change(self) -> Change:
        if self.seed_score is None or self.best_score is None or self.seed_score == self.best_score:
            return "same"
        return "better" if self.best_score > self.seed_score else "worse"


def validation_ids(state: RunState) -> list[str]:
    """The validation example ids in the order the seed was scored on them, for a run directory that does not
    list its validation inputs."""
    seed = state.candidates[0].id
    return list(dict.fromkeys(eid for cid, eid in state.rollout_log if cid == seed and eid.startswith("val/")))


def seed_message(rollout: Rollout | None) -> dict[str, Any]:
    """The last message the seed's prompt sent, standing in for the input fields an older run did not keep."""
    messages = rollout.trace.get("messages") if rollout is not None else None
    if not isinstance(messages, list) or not messages or not isinstance(messages[-1], Mapping):
        return {}
    return {"(the seed's message)": messages[-1].get("content", "")}


def example_rows(state: RunState, inputs: Sequence[tuple[str, Mapping[str, Any]]]) -> list[ExampleRow]:
    """One row per validation example, in validation order (the recorded inputs' when they are all there, else
    the order the seed was scored in). Scores come from the state's score matrix (whose columns follow that
    order) where a rollout was lost."""
    if not state.candidates:
        return []
    matrix = state.score_matrix()
    ids = [eid for eid, _ in inputs]
    if len(ids) != matrix.shape[1]:  # not recorded, or a line of them lost
        ids = validation_ids(state)
    fields = dict(inputs)
    aligned = matrix.shape[1] == len(ids)
    best = state.best_index()
    seed_rollouts = state.rollouts.get(state.candidates[0].id, {})
    best_rollouts = state.rollouts.get(state.candidates[best].id, {})

    def score(rollout: Rollout | None, row: int, column: int) -> float | None:
        return rollout.score if rollout is not None else float(matrix[row, column]) if aligned else None

    rows = []
    for j, eid in enumerate(ids):
        seed, chosen = seed_rollouts.get(eid), best_rollouts.get(eid)
        rows.append(
            ExampleRow(
                id=eid,
                inputs=fields.get(eid) or seed_message(seed),
                seed=seed,
                best=chosen,
                seed_score=score(seed, 0, j),
                best_score=score(chosen, best, j),
            )
        )
    return rows


def clipped(text: str) -> str:
    """``text`` cut for a table cell, saying how long it was."""
    return clip(text, CELL_CHARS) + (f" ({len(text)} characters in all)" if len(text) > CELL_CHARS else "")


def shown(value: Any) -> str:
    """A field's value as text: strings as they are, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def output_cell(rollout: Rollout | None) -> str:
    if rollout is None:
        return "<td class=muted>not recorded</td>"
    error = (
        f"<div class=error>{esc(rollout.error_source or 'error')}: {esc(clipped(rollout.error))}</div>"
        if rollout.error
        else ""
    )
    text = text_block(clipped(rollout.output), "text clip") if rollout.output else "<span class=muted>(empty)</span>"
    return f"<td>{text}{error}</td>"


def row_html(number: int, row: ExampleRow) -> str:
    fields = "".join(
        f"<div class=field><span class=name>{esc(name)}</span>{text_block(clipped(shown(value)), 'text clip')}</div>"
        for name, value in row.inputs.items()
    )
    expected = esc(row.expected) if row.expected is not None else "<span class=muted>-</span>"
    feedback = row.best.feedback if row.best is not None else ""
    return (
        f'<tr class="{row.change}" data-change="{row.change}"><td class=num>{number}</td>'
        f"<td><code>{esc(row.id)}</code>{fields}</td><td>{expected}</td>{output_cell(row.seed)}"
        f"{output_cell(row.best)}{score_cell(row.seed_score)}{score_cell(row.best_score)}"
        f"<td>{feedback_block(clipped(feedback)) if feedback else ''}</td></tr>"
    )


def examples_table(rows: Sequence[ExampleRow], best_is_seed: bool) -> str:
    """The table, a line counting what changed, and the filter buttons (hidden until the script shows them)."""
    if not rows:
        return "<p class=muted>no validation example scored yet</p>"
    counts = {change: sum(r.change == change for r in rows) for change in ("better", "worse", "same")}
    changed = counts["better"] + counts["worse"]
    line = (
        "The best prompt is the seed: both columns are the same prompt."
        if best_is_seed
        else f"{counts['better']} better, {counts['worse']} worse and {counts['same']} the same of "
        f"{len(rows)} validation examples."
    )
    buttons = "".join(
        f'<button type=button data-show="{show}" aria-pressed="{str(show == "all").lower()}">{label} ({n})</button>'
        for show, label, n in (
            ("all", "all", len(rows)),
            ("changed", "changed", changed),
            ("better", "better", counts["better"]),
            ("worse", "worse", counts["worse"]),
        )
    )
    return (
        f"<p>{line}</p><p id=example-filter class=filter hidden>Show: {buttons}</p>"
        "<div class=wide><table id=examples class=examples><thead><tr><th>#</th><th>input</th>"
        "<th>expected</th><th>seed output</th><th>best output</th><th>seed</th><th>best</th>"
        "<th>feedback on the best</th></tr></thead><tbody>"
        + "".join(row_html(n, row) for n, row in enumerate(rows, 1))
        + f"</tbody></table></div><script>{FILTER_SCRIPT}</script>"
    )
