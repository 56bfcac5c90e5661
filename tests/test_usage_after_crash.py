"""What a run paid for survives `kill -9`: a run killed mid-iteration and resumed reports the model calls and
tokens an uninterrupted run reports, in its summary and usage.json, so ``max_cost_usd`` sees them too."""

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
from gepa.run.rundir import RunDir
from tests.fakes import write_task

ROOT = Path(__file__).resolve().parent.parent


def gepa(*args: str, cache: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GEPA_CACHE_DIR": str(cache)}
    return subprocess.Popen(
        [sys.executable, "-m", "gepa", *args],
        cwd=ROOT,
        env=env,
        text=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def paid(run: Path) -> dict[str, tuple[int, int, int]]:
    """Calls and tokens per model and role, as usage.json records them (cache hits differ after a resume)."""
    return {
        f"{r['model']}/{r['role']}": (r["calls"], r["input_tokens"], r["output_tokens"])
        for r in json.loads((run / "usage.json").read_text())
    }


def kill_during_iteration(process: subprocess.Popen[str], runs: Path, iteration: int) -> Path:
    """SIGKILL ``process`` a moment after it saved ``iteration``: the next iteration's calls are in flight."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        for state in runs.glob("*/state.json"):
            try:
                if json.loads(state.read_text()).get("iteration", 0) >= iteration:
                    time.sleep(0.2)
                    process.send_signal(signal.SIGKILL)
                    process.wait(timeout=30)
                    return state.parent
            except ValueError:
                pass
        time.sleep(0.02)
    raise AssertionError(f"the run never reached iteration {iteration}")


def test_a_run_killed_twice_and_resumed_counts_every_paid_call(tmp_path: Path) -> None:
    task = write_task(
        tmp_path / "toy",
        model="fake/tests.fakes:slow_task_model",
        budget=80,
        optimizer="{concurrency: 2, proposals_per_iteration: 1}",
    )
    reference = gepa("optimize", str(task), "--runs-dir", str(tmp_path / "ref"), "--quiet", cache=tmp_path / "c1")
    assert reference.wait(timeout=300) == 0, reference.stderr.read() if reference.stderr else ""
    reference_run = next((tmp_path / "ref").iterdir())

    runs, cache = tmp_path / "killed", tmp_path / "c2"
    run = kill_during_iteration(gepa("optimize", str(task), "--runs-dir", str(runs), "--quiet", cache=cache), runs, 1)
    kill_during_iteration(gepa("optimize", str(task), "--resume", str(run), "--quiet", cache=cache), runs, 3)
    final = gepa("optimize", str(task), "--resume", str(run), "--quiet", cache=cache)
    assert final.wait(timeout=300) == 0, final.stderr.read() if final.stderr else ""

    assert paid(run) == paid(reference_run)
    summary, expected = (json.loads((r / "summary.json").read_text())["usage"] for r in (run, reference_run))
    assert summary["model_calls"] == expected["model_calls"] > 0
    assert summary["input_tokens"] == expected["input_tokens"]


def test_a_run_from_before_the_usage_log_carries_its_spending_into_the_log(tmp_path: Path) -> None:
    task = write_task(tmp_path / "toy", budget=40)
    runs = tmp_path / "runs"
    assert CliRunner().invoke(main, ["optimize", str(task), "--runs-dir", str(runs), "--quiet"]).exit_code == 0
    run = next(runs.iterdir())
    before = paid(run)
    (run / "usage.jsonl").unlink()  # as an older gepa left it: usage.json only
    resumed = CliRunner().invoke(main, ["optimize", str(task), "--resume", str(run), "--budget", "60", "--quiet"])
    assert resumed.exit_code == 0, resumed.output
    after = paid(run)  # usage.json, from the ledger
    assert all(after[key][0] >= calls for key, (calls, _, _) in before.items())
    logged = {
        f"{r['model']}/{r['role']}": (r["calls"], r["input_tokens"], r["output_tokens"])
        for r in RunDir.open(run).usage()
    }
    assert logged == after  # the new log starts with what the run had spent before it
