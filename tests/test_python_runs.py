"""Runs from Python: ``gepa.optimize(run_dir=...)`` writes what ``gepa optimize`` writes, scores a test set,
survives ``kill -9`` and resumes to the uninterrupted result, and exports its best prompt to the registry."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import gepa
from gepa.cli import main
from gepa.errors import RunStateError, UserError
from tests import fakes
from tests.test_runs import comparable

ROOT = Path(__file__).resolve().parent.parent

# The script a pipeline author would write; the tests run it in a subprocess so it can be killed.
SCRIPT = """
import sys
import gepa
from tests import fakes

result = gepa.optimize({"system": "You classify reviews.", "user": "Review: {{text}}"},
                       fakes.make_rows(10), fakes.make_rows(10, 100), testset=fakes.make_rows(5, 200),
                       task_model="fake/tests.fakes:slow_task_model", reflection_model="fake/tests.fakes:reflector",
                       evaluator=gepa.evaluators.Exact(expected="label"), run_dir=sys.argv[1], name="toy",
                       config=gepa.OptimizerConfig(max_metric_calls=120, proposals_per_iteration=1, concurrency=2))
print(result.best_score, result.summary.best.test)
"""


def python_run(run_dir: Path, cache: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GEPA_CACHE_DIR": str(cache)}
    return subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(run_dir)],
        cwd=ROOT,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def optimize_into(run_dir: Path, **kwargs: object) -> gepa.RunResult:
    settings: dict[str, Any] = {
        "testset": fakes.make_rows(5, 200),
        "run_dir": run_dir,
        "name": "toy",
        "config": fakes.scripted_config(max_metric_calls=60),
    } | kwargs
    return gepa.optimize(
        {"system": "You classify reviews.", "user": "Review: {{text}}"},
        fakes.make_rows(10),
        fakes.make_rows(10, 100),
        task_model="fake/tests.fakes:task_model",
        reflection_model="fake/tests.fakes:reflector",
        evaluator=gepa.evaluators.Exact(expected="label"),
        use_cache=False,
        **settings,
    )


def test_a_python_run_writes_the_run_directory_the_cli_reads(tmp_path: Path) -> None:
    result = optimize_into(tmp_path / "runs" / "mine")
    run_dir = tmp_path / "runs" / "mine"
    assert result.run_dir == run_dir
    for name in ("config.json", "state.json", "events.jsonl", "summary.json", "report.html", "best"):
        assert (run_dir / name).exists(), name
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["task"] == "toy" and summary["test_examples"] == 5
    assert result.summary is not None
    assert summary["best"]["test"] == result.summary.best.test and summary["best"]["test"] > summary["seed"]["test"]
    assert summary["gains"]["test"]["mean"] == pytest.approx(summary["best"]["test"] - summary["seed"]["test"])
    shown = CliRunner().invoke(main, ["runs", "show", str(run_dir)])
    assert shown.exit_code == 0 and "Reply with the label only." in shown.output, shown.output
    listed = CliRunner().invoke(main, ["runs", "list", "--runs-dir", str(tmp_path / "runs")])
    assert "mine" in listed.output, listed.output


def test_a_python_run_killed_mid_run_resumes_to_the_uninterrupted_result(tmp_path: Path) -> None:
    reference = python_run(tmp_path / "ref", tmp_path / "cache-ref")
    out, err = reference.communicate(timeout=300)
    assert reference.returncode == 0, err

    victim = python_run(tmp_path / "killed", tmp_path / "cache")
    state_file = tmp_path / "killed" / "state.json"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if state_file.is_file() and json.loads(state_file.read_text() or "{}").get("iteration", 0) >= 3:
            break
        time.sleep(0.05)
    else:
        pytest.fail("the run never reached iteration 3")
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)
    assert not json.loads(state_file.read_text())["finished"]

    resumed = python_run(tmp_path / "killed", tmp_path / "cache")  # the same call again resumes it
    resumed_out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    assert comparable(tmp_path / "killed") == comparable(tmp_path / "ref")
    assert resumed_out == out


def test_export_from_python_round_trips_through_the_registry(tmp_path: Path) -> None:
    result = optimize_into(tmp_path / "run")
    version = result.export("toy-classifier", alias="production", prompts_dir=tmp_path / "prompts")
    loaded = gepa.registry.load("toy-classifier@production", root=tmp_path / "prompts")
    assert loaded.version == version.version == 1
    assert dict(loaded.components) == dict(result.best.components)


def test_export_without_a_run_directory_says_how_to_get_one() -> None:
    result = gepa.optimize(
        {"user": "Review: {{text}}"},
        fakes.make_rows(4),
        fakes.make_rows(4, 100),
        task_model="fake/tests.fakes:task_model",
        reflection_model="fake/tests.fakes:reflector",
        evaluator=gepa.evaluators.Exact(expected="label"),
        use_cache=False,
        config=gepa.OptimizerConfig(max_metric_calls=12),
    )
    with pytest.raises(UserError, match="run_dir"):
        result.export("toy")


def test_a_test_set_without_a_run_directory_is_refused_before_any_call() -> None:
    calls: list[object] = []

    def task_model(messages: object, params: object) -> str:
        calls.append(messages)
        return "x"

    with pytest.raises(UserError, match="run_dir"):
        gepa.optimize(
            {"user": "{{text}}"},
            fakes.make_rows(4),
            fakes.make_rows(4, 100),
            task_model=gepa.lm.FakeModel(task_model),
            reflection_model="fake/tests.fakes:reflector",
            evaluator=gepa.evaluators.Exact(expected="label"),
            testset=fakes.make_rows(2, 200),
            use_cache=False,
        )
    assert calls == []


def test_a_folder_that_holds_other_files_is_not_taken_for_a_run(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(RunStateError, match="not empty"):
        optimize_into(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
