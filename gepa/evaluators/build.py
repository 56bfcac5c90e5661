"""Build the evaluator of a task file's ``evaluator:`` entry: one, or the weighted mix of a list.

Each part is built by its own spec (``gepa.evaluators.spec``); this module only composes them: the weights, and
the names under which a part's score is also kept as an objective.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from gepa.core.types import Evaluator
from gepa.evaluators.custom import Named, Weighted
from gepa.evaluators.spec import BuildContext, EvaluatorKeys, JudgeFactory, parse_spec

Entry = EvaluatorKeys | Mapping[str, Any]


def part_names(specs: Sequence[EvaluatorKeys]) -> list[str]:
    """Each evaluator's objective name: its ``name``, else its type (numbered when a type repeats)."""
    names: list[str] = []
    for spec in specs:
        base = spec.name or spec.type
        name, n = base, 2
        while name in names:
            name, n = f"{base}_{n}", n + 1
        names.append(name)
    return names


def build_evaluator(
    spec: Entry | Sequence[Entry], *, base_dir: Path, judge_client: JudgeFactory | None = None
) -> Evaluator:
    """One evaluator, or a weighted combination of a list of them. Each entry is a spec, or a dict holding what
    a task file's entry holds (checked as strictly: a key its type does not take is an ``EvaluatorError``)."""
    context = BuildContext(base_dir=base_dir, judge_client=judge_client)
    if isinstance(spec, Sequence):
        specs = [parse_spec(entry, f"evaluator.{i}") for i, entry in enumerate(spec)]
    else:
        specs = [parse_spec(spec)]
    if len(specs) == 1:
        only = specs[0]
        return Named(name=only.name, inner=only.build(context)) if only.name else only.build(context)
    return Weighted(
        parts=[(name, part.build(context), part.weight) for name, part in zip(part_names(specs), specs, strict=True)]
    )
