"""`kill -9` during `gepa export` must not block the prompt name: a version appears whole or not at all, and a
half-written folder left by an older gepa does not stop the next export."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from gepa.cli import main
from tests.fakes import write_task

ROOT = Path(__file__).resolve().parent.parent

# `gepa export` in a process that kills itself with SIGKILL the moment it writes a version's meta.json: after
# the component files, before the version is complete, the worst instant for a crash.
KILLED_EXPORT = """
import os, signal, sys
import gepa.registry.store
real = gepa.registry.store.write_json
def dying(path, data, **kw):
    if path.name == "meta.json":
        os.kill(os.getpid(), signal.SIGKILL)
    return real(path, data, **kw)
gepa.registry.store.write_json = dying
from gepa.cli import main
main(["export", sys.argv[1], "--name", "toy", "--prompts-dir", sys.argv[2]])
"""


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def finished_run(tmp_path: Path) -> Path:
    task = write_task(tmp_path / "toy", budget=30)
    code, out = invoke("optimize", str(task), "--runs-dir", str(tmp_path / "runs"), "--quiet")
    assert code == 0, out
    return next((tmp_path / "runs").iterdir())


def test_an_export_killed_midway_leaves_no_version_and_the_next_one_succeeds(tmp_path: Path) -> None:
    run, prompts = finished_run(tmp_path), tmp_path / "prompts"
    killed = subprocess.run([sys.executable, "-c", KILLED_EXPORT, str(run), str(prompts)], cwd=ROOT, timeout=120)
    assert killed.returncode == -9
    assert not (prompts / "toy" / "v0001").exists()  # the half-written version never took the name
    code, out = invoke("export", str(run), "--name", "toy", "--prompts-dir", str(prompts))
    assert code == 0 and "v1" in out, out
    code, out = invoke("prompts", "--prompts-dir", str(prompts), "show", "toy")
    assert code == 0 and "Traceback" not in out, out
    assert sorted(p.name for p in (prompts / "toy").iterdir()) == [".lock", "aliases.json", "v0001"]


def test_a_half_written_version_from_an_older_gepa_does_not_block_the_name(tmp_path: Path) -> None:
    run, prompts = finished_run(tmp_path), tmp_path / "prompts"
    leftover = prompts / "toy" / "v0001"
    leftover.mkdir(parents=True)
    (leftover / "system.txt").write_text("half")  # no meta.json: the export was killed before it
    for _ in range(2):  # the second export finds the first's version, not the leftover
        code, out = invoke("export", str(run), "--name", "toy", "--prompts-dir", str(prompts))
        assert code == 0, out
        assert "v2" in out, out
    code, out = invoke("prompts", "--prompts-dir", str(prompts), "show", "toy")
    assert code == 0 and "Traceback" not in out, out
    assert (leftover / "system.txt").read_text() == "half"  # left for its owner to look at, never overwritten
