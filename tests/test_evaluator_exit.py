"""User mistakes found at run time: an evaluator that calls ``sys.exit`` is a named error that keeps the run's
state, and a budget that cannot score the seed is refused before a run directory exists."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from gepa.cli import main
from tests.fakes import write_task


def python_evaluator_task(tmp_path: Path, body: str) -> Path:
    task = write_task(tmp_path / "toy", budget=40)
    (tmp_path / "toy" / "score.py").write_text("import sys\n\ndef score(fields, output):\n" + body)
    task.write_text(
        task.read_text().replace(
            "evaluator:\n  type: exact\n  expected: label", "evaluator:\n  type: python\n  function: score.py:score"
        )
    )
    return task


def test_an_evaluator_calling_sys_exit_is_a_named_error_and_the_state_is_kept(tmp_path: Path) -> None:
    # Scores the seed's outputs, then exits on the first output of an improved prompt (a right [b] answer).
    task = python_evaluator_task(
        tmp_path,
        "    if '[b]' in fields['text'] and output == fields['label']:\n"
        "        sys.exit(3)\n    return float(output == fields['label'])\n",
    )
    result = CliRunner().invoke(main, ["optimize", str(task), "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 2, result.output
    assert "evaluator python:gepa_user_score.score called sys.exit(3) on example train/" in result.output
    assert "Traceback" not in result.output
    run = next((tmp_path / "runs").iterdir())
    state = json.loads((run / "state.json").read_text())
    assert len(state["candidates"]) == 1  # the seed's scores, saved before the evaluator exited


def test_a_budget_below_the_validation_size_leaves_no_run_directory(tmp_path: Path) -> None:
    task = write_task(tmp_path / "toy", budget=5)  # 10 validation examples
    result = CliRunner().invoke(main, ["optimize", str(task), "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert "task.yaml: budget of 5 metric calls cannot even score the seed" in result.output
    assert "(budget.max_metric_calls, or --budget)" in result.output
    assert not (tmp_path / "runs").exists() or list((tmp_path / "runs").iterdir()) == []
    listed = CliRunner().invoke(main, ["runs", "list", "--runs-dir", str(tmp_path / "runs")])
    assert listed.exit_code == 0 and "no runs in" in listed.output
    validated = CliRunner().invoke(main, ["validate", str(task)])  # found without running at all
    assert validated.exit_code == 2 and "cannot even score the seed" in validated.output
