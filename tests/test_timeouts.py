"""Nothing hangs a run: a rollout (the model call and the evaluator) has ``rollout_timeout`` seconds, a regex that
backtracks without end is cut short, ``max_seconds`` ends a run inside an iteration, and a second Ctrl-C ends the
process at once (the last saved state kept)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner

from gepa.cli import main
from tests.fakes import write_task

ROOT = Path(__file__).resolve().parent.parent


def python_evaluator_task(tmp_path: Path, body: str, extra: str = "", optimizer: str = "") -> Path:
    task = write_task(
        tmp_path / "toy", budget=40, extra=extra, optimizer="{proposals_per_iteration: 1" + optimizer + "}"
    )
    (tmp_path / "toy" / "score.py").write_text(
        "import time\n\ndef score(fields, output):\n" + body + "    return float(output == fields['label'])\n"
    )
    task.write_text(
        task.read_text().replace(
            "evaluator:\n  type: exact\n  expected: label", "evaluator:\n  type: python\n  function: score.py:score"
        )
    )
    return task


def optimize(task: Path, runs: Path) -> tuple[int, str, float]:
    started = time.monotonic()
    result = CliRunner().invoke(main, ["optimize", str(task), "--runs-dir", str(runs), "--quiet"])
    return result.exit_code, result.output, time.monotonic() - started


def test_an_evaluator_that_hangs_on_one_example_costs_that_example_only(tmp_path: Path) -> None:
    task = python_evaluator_task(
        tmp_path,
        "    if 'review 101 ' in fields['text']:\n        time.sleep(3600)\n",
        optimizer=", rollout_timeout: 1",
    )
    code, out, seconds = optimize(task, tmp_path / "runs")
    assert code == 0, out
    assert seconds < 60
    from gepa.run.rundir import RunDir

    state = RunDir.open(next((tmp_path / "runs").iterdir())).load_state()
    hung = state.rollouts[state.candidates[0].id]["val/1"]
    assert hung.score == 0.0 and hung.error_source == "evaluator"
    assert hung.error and "took longer than rollout_timeout (1s)" in hung.error


def regex_task(tmp_path: Path, pattern: str) -> Path:
    folder = tmp_path / "t"
    folder.mkdir()
    rows = "".join(json.dumps({"text": "a" * 34 + "b"}) + "\n" for _ in range(4))
    (folder / "train.jsonl").write_text(rows)
    (folder / "val.jsonl").write_text(rows)
    task = folder / "task.yaml"
    task.write_text(
        "name: t\nprompt: {user: '{{text}}'}\ndata: {train: train.jsonl, val: val.jsonl}\n"
        "model: fake/echo\nreflection_model: fake/tests.fakes:reflector\n"
        f"evaluator: {{type: regex, pattern: '{pattern}'}}\nbudget: {{max_metric_calls: 40}}\n"
    )
    return task


def test_the_nested_repetition_that_hung_re_is_matched_at_once(tmp_path: Path) -> None:
    code, out, seconds = optimize(regex_task(tmp_path, "^(a+)+$"), tmp_path / "runs")
    assert code == 0, out
    assert seconds < 30, out


def test_a_regex_that_backtracks_without_end_is_cut_short(tmp_path: Path) -> None:
    code, out, seconds = optimize(regex_task(tmp_path, "^(a|aa)+$"), tmp_path / "runs")
    assert seconds < 60, out
    assert code == 2 and "Traceback" not in out, out
    assert "the evaluator failed on every validation example of the seed" in out
    assert "the pattern '^(a|aa)+$' took longer than 5s on this output" in out


def test_max_seconds_ends_a_run_inside_an_iteration(tmp_path: Path) -> None:
    # The seed's validation rollouts are quick; each training rollout takes 2 s, one at a time: an iteration
    # (the parent's minibatch and the child's) takes 12 s.
    task = python_evaluator_task(
        tmp_path,
        "    if int(fields['text'].split()[2]) < 100:\n        time.sleep(2)\n",
        extra="",
        optimizer=", concurrency: 1",
    )
    task.write_text(
        task.read_text().replace("budget:\n  max_metric_calls: 40", "budget:\n  max_metric_calls: 40\n  max_seconds: 3")
    )
    code, out, seconds = optimize(task, tmp_path / "runs")
    assert code == 0, out
    assert seconds < 9, out
    summary = json.loads((next((tmp_path / "runs").iterdir()) / "summary.json").read_text())
    assert summary["stop_reason"] == "max_seconds (3) reached"


def test_a_second_ctrl_c_ends_a_hung_run_at_once(tmp_path: Path) -> None:
    task = python_evaluator_task(tmp_path, "    if int(fields['text'].split()[2]) < 100:\n        time.sleep(3600)\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GEPA_CACHE_DIR": str(tmp_path / "cache")}
    process = subprocess.Popen(
        [sys.executable, "-m", "gepa", "optimize", str(task), "--runs-dir", str(tmp_path / "runs")],
        cwd=ROOT,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while not list((tmp_path / "runs").glob("*/state.json")) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # the first iteration is now stuck in its minibatch
    process.send_signal(signal.SIGINT)
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    try:
        code = process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        raise AssertionError("the process lived on after the second Ctrl-C") from None
    _, err = process.communicate()
    assert code == 130, err
    assert "aborted; the last saved state is kept" in err and "Traceback" not in err
    assert json.loads(next((tmp_path / "runs").glob("*/state.json")).read_text())["candidates"]
