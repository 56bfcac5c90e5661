"""The CLI takes what it prints: a run by the name `runs list` shows (or `latest`), and a version as `v2` or `2`;
a dry run refuses what the run would refuse; a reader that closes the pipe early (`| head`) ends the command
quietly; a missing extra names the install that works, and what MLflow refuses is one line naming the fix."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from gepa.cli import main
from gepa.registry import PromptRegistry
from tests.fakes import write_task


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_a_run_is_found_by_the_name_runs_list_prints_and_by_latest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = tmp_path / "runs"
    monkeypatch.setenv("GEPA_RUNS_DIR", str(runs))
    task = write_task(tmp_path / "toy", budget=30)
    assert invoke("optimize", str(task), "--quiet")[0] == 0
    name = next(runs.iterdir()).name
    code, listed = invoke("runs", "list")
    assert code == 0 and name in listed
    for ref in (name, "latest"):
        code, out = invoke("runs", "show", ref)
        assert code == 0 and "best prompt" in out, (ref, out)
    code, out = invoke("runs", "show", "no-such-run")
    assert code != 0 and "not a gepa run directory" in out
    monkeypatch.setenv("GEPA_RUNS_DIR", str(tmp_path / "empty"))
    code, out = invoke("runs", "show", "latest")
    assert code != 0 and "no run under" in out


def test_versions_are_taken_as_printed(tmp_path: Path) -> None:
    prompts = str(tmp_path / "prompts")
    registry = PromptRegistry(prompts)
    registry.publish("toy", {"system": "one"}, {})
    registry.publish("toy", {"system": "two"}, {})
    code, out = invoke("prompts", "--prompts-dir", prompts, "diff", "toy@v1", "toy@v2")
    assert code == 0 and "-one" in out and "+two" in out, out
    code, out = invoke("prompts", "--prompts-dir", prompts, "promote", "toy", "v2", "--alias", "staging")
    assert code == 0 and "toy@staging -> v2" in out, out
    assert registry.aliases("toy")["staging"] == 2
    code, out = invoke("prompts", "--prompts-dir", prompts, "promote", "toy", "two", "--alias", "staging")
    assert code == 2 and "write it as v2 or 2" in out


def test_optimize_finds_task_yaml_in_a_folder_or_the_current_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_task(tmp_path / "toy", budget=30)
    code, out = invoke("validate", str(tmp_path / "toy"))
    assert code == 0 and "task.yaml: valid" in out
    monkeypatch.chdir(tmp_path / "toy")
    code, out = invoke("optimize", "--dry-run")
    assert code == 0 and "dry run: nothing was called or written" in out
    monkeypatch.chdir(tmp_path)
    code, out = invoke("validate")
    assert code == 2 and "holds no task.yaml" in out


def test_quiet_is_quiet_and_the_end_of_a_run_reads_right(tmp_path: Path) -> None:
    task = write_task(tmp_path / "toy", budget=30)
    result = CliRunner().invoke(main, ["optimize", str(task), "--runs-dir", str(tmp_path / "runs"), "-q"])
    assert result.exit_code == 0
    assert "task model fake" not in result.output and "reflection model fake" not in result.output
    assert " iterations," in result.output or " 1 iteration," in result.output
    assert "1 iterations" not in result.output and "1 candidates" not in result.output


# -- a dry run refuses what the run would refuse ------------------------------------------------------------
POLARITY = Path(__file__).resolve().parent.parent / "tasks" / "polarity" / "task.yaml"
SCRIPTED = ("--model", "fake/tests.fakes:task_model", "--reflection-model", "fake/tests.fakes:reflector")


def test_a_dry_run_refuses_a_budget_the_run_would_refuse_with_the_same_message(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    base = ["optimize", str(POLARITY), *SCRIPTED, "--budget", "30", "--runs-dir", str(runs)]
    dry = CliRunner().invoke(main, [*base, "--dry-run"])
    real = CliRunner().invoke(main, base)
    assert dry.exit_code == real.exit_code == 2, (dry.output, real.output)
    assert "cannot even score the seed on the 22 validation examples and the 40 guard-set examples" in dry.stderr
    assert dry.stderr == real.stderr and "Traceback" not in dry.output
    assert not runs.exists()
    fits = CliRunner().invoke(main, [*base, "--no-guard", "--dry-run", "--json"])
    assert fits.exit_code == 0, fits.output
    plan = json.loads(fits.stdout)
    assert plan["dry_run"] is True and plan["estimate"]["task_calls"] == 30
    assert plan["examples"] == {"train": 45, "val": 22, "test": 45, "guard": {}}
    assert plan["first_example"]["messages"][0] == {"role": "system", "content": "You are a helpful assistant."}


def test_a_dry_run_of_a_resume_checks_the_settings_and_writes_nothing(tmp_path: Path) -> None:
    task = write_task(tmp_path / "toy", budget=30)
    assert invoke("optimize", str(task), "--runs-dir", str(tmp_path / "runs"), "-q")[0] == 0
    run_dir = next((tmp_path / "runs").iterdir())
    before = {p.name: p.read_bytes() for p in run_dir.iterdir() if p.is_file()}
    code, out = invoke("optimize", str(task), "--resume", str(run_dir), "--seed", "5", "--dry-run")
    assert code == 2 and "the search settings changed since this run started" in out, out
    code, out = invoke("optimize", str(task), "--resume", str(run_dir), "--budget", "60", "--dry-run", "--json")
    assert code == 0 and json.loads(out)["estimate"]["task_calls"] == 60, out
    assert {p.name: p.read_bytes() for p in run_dir.iterdir() if p.is_file()} == before


def test_a_missing_extra_names_the_install_that_works(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No index holds gepa-evolve: the hint is an install from a clone, and a dry run finds the gap first."""
    monkeypatch.setitem(sys.modules, "ray", None)  # Ray not installed
    task = write_task(tmp_path / "toy", budget=30)
    for extra in ([], ["--dry-run"]):
        result = CliRunner().invoke(
            main, ["optimize", str(task), "--executor", "ray", "--runs-dir", str(tmp_path / "runs"), "-q", *extra]
        )
        assert result.exit_code == 2, result.output
        assert "ray needs Ray; install the ray extra from a clone of gepa: pip install -e '.[ray]'" in result.stderr
        assert "gepa-evolve[" not in result.output
    assert not (tmp_path / "runs").exists()  # refused before the run directory was made


# -- a closed pipe is the reader's choice, not an error -------------------------------------------------------
ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("lines", [50, 20_000])  # within a pipe's buffer (the race), and far past it
def test_a_pipe_closed_early_ends_the_command_quietly_with_exit_0(tmp_path: Path, lines: int) -> None:
    """As `gepa prompts show toy | head -2` does; repeated, since whether the write or the close comes first
    is a race (it failed 2 times in 5)."""
    import os
    import subprocess

    prompts = tmp_path / "prompts"
    PromptRegistry(prompts).publish("toy", {"system": "\n".join(f"line {i}" for i in range(lines))}, {})
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for _ in range(5):
        shown = subprocess.Popen(
            [sys.executable, "-m", "gepa", "prompts", "--prompts-dir", str(prompts), "show", "toy"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert shown.stdout is not None and shown.stderr is not None
        assert shown.stdout.readline() == b"toy v1\n"
        shown.stdout.close()
        code = shown.wait(timeout=60)
        err = shown.stderr.read().decode()
        shown.stderr.close()
        assert (code, err) == (0, ""), err


# -- MLflow's failures are one line naming the fix -------------------------------------------------------------
def _finished_run(tmp_path: Path) -> Path:
    task = write_task(tmp_path / "toy", budget=30)
    result = CliRunner().invoke(main, ["optimize", str(task), "--runs-dir", str(tmp_path / "runs"), "-q"])
    assert result.exit_code == 0, result.output
    return next((tmp_path / "runs").iterdir())


def _export(run_dir: Path, uri: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["export", str(run_dir), "--name", "toy", "--to", "mlflow", "--mlflow-uri", uri])
    assert "Traceback" not in result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    return result.exit_code, errors[0] if len(errors) == 1 else result.output


def test_mlflow_refusing_a_uri_is_one_line_naming_a_uri_that_works(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("mlflow")
    import socket

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "0")
    run_dir = _finished_run(tmp_path)
    code, line = _export(run_dir, f"file://{tmp_path}/mlruns")
    assert code == 2 and "MLflow cannot use the file store" in line, line
    assert f"give --mlflow-uri a database instead, e.g. sqlite:///{tmp_path}/mlflow.db" in line
    code, line = _export(run_dir, "mlflow.example://x")
    assert code == 2 and "'mlflow.example://x' is not an MLflow tracking URI" in line, line
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code, line = _export(run_dir, f"http://127.0.0.1:{port}")
    assert code == 2 and f"no MLflow server answers at http://127.0.0.1:{port}" in line, line
    assert not (tmp_path / "mlruns").exists()


def test_a_tracking_uri_mlflow_refuses_is_one_warning_naming_the_task_file_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("mlflow")
    monkeypatch.chdir(tmp_path)
    task = write_task(tmp_path / "toy", budget=30, extra=f"tracking: {{mlflow: {{uri: 'file://{tmp_path}/mlruns'}}}}\n")
    result = CliRunner().invoke(main, ["optimize", str(task), "--runs-dir", str(tmp_path / "runs"), "-q"])
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if "MLflow" in line]
    assert len(warnings) == 1 and warnings[0].startswith(
        "warning: MLflow tracking stopped (MLflow cannot use the file store"
    ), result.stderr
    assert "give tracking.mlflow.uri a database instead" in warnings[0]


def test_export_to_mlflow_without_mlflow_names_the_install_that_works(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_dir = _finished_run(tmp_path)
    monkeypatch.setitem(sys.modules, "mlflow", None)  # MLflow not installed
    code, line = _export(run_dir, "sqlite:///mlflow.db")
    assert code == 2 and line == (
        "Error: --to mlflow needs MLflow; install the mlflow extra from a clone of gepa: pip install -e '.[mlflow]'"
    ), line
