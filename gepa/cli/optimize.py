"""The commands that work on a task file: optimize, eval, validate, and the task file's JSON Schema."""

from __future__ import annotations

import csv
import json
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import click

from gepa.cli.app import cache_options, echo, echo_notes, fmt, json_option, model_option, open_cache, runs_dir_option
from gepa.errors import UserError
from gepa.jsonfiles import json_line, load_json
from gepa.run.summary import RunSummary

if TYPE_CHECKING:
    from gepa.core.config import ExecutorName

EXIT_INTERRUPTED = 130


def _find_task(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """TASK as a task file, or a folder holding ``task.yaml`` (the current folder when omitted)."""
    path = Path(value)
    if path.is_dir():
        found = path / "task.yaml"
        if not found.is_file():
            raise click.BadParameter(f"{path} holds no task.yaml; name a task file", ctx=ctx, param=param)
        return str(found)
    return value


TASK = click.argument("task", default=".", callback=_find_task, type=click.Path())


@click.command()
@TASK
@model_option
@cache_options
@click.option(
    "--reflection-model",
    help="Model that reads the failures and rewrites the prompt [default: the task "
    "file's; else the task model, or the embedded model for a local one].",
)
@click.option(
    "--reflection-template",
    help="Reflection prompt: 'scaffolded' (worked examples, for small reflectors), "
    "'general' (facts, rules and strategy), 'default', 'small' (few-shot, for "
    "tiny reflectors) or a file relative to the task.",
)
@click.option(
    "--budget",
    "max_metric_calls",
    type=click.IntRange(min=1),
    help="Maximum metric calls (task-model rollouts scored); overrides budget.max_metric_calls.",
)
@click.option("--seed", type=int, help="Random seed; the same seed and cached answers give the same run.")
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    help="Model calls in flight at once (default 4; API models on the async executor take 64 or more).",
)
@click.option(
    "--executor",
    type=click.Choice(["auto", "threads", "async", "ray"]),
    help="Where rollouts run (optimizer.executor): threads, async (API models), or ray (extra 'ray').",
)
@click.option("--no-guard", is_flag=True, help="Leave the task's guard sets out (they are not scored or enforced).")
@click.option(
    "--track",
    type=click.Choice(["mlflow"]),
    help="Track the run in MLflow (extra 'mlflow'): the task file's tracking settings, else "
    "$MLFLOW_TRACKING_URI or MLflow's default (sqlite:///mlflow.db here), experiment 'gepa'.",
)
@runs_dir_option
@click.option("--resume", "resume", type=click.Path(file_okay=False), help="Continue the run in this directory.")
@click.option(
    "--dry-run",
    is_flag=True,
    help="Validate, show the first example's messages and the call estimate; spend nothing, write nothing.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress output.")
@json_option
def optimize(
    task: str,
    model: str | None,
    cache_dir: str | None,
    no_cache: bool,
    reflection_model: str | None,
    reflection_template: str | None,
    max_metric_calls: int | None,
    seed: int | None,
    concurrency: int | None,
    executor: str | None,
    no_guard: bool,
    track: str | None,
    runs_dir: str,
    resume: str | None,
    dry_run: bool,
    quiet: bool,
    as_json: bool,
) -> None:
    """Optimise the prompt of TASK (a task YAML file, or a folder holding task.yaml; default: the current folder)
    and write a run directory.

    Ctrl-C stops after the current iteration and keeps the run resumable (--resume); a second Ctrl-C aborts.
    """
    from gepa.run import runner
    from gepa.run.progress import Progress
    from gepa.run.rundir import RunDir

    overrides = runner.Overrides(
        model=model,
        reflection_model=reflection_model,
        max_metric_calls=max_metric_calls,
        seed=seed,
        concurrency=concurrency,
        executor=cast("ExecutorName | None", executor),
        reflection_template=reflection_template,
        guard=not no_guard,
        track_mlflow=track == "mlflow",
    )
    resume_dir = RunDir.open(resume, runs_dir) if resume else None
    cache = None if dry_run else open_cache(cache_dir, no_cache)
    prepared = runner.prepare(task, overrides, cache=cache)
    echo_warnings(prepared.warnings)
    if not (as_json or quiet):
        echo(f"task model {prepared.task_model}; reflection model {prepared.reflection_model}", err=True)
    if dry_run:
        prepared = runner.check_start(prepared, resume_dir)
        plan = _dry_run_plan(prepared)
        if as_json:
            echo(json.dumps(plan, indent=2))
        else:
            _print_dry_run(plan)
        return
    progress = Progress(max_calls=prepared.config.max_metric_calls, usage=prepared.ledger, quiet=quiet or as_json)
    stop = _graceful_stop()
    try:
        outcome = runner.run(
            prepared, runs_root=Path(runs_dir), resume=resume_dir, callbacks=[progress], should_stop=stop
        )
    finally:
        progress.close()
        if resume_dir is not None:
            echo_notes(resume_dir)
        if cache is not None and cache.problem:
            echo(f"warning: {cache.problem}", err=True)
    if as_json:
        echo(json.dumps(outcome.summary.to_dict(), indent=2))
    else:
        _print_summary(outcome.summary, task)
    if stop():
        sys.exit(EXIT_INTERRUPTED)


def echo_warnings(warnings: list[str]) -> None:
    """Warnings on stderr (so --json output stays parseable)."""
    for warning in warnings:
        echo(f"warning: {warning}", err=True)


def _graceful_stop() -> Callable[[], bool]:
    """First Ctrl-C: finish the current iteration, save, summarise. Second Ctrl-C: end the process at once, even
    with rollouts stuck in threads (every checkpoint and every paid call is already on disk)."""
    requested: list[bool] = []

    def handler(signum: int, frame: Any) -> None:
        if requested:
            click.echo("\naborted; the last saved state is kept (resume with --resume RUN_DIR)", err=True)
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(EXIT_INTERRUPTED)
        requested.append(True)
        echo("\nstopping after this iteration (Ctrl-C again to abort; the last saved state is kept)", err=True)

    signal.signal(signal.SIGINT, handler)
    return lambda: bool(requested)


def _dry_run_plan(prepared: Any) -> dict[str, Any]:
    """What a dry run shows (the --json output): the splits, how the first train example is sent, the estimate."""
    from dataclasses import asdict

    from gepa.core.candidate import render
    from gepa.run.estimate import estimate
    from gepa.system import PipelineSystem, preview_fields, render_messages

    splits = prepared.splits
    example = splits.train[0]
    fields = preview_fields(prepared.system, example.fields)
    shown: dict[str, Any]
    if isinstance(prepared.system, PipelineSystem):  # the pipeline decides how its prompts are sent
        shown = {"prompts": {name: render(text, fields) for name, text in prepared.seed.components.items()}}
    else:
        shown = {"messages": render_messages(prepared.seed, fields, prepared.input_fields)}
    return {
        "dry_run": True,
        "task": prepared.name,
        "task_model": prepared.task_model,
        "reflection_model": prepared.reflection_model,
        "examples": {
            "train": len(splits.train),
            "val": len(splits.val),
            "test": len(splits.test),
            "guard": {name: len(examples) for name, examples in splits.guard.items()},
        },
        "components": list(prepared.seed.components),
        "first_example": {"id": example.id, **shown},
        "estimate": asdict(estimate(prepared)),
    }


def _print_dry_run(plan: dict[str, Any]) -> None:
    counts, first, guess = plan["examples"], plan["first_example"], plan["estimate"]
    guard = "".join(f", {n} guard ({name})" for name, n in counts["guard"].items())
    echo(
        f"task {plan['task']}: {counts['train']} train, {counts['val']} val, {counts['test']} test{guard} examples; "
        f"components {plan['components']}"
    )
    if "prompts" in first:
        echo(f"first train example ({first['id']}) fills the pipeline's prompts as:")
        for name, text in first["prompts"].items():
            echo(f"  [{name}] {text}")
    else:
        echo(f"first train example ({first['id']}) renders as:")
        for message in first["messages"]:
            echo(f"  [{message['role']}] {message['content']}")
    echo(
        f"at most {guess['task_calls']} task-model calls, about {guess['reflection_calls']} reflection calls, "
        f"plus {guess['test_calls']} test calls at the end"
    )
    echo(
        "estimated cost: unknown (a model is not in litellm's price map; set prices: in the task file)"
        if guess["cost_usd"] is None
        else f"estimated cost: at most about ${guess['cost_usd']:.2f}"
    )
    echo("dry run: nothing was called or written")


def _print_summary(summary: RunSummary, task: str) -> None:
    seed, best, usage = summary.seed, summary.best, summary.usage
    echo(f"\n{summary.task}: {summary.status} ({summary.stop_reason})")
    echo(f"  val score   seed {fmt(seed.val)}  ->  best {fmt(best.val)}{_gain(summary, 'validation')}")
    echo(
        f"  test score  seed {fmt(seed.test)}  ->  best {fmt(best.test)}  ({summary.test_examples} examples)"
        f"{_gain(summary, 'test')}"
    )
    for name in seed.guard:
        echo(
            f"  guard {name:<6} seed {fmt(seed.guard[name])}  ->  best {fmt(best.guard.get(name))}"
            f"{_gain(summary, name)}"
        )
    gaps = summary.gaps
    line = "  gaps from val: test seed {} best {}".format(*(_signed(gaps[k]["val_to_test"]) for k in ("seed", "best")))
    for name in seed.guard:
        line += (
            f"; {name} seed {_signed(gaps['seed']['val_to_guard'][name])} best "
            f"{_signed(gaps['best']['val_to_guard'].get(name))}"
        )
    echo(line)
    echo(
        f"  {_count(summary.iterations, 'iteration')}, {_count(summary.candidates, 'candidate')}, "
        f"{summary.metric_calls} metric calls"
    )
    echo(
        f"  model calls {usage.model_calls}, cache hits {usage.cache_hits}, tokens "
        f"{usage.input_tokens}+{usage.output_tokens}, cost ${usage.cost_usd:.4f}"
    )
    _print_front(summary)
    for line in summary.diagnosis:
        echo(f"  {line}")
    echo("best prompt:")
    for name, text in best.components.items():
        echo(f"  [{name}] {text}")
    echo(f"run written to {summary.run_dir}; best prompt in {summary.best_prompt_dir}")
    echo(f"report: {summary.report}")
    if summary.resumable:
        echo(f"resume with: gepa optimize {task} --resume {summary.run_dir}")
    export = summary.export
    if export:
        echo(f"exported as {export.name} v{export.version}" + (f"; {export.reason}" if export.reason else ""))


def _gain(summary: RunSummary, split: str) -> str:
    """``   +0.200 (95% interval +0.050 to +0.350; 6 better, 0 worse of 30)`` when the best is not the seed."""
    from gepa.core.intervals import PairedDifference

    gain = summary.gains.get(split)
    if gain is None or summary.best.id == summary.seed.id:
        return ""
    return "   " + PairedDifference(**gain).line()


def _print_front(summary: RunSummary) -> None:
    """The trade-offs: every front member's mean objectives, the chosen one marked."""
    if len(summary.objectives) < 2 and len(summary.front) < 2:
        return
    names = [o["name"] for o in summary.objectives]
    shown = names + [n for n in ("tokens", "prompt_chars") if n not in names]
    echo("  front (" + ", ".join(f"{o['name']} {o['direction']}" for o in summary.objectives) + "):")
    for member in summary.front:
        values = "  ".join(f"{n} {member.objectives[n]:.3f}" if n in member.objectives else f"{n} -" for n in shown)
        echo(f"  {'*' if member.id == summary.best.id else ' '} {member.id}  {values}")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _signed(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.3f}"


@click.command()
@TASK
@click.option(
    "--check-models",
    is_flag=True,
    help="Also send one tiny call to each model (it may cost a fraction "
    "of a cent) to prove the keys and addresses work.",
)
def validate(task: str, check_models: bool) -> None:
    """Check TASK: the YAML, its data, placeholders, evaluator and models; no model call unless --check-models."""
    from gepa.run import runner

    prepared = runner.prepare(task)
    echo_warnings(prepared.warnings)
    splits = prepared.splits
    echo(
        f"{task}: valid ({len(splits.train)} train, {len(splits.val)} val, {len(splits.test)} test; "
        f"components {', '.join(prepared.seed.components)})"
    )
    if check_models:
        for line in runner.probe_models(prepared):
            echo(line)


@click.command(name="eval")
@TASK
@model_option
@cache_options
@click.option(
    "--prompt", "prompt_ref", help="A prompt to score: a registry reference (name@alias) or a candidate.json."
)
@click.option("--run", "run_path", type=click.Path(file_okay=False), help="Score this run's best prompt.")
@click.option(
    "--split",
    type=click.Choice(["test", "val", "train"]),
    default="test",
    show_default=True,
    help="Which examples to score.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    help="Write one row per example (id, score, output, feedback) to a .jsonl or .csv file.",
)
@click.option(
    "--min-score",
    type=click.FloatRange(0, 1),
    help="Exit with code 1 when the mean score is below this (a CI gate on a prompt).",
)
@click.option(
    "--against",
    "against_ref",
    help="Also score this prompt (name@alias, a candidate.json, or 'seed') on the same examples and print "
    "the paired difference with its 95% interval and how many examples got better and worse.",
)
@json_option
def eval_command(
    task: str,
    model: str | None,
    cache_dir: str | None,
    no_cache: bool,
    prompt_ref: str | None,
    run_path: str | None,
    split: str,
    output: str | None,
    min_score: float | None,
    against_ref: str | None,
    as_json: bool,
) -> None:
    """Score a prompt on a split of TASK (the seed prompt unless --prompt or --run); with --against, compare it
    with another prompt example by example."""
    from gepa.run import runner

    prepared = runner.prepare(task, runner.Overrides(model=model), cache=open_cache(cache_dir, no_cache))
    candidate = candidate_from(prompt_ref, run_path)
    if candidate is None:
        candidate = prepared.seed
        echo_warnings(prepared.warnings)
    else:  # checked as the seed was: a placeholder no field fills would score 0 and still pass a CI gate
        echo_warnings(runner.check_candidate(prepared, candidate, prompt_ref or run_path or ""))
    examples = getattr(prepared.splits, split)
    if not examples:
        raise UserError(f"{task}: the {split} split is empty")
    mean, results = runner.score(prepared, candidate, examples)
    rows = [
        {
            "id": r.example_id,
            "input": {n: e.fields[n] for n in prepared.input_fields if n in e.fields},
            "expected": r.expected,
            "score": r.score,
            "output": r.output,
            "feedback": r.feedback,
            "error": r.error,
        }
        for e, r in zip(examples, results, strict=True)
    ]
    if output:
        _write_rows(Path(output), rows)
    passed = min_score is None or mean >= min_score
    comparison = None
    if against_ref:
        from gepa.core.intervals import paired_difference

        other = prepared.seed if against_ref == "seed" else candidate_from(against_ref, None)
        assert other is not None
        other_mean, other_results = runner.score(prepared, other, examples)
        gain = paired_difference(
            [r.score for r in results], [r.score for r in other_results], seed=prepared.config.seed
        )
        comparison = {"candidate": other.id, "score": other_mean, "difference": gain.to_dict()}
    if as_json:
        echo(
            json.dumps(
                {
                    "split": split,
                    "candidate": candidate.id,
                    "examples": len(rows),
                    "score": mean,
                    "min_score": min_score,
                    "passed": passed,
                    "against": comparison,
                },
                indent=2,
            )
        )
    else:
        echo(f"{split} score {mean:.3f} on {len(rows)} examples (candidate {candidate.id})")
        if comparison is not None:
            echo(
                f"against {comparison['candidate']} ({against_ref}): {comparison['score']:.3f}; "
                f"difference {gain.line()}" + ("" if gain.excludes_zero else ": noise could explain it")
            )
        if not passed:
            echo(f"below --min-score {min_score:.3f}", err=True)
    if not passed:
        sys.exit(1)


def _write_rows(path: Path, rows: list[dict[str, Any]]) -> None:
    if path.suffix.lower() not in (".jsonl", ".csv"):
        raise UserError(f"{path}: --output must end in .jsonl or .csv")
    try:
        with path.open("w", encoding="utf-8", newline="") as out:
            if path.suffix.lower() == ".jsonl":
                out.writelines(json_line(row) for row in rows)
            else:
                writer = csv.DictWriter(out, fieldnames=list(rows[0]) if rows else ["id"])
                writer.writeheader()
                writer.writerows(
                    {k: json.dumps(v, ensure_ascii=False) if isinstance(v, dict) else v for k, v in row.items()}
                    for row in rows
                )
    except OSError as exc:
        raise UserError(f"{path}: cannot write the results: {exc.strerror or exc}") from exc


def candidate_from(prompt_ref: str | None, run_path: str | None) -> Any:
    """A candidate from a registry reference, a candidate.json file, or a run's best (None: neither given)."""
    from gepa.core.candidate import Candidate

    if prompt_ref and run_path:
        raise UserError("give --prompt or --run, not both")
    if run_path:
        from gepa.run.export import best_of
        from gepa.run.rundir import RunDir

        return best_of(RunDir.open(run_path))[0]
    if prompt_ref:
        path = Path(prompt_ref)
        if path.is_file():
            try:
                return Candidate.from_dict(load_json(path))
            except (ValueError, KeyError, TypeError) as exc:
                raise UserError(f'{path}: not a candidate file (expected {{"components": {{...}}}}): {exc}') from exc
        from gepa.registry import PromptRegistry

        return PromptRegistry().get(prompt_ref).candidate()
    return None


@click.command()
@click.option("--markdown", is_flag=True, help="Print the task-file reference as Markdown (docs/task-file.md).")
def schema(markdown: bool) -> None:
    """Print the task file's JSON Schema (for editors: `# yaml-language-server: $schema=<file>`)."""
    if markdown:
        from gepa.taskfile.reference import task_reference_markdown

        echo(task_reference_markdown(), nl=False)
        return
    from gepa.taskfile.spec import task_json_schema

    echo(json.dumps(task_json_schema(), indent=2))
