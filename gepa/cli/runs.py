"""``gepa runs``: list and inspect run directories, and (re)write their reports."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from gepa.cli.app import echo, echo_listing, echo_notes, fmt, json_option, runs_dir_option
from gepa.errors import GepaError


@click.group()
def runs() -> None:
    """List and inspect run directories."""


@runs.command(name="list")
@runs_dir_option
@json_option
def runs_list(runs_dir: str, as_json: bool) -> None:
    """One line per run: status, iterations, seed and best validation score, best test score."""
    from gepa.run.rundir import list_runs

    rows: list[dict[str, Any]] = []
    for run_dir in list_runs(Path(runs_dir)):
        try:
            rows.append({"run": run_dir.root.name, **_row(run_dir)})
        except GepaError as exc:  # one damaged run must not hide the others
            rows.append(
                {
                    "run": run_dir.root.name,
                    "status": "broken",
                    "iterations": None,
                    "seed_val": None,
                    "best_val": None,
                    "best_test": None,
                    "problem": str(exc),
                }
            )
    if echo_listing(rows, as_json, f"no runs in {runs_dir}"):
        return
    for row in rows:
        if row["status"] == "broken":
            echo(f"{row['run']}  broken    {row['problem']}")
            continue
        echo(
            f"{row['run']}  {row['status']:<8}  iter {row['iterations']:<4} val {fmt(row['seed_val'])} -> "
            f"{fmt(row['best_val'])}  test {fmt(row['best_test'])}"
        )


def _row(run_dir: Any) -> dict[str, Any]:
    summary = run_dir.summary()
    reached = run_dir.checkpoint_iteration()
    if summary and (reached is None or summary.iterations >= reached):  # else resumed since: the summary is old
        return {
            "status": summary.status,
            "iterations": summary.iterations,
            "seed_val": summary.seed.val,
            "best_val": summary.best.val,
            "best_test": summary.best.test,
        }
    if run_dir.has_state():  # no summary yet: the state's best, the engine's choice (``runs show`` marks it too)
        state = run_dir.load_state()
        means = state.mean_scores()
        return {
            "status": "unfinished",
            "iterations": state.iteration,
            "seed_val": means[0] if state.candidates else None,
            "best_val": means[state.best_index()] if state.candidates else None,
            "best_test": None,
        }
    return {"status": "empty", "iterations": 0, "seed_val": None, "best_val": None, "best_test": None}


@runs.command(name="show")
@click.argument("run", type=click.Path(file_okay=False))
def runs_show(run: str) -> None:
    """Scores, best prompt and cost of RUN (finished or not)."""
    from gepa.run.rundir import RunDir

    run_dir = RunDir.open(run)
    state = run_dir.load_state()
    echo_notes(run_dir)
    means = state.mean_scores()
    best = state.best_index()
    cost = sum(row.get("cost_usd", 0.0) for row in run_dir.usage())
    status = "finished" if state.finished else "unfinished"
    echo(f"{run_dir.root}: {status} {state.stop_reason}".rstrip())
    echo(f"iterations {state.iteration}, metric calls {state.metric_calls}, cost ${cost:.4f}")
    for i, candidate in enumerate(state.candidates):
        marker = "*" if i == best else " "
        echo(f" {marker} {candidate.id}  val {means[i]:.3f}  {candidate.origin}")
    echo("best prompt:")
    for name, text in state.candidates[best].components.items():
        echo(f"  [{name}] {text}")


@runs.command(name="report")
@click.argument("run", type=click.Path(file_okay=False))
def runs_report(run: str) -> None:
    """Write RUN's report.html (finished or not) and print its path."""
    from gepa.run.report import write_report
    from gepa.run.rundir import RunDir

    run_dir = RunDir.open(run)
    echo(write_report(run_dir))
    echo_notes(run_dir)
