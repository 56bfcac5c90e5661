"""Gates on the whole tree: ruff format, ruff (pyflakes, pycodestyle with 120 columns, import order, bugbear,
pyupgrade), mypy --strict on gepa/ and tests/, import-linter's layer and acyclic-siblings contracts, and no
module importing another module's private helpers or forming an import cycle; every benchmark script still
imports what it uses."""

from __future__ import annotations

import re
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_tool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ruff_passes() -> None:
    pytest.importorskip("ruff")
    result = run_tool("ruff", "check", "--output-format", "concise", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_tree_is_formatted() -> None:
    pytest.importorskip("ruff")
    result = run_tool("ruff", "format", "--check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_passes_on_the_package_and_the_tests() -> None:
    pytest.importorskip("mypy")
    result = run_tool("mypy")
    assert result.returncode == 0, result.stdout + result.stderr


def test_import_contracts_are_kept() -> None:
    pytest.importorskip("importlinter")
    result = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports"))], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_no_import_cycle_and_no_private_helper_crosses_a_module() -> None:
    grimp = pytest.importorskip("grimp")
    graph = grimp.build_graph("gepa", include_external_packages=False)
    imports = {m: set(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    for module, imported in imports.items():
        for other in imported:
            assert not graph.chain_exists(importer=other, imported=module), f"cycle: {module} <-> {other}"
            for detail in graph.get_import_details(importer=module, imported=other):
                names = re.sub(r"^from \S+ import ", "", detail["line_contents"])
                private = [n for n in re.split(r"[\s,()]+", names) if n.startswith("_") and not n.startswith("__")]
                assert not private, f"{module} imports {other}'s private {private}: {detail['line_contents']}"


@pytest.mark.parametrize(
    "script", sorted(p.name for p in (ROOT / "bench").glob("*.py") if p.name != "reference_runner.py")
)  # that one runs in the reference's venv
def test_every_benchmark_script_imports_what_it_uses(script: str) -> None:
    runpy.run_path(str(ROOT / "bench" / script), run_name="imported_by_tests")
