"""The ``gepa`` command: one module per command group, wired here onto the group defined in ``app``."""

from gepa.cli.app import main
from gepa.cli.cache import cache
from gepa.cli.optimize import eval_command, optimize, schema, validate
from gepa.cli.prompts import export, prompts
from gepa.cli.runs import runs

for command in (optimize, eval_command, validate, schema, runs, export, prompts, cache):
    main.add_command(command)

__all__ = ["main"]
