"""Render engine events while a run works: a tqdm progress bar over the metric-call budget that moves per
rollout and grows to cover the final test scoring (it fits the terminal's width and renders in notebooks through
``tqdm.auto``) plus one line per new best; plain lines only when the output is not a terminal."""

from __future__ import annotations

import sys
from typing import Any

from tqdm.auto import tqdm

from gepa.core.events import Event
from gepa.core.text import terminal_safe


class Progress:
    """Shows iteration, best validation score, budget used (calls, $) and cache hit rate; tqdm adds elapsed
    time and the ETA. ``close`` must be called when the run ends."""

    def __init__(
        self, *, max_calls: int | None, usage: Any, interactive: bool | None = None, quiet: bool = False
    ) -> None:
        self.usage, self.quiet = usage, quiet
        self.interactive = sys.stderr.isatty() if interactive is None else interactive
        self.best: float | None = None
        self._bar: Any = None
        if self.interactive and not quiet:
            self._bar = tqdm(
                total=max_calls, unit="call", desc="gepa", file=sys.stderr, dynamic_ncols=True, leave=False
            )

    def __call__(self, event: Event) -> None:
        if self.quiet:
            return
        data = event.data
        if event.kind == "new_best":
            self.best = float(data["score"])
            if data["previous"] is None:
                self._line(f"seed {data['candidate']} scores {self.best:.3f} on validation")
            else:
                self._line(
                    f"iteration {event.iteration}: new best {data['candidate']} "
                    f"val {self.best:.3f} (was {float(data['previous']):.3f})"
                )
        elif event.kind == "rollout_scored" and self._bar is not None:
            self._bar.update(1)  # each rollout is one metric call: the bar moves inside a batch
        elif event.kind == "final_scoring" and self._bar is not None:
            self._bar.total = self._bar.n + int(data["examples"])  # the search is over: what is left is this
            self._bar.set_description_str(f"gepa: scoring on {data['split']}")
        elif event.kind == "budget" and self._bar is not None:
            self._bar.n = int(data["metric_calls"])  # the engine's own count settles the bar after each batch
            total = self.usage.total()
            lookups = total.calls + total.cache_hits
            self._bar.set_postfix_str(
                f"iter {event.iteration} best {self._best()} ${float(data['cost_usd']):.4f} "
                f"cache {total.cache_hits / lookups if lookups else 0.0:.0%}"
            )
        elif event.kind == "run_finished":
            self._line(f"stopped: {data['reason']}")

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def _best(self) -> str:
        return f"{self.best:.3f}" if self.best is not None else "-"

    def _line(self, text: str) -> None:
        text = terminal_safe(text)  # a stop reason may quote a model's error
        if self._bar is not None:
            self._bar.write(text, file=sys.stderr)
        else:
            print(text, file=sys.stderr, flush=True)
