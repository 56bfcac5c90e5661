"""Render engine events on the terminal: a live progress line when interactive, a few plain lines otherwise."""

from __future__ import annotations

import sys
import time
from typing import Any

import click

from gepa.core.events import Event


class Progress:
    """Shows iteration, best validation score, budget used (calls, $), cache hit rate, elapsed and ETA."""

    def __init__(self, *, max_calls: int | None, usage: Any, interactive: bool | None = None,
                 quiet: bool = False) -> None:
        self.max_calls, self.usage, self.quiet = max_calls, usage, quiet
        self.interactive = sys.stderr.isatty() if interactive is None else interactive
        self.started = time.monotonic()
        self.best: float | None = None
        self.iteration = 0
        self.calls = 0
        self._live_line = False

    def __call__(self, event: Event) -> None:
        if self.quiet:
            return
        data = event.data
        self.iteration = event.iteration
        if event.kind == "new_best":
            self.best = float(data["score"])
            if data["previous"] is None:
                self._line(f"seed {data['candidate']} scores {self.best:.3f} on validation")
            else:
                self._line(f"iteration {event.iteration}: new best {data['candidate']} "
                           f"val {self.best:.3f} (was {float(data['previous']):.3f})")
        elif event.kind == "budget":
            self.calls = int(data["metric_calls"])
            if self.interactive:
                self._status(float(data["cost_usd"]))
        elif event.kind == "run_finished":
            self._line(f"stopped: {data['reason']}")

    def _status(self, cost: float) -> None:
        elapsed = time.monotonic() - self.started
        total = self.usage.total()
        lookups = total.calls + total.cache_hits
        hit_rate = total.cache_hits / lookups if lookups else 0.0
        budget = f"{self.calls}/{self.max_calls}" if self.max_calls else str(self.calls)
        eta = ""
        if self.max_calls and self.calls:
            eta = f" eta {max(0.0, elapsed / self.calls * (self.max_calls - self.calls)):.0f}s"
        best = f"{self.best:.3f}" if self.best is not None else "-"
        text = (f"iter {self.iteration}  best {best}  calls {budget}  ${cost:.4f}  "
                f"cache {hit_rate:.0%}  {elapsed:.0f}s{eta}")
        click.echo("\r" + text.ljust(100), nl=False, err=True)
        self._live_line = True

    def _line(self, text: str) -> None:
        if self._live_line:
            click.echo("\r" + " " * 100 + "\r", nl=False, err=True)
            self._live_line = False
        click.echo(text, err=True)
