"""YAML that a task file never needs and that hurts when it is there is refused at load time, naming the file and
line: aliases (a few hundred bytes of nested anchors expand to gigabytes) and YAML nested too deep to read."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from gepa.cli import main
from gepa.taskfile.spec import load_task
from tests.fakes import write_task
from tests.refusals import refused


def alias_bomb(levels: int) -> str:
    """The billion-laughs shape under model_params: each level repeats the one before nine times."""
    lines = ["model_params:", "  l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, levels):
        lines.append(f"  l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_is_refused_at_validate_with_its_line(tmp_path: Path) -> None:
    task = write_task(tmp_path / "toy", extra=alias_bomb(5))  # the 761-byte original had 9 levels; 5 is harmless
    bomb_line = next(i for i, line in enumerate(task.read_text().splitlines(), 1) if "*l0" in line)
    refused(task, tmp_path, f"{task}:{bomb_line}:", "YAML aliases (*l0) are not allowed in a task file")


def test_even_a_harmless_alias_is_refused_with_the_way_out(tmp_path: Path) -> None:
    task = write_task(tmp_path / "toy", extra="model_params: &p {temperature: 0}\nreflection_params: *p\n")
    refused(task, tmp_path, "YAML aliases (*p) are not allowed", "write the value out")


@pytest.mark.parametrize("text", ["x: " + "[" * 5000 + "]" * 5000 + "\n", "x: " + "{a: " * 5000 + "1" + "}" * 5000])
def test_yaml_nested_too_deep_is_a_message(tmp_path: Path, text: str) -> None:
    task = write_task(tmp_path / "toy", extra=text)
    refused(task, tmp_path, f"{task}", "nested too deeply")


def test_numbers_in_exponent_form_are_numbers(tmp_path: Path) -> None:
    """YAML 1.1 reads 1e-3 as a string; a task file means a number (and strict checking would refuse a string)."""
    task = write_task(tmp_path / "toy", extra="select: {weights: {score: 1, tokens: 1e-3}}\n")
    result = CliRunner().invoke(main, ["validate", str(task)])
    assert result.exit_code == 0, result.output
    select = load_task(task).spec.select
    assert select is not None and select.weights == {"score": 1, "tokens": 0.001}
