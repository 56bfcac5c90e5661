"""The ``gepa`` command: optimize, eval, validate, runs, export, prompts, cache.

Commands stay thin: parse, call ``runner`` / ``registry``, render. User mistakes print one line and exit 2;
other gepa errors exit 1; ``GEPA_DEBUG=1`` shows tracebacks.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from gepa.errors import GepaError, UserError
from gepa.summary import RunSummary

EXIT_INTERRUPTED = 130


class GepaGroup(click.Group):
    """Turns gepa errors into clean messages with exit codes, instead of tracebacks."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except GepaError as exc:
            if os.environ.get("GEPA_DEBUG"):
                raise
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(2 if isinstance(exc, UserError) else 1)


@click.group(cls=GepaGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="gepa-evolve")
def main() -> None:
    """Evolve the prompts of an LLM task with GEPA: reflective mutation on a Pareto front of candidates.

    Start with `gepa optimize tasks/sentiment/task.yaml`; see README.md for the task-file reference.
    """


def _cache(cache_dir: str | None, no_cache: bool) -> Any:
    if no_cache:
        return None
    from gepa.lm.cache import ResponseCache

    return ResponseCache(cache_dir)


def _common(func: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--model", help="Task model (any litellm model string, or local/smollm2, local/<file.gguf>)."),
        click.option("--cache-dir", type=click.Path(file_okay=False), envvar="GEPA_CACHE_DIR",
                     help="Response cache directory [default: ~/.cache/gepa]."),
        click.option("--no-cache", is_flag=True, help="Call the models even for requests seen before."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@main.command()
@click.argument("task", type=click.Path(dir_okay=False))
@_common
@click.option("--reflection-model", help="Model that reads the failures and rewrites the prompt.")
@click.option("--reflection-template", help="Reflection prompt: 'default', 'small' (few-shot, for tiny reflectors) or a file.")
@click.option("--budget", "max_metric_calls", type=click.IntRange(min=1),
              help="Maximum metric calls (task-model rollouts scored); overrides budget.max_metric_calls.")
@click.option("--seed", type=int, help="Random seed; the same seed and cached answers give the same run.")
@click.option("--concurrency", type=click.IntRange(min=1), help="Parallel model calls per batch.")
@click.option("--runs-dir", type=click.Path(file_okay=False), envvar="GEPA_RUNS_DIR", default="runs",
              show_default=True, help="Where run directories are created.")
@click.option("--resume", "resume", type=click.Path(file_okay=False), help="Continue the run in this directory.")
@click.option("--dry-run", is_flag=True, help="Validate, show the first example's messages and the call estimate; spend nothing.")
@click.option("--quiet", "-q", is_flag=True, help="No progress output.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON on stdout (implies --quiet).")
def optimize(task: str, model: str | None, cache_dir: str | None, no_cache: bool, reflection_model: str | None,
             reflection_template: str | None, max_metric_calls: int | None, seed: int | None, concurrency: int | None, runs_dir: str,
             resume: str | None, dry_run: bool, quiet: bool, as_json: bool) -> None:
    """Optimise the prompt of TASK (a task YAML file) and write a run directory."""
    from gepa import runner
    from gepa.console import Progress
    from gepa.runs import RunDir

    overrides = runner.Overrides(model=model, reflection_model=reflection_model, max_metric_calls=max_metric_calls,
                                 seed=seed, concurrency=concurrency, reflection_template=reflection_template)
    resume_dir = RunDir.open(resume) if resume else None
    prepared = runner.prepare(task, overrides, cache=None if dry_run else _cache(cache_dir, no_cache))
    if not as_json:
        click.echo(f"task model {prepared.task_client.model}; reflection model {prepared.reflection_model}", err=True)
    if dry_run:
        _print_dry_run(prepared)
        return
    progress = Progress(max_calls=prepared.config.max_metric_calls, usage=prepared.ledger, quiet=quiet or as_json)
    stop = _graceful_stop()
    outcome = runner.run(prepared, runs_root=Path(runs_dir), resume=resume_dir, callbacks=[progress],
                         should_stop=stop)
    if as_json:
        click.echo(json.dumps(outcome.summary.to_dict(), indent=2))
    else:
        _print_summary(outcome.summary)
    if stop():
        sys.exit(EXIT_INTERRUPTED)


def _graceful_stop() -> Callable[[], bool]:
    """First Ctrl-C: finish the current iteration, save, summarise. Second Ctrl-C: abort at once."""
    requested: list[bool] = []

    def handler(signum: int, frame: Any) -> None:
        if requested:
            raise KeyboardInterrupt
        requested.append(True)
        click.echo("\nstopping after this iteration (Ctrl-C again to abort; the last saved state is kept)", err=True)

    signal.signal(signal.SIGINT, handler)
    return lambda: bool(requested)


def _print_dry_run(prepared: Any) -> None:
    from gepa.system import render_messages

    example = prepared.splits.train[0]
    click.echo(f"task {prepared.task.spec.name}: {len(prepared.splits.train)} train, {len(prepared.splits.val)} val, "
               f"{len(prepared.splits.test)} test examples; components {list(prepared.seed.components)}")
    click.echo(f"first train example ({example.id}) renders as:")
    for message in render_messages(prepared.seed, example.fields, prepared.system.input_fields):
        click.echo(f"  [{message['role']}] {message['content']}")
    from gepa.runner import estimate

    guess = estimate(prepared)
    click.echo(f"at most {guess.task_calls} task-model calls, about {guess.reflection_calls} reflection calls, "
               f"plus {guess.test_calls} test calls at the end")
    click.echo("estimated cost: unknown (a model is not in litellm's price map; set prices: in the task file)"
               if guess.cost_usd is None else f"estimated cost: at most about ${guess.cost_usd:.2f}")
    click.echo("dry run: nothing was called or written")


def _print_summary(summary: RunSummary) -> None:
    seed, best, usage = summary.seed, summary.best, summary.usage

    def fmt(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.3f}"

    click.echo(f"\n{summary.task}: {summary.status} ({summary.stop_reason})")
    click.echo(f"  val score   seed {fmt(seed.val)}  ->  best {fmt(best.val)}")
    click.echo(f"  test score  seed {fmt(seed.test)}  ->  best {fmt(best.test)}  ({summary.test_examples} examples)")
    click.echo(f"  {summary.iterations} iterations, {summary.candidates} candidates, {summary.metric_calls} metric calls")
    click.echo(f"  model calls {usage.model_calls}, cache hits {usage.cache_hits}, tokens "
               f"{usage.input_tokens}+{usage.output_tokens}, cost ${usage.cost_usd:.4f}")
    for line in summary.diagnosis:
        click.echo(f"  {line}")
    click.echo("best prompt:")
    for name, text in best.components.items():
        click.echo(f"  [{name}] {text}")
    click.echo(f"run written to {summary.run_dir}; best prompt in {summary.best_prompt_dir}")
    click.echo(f"report: {summary.report}")
    if summary.resumable:
        click.echo(f"resume with: gepa optimize TASK --resume {summary.run_dir}")
    export = summary.export
    if export:
        click.echo(f"exported as {export.name} v{export.version}" + (f"; {export.reason}" if export.reason else ""))


@main.command()
@click.argument("task", type=click.Path(dir_okay=False))
def validate(task: str) -> None:
    """Check TASK: the YAML, its data, placeholders, evaluator and models, without calling any model."""
    from gepa import runner

    prepared = runner.prepare(task)
    splits = prepared.splits
    click.echo(f"{task}: valid ({len(splits.train)} train, {len(splits.val)} val, {len(splits.test)} test; "
               f"components {', '.join(prepared.seed.components)})")


@main.command(name="eval")
@click.argument("task", type=click.Path(dir_okay=False))
@_common
@click.option("--prompt", "prompt_ref", help="A prompt to score: a registry reference (name@alias) or a candidate.json.")
@click.option("--run", "run_path", type=click.Path(file_okay=False), help="Score this run's best prompt.")
@click.option("--split", type=click.Choice(["test", "val", "train"]), default="test", show_default=True)
def eval_command(task: str, model: str | None, cache_dir: str | None, no_cache: bool, prompt_ref: str | None,
                 run_path: str | None, split: str) -> None:
    """Score a prompt on TASK's test split (the seed prompt unless --prompt or --run)."""
    from gepa import runner
    from gepa.cli_more import candidate_from

    prepared = runner.prepare(task, runner.Overrides(model=model), cache=_cache(cache_dir, no_cache))
    candidate = candidate_from(prompt_ref, run_path) or prepared.seed
    examples = getattr(prepared.splits, split)
    if not examples:
        raise UserError(f"{task}: the {split} split is empty")
    mean, results = runner.score(prepared, candidate, examples)
    click.echo(f"{split} score {mean:.3f} on {len(results)} examples (candidate {candidate.id})")


from gepa.cli_more import cache, export, prompts, runs  # noqa: E402 - registers the remaining commands

main.add_command(runs)
main.add_command(export)
main.add_command(prompts)
main.add_command(cache)
