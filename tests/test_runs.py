"""Run directories: kill -9 mid-run then resume equals an uninterrupted run; corrupt state is a clear error."""

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

from gepa.cli import main
from tests.fakes import write_task

ROOT = Path(__file__).resolve().parent.parent


def gepa_process(*args: str, cache: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GEPA_CACHE_DIR": str(cache)}
    return subprocess.Popen(
        [sys.executable, "-m", "gepa", *args],
        cwd=ROOT,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def comparable(run_dir: Path) -> dict[str, Any]:
    from gepa.run.rundir import RunDir

    state = RunDir.open(run_dir).load_state()
    return {k: v for k, v in state.to_dict(rollouts=False).items() if k != "rollouts_logged"} | {
        "rollouts": {c: sorted(r) for c, r in state.rollouts.items()}
    }


def test_kill_9_then_resume_matches_an_uninterrupted_run(tmp_path: Path) -> None:
    task = write_task(
        tmp_path / "toy",
        model="fake/tests.fakes:slow_task_model",
        budget=120,
        optimizer="{concurrency: 2, proposals_per_iteration: 1}",
    )
    reference = gepa_process(
        "optimize", str(task), "--runs-dir", str(tmp_path / "ref"), "--quiet", cache=tmp_path / "cache-ref"
    )
    assert reference.wait(timeout=300) == 0, reference.stderr.read() if reference.stderr else ""

    victim = gepa_process(
        "optimize", str(task), "--runs-dir", str(tmp_path / "killed"), "--quiet", cache=tmp_path / "cache"
    )
    state_file = None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        found = list((tmp_path / "killed").glob("*/state.json"))
        if found and json.loads(found[0].read_text() or "{}").get("iteration", 0) >= 3:
            state_file = found[0]
            break
        time.sleep(0.05)
    assert state_file is not None, "the run never reached iteration 3"
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)
    run_dir = state_file.parent
    killed_at = json.loads(state_file.read_text())
    assert not killed_at["finished"]

    resumed = gepa_process(
        "optimize",
        str(task),
        "--resume",
        str(run_dir),
        "--runs-dir",
        str(tmp_path / "killed"),
        "--quiet",
        cache=tmp_path / "cache",
    )
    assert resumed.wait(timeout=300) == 0, resumed.stderr.read() if resumed.stderr else ""
    reference_dir = next((tmp_path / "ref").iterdir())
    assert comparable(run_dir) == comparable(reference_dir)
    # Nothing accepted before the kill was lost.
    final_ids = [c["id"] for c in json.loads((run_dir / "state.json").read_text())["candidates"]]
    assert [c["id"] for c in killed_at["candidates"]] == final_ids[: len(killed_at["candidates"])]


def finished_run(tmp_path: Path) -> Path:
    task = write_task(tmp_path / "toy", budget=40)
    result = CliRunner().invoke(main, ["optimize", str(task), "--runs-dir", str(tmp_path / "runs"), "--quiet"])
    assert result.exit_code == 0, result.output
    return next((tmp_path / "runs").iterdir())


@pytest.mark.parametrize("damage", ["truncate", "garbage", "version"])
def test_a_corrupt_state_file_is_a_clear_error_not_a_restart(tmp_path: Path, damage: str) -> None:
    run_dir = finished_run(tmp_path)
    state = run_dir / "state.json"
    text = state.read_text()
    state.write_text(
        {
            "truncate": text[: len(text) // 2],
            "garbage": "\x00\x01",
            "version": json.dumps({**json.loads(text), "schema_version": 99}),
        }[damage]
    )
    task = tmp_path / "toy" / "task.yaml"
    result = CliRunner().invoke(main, ["optimize", str(task), "--resume", str(run_dir)])
    assert result.exit_code == 2, result.output
    assert "state.json" in result.output and "Traceback" not in result.output
    assert len(list((tmp_path / "runs").iterdir())) == 1  # no new run was started


def test_resume_refuses_a_changed_task(tmp_path: Path) -> None:
    run_dir = finished_run(tmp_path)
    task = tmp_path / "toy" / "task.yaml"
    task.write_text(task.read_text().replace("You classify reviews.", "You label reviews."))
    result = CliRunner().invoke(main, ["optimize", str(task), "--resume", str(run_dir)])
    assert result.exit_code == 2 and "changed since this run started" in result.output


def test_runs_list_and_show(tmp_path: Path) -> None:
    run_dir = finished_run(tmp_path)
    listing = CliRunner().invoke(main, ["runs", "list", "--runs-dir", str(tmp_path / "runs")])
    assert run_dir.name in listing.output and "finished" in listing.output
    shown = CliRunner().invoke(main, ["runs", "show", str(run_dir)])
    assert shown.exit_code == 0 and "best prompt:" in shown.output and "val 0.600  mutation:user" in shown.output


def test_runs_list_reads_a_resumed_run_from_its_state_not_its_old_summary(tmp_path: Path) -> None:
    """A run resumed and killed before it finished again keeps the summary of its first finish; ``runs list``
    then shows where the state got to, not those old figures."""
    run_dir = finished_run(tmp_path)
    first = (run_dir / "summary.json").read_text()
    task = tmp_path / "toy" / "task.yaml"
    resumed = CliRunner().invoke(main, ["optimize", str(task), "--resume", str(run_dir), "--budget", "120", "-q"])
    assert resumed.exit_code == 0, resumed.output
    iterations = json.loads((run_dir / "state.json").read_text())["iteration"]
    assert iterations > json.loads(first)["iterations"]
    (run_dir / "summary.json").write_text(first)  # as a kill -9 after the resumed iterations leaves it

    def row() -> Any:
        listing = CliRunner().invoke(main, ["runs", "list", "--runs-dir", str(tmp_path / "runs"), "--json"])
        assert listing.exit_code == 0, listing.output
        return json.loads(listing.output)[0]

    assert row()["status"] == "unfinished" and row()["iterations"] == iterations
    resumed = CliRunner().invoke(main, ["optimize", str(task), "--resume", str(run_dir), "--budget", "120", "-q"])
    assert resumed.exit_code == 0, resumed.output  # finishing again writes a fresh summary, which is read again
    assert row()["status"] == "finished" and row()["iterations"] == iterations


def test_runs_list_and_show_name_the_same_best_of_an_unfinished_run(tmp_path: Path) -> None:
    """The best of a run that has not finished is the engine's choice (``RunState.best_index``), not the highest
    validation mean: here a would-be best fell on the guard set, and ``runs list`` and ``runs show`` both give the
    best's score, whether the stopped run wrote its summary or was killed before it could."""
    from gepa.core.events import Event
    from gepa.run import runner
    from gepa.run.rundir import RunDir
    from tests.test_guard import guarded_task

    fell: list[Event] = []

    def watch(event: Event) -> None:
        if event.kind == "guard_failed":
            fell.append(event)

    outcome = runner.run(
        runner.prepare(guarded_task(tmp_path), runner.Overrides(seed=1)),
        runs_root=tmp_path / "runs",
        callbacks=[watch],
        should_stop=lambda: bool(fell),
    )
    assert outcome.summary.status == "stopped (resumable)"
    state = RunDir.open(outcome.run_dir.root).load_state()
    best_val = state.mean_scores()[state.best_index()]
    assert max(state.mean_scores()) > best_val  # the guard-failed candidate scores higher: the two ways differ

    def listed() -> Any:
        result = CliRunner().invoke(main, ["runs", "list", "--runs-dir", str(tmp_path / "runs"), "--json"])
        assert result.exit_code == 0, result.output
        [row] = json.loads(result.output)
        return row

    def starred() -> float:
        result = CliRunner().invoke(main, ["runs", "show", str(outcome.run_dir.root)])
        assert result.exit_code == 0, result.output
        return float(next(line for line in result.output.splitlines() if line.startswith(" * ")).split()[3])

    row = listed()
    assert row["status"] == "stopped (resumable)"
    assert row["best_val"] == pytest.approx(best_val) and starred() == pytest.approx(best_val, abs=5e-4)
    (outcome.run_dir.root / "summary.json").unlink()  # as a run killed before its end leaves it
    row = listed()
    assert row["status"] == "unfinished"
    assert row["best_val"] == pytest.approx(best_val) and starred() == pytest.approx(best_val, abs=5e-4)


def test_no_secret_reaches_the_run_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOY_SECRET_KEY", "sk-do-not-write-me")
    task = write_task(tmp_path / "toy", budget=30, extra="api_key_env: TOY_SECRET_KEY\n")
    result = CliRunner().invoke(main, ["optimize", str(task), "--runs-dir", str(tmp_path / "runs"), "--quiet"])
    assert result.exit_code == 0, result.output
    run_dir = next((tmp_path / "runs").iterdir())
    for path in run_dir.rglob("*"):
        if path.is_file():
            assert "sk-do-not-write-me" not in path.read_text()


def test_a_stop_file_stops_gracefully_and_the_run_resumes(tmp_path: Path) -> None:
    task = write_task(
        tmp_path / "toy", model="fake/tests.fakes:slow_task_model", budget=400, extra="optimize: [system, user]\n"
    )  # a list in the config must compare equal on resume
    victim = gepa_process("optimize", str(task), "--runs-dir", str(tmp_path / "runs"), cache=tmp_path / "cache")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list((tmp_path / "runs").glob("*/state.json")):
        time.sleep(0.05)
    run_dir = next((tmp_path / "runs").iterdir())
    (run_dir / "STOP").touch()
    out, err = victim.communicate(timeout=120)
    assert victim.returncode == 0, err
    assert "stop requested" in out and f"resume with: gepa optimize {task} --resume {run_dir}" in out
    stopped = json.loads((run_dir / "state.json").read_text())
    assert not stopped["finished"]
    result = CliRunner().invoke(main, ["optimize", str(task), "--resume", str(run_dir), "--quiet"])
    assert result.exit_code == 0, result.output
    finished = json.loads((run_dir / "state.json").read_text())
    assert finished["finished"] and finished["iteration"] > stopped["iteration"]


def test_the_task_can_ask_for_an_export_at_the_end(tmp_path: Path) -> None:
    task = write_task(tmp_path / "toy", budget=60, extra="export: {name: toy, alias: production}\n")
    result = CliRunner().invoke(main, ["optimize", str(task), "--runs-dir", str(tmp_path / "runs"), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "exported as toy v1" in result.output
    summary = json.loads((next((tmp_path / "runs").iterdir()) / "summary.json").read_text())
    assert summary["export"] == {
        "name": "toy",
        "version": 1,
        "created": True,
        "alias": "production",
        "promoted": True,
        "reason": "alias 'production' set",
    }
    from gepa.registry import load

    assert load("toy@production").meta["val_score"] == pytest.approx(0.8)


def test_run_task_resumes_from_python(tmp_path: Path) -> None:
    import gepa

    task = write_task(tmp_path / "toy", budget=60)
    first = gepa.run_task(task, runs_dir=tmp_path / "runs", cache_dir=tmp_path / "cache")
    run_dir = Path(first.run_dir)
    state = json.loads((run_dir / "state.json").read_text())
    state["finished"], state["stop_reason"] = False, "stop requested"
    (run_dir / "state.json").write_text(json.dumps(state))
    again = gepa.run_task(task, resume=run_dir, runs_dir=tmp_path / "runs", cache_dir=tmp_path / "cache")
    assert again.run_dir == first.run_dir and again.status == "finished"
    assert again.usage.model_calls == first.usage.model_calls  # spending carried over, nothing re-paid
