"""Model and data text never reaches the terminal raw: escape sequences, NUL and bidirectional overrides are shown
escaped on every path that prints it (a run's summary and diagnosis, runs show, prompts show, errors)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from gepa.cli import main
from tests.fakes import ESCAPES, write_task

RAW = ("\x1b", "\x07", "\x00", "\u202e")


def shown_safely(*args: str) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, repr(result.output)
    assert not any(c in result.output for c in RAW), repr(result.output)
    return result.output


def test_escapes_in_a_proposed_prompt_are_shown_escaped_everywhere(tmp_path: Path) -> None:
    task = write_task(tmp_path / "toy", budget=40, reflection_model="fake/tests.fakes:escaping_reflector")
    out = shown_safely("optimize", str(task), "--runs-dir", str(tmp_path / "runs"))
    assert "\\x1b]0;pwned\\x07\\x00\\u202e" in out.split("best prompt:")[1]  # neutralised but still visible
    run_dir = next((tmp_path / "runs").iterdir())
    assert "\\x1b]0;pwned" in shown_safely("runs", "show", str(run_dir))
    shown_safely("export", str(run_dir), "--name", "toy")
    assert "\\u202e" in shown_safely("prompts", "show", "toy@latest")


def test_escapes_in_a_provider_error_are_shown_escaped_in_the_diagnosis(tmp_path: Path) -> None:
    task = write_task(tmp_path / "toy", budget=40, reflection_model="fake/tests.fakes:escaping_failing_reflector")
    out = shown_safely("optimize", str(task), "--runs-dir", str(tmp_path / "runs"))
    assert "proposals failed" in out and "(HTTP 400): \\x1b]0;pwned" in out


def test_escapes_in_data_are_shown_escaped(tmp_path: Path) -> None:
    task = write_task(tmp_path / "toy")
    train = tmp_path / "toy" / "data" / "train.jsonl"
    train.write_text(
        json.dumps({"text": f"[a] review {ESCAPES} is positive", "label": "positive"}) + "\n" + train.read_text()
    )
    assert "review \\x1b]0;pwned" in shown_safely("optimize", str(task), "--dry-run")
