"""The whole report page, its parts in the order a reader wants them: the headline and the best prompt, every
validation example, the charts, the front, then how the search got there."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gepa.core.state import RunState
from gepa.run.report.charts import score_chart, tradeoff_chart
from gepa.run.report.examples import example_rows, examples_table
from gepa.run.report.front import answers_section, front_scores, pareto_table
from gepa.run.report.headline import best_prompt, headline
from gepa.run.report.history import accepted_changes, lineage_tree, rejected_proposals
from gepa.run.report.markup import esc, section
from gepa.run.summary import RunSummary

STYLE = """*{box-sizing:border-box}body{font:14px/1.45 system-ui,sans-serif;margin:1.5rem auto;max-width:1200px;
padding:0 1rem;color:#222}
h1{font-size:1.6rem;margin:.2rem 0}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd}
h3{font-size:1rem;margin:1rem 0 .3rem}nav{font-size:13px;margin:.5rem 0 1rem}nav a{margin-right:.8rem}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:3px 6px;font-size:12px;vertical-align:top;
text-align:left}td.num{text-align:right;font-variant-numeric:tabular-nums}td.win{outline:2px solid #222;
outline-offset:-2px;font-weight:bold}pre{background:#f7f7f7;padding:.5rem;white-space:pre-wrap;margin:.3rem 0}
pre.prompt{background:#f3f7ff;border-left:3px solid #3366cc;font-size:13px}.text{white-space:pre-wrap;
overflow-wrap:anywhere}.clip{max-height:12em;overflow:auto}.diff{background:#fafafa;padding:.5rem;
border:1px dashed #ccc}ins{background:#c8f0c8;text-decoration:none}del{background:#f8cccc}.add{color:#116611}
.del{color:#aa1111}.muted{color:#666}.error{color:#aa1111}ul.tree{list-style:none;padding-left:1.2rem}
code{background:#f2f2f2;padding:0 3px}tr.warn{background:#fff3cd}.chip{padding:0 5px;border-radius:3px}
.verdict{font-size:1.5rem;margin:.3rem 0 .6rem}table.headline td,table.headline th{font-size:14px}
ul.notes{padding-left:1.2rem}ul.notes li{margin:.15rem 0}.wide{overflow-x:auto}
table.examples{width:100%;table-layout:fixed}table.examples th:nth-child(1){width:2.2em}
table.examples th:nth-child(2){width:24%}table.examples th:nth-child(6),table.examples th:nth-child(7){width:3.4em}
tr.better td:first-child{border-left:4px solid #2e8b57}tr.worse td:first-child{border-left:4px solid #cc3333}
.field .name{font-weight:bold;display:block;color:#555}.filter button{margin-right:.3rem}
.filter button[aria-pressed=true]{font-weight:bold}ul.feedback{padding-left:1.2rem}
svg.chart{max-width:100%;height:auto}svg .grid{stroke:#eee}svg .axis{stroke:#888}svg .tick{font-size:11px;
fill:#555}svg .axis-name{font-size:12px;fill:#333}svg .dot{fill:#3366cc}svg .dot.off{fill:#bbb}
svg .ring{fill:none;stroke:#2e8b57;stroke-width:2}svg .best-line{stroke:#2e8b57;stroke-width:2}"""

PARTS = (
    ("best", "Best prompt"),
    ("examples", "Validation examples"),
    ("charts", "Score against budget"),
    ("answers", "Answers"),
    ("front", "Pareto front"),
    ("lineage", "Lineage"),
    ("accepted", "Accepted changes"),
    ("rejected", "Rejected proposals"),
)


def render(
    state: RunState,
    events: Sequence[Mapping[str, Any]],
    config: dict[str, Any],
    summary: RunSummary | None,
    inputs: Sequence[tuple[str, Mapping[str, Any]]] = (),
) -> str:
    """The page as one HTML string; ``inputs`` are the validation examples' input fields, in order."""
    name = esc(config.get("task", {}).get("name", "run"))
    best_is_seed = bool(state.candidates) and state.best_index() == 0
    bodies = {
        "best": best_prompt(state),
        "examples": examples_table(example_rows(state, inputs), best_is_seed),
        "charts": score_chart(state) + tradeoff_chart(state, summary),
        "answers": answers_section(state, summary),
        "front": front_scores(summary) + pareto_table(state),
        "lineage": lineage_tree(state),
        "accepted": accepted_changes(state, events),
        "rejected": rejected_proposals(events),
    }
    shown = [(anchor, title) for anchor, title in PARTS if bodies[anchor]]
    nav = "<nav>" + "".join(f'<a href="#{anchor}">{esc(title)}</a>' for anchor, title in shown) + "</nav>"
    return "\n".join(
        [
            f"<!doctype html><html lang=en><head><meta charset=utf-8><title>gepa report: {name}</title>",
            '<meta name=viewport content="width=device-width, initial-scale=1">',
            f"<style>{STYLE}</style></head><body>",
            headline(state, summary, config),
            nav,
            *(section(anchor, title, bodies[anchor]) for anchor, title in shown),
            "</body></html>",
        ]
    )
