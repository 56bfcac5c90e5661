"""The ``gepa`` command group and what every command shares: error handling, common options, formatting.

Commands stay thin: parse, call ``runner`` / ``registry``, render (through ``echo``, which is terminal-safe).
User mistakes print one line and exit 2; other gepa errors exit 1; ``GEPA_DEBUG=1`` shows tracebacks. Heavy
modules are imported inside commands, so ``gepa --help`` stays fast (litellm is never imported at start).
"""

from __future__ import annotations

import errno
import json
import os
import sys
from collections.abc import Callable
from typing import Any

import click

from gepa.core.text import terminal_safe
from gepa.errors import GepaError, UserError

F = Callable[..., Any]


def echo(message: Any = "", *, err: bool = False, nl: bool = True) -> None:
    """``click.echo`` for every line the CLI prints: model and data text in it is made terminal-safe (an escape
    sequence in a model's answer would otherwise set the title, move the cursor or hide the rest of the line)."""
    click.echo(terminal_safe(str(message)), err=err, nl=nl)


class GepaGroup(click.Group):
    """Turns gepa errors into clean messages with exit codes, instead of tracebacks."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            result = super().invoke(ctx)
            sys.stdout.flush()  # a reader gone before the last line is seen here, not as a traceback at exit
            return result
        except GepaError as exc:
            if os.environ.get("GEPA_DEBUG"):
                raise
            echo(f"Error: {exc}", err=True)
            ctx.exit(2 if isinstance(exc, UserError) else 1)
        except OSError as exc:  # a read-only or full disk, a missing permission: the path and the reason
            if exc.errno == errno.EPIPE:  # `gepa ... | head` closed the pipe: it has read all it wanted
                _discard_stdout()
                ctx.exit(0)
            if os.environ.get("GEPA_DEBUG"):
                raise
            where = f"{exc.filename}: " if exc.filename else ""
            echo(f"Error: cannot write or read {where}{exc.strerror or exc}", err=True)
            ctx.exit(1)


def _discard_stdout() -> None:
    """Point stdout at /dev/null, so what is still buffered has somewhere to go when the interpreter flushes it
    at exit (the recipe of the Python docs' note on SIGPIPE; quiet, and exit 0 as the issue asks)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no file descriptor behind stdout (a test runner's buffer): nothing to flush
        pass


@click.group(cls=GepaGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="gepa-evolve")
def main() -> None:
    """Evolve the prompts of an LLM task with GEPA: reflective mutation on a Pareto front of candidates.

    Start with `gepa optimize tasks/polarity/task.yaml` (runs offline on the embedded model); docs/task-file.md
    has the task-file reference, and `gepa schema` prints the task file's JSON Schema.
    """


def cache_options(func: F) -> F:
    """--cache-dir and --no-cache, declared once for every command that calls models."""
    func = click.option("--no-cache", is_flag=True, help="Call the models even for requests seen before.")(func)
    return cache_dir_option(func)


def cache_dir_option(func: F) -> F:
    return click.option(
        "--cache-dir",
        type=click.Path(file_okay=False),
        envvar="GEPA_CACHE_DIR",
        help="Response cache directory [env GEPA_CACHE_DIR; default: ~/.cache/gepa].",
    )(func)


def model_option(func: F) -> F:
    return click.option(
        "--model",
        help="Task model: any litellm model string, local/smollm2 or "
        "local/<file.gguf>; overrides the task file's model.",
    )(func)


def _directory_option(name: str, what: str) -> Callable[[F], F]:
    """``--<name>-dir``, defaulting to ``<name>`` and read from ``GEPA_<NAME>_DIR`` when unset."""
    env = f"GEPA_{name.upper()}_DIR"
    return click.option(
        f"--{name}-dir",
        type=click.Path(file_okay=False),
        envvar=env,
        default=name,
        show_default=True,
        help=f"{what} [env {env}].",
    )


runs_dir_option = _directory_option("runs", "Where run directories live")
prompts_dir_option = _directory_option("prompts", "The prompt registry's directory")


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON on stdout instead of text.")(func)


def open_cache(cache_dir: str | None, no_cache: bool = False) -> Any:
    """The response cache the options ask for (None with --no-cache). A cache that cannot be used is a warning,
    not an error: the run goes on without it (documented in docs/operations.md)."""
    if no_cache:
        return None
    from gepa.errors import CacheError
    from gepa.lm.cache import ResponseCache

    try:
        return ResponseCache(cache_dir)
    except CacheError as exc:
        echo(f"warning: {exc}; running without the cache", err=True)
        return None


def echo_listing(rows: list[dict[str, Any]], as_json: bool, empty: str) -> bool:
    """Print a listing's ``rows`` as JSON, or ``empty`` when there are none; True when nothing is left to print."""
    if as_json:
        echo(json.dumps(rows, indent=2))
        return True
    if not rows:
        echo(empty)
    return not rows


def echo_notes(run_dir: Any) -> None:
    """Warn about what reading a run directory had to leave out (a cut rollouts line), on stderr."""
    for note in run_dir.notes:
        echo(f"warning: {note}", err=True)


def fmt(value: float | None) -> str:
    """A score as the CLI shows it: three decimals, or n/a when unknown."""
    return "n/a" if value is None else f"{value:.3f}"
