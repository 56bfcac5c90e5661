"""Leakage check: a proposal that pastes a training example into the prompt memorises instead of instructing.

A text leaks when it holds a run of ``RUN`` or more consecutive words of a training example's field that its
parent did not already hold (words compared lower-cased, punctuation ignored). A run found in at least
``SHARED`` of the examples is the task's own wording (the question every input asks), not one example's content:
repeating it is allowed.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from gepa.core.types import Example

RUN = 8
SHARED = 0.2
_WORD = re.compile(r"\w+")


def _ordered_runs(text: str, size: int = RUN) -> list[tuple[str, ...]]:
    words = [w.lower() for w in _WORD.findall(text)]
    return [tuple(words[i:i + size]) for i in range(len(words) - size + 1)]


def _runs(text: str, size: int = RUN) -> set[tuple[str, ...]]:
    return set(_ordered_runs(text, size))


class LeakageCheck:
    """Knows every run of ``RUN`` words in the training examples' string fields."""

    def __init__(self, examples: Sequence[Example]) -> None:
        seen: Counter[tuple[str, ...]] = Counter()
        for example in examples:
            seen.update(set().union(*(_runs(value) for value in example.fields.values() if isinstance(value, str))))
        shared = max(2, SHARED * len(examples))
        self._runs: set[tuple[str, ...]] = {run for run, count in seen.items() if count < shared}

    def copied(self, text: str, parent: str = "") -> str | None:
        """The first copied run of words in ``text`` that ``parent`` lacks, or None."""
        if not self._runs:
            return None
        inherited = _runs(parent)
        return next((" ".join(run) for run in _ordered_runs(text) if run in self._runs and run not in inherited), None)

