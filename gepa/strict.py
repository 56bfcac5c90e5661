"""The pydantic base of every task-file model, shared by ``gepa.taskfile.spec`` and the evaluators' specs below
it, and the wording of a missing key both report."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from gepa.core.candidate import NAME

NAME_PATTERN = f"^{NAME.pattern}$"


class Strict(BaseModel):
    """Unknown keys are errors, and values are taken as written: ``true`` is not a count, ``'3'`` not a seed."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, strict=True)


def missing_key(key: str) -> str:
    """How a required key that is not given is said, in a task file and in an evaluator entry alike (where the
    caller puts in front)."""
    return f"missing required key {key!r}"
