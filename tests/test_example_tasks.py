"""The example tasks in tasks/ are valid as shipped, and the IFEval checkers score for real."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from gepa.cli import main

TASKS = sorted((Path(__file__).resolve().parent.parent / "tasks").glob("*/task.yaml"))


def test_there_are_at_least_three_example_tasks() -> None:
    assert len(TASKS) >= 3


@pytest.mark.parametrize("task", TASKS, ids=[t.parent.name for t in TASKS])
def test_each_example_task_validates_and_dry_runs(task: Path) -> None:
    result = CliRunner().invoke(main, ["optimize", str(task), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "dry run: nothing was called or written" in result.output


@pytest.fixture(scope="module")
def ifeval() -> object:
    pytest.importorskip("langdetect")
    path = TASKS[0].parent.parent / "ifeval" / "evaluate.py"
    spec = importlib.util.spec_from_file_location("ifeval_evaluate", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_ifeval_checkers_pass_and_fail_with_per_instruction_feedback(ifeval) -> None:  # type: ignore[no-untyped-def]
    fields = {
        "prompt": "Write about cats.",
        "instruction_id_list": ["punctuation:no_comma", "detectable_format:title", "length_constraints:number_words"],
        "kwargs": [{}, {}, {"relation": "at least", "num_words": 5}],
    }
    good = "<<Cats>>\nCats sleep a lot and purr when happy."
    bad = "Cats, dogs."
    assert ifeval.score(fields, good)[0] == 1.0
    score, feedback = ifeval.score(fields, bad)
    assert score == 0.0
    assert "FAILED [punctuation:no_comma]" in feedback and "FAILED [detectable_format:title]" in feedback
    assert "0 of 3 instructions followed" in feedback


def test_ifeval_scores_every_shipped_prompt(ifeval) -> None:  # type: ignore[no-untyped-def]
    rows = [json.loads(line) for line in (TASKS[0].parent.parent / "ifeval" / "data" / "all.jsonl").open()]
    for row in rows:
        score, feedback = ifeval.score(row, "A short answer.")
        assert 0.0 <= score <= 1.0 and "instructions followed" in feedback
