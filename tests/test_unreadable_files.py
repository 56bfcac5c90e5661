"""A file a task points at that cannot be read as text (not UTF-8, or JSON nested past the parser's recursion) is a
one-line error naming the file and line, at validate and optimize, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from gepa.cli import main
from gepa.registry import PromptRegistry
from tests.fakes import write_task
from tests.refusals import refused

LATIN1 = "Classify the review.\nR\u00e9ponds en un mot.\n".encode("latin-1")  # the é is byte 0xe9 on line 2


def test_a_prompt_file_that_is_not_utf8_names_its_line_and_byte(tmp_path: Path) -> None:
    task = write_task(tmp_path / "toy")
    (tmp_path / "toy" / "system.txt").write_bytes(LATIN1)
    task.write_text(task.read_text().replace('system: "You classify reviews."', "system: {file: system.txt}"))
    refused(task, tmp_path, f"{tmp_path / 'toy' / 'system.txt'}:2: not UTF-8 text (byte 0xe9)")


def test_a_reflection_template_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    task = write_task(tmp_path / "toy", extra="reflection_template: reflect.md\n")
    (tmp_path / "toy" / "reflect.md").write_bytes(LATIN1)
    refused(task, tmp_path, f"{tmp_path / 'toy' / 'reflect.md'}:2: not UTF-8 text (byte 0xe9)")


def test_a_registry_component_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    root = tmp_path / "prompts"  # GEPA_PROMPTS_DIR
    PromptRegistry(root).publish("p", {"system": "Be brief."}, {}, alias="production")
    component = root / "p" / "v0001" / "system.txt"
    component.write_bytes(LATIN1)
    shown = CliRunner().invoke(main, ["prompts", "show", "p@production"])
    assert shown.exit_code == 2 and f"{component}: not UTF-8 text (byte 0xe9" in shown.output, shown.output
    task = write_task(tmp_path / "toy")
    task.write_text(
        task.read_text().replace('  system: "You classify reviews."\n', "  system: {registry: p@production}\n")
    )
    refused(task, tmp_path, f"{component}: not UTF-8 text (byte 0xe9")


DEEP_LIST, DEEP_OBJECT = "[" * 100_000 + "]" * 100_000, '{"a": ' * 100_000 + "1" + "}" * 100_000


@pytest.mark.parametrize(
    ("name", "rows", "where"),
    [
        ("train.jsonl", '{"text": "a", "label": "x"}\n{"text": ' + DEEP_LIST + ', "label": "y"}\n', ":2"),
        ("train.json", '[{"text": "a", "label": "x"},\n {"text": ' + DEEP_OBJECT + "}]", ""),
    ],
)
def test_a_data_row_nested_too_deeply_names_the_file_and_line(tmp_path: Path, name: str, rows: str, where: str) -> None:
    task = write_task(tmp_path / "toy")
    data = tmp_path / "toy" / "data"
    (data / name).write_text(rows)
    task.write_text(task.read_text().replace("train: data/train.jsonl", f"train: data/{name}"))
    refused(task, tmp_path, f"{data / name}{where}: this row is nested too deeply")
