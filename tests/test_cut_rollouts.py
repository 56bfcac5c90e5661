"""A run whose rollouts log lost its last line (or holds a damaged one) is still shown, exported and resumed:
what can be read is kept, and the commands say which rollout was dropped."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from gepa.cli import main
from tests.fakes import write_task


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def finished_run(tmp_path: Path) -> tuple[Path, Path]:
    task = write_task(tmp_path / "toy", budget=40)
    code, out = invoke("optimize", str(task), "--runs-dir", str(tmp_path / "runs"), "--quiet")
    assert code == 0, out
    return task, next((tmp_path / "runs").iterdir())


def cut_last_line(run: Path) -> dict[str, str]:
    """Cut the log's last line in the middle, as a crash while writing it does; the record it held."""
    log = run / "rollouts.jsonl"
    lines = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(b"".join(lines[:-1]) + lines[-1][:60])
    record: dict[str, str] = json.loads(lines[-1])
    return record


def test_a_cut_last_line_is_dropped_and_named_while_show_list_and_export_work(tmp_path: Path) -> None:
    _, run = finished_run(tmp_path)
    counted = json.loads((run / "state.json").read_text())["rollouts_logged"]
    lost = cut_last_line(run)
    dropped = f"dropped the rollout of candidate {lost['candidate']} on {lost['example_id']}"
    code, out = invoke("runs", "show", str(run))
    assert code == 0 and "finished" in out, out
    assert f"rollouts.jsonl: {counted - 1} of {counted} rollouts read" in out and dropped in out
    code, out = invoke("runs", "list", "--runs-dir", str(tmp_path / "runs"))
    assert code == 0 and "broken" not in out and "finished" in out, out
    code, out = invoke("export", str(run), "--name", "toy", "--prompts-dir", str(tmp_path / "prompts"))
    assert code == 0 and dropped in out and "Traceback" not in out, out
    assert (tmp_path / "prompts" / "toy" / "v0001" / "meta.json").is_file()


def test_a_damaged_line_in_the_middle_drops_that_rollout_only_and_resume_repairs_the_log(tmp_path: Path) -> None:
    task, run = finished_run(tmp_path)
    log = run / "rollouts.jsonl"
    lines = log.read_bytes().splitlines(keepends=True)
    lost = json.loads(lines[3])
    lines[3] = (
        b'{"candidate": "'
        + lost["candidate"].encode()
        + b'", "example_id": "'
        + lost["example_id"].encode()
        + b'", "output": \x00garbage\n'
    )
    log.write_bytes(b"".join(lines))
    code, out = invoke("runs", "show", str(run))
    assert code == 0, out
    assert f"dropped the rollout of candidate {lost['candidate']} on {lost['example_id']} (line 4" in out
    code, out = invoke("optimize", str(task), "--resume", str(run), "--budget", "60", "--quiet")
    assert code == 0, out
    state = json.loads((run / "state.json").read_text())
    records = [json.loads(line) for line in log.read_text().splitlines()]  # every line readable again
    assert len(records) == state["rollouts_logged"]
    code, out = invoke("runs", "show", str(run))
    assert code == 0 and "dropped" not in out, out
