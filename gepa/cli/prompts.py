"""``gepa prompts`` (browse the registry) and ``gepa export`` (a run's best prompt into it)."""

from __future__ import annotations

import difflib
from typing import Any

import click

from gepa.cli.app import cache_dir_option, echo, echo_listing, echo_notes, json_option, prompts_dir_option
from gepa.core.candidate import Candidate
from gepa.errors import UserError
from gepa.registry import VERSION_REF, version_number


@click.command()
@click.argument("run", type=click.Path(file_okay=False))
@click.option("--name", required=True, help="Prompt name in the registry.")
@click.option("--alias", help="Point this alias (e.g. production) at the exported version.")
@click.option(
    "--promote-if-better",
    is_flag=True,
    help="Move --alias only if the new version beats the aliased one on the task's test split by more than "
    "noise: the paired bootstrap interval of the difference lies above 0.",
)
@click.option(
    "--level",
    type=click.FloatRange(0.5, 0.999),
    default=0.95,
    show_default=True,
    help="Confidence level of that interval.",
)
@click.option(
    "--any-gain",
    is_flag=True,
    help="With --promote-if-better: a higher test mean is enough, even one noise could explain (the old rule).",
)
@prompts_dir_option
@cache_dir_option
@click.option(
    "--to",
    "target",
    type=click.Choice(["registry", "mlflow"]),
    default="registry",
    show_default=True,
    help="gepa's file registry under --prompts-dir, or the MLflow Prompt Registry.",
)
@click.option(
    "--candidate",
    "candidate_id",
    help="Export this candidate (any front member, see the report) instead of the run's best.",
)
@click.option(
    "--mlflow-uri",
    envvar="MLFLOW_TRACKING_URI",
    help="MLflow tracking URI for --to mlflow, e.g. sqlite:///mlflow.db (no server needed).",
)
def export(
    run: str,
    name: str,
    alias: str | None,
    promote_if_better: bool,
    level: float,
    any_gain: bool,
    prompts_dir: str,
    cache_dir: str | None,
    target: str,
    candidate_id: str | None,
    mlflow_uri: str | None,
) -> None:
    """Register RUN's best prompt (or --candidate) as a new version of NAME in the prompt registry (or MLflow's)."""
    from gepa.registry import PromptRegistry
    from gepa.run.export import best_of, export_run
    from gepa.run.rundir import RunDir

    run_dir = RunDir.open(run)
    if target == "mlflow":
        from gepa.registry.mlflow import register_in_mlflow

        if promote_if_better:
            raise UserError("--promote-if-better works with gepa's registry only; use --alias with --to mlflow")
        candidate, meta = best_of(run_dir, candidate_id)
        echo_notes(run_dir)
        version, created = register_in_mlflow(name, candidate.components, meta, alias=alias, tracking_uri=mlflow_uri)
        verb = "registered in MLflow as" if created else "already in MLflow as"
        echo(f"{verb} prompts:/{name}/{version}" + (f" (alias {alias})" if alias else ""))
        return

    prepared: list[Any] = []

    def task() -> Any:
        """The run's task, prepared once and only if a score is needed."""
        from gepa.lm.cache import ResponseCache
        from gepa.run import runner

        if not prepared:
            prepared.append(runner.prepare(run_dir.config()["task_path"], cache=ResponseCache(cache_dir)))
        return prepared[0]

    def scorer(candidate: Candidate) -> list[float]:
        from gepa.run import runner

        return runner.test_scores(task(), candidate)

    def guard_scorer(candidate: Candidate) -> dict[str, float]:
        from gepa.run import runner

        return runner.guard_scores(task(), candidate)

    result = export_run(
        run_dir,
        name,
        registry=PromptRegistry(prompts_dir),
        alias=alias,
        promote_if_better=promote_if_better,
        scorer=scorer,
        guard_scorer=guard_scorer,
        candidate_id=candidate_id,
        level=level,
        any_gain=any_gain,
    )
    echo_notes(run_dir)
    verb = "exported as" if result.created else "already registered as"
    echo(f"{verb} {result.version.name} v{result.version.version} in {prompts_dir}")
    if result.reason:
        echo(("promoted: " if result.promoted else "not promoted: ") + result.reason)


@click.group()
@prompts_dir_option
@click.pass_context
def prompts(ctx: click.Context, prompts_dir: str) -> None:
    """Browse the prompt registry: list, show, diff, promote."""
    from gepa.registry import PromptRegistry

    ctx.obj = PromptRegistry(prompts_dir)


@prompts.command(name="list")
@json_option
@click.pass_obj
def prompts_list(registry: Any, as_json: bool) -> None:
    """Every prompt name with its number of versions and its aliases."""
    rows = [
        {"name": name, "versions": len(registry.versions(name)), "aliases": registry.aliases(name)}
        for name in registry.names()
    ]
    if echo_listing(rows, as_json, f"no prompts in {registry.root}"):
        return
    for row in rows:
        tags = ", ".join(f"{a}=v{v}" for a, v in sorted(row["aliases"].items()))
        echo(f"{row['name']}  versions {row['versions']}  {tags}")


@prompts.command(name="show")
@click.argument("ref")
@click.pass_obj
def prompts_show(registry: Any, ref: str) -> None:
    """Show NAME, NAME@alias or NAME@version."""
    version = registry.get(ref)
    echo(f"{version.name} v{version.version}")
    for key in ("task", "source_run", "model", "val_score", "test_score", "created", "content_hash"):
        if version.meta.get(key) is not None:
            echo(f"  {key}: {version.meta[key]}")
    for name, text in version.components.items():
        echo(f"[{name}]\n{text}")


@prompts.command(name="diff")
@click.argument("a")
@click.argument("b")
@click.pass_obj
def prompts_diff(registry: Any, a: str, b: str) -> None:
    """Unified diff of two versions, component by component."""
    first, second = registry.get(a), registry.get(b)
    for name in dict.fromkeys([*first.components, *second.components]):
        lines = difflib.unified_diff(
            first.components.get(name, "").splitlines(),
            second.components.get(name, "").splitlines(),
            f"{first.ref}/{name}",
            f"{second.ref}/{name}",
            lineterm="",
        )
        for line in lines:
            echo(line)


class VersionType(click.ParamType):  # type: ignore[type-arg]  # generic in click's stubs only
    """A version as printed (``v2``) or as a number (``2``)."""

    name = "VERSION"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        text = str(value)
        if not VERSION_REF.fullmatch(text):
            self.fail(f"{text!r} is not a version (write it as v2 or 2)", param, ctx)
        return int(version_number(text))


@prompts.command(name="promote")
@click.argument("name")
@click.argument("version", type=VersionType())
@click.option("--alias", required=True, help="The alias to move (e.g. production).")
@click.pass_obj
def prompts_promote(registry: Any, name: str, version: int, alias: str) -> None:
    """Point ALIAS of NAME at VERSION."""
    registry.promote(name, version, alias)
    echo(f"{name}@{alias} -> v{version}")
