"""What a run stores and sends per rollout is bounded: a model reply or evaluator feedback of megabytes keeps a
prefix in rollouts.jsonl and state.json with its full length beside it, and the reflector reads a short prefix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from gepa.cli import main
from gepa.core.types import MAX_STORED_CHARS
from tests.fakes import write_task

HUGE = 2_000_000


def run(tmp_path: Path, task: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, list[str]]:
    log = tmp_path / "reflection.jsonl"
    monkeypatch.setenv("GEPA_TEST_REFLECTION_LOG", str(log))
    result = CliRunner().invoke(main, ["optimize", str(task), "--runs-dir", str(tmp_path / "runs"), "-q"])
    assert result.exit_code == 0, result.output[-2000:]
    requests = [m["content"] for line in log.read_text().splitlines() for m in json.loads(line)]
    return next((tmp_path / "runs").iterdir()), requests


def assert_bounded(run_dir: Path, requests: list[str], key: str) -> None:
    records = [json.loads(line) for line in (run_dir / "rollouts.jsonl").read_text().splitlines()]
    assert records and all(len(r[key]) <= MAX_STORED_CHARS for r in records)
    assert all(HUGE <= r[f"{key}_chars"] <= HUGE + 10 for r in records)  # the full length, beside the prefix
    assert (run_dir / "rollouts.jsonl").stat().st_size < len(records) * 3 * MAX_STORED_CHARS
    assert (run_dir / "state.json").stat().st_size < 2 * MAX_STORED_CHARS * 10
    assert requests and max(map(len, requests)) < 20_000


def test_megabytes_of_feedback_are_stored_and_reflected_on_as_a_prefix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = write_task(
        tmp_path / "toy", budget=40, n_train=8, n_val=8, reflection_model="fake/tests.fakes:recording_reflector"
    )
    (tmp_path / "toy" / "score.py").write_text(
        f"def score(fields, output):\n    return float(output == fields['label']), 'why ' * {HUGE // 4}\n"
    )
    task.write_text(
        task.read_text().replace(
            "evaluator:\n  type: exact\n  expected: label", "evaluator:\n  type: python\n  function: score.py:score"
        )
    )
    assert_bounded(*run(tmp_path, task, monkeypatch), "feedback")


def test_a_megabyte_reply_is_stored_as_a_prefix_with_its_length(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = write_task(
        tmp_path / "toy",
        budget=40,
        n_train=8,
        n_val=8,
        model="fake/tests.fakes:flooding_task_model",
        reflection_model="fake/tests.fakes:recording_reflector",
    )
    assert_bounded(*run(tmp_path, task, monkeypatch), "output")
