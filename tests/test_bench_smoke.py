"""Every benchmark the docs list as a command runs: each script's ``--smoke`` mode (tiny sizes, scripted models,
nothing downloaded) as a subprocess, as a reader would start it, so a bench that no longer fits the code fails here."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

SMOKES = {
    "engine_overhead.py": ["ms per iteration", "selection step", "validation subset"],
    "checkpoint_size.py": ["iteration 10:", "iteration 12:"],
    "model_layer.py": [
        "cache hit:",
        "cached rerun: 0 model calls",
        "concurrency via openai SDK, N=4",
        "async via litellm, N=4",
    ],
    "ray_executor.py": ["state.json candidates identical: True; validation scores identical: True"],
    "compare_reference.py": ["polarity          gepa-evolve", "results written to"],
}


@pytest.mark.parametrize("script", sorted(SMOKES))
def test_a_benchmark_runs_in_its_smoke_mode(script: str, tmp_path: Path) -> None:
    if script == "ray_executor.py":
        pytest.importorskip("ray")
    env = {
        **os.environ,
        "GEPA_CACHE_DIR": str(tmp_path / "cache"),
        "GEPA_ALLOW_MODEL_CALLS": "1",
    }  # the smoke modes call scripted models and servers on 127.0.0.1 only
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), "--smoke"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    for line in SMOKES[script]:
        assert line in done.stdout, done.stdout


def test_every_benchmark_the_docs_list_as_a_command_has_a_smoke_test() -> None:
    """The commands are the shell blocks of docs/benchmarks.md (and of the README, should it list one again)."""
    blocks = [
        block
        for doc in ("README.md", "docs/benchmarks.md")
        for block in re.findall(r"```bash\n(.*?)```", (ROOT / doc).read_text(), re.DOTALL)
    ]
    named = {p.name for p in (ROOT / "bench").glob("*.py") if any(f"bench/{p.name}" in b for b in blocks)}
    assert named, "docs/benchmarks.md lists no benchmark command"
    assert named - {"reference_runner.py"} <= set(SMOKES)  # that one runs inside the reference's own venv


def test_the_capable_table_pairs_rows_from_separate_files_and_a_later_file_wins(tmp_path: Path) -> None:
    """Ours from one file, the reference from another, and an older row of ours replaced by a newer file's."""

    def row(system: str, scores: list[float], answers: dict[str, int]) -> dict[str, object]:
        return {
            "task": "t",
            "system": system,
            "seed": 0,
            "seed_test": 0.25,
            "best_test": sum(scores) / len(scores),
            "best_test_scores": scores,
            "wall_s": 10.0,
            "answers": {"best": {"test": answers}},
        }

    files = {
        "old.json": [row("gepa-evolve", [0.0, 0.0, 0.0, 0.0], {"x": 4})],
        "ref.json": [row("reference gepa 0.1.4", [0.0, 1.0, 0.0, 0.0], {"y": 3, "x": 1})],
        "new.json": [row("gepa-evolve", [1.0, 1.0, 1.0, 0.0], {"x": 2, "y": 2})],
    }
    for name, rows in files.items():
        (tmp_path / name).write_text(json.dumps({"rows": rows}))
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "capable_table.py"), *(str(tmp_path / n) for n in files)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "0.250  0.750  0.250  +0.500" in done.stdout  # new.json's ours against ref.json's reference
    assert "2 better, 0 worse" in done.stdout
    assert "ref  best answers: 'y' 3, 'x' 1" in done.stdout
