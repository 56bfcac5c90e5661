"""Leakage check: a proposal that pastes a training example into the prompt memorises instead of instructing.

A text leaks when it holds a run of ``RUN`` or more consecutive words of a training example's field that its
parent did not already hold (words compared lower-cased, punctuation ignored) and that carries the example's own
content: at least half of its words lie outside the task's shared wording, the runs of ``SHARED_RUN`` words found
in at least ``SHARED`` of the examples (the question every input asks, a form every input starts with). A whole
input pasted word for word always leaks.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from gepa.core.types import Example

RUN = 8
SHARED_RUN = 4
SHARED = 0.2
SHARED_FLOOR = 3  # four words two of a few templated examples share are chance, not the task's wording
_WORD = re.compile(r"\w+")
_SENTENCE = re.compile(r"[^.!?\n]*(?:[.!?]+[ \t]*|\n|$)")


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def _runs(text: str, size: int = RUN) -> set[tuple[str, ...]]:
    words = _words(text)
    return {tuple(words[i : i + size]) for i in range(len(words) - size + 1)}


class LeakageCheck:
    """Knows every run of ``RUN`` words in the training examples' string fields, and their shared wording."""

    def __init__(self, examples: Sequence[Example]) -> None:
        self._runs: set[tuple[str, ...]] = set()
        seen: Counter[tuple[str, ...]] = Counter()
        for example in examples:
            texts = [value for value in example.fields.values() if isinstance(value, str)]
            for value in texts:
                self._runs |= _runs(value)
            seen.update(set().union(*(_runs(value, SHARED_RUN) for value in texts)))
        least = max(SHARED_FLOOR, SHARED * len(examples))
        self._shared = {run for run, count in seen.items() if count >= least}
        whole: Counter[str] = Counter(
            " ".join(_words(value))
            for example in examples
            for value in example.fields.values()
            if isinstance(value, str)
        )
        # A whole input pasted is a copy even when every phrase of it is common wording (navigate's
        # "Take 1 step. Turn left. ..."); an input that many examples hold verbatim is not one example's.
        self._whole = [text for text, count in whole.items() if len(text.split()) >= RUN and count < least]

    def copied(self, text: str, parent: str = "") -> str | None:
        """The first copied run of words in ``text`` that ``parent`` lacks and that is mostly an example's own
        content, or None."""
        if not self._runs:
            return None
        inherited = _runs(parent)
        words = _words(text)
        joined, before = f" {' '.join(words)} ", f" {' '.join(_words(parent))} "
        for example in self._whole:
            if f" {example} " in joined and f" {example} " not in before:
                return " ".join(example.split()[:RUN])
        shared = [False] * len(words)
        for i in range(len(words) - SHARED_RUN + 1):
            if tuple(words[i : i + SHARED_RUN]) in self._shared:
                shared[i : i + SHARED_RUN] = [True] * SHARED_RUN
        for i in range(len(words) - RUN + 1):
            run = tuple(words[i : i + RUN])
            if run in self._runs and run not in inherited and shared[i : i + RUN].count(False) * 2 >= RUN:
                return " ".join(run)
        return None

    def without_copies(self, text: str, parent: str = "") -> str | None:
        """``text`` without the sentences that hold a copy, or None when no usable text is left: small reflectors
        illustrate a task with a pasted input, and the rest of their text is often worth a rollout."""
        for _ in range(50):
            leak = self.copied(text, parent)
            if leak is None:
                return text.strip() or None
            pieces = _SENTENCE.findall(text)
            owner = [i for i, piece in enumerate(pieces) for _ in _WORD.findall(piece)]
            words = _words(text)
            run = leak.split()
            start = next(i for i in range(len(words)) if words[i : i + len(run)] == run)
            drop = set(owner[start : start + len(run)])
            if any("{{" in pieces[i] for i in drop):
                return None  # the copy sits on an input line: nothing to cut safely
            text = "".join(piece for i, piece in enumerate(pieces) if i not in drop)
        return None
