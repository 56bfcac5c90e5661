"""Each evaluator type owns its keys: a key it does not take is refused naming the type and the key, whether it
is a typo or a key of another type; ``tolerance: 0`` asks for the exact number and no tolerance the default."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from gepa.cli import main
from gepa.errors import EvaluatorError
from gepa.evaluators import build_evaluator
from gepa.taskfile.spec import task_json_schema
from tests.fakes import write_task
from tests.refusals import refused

EXACT = "evaluator:\n  type: exact\n  expected: label\n"


def with_evaluator(tmp_path: Path, evaluator: str) -> Path:
    task = write_task(tmp_path / "toy")
    text = task.read_text()
    assert EXACT in text
    task.write_text(text.replace(EXACT, evaluator))
    return task


def line_of(task: Path, text: str) -> int:
    return next(i for i, line in enumerate(task.read_text().splitlines(), 1) if text in line)


def test_an_unknown_evaluator_key_is_refused_naming_the_type_and_the_key(tmp_path: Path) -> None:
    task = with_evaluator(tmp_path, EXACT + "  expectd: text\n")
    refused(
        task,
        tmp_path,
        f"{task}:{line_of(task, 'expectd')}: evaluator (type 'exact'): unknown key 'expectd'; "
        "valid keys: expected, name, normalize, type, weight",
    )


@pytest.mark.parametrize(
    ("evaluator", "key", "problem"),
    [
        (
            EXACT + "  pattern: y\n",
            "pattern",
            "evaluator (type 'exact'): 'pattern' is a key of type 'regex', not of 'exact'",
        ),
        (EXACT + "  tolerance: 0.5\n", "tolerance", "'tolerance' is a key of type 'numeric', not of 'exact'"),
        (EXACT + "  rubric: x\n", "rubric", "'rubric' is a key of type 'judge', not of 'exact'"),
        (
            "evaluator: {type: regex, pattern: '^y', normalize: [lower]}\n",
            "normalize",
            "evaluator (type 'regex'): 'normalize' is a key of types 'exact', 'contains' and 'json', not of 'regex'; "
            "valid keys: name, pattern, type, weight",
        ),
        (
            "evaluator:\n  - {type: exact, expected: label}\n  - type: numeric\n    expected: label\n    schema: {}\n",
            "schema",
            "evaluator.1 (type 'numeric'): 'schema' is a key of type 'json', not of 'numeric'",
        ),
    ],
)
def test_a_key_of_another_evaluator_type_is_refused_naming_both_types(
    tmp_path: Path, evaluator: str, key: str, problem: str
) -> None:
    task = with_evaluator(tmp_path, evaluator)
    refused(task, tmp_path, f"{task}:{line_of(task, key + ':')}: ", problem)


def test_the_issue_s_evaluator_with_three_foreign_keys_is_refused(tmp_path: Path) -> None:
    """It validated before, and its rubric, tolerance and pattern were dropped in silence."""
    evaluator = "evaluator: {type: exact, expected: label, rubric: x, tolerance: 0.5, pattern: y}\n"
    task = with_evaluator(tmp_path, evaluator)
    refused(task, tmp_path, f"{task}:", "evaluator (type 'exact'): 'rubric' is a key of type 'judge'")


def test_a_missing_key_and_an_unknown_type_name_the_evaluator(tmp_path: Path) -> None:
    task = with_evaluator(tmp_path, "evaluator: {type: regex}\n")
    refused(task, tmp_path, "evaluator (type 'regex'): missing required key 'pattern'")
    task = with_evaluator(tmp_path, "evaluator: [{type: exact, expected: label}, {type: numerik, expected: label}]\n")
    refused(
        task,
        tmp_path,
        "evaluator.1.type: unknown evaluator type 'numerik'; valid types: exact, contains, "
        "regex, json, numeric, python, judge",
    )


def test_a_missing_key_is_worded_alike_in_a_task_file_an_evaluator_entry_and_a_python_dict(tmp_path: Path) -> None:
    task = with_evaluator(tmp_path, "evaluator: {type: exact}\n")
    refused(
        task,
        tmp_path,
        f"{task}:{line_of(task, 'type: exact')}: evaluator (type 'exact'): missing required key 'expected'",
    )
    task.write_text(task.read_text().replace("evaluator: {type: exact}", EXACT.rstrip()).replace("name: toy\n", ""))
    refused(task, tmp_path, f"{task}:1: missing required key 'name'")
    with pytest.raises(EvaluatorError, match=r"^evaluator\.0: missing required key 'type'; valid types: exact,"):
        build_evaluator([{"expected": "label"}], base_dir=tmp_path)


def test_the_json_schema_refuses_a_key_of_another_type_too(tmp_path: Path) -> None:
    """An editor using `gepa schema` flags the misplaced key as the loader does."""
    schema = task_json_schema()
    good = yaml.safe_load(write_task(tmp_path / "toy").read_text())
    jsonschema.validate(good, schema)
    good["evaluator"]["pattern"] = "y"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(good, schema)


def test_a_dict_given_from_python_is_checked_as_a_task_file_entry(tmp_path: Path) -> None:
    with pytest.raises(EvaluatorError, match="evaluator \\(type 'exact'\\): 'pattern' is a key of type 'regex'"):
        build_evaluator({"type": "exact", "expected": "label", "pattern": "x"}, base_dir=tmp_path)
    with pytest.raises(EvaluatorError, match=r"evaluator\.1 \(type 'contains'\): unknown key 'tolerence'"):
        build_evaluator(
            [{"type": "exact", "expected": "label"}, {"type": "contains", "expected": "label", "tolerence": 1}],
            base_dir=tmp_path,
        )
    loose = build_evaluator({"type": "exact", "expected": "label", "normalize": ("lower",)}, base_dir=tmp_path)
    assert loose.normalize == ("lower",)  # type: ignore[attr-defined]


NUMBERS = ["8", "8.0000001", "8.0000009", "8.1"]  # the expected answer is 8 for each


def scores(tmp_path: Path, evaluator: str) -> list[float]:
    """The per-example scores ``gepa eval`` gives outputs ``NUMBERS`` (fake/echo repeats the example's text)."""
    folder = tmp_path / "numbers"
    (folder / "data").mkdir(parents=True)
    rows = "".join(json.dumps({"text": text, "answer": "8"}) + "\n" for text in NUMBERS)
    for split in ("train", "val", "test"):
        (folder / "data" / f"{split}.jsonl").write_text(rows)
    (folder / "task.yaml").write_text(
        "name: numbers\nprompt:\n  user: '{{text}}'\n"
        "data: {train: data/train.jsonl, val: data/val.jsonl, test: data/test.jsonl}\n"
        f"model: fake/echo\nevaluator: {evaluator}\n"
    )
    out = tmp_path / "scores.jsonl"
    result = CliRunner().invoke(main, ["eval", str(folder / "task.yaml"), "--no-cache", "-o", str(out)])
    assert result.exit_code == 0, result.output
    by_output = {row["output"]: row["score"] for row in map(json.loads, out.read_text().splitlines())}
    return [by_output[text] for text in NUMBERS]


def test_tolerance_0_accepts_only_the_exact_number(tmp_path: Path) -> None:
    assert scores(tmp_path, "{type: numeric, expected: answer, tolerance: 0}") == [1.0, 0.0, 0.0, 0.0]


def test_without_a_tolerance_the_default_one_applies(tmp_path: Path) -> None:
    assert scores(tmp_path, "{type: numeric, expected: answer}") == [1.0, 1.0, 1.0, 0.0]


def test_a_tolerance_given_is_the_largest_difference_accepted(tmp_path: Path) -> None:
    assert scores(tmp_path, "{type: numeric, expected: answer, tolerance: 0.1}") == [1.0, 1.0, 1.0, 1.0]


FLAT = {
    "type": "exact",
    "name": None,
    "expected": "label",
    "normalize": None,
    "pattern": None,
    "tolerance": None,
    "schema": None,
    "fields": None,
    "function": None,
    "rubric": None,
    "model": None,
    "input_fields": None,
    "weight": 1.0,
}  # how a run recorded its evaluator before each type owned its keys


@pytest.mark.parametrize(("recorded", "resumes"), [(FLAT, True), ({**FLAT, "expected": "text"}, False)])
def test_a_run_recorded_with_every_type_s_keys_resumes_while_its_evaluator_is_the_same(
    tmp_path: Path, recorded: dict[str, object], resumes: bool
) -> None:
    task = write_task(tmp_path / "toy", budget=30)
    runs = tmp_path / "runs"
    assert CliRunner().invoke(main, ["optimize", str(task), "--runs-dir", str(runs), "-q"]).exit_code == 0
    run_dir = next(runs.iterdir())
    config = json.loads((run_dir / "config.json").read_text())
    config["task"]["evaluator"] = recorded
    (run_dir / "config.json").write_text(json.dumps(config))
    result = CliRunner().invoke(main, ["optimize", str(task), "--resume", str(run_dir), "--budget", "60", "-q"])
    assert (result.exit_code == 0) is resumes, result.output
    assert ("the task file changed since this run started" in result.output) is not resumes


def test_a_recorded_tolerance_0_of_the_old_form_reads_as_the_default_it_was_scored_with() -> None:
    """Before, ``tolerance: 0`` scored with 1e-6: a run recorded so must not resume under exact equality."""
    from gepa.evaluators.spec import as_recorded_today

    old = {**FLAT, "type": "numeric", "expected": "answer", "tolerance": 0}
    today = {"type": "numeric", "name": None, "weight": 1.0, "expected": "answer", "tolerance": 0}
    assert as_recorded_today(old)["tolerance"] == 1e-6
    assert as_recorded_today(today) == today
    assert as_recorded_today([FLAT]) == [
        {"type": "exact", "name": None, "weight": 1.0, "expected": "label", "normalize": ["strip"]}
    ]
