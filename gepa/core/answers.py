"""What a candidate answers, against what the data gives for free.

On a split whose expected answers come from a small label set, a prompt that makes the model give one answer to
everything scores the share of that label: on a split that is 60 % "implausible", answering "implausible" always
scores 0.600, which looks like a gain over a seed at 0.467 and teaches the model nothing. So the engine reads the
*answers*, not only the score: a candidate that gives one answer on (nearly) every example of a split where the
data holds several is a constant answer, flagged like a guard failure (kept in the pool, never the best).

An answer is the output as an evaluator compares it (lower case, no punctuation, spaces collapsed), read as a
label when it is one or when its first word is one ("No, because ..." answers "no"). Labels are the ``expected``
answers the evaluator reports (exact, contains, numeric, a python evaluator's ``expected``); a split where some
rollout has none (regex, json, a judge) has no label set, and nothing here applies to it.
"""

from __future__ import annotations

import string
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from gepa.core.types import Rollout

CONSTANT_SHARE = 0.9  # one answer on at least this share of a split's examples is a constant answer ...
ABOVE_DATA = 0.1  # ... when that share exceeds the data's own majority share by this much
MIN_EXAMPLES = 5  # fewer examples than this say nothing about a split's answers
_PUNCTUATION = str.maketrans("", "", string.punctuation)


def normalized(text: str) -> str:
    return " ".join(text.lower().translate(_PUNCTUATION).split())


def answer_of(rollout: Rollout, labels: frozenset[str] = frozenset()) -> str:
    """The answer ``rollout`` gave: one of ``labels`` when the output is that label or starts with it, else the
    normalized output (cut at 60 characters; a failed rollout answers nothing, "")."""
    text = normalized(rollout.output)
    if text in labels:
        return text
    first = text.split(" ", 1)[0]
    return first if first in labels else text[:60]


@dataclass(frozen=True, kw_only=True)
class LabelBaseline:
    """What a split's expected answers give for free: always answering its majority label scores
    ``majority_rate``; answering a label at random scores ``chance`` (1 / the number of labels)."""

    labels: dict[str, int]  # expected label -> examples, most common first
    total: int

    @property
    def majority(self) -> str:
        return next(iter(self.labels))

    @property
    def majority_rate(self) -> float:
        return self.labels[self.majority] / self.total

    @property
    def chance(self) -> float:
        return 1 / len(self.labels)

    def rate(self, label: str) -> float:
        return self.labels.get(label, 0) / self.total

    def to_dict(self) -> dict[str, object]:
        return {
            "labels": self.labels,
            "majority": self.majority,
            "majority_rate": self.majority_rate,
            "chance": self.chance,
        }


def baseline(rollouts: Sequence[Rollout]) -> LabelBaseline | None:
    """The split's label baseline; None when some rollout names no expected answer or the data has one label
    (there is then no constant answer to catch)."""
    if not rollouts or any(r.expected is None for r in rollouts):
        return None
    counts = Counter(normalized(str(r.expected)) for r in rollouts)
    if len(counts) < 2:
        return None
    return LabelBaseline(labels=dict(counts.most_common()), total=len(rollouts))


def answer_counts(rollouts: Sequence[Rollout]) -> dict[str, int]:
    """How often each answer was given, most common first (answers read against the split's labels)."""
    base = baseline(rollouts)
    labels = frozenset(base.labels) if base else frozenset()
    return dict(Counter(answer_of(r, labels) for r in rollouts).most_common())


def confusion(rollouts: Sequence[Rollout]) -> dict[str, dict[str, int]]:
    """Expected label -> answer -> examples (empty without a label set): the report's confusion table."""
    base = baseline(rollouts)
    if base is None:
        return {}
    table: dict[str, Counter[str]] = {label: Counter() for label in base.labels}
    for rollout in rollouts:
        table[normalized(str(rollout.expected))][answer_of(rollout, frozenset(base.labels))] += 1
    return {label: dict(row.most_common()) for label, row in table.items()}


@dataclass(frozen=True, kw_only=True)
class ConstantAnswer:
    """A candidate that answers ``answer`` on ``count`` of the ``total`` examples of ``split``."""

    split: str
    answer: str
    count: int
    total: int
    score: float  # the candidate's mean score on the split
    label_rate: float  # the share of the split's examples that expect ``answer``: what answering it always scores
    majority: str
    majority_rate: float
    unaccepted: int = 0  # replies that gave the expected label but scored below 1: the form was not accepted

    def line(self) -> str:
        """One sentence: what it answers, what it scores, and what answering that label everywhere scores."""
        form = (
            f" ({self.unaccepted} of those replies were right but not in a form the evaluator accepts)"
            if self.unaccepted
            else ""
        )
        said = (
            f"answers {self.answer!r} on {self.count} of {self.total} {self.split} examples and scores "
            f"{self.score:.3f}{form}; {self.answer!r} on every example scores {self.label_rate:.3f}"
        )
        if self.answer == self.majority:
            return f"{said} (the majority rate)"
        return f"{said} (the majority label {self.majority!r} {self.majority_rate:.3f})"

    def to_dict(self) -> dict[str, object]:
        return {
            "split": self.split,
            "answer": self.answer,
            "count": self.count,
            "total": self.total,
            "score": self.score,
            "label_rate": self.label_rate,
            "majority": self.majority,
            "majority_rate": self.majority_rate,
            "line": self.line(),
        }


def constant_answer(rollouts: Sequence[Rollout], split: str) -> ConstantAnswer | None:
    """The constant answer a candidate gives on a split, if it gives one: the same label on at least
    ``CONSTANT_SHARE`` of the examples, where the data's own majority share is ``ABOVE_DATA`` lower (a perfect
    prompt on a split that is 95 % one label answers it 95 % of the time, and is not flagged)."""
    base = baseline(rollouts)
    if base is None or len(rollouts) < MIN_EXAMPLES:
        return None
    answer, count = next(iter(answer_counts(rollouts).items()))
    share = count / len(rollouts)
    if answer not in base.labels or share < CONSTANT_SHARE or share < base.majority_rate + ABOVE_DATA:
        return None  # a constant non-answer ("unsure" everywhere) scores nothing: a failure, not a gamed metric
    return ConstantAnswer(
        split=split,
        answer=answer,
        count=count,
        total=len(rollouts),
        score=sum(r.score for r in rollouts) / len(rollouts),
        label_rate=base.rate(answer),
        majority=base.majority,
        majority_rate=base.majority_rate,
        unaccepted=sum(
            1
            for r in rollouts
            if r.score < 1 and answer_of(r, frozenset(base.labels)) == answer == normalized(str(r.expected))
        ),
    )


def balanced_values(rollouts: Sequence[Rollout]) -> list[float] | None:
    """Per rollout, its score weighted so that their mean is the mean per-label recall of the set (``balanced``):
    each label counts alike however many examples expect it, so a constant answer scores 1 / the number of
    labels. None when some rollout names no expected answer."""
    if not rollouts or any(r.expected is None for r in rollouts):
        return None
    labels = [normalized(str(r.expected)) for r in rollouts]
    counts = Counter(labels)
    weight = {label: len(labels) / (len(counts) * n) for label, n in counts.items()}
    return [r.score * weight[label] for r, label in zip(rollouts, labels, strict=True)]
