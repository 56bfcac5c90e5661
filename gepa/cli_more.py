"""The ``gepa`` subcommands that manage what runs leave behind: runs, export, prompts, cache."""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any

import click

from gepa.core.candidate import Candidate
from gepa.errors import UserError


def candidate_from(prompt_ref: str | None, run_path: str | None) -> Candidate | None:
    """A candidate from a registry reference, a candidate.json file, or a run's best."""
    if prompt_ref and run_path:
        raise UserError("give --prompt or --run, not both")
    if run_path:
        from gepa.export import best_of
        from gepa.runs import RunDir

        return best_of(RunDir.open(run_path))[0]
    if prompt_ref:
        path = Path(prompt_ref)
        if path.is_file():
            try:
                return Candidate.from_dict(json.loads(path.read_text(encoding="utf-8")))
            except (ValueError, KeyError, TypeError) as exc:
                raise UserError(f"{path}: not a candidate file (expected {{\"components\": {{...}}}}): {exc}") from exc
        from gepa.registry import PromptRegistry

        return PromptRegistry().get(prompt_ref).candidate()
    return None


def _fmt(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, (int, float)) else "-"


# -- runs ---------------------------------------------------------------------------------------------
@click.group()
def runs() -> None:
    """List and inspect run directories."""


@runs.command(name="list")
@click.option("--runs-dir", type=click.Path(file_okay=False), envvar="GEPA_RUNS_DIR", default="runs", show_default=True)
def runs_list(runs_dir: str) -> None:
    """One line per run: status, iterations, seed and best validation score."""
    from gepa.runs import list_runs

    found = list_runs(Path(runs_dir))
    if not found:
        click.echo(f"no runs in {runs_dir}")
    for run_dir in found:
        summary = run_dir.summary()
        if summary:
            click.echo(f"{run_dir.root.name}  {summary.status:<8}  iter {summary.iterations:<4} "
                       f"val {_fmt(summary.seed.val)} -> {_fmt(summary.best.val)}  test {_fmt(summary.best.test)}")
        elif run_dir.has_state():
            state = run_dir.load_state()
            best = max(state.mean_scores(), default=None)
            click.echo(f"{run_dir.root.name}  unfinished  iter {state.iteration:<4} best val {_fmt(best)}")
        else:
            click.echo(f"{run_dir.root.name}  empty")


@runs.command(name="show")
@click.argument("run", type=click.Path(file_okay=False))
def runs_show(run: str) -> None:
    """Scores, best prompt and cost of RUN (finished or not)."""
    from gepa.runs import RunDir

    run_dir = RunDir.open(run)
    state = run_dir.load_state()
    means = state.mean_scores()
    best = state.best_index()
    cost = sum(row.get("cost_usd", 0.0) for row in run_dir.usage())
    status = "finished" if state.finished else "unfinished"
    click.echo(f"{run_dir.root}: {status} {state.stop_reason}".rstrip())
    click.echo(f"iterations {state.iteration}, metric calls {state.metric_calls}, cost ${cost:.4f}")
    for i, candidate in enumerate(state.candidates):
        marker = "*" if i == best else " "
        click.echo(f" {marker} {candidate.id}  val {means[i]:.3f}  {candidate.origin}")
    click.echo("best prompt:")
    for name, text in state.candidates[best].components.items():
        click.echo(f"  [{name}] {text}")


@runs.command(name="report")
@click.argument("run", type=click.Path(file_okay=False))
def runs_report(run: str) -> None:
    """Write RUN's report.html (finished or not) and print its path."""
    from gepa.report import write_report
    from gepa.runs import RunDir

    click.echo(write_report(RunDir.open(run)))


# -- export -------------------------------------------------------------------------------------------
@click.command()
@click.argument("run", type=click.Path(file_okay=False))
@click.option("--name", required=True, help="Prompt name in the registry.")
@click.option("--alias", help="Point this alias (e.g. production) at the exported version.")
@click.option("--promote-if-better", is_flag=True,
              help="Move --alias only if the new version beats the aliased one on the task's test split.")
@click.option("--prompts-dir", type=click.Path(file_okay=False), envvar="GEPA_PROMPTS_DIR", default="prompts",
              show_default=True)
@click.option("--cache-dir", type=click.Path(file_okay=False), envvar="GEPA_CACHE_DIR")
@click.option("--to", "target", type=click.Choice(["registry", "mlflow"]), default="registry", show_default=True,
              help="gepa's file registry under --prompts-dir, or the MLflow Prompt Registry.")
@click.option("--mlflow-uri", envvar="MLFLOW_TRACKING_URI",
              help="MLflow tracking URI for --to mlflow, e.g. sqlite:///mlflow.db (no server needed).")
def export(run: str, name: str, alias: str | None, promote_if_better: bool, prompts_dir: str,
           cache_dir: str | None, target: str, mlflow_uri: str | None) -> None:
    """Register RUN's best prompt as a new version of NAME in the prompt registry (or MLflow's)."""
    from gepa.export import best_of, export_run
    from gepa.registry import PromptRegistry
    from gepa.runs import RunDir

    run_dir = RunDir.open(run)
    if target == "mlflow":
        from gepa.mlflow_export import register_in_mlflow

        if promote_if_better:
            raise UserError("--promote-if-better works with gepa's registry only; use --alias with --to mlflow")
        candidate, meta = best_of(run_dir)
        version, created = register_in_mlflow(name, candidate.components, meta, alias=alias, tracking_uri=mlflow_uri)
        verb = "registered in MLflow as" if created else "already in MLflow as"
        click.echo(f"{verb} prompts:/{name}/{version}" + (f" (alias {alias})" if alias else ""))
        return

    def scorer(candidate: Candidate) -> float:
        from gepa import runner
        from gepa.lm.cache import ResponseCache

        prepared = runner.prepare(run_dir.config()["task_path"], cache=ResponseCache(cache_dir))
        if not prepared.splits.test:
            raise UserError("the task has no test split to compare versions on")
        return runner.score(prepared, candidate, prepared.splits.test)[0]

    result = export_run(run_dir, name, registry=PromptRegistry(prompts_dir), alias=alias,
                        promote_if_better=promote_if_better, scorer=scorer)
    verb = "exported as" if result.created else "already registered as"
    click.echo(f"{verb} {result.version.name} v{result.version.version} in {prompts_dir}")
    if result.reason:
        click.echo(("promoted: " if result.promoted else "not promoted: ") + result.reason)


# -- prompts ------------------------------------------------------------------------------------------
@click.group()
@click.option("--prompts-dir", type=click.Path(file_okay=False), envvar="GEPA_PROMPTS_DIR", default="prompts",
              show_default=True)
@click.pass_context
def prompts(ctx: click.Context, prompts_dir: str) -> None:
    """Browse the prompt registry: list, show, diff, promote."""
    from gepa.registry import PromptRegistry

    ctx.obj = PromptRegistry(prompts_dir)


@prompts.command(name="list")
@click.pass_obj
def prompts_list(registry: Any) -> None:
    names = registry.names()
    if not names:
        click.echo(f"no prompts in {registry.root}")
    for name in names:
        aliases = registry.aliases(name)
        tags = ", ".join(f"{a}=v{v}" for a, v in sorted(aliases.items()))
        click.echo(f"{name}  versions {len(registry.versions(name))}  {tags}")


@prompts.command(name="show")
@click.argument("ref")
@click.pass_obj
def prompts_show(registry: Any, ref: str) -> None:
    """Show NAME, NAME@alias or NAME@version."""
    version = registry.get(ref)
    click.echo(f"{version.name} v{version.version}")
    for key in ("task", "source_run", "model", "val_score", "test_score", "created", "content_hash"):
        if version.meta.get(key) is not None:
            click.echo(f"  {key}: {version.meta[key]}")
    for name, text in version.components.items():
        click.echo(f"[{name}]\n{text}")


@prompts.command(name="diff")
@click.argument("a")
@click.argument("b")
@click.pass_obj
def prompts_diff(registry: Any, a: str, b: str) -> None:
    """Unified diff of two versions, component by component."""
    first, second = registry.get(a), registry.get(b)
    for name in dict.fromkeys([*first.components, *second.components]):
        lines = difflib.unified_diff(first.components.get(name, "").splitlines(),
                                     second.components.get(name, "").splitlines(),
                                     f"{first.ref}/{name}", f"{second.ref}/{name}", lineterm="")
        for line in lines:
            click.echo(line)


@prompts.command(name="promote")
@click.argument("name")
@click.argument("version", type=int)
@click.option("--alias", required=True)
@click.pass_obj
def prompts_promote(registry: Any, name: str, version: int, alias: str) -> None:
    """Point ALIAS of NAME at VERSION."""
    registry.promote(name, version, alias)
    click.echo(f"{name}@{alias} -> v{version}")


# -- cache --------------------------------------------------------------------------------------------
@click.group()
def cache() -> None:
    """Inspect or clear the response cache."""


@cache.command(name="stats")
@click.option("--cache-dir", type=click.Path(file_okay=False), envvar="GEPA_CACHE_DIR")
def cache_stats(cache_dir: str | None) -> None:
    from gepa.lm.cache import ResponseCache

    stats = ResponseCache(cache_dir).stats()
    click.echo(f"{stats['directory']}: {stats['entries']} responses, {stats['bytes'] / 1e6:.1f} MB")


@cache.command(name="clear")
@click.option("--cache-dir", type=click.Path(file_okay=False), envvar="GEPA_CACHE_DIR")
@click.confirmation_option(prompt="Delete every cached response?")
def cache_clear(cache_dir: str | None) -> None:
    from gepa.lm.cache import ResponseCache

    removed = ResponseCache(cache_dir).clear()
    click.echo(f"removed {removed} responses")
