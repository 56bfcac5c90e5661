"""Run and registry files get the mode the umask gives any new file (0644 under the usual 022), so a shared
prompts/ or runs/ folder is readable by teammates; a private umask (077) keeps them private."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from gepa.cli import main
from tests.fakes import write_task


@pytest.fixture
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    previous = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(previous)


def modes(root: Path) -> dict[str, int]:
    return {
        str(p.relative_to(root)): stat.S_IMODE(p.stat().st_mode)
        for p in root.rglob("*")
        if p.is_file() and p.name != ".lock"
    }


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002], indirect=True)
def test_run_and_registry_files_follow_the_umask(tmp_path: Path, umask: int) -> None:
    task = write_task(tmp_path / "toy", budget=30)
    runs, prompts = tmp_path / "runs", tmp_path / "prompts"
    assert CliRunner().invoke(main, ["optimize", str(task), "--runs-dir", str(runs), "-q"]).exit_code == 0
    run_dir = next(runs.iterdir())
    result = CliRunner().invoke(
        main, ["export", str(run_dir), "--name", "toy", "--alias", "production", "--prompts-dir", str(prompts)]
    )
    assert result.exit_code == 0, result.output
    found = {**modes(run_dir), **{f"prompts/{k}": v for k, v in modes(prompts).items()}}
    assert {
        "config.json",
        "state.json",
        "summary.json",
        "report.html",
        "prompts/toy/v0001/meta.json",
        "prompts/toy/aliases.json",
    } <= set(found)
    assert set(found.values()) == {0o666 & ~umask}, found
