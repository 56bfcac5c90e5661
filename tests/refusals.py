"""The check every refused-task test makes: ``gepa validate`` and ``gepa optimize`` both exit 2 with the expected
words and no traceback, and no run directory appears (the refusal came before any model call)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from gepa.cli import main


def refused(task: Path, tmp_path: Path, *expected: str) -> str:
    """Run validate and optimize on ``task``; both must refuse it naming each of ``expected``. Returns the message."""
    runs = tmp_path / "runs"
    out = ""
    for command in (["validate", str(task)], ["optimize", str(task), "--runs-dir", str(runs)]):
        result = CliRunner().invoke(main, command)
        out = result.output
        assert result.exit_code == 2, out
        assert "Traceback" not in out, out
        for text in expected:
            assert text in out, out
    assert not runs.exists()
    return out
