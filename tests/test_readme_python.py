"""The README's Python section is examples/optimize_from_python.py, and that script runs: it writes a run
directory, exports the best prompt and loads it back by name (on the embedded model, as a user would)."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "optimize_from_python.py"


def script_code() -> str:
    """The example without its docstring: the code the README must show."""
    source = EXAMPLE.read_text(encoding="utf-8")
    docstring = ast.get_docstring(ast.parse(source), clean=False)
    assert docstring is not None
    return source.split('"""', 2)[2].strip()


def test_the_readme_shows_the_example_script() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Python\n", 1)[1]
    block = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert block, "the README's Python section has no python block"
    assert block.group(1).strip() == script_code()


def test_the_example_script_runs_writes_its_run_and_exports_the_prompt(tmp_path: Path) -> None:
    pytest.importorskip("llama_cpp", reason="needs the local extra: pip install -e '.[local]'")
    (tmp_path / "tasks").symlink_to(ROOT / "tasks")
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "GEPA_CACHE_DIR": str(tmp_path / "cache"),
        "GEPA_PROMPTS_DIR": str(tmp_path / "prompts"),
    }
    done = subprocess.run(
        [sys.executable, str(EXAMPLE)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert re.search(r"validation \d\.\d{3} -> \d\.\d{3}; test \d\.\d{3} -> \d\.\d{3}", done.stdout), done.stdout
    assert (tmp_path / "runs" / "python-example" / "summary.json").is_file()
    assert (tmp_path / "prompts" / "polarity-python" / "v0001" / "meta.json").is_file()
    assert "v1: [{'role': 'system'" in done.stdout
