"""Faults found by hostile use, one test each, through the CLI where a user meets them: the exit code, the
message, and that nothing was lost or written where it should not be."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from gepa.cli import main
from tests.fakes import write_task


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*")}


def finished_run(tmp_path: Path, budget: int = 30) -> Path:
    task = write_task(tmp_path / "toy", budget=budget)
    code, out = invoke("optimize", str(task), "--runs-dir", str(tmp_path / "runs"), "--quiet")
    assert code == 0, out
    return next((tmp_path / "runs").iterdir())


# -- 0: the registry never writes outside prompts/ ----------------------------------------------------
@pytest.mark.parametrize("args", [
    ["export", "{run}", "--name", "x@/../../../escape", "--prompts-dir", "{prompts}"],
    ["export", "{run}", "--name", "../../escape", "--prompts-dir", "{prompts}"],
    ["export", "{run}", "--name", "toy", "--alias", "../../escape", "--prompts-dir", "{prompts}"],
    ["export", "{run}", "--name", "n" * 300, "--prompts-dir", "{prompts}"],
    ["prompts", "--prompts-dir", "{prompts}", "promote", "../../escape", "1", "--alias", "pwned"],
    ["prompts", "--prompts-dir", "{prompts}", "promote", "../../newdir", "1", "--alias", "x"],
    ["prompts", "--prompts-dir", "{prompts}", "promote", "toy", "1", "--alias", "../../../pwned"],
    ["prompts", "--prompts-dir", "{prompts}", "show", "toy@../../x"],
])
def test_no_name_alias_or_version_reaches_outside_the_registry(tmp_path: Path, args: list[str]) -> None:
    run = finished_run(tmp_path)
    prompts = tmp_path / "area" / "prompts"
    assert invoke("export", str(run), "--name", "toy", "--prompts-dir", str(prompts))[0] == 0
    before = files_under(tmp_path)
    code, out = invoke(*(a.format(run=run, prompts=prompts) for a in args))
    assert code == 2, out
    assert "invalid" in out and "Traceback" not in out
    assert files_under(tmp_path) == before  # nothing written anywhere, a lock file included


# -- 6 and 9: data files are read by the csv and json modules, and silently wrong data is a named error ----
def task_on(tmp_path: Path, name: str, data: bytes, evaluator: str = "{type: exact, expected: label}") -> Path:
    folder = tmp_path / "t"
    folder.mkdir(exist_ok=True)
    (folder / name).write_bytes(data)
    (folder / "val.jsonl").write_text('{"text": "a", "label": "x"}\n{"text": "b", "label": "y"}\n')
    task = folder / "task.yaml"
    task.write_text(f"name: t\nprompt: {{user: '{{{{text}}}}'}}\ndata: {{train: {name}, val: val.jsonl}}\n"
                    f"model: fake/echo\nevaluator: {evaluator}\n")
    return task


@pytest.mark.parametrize(("name", "data", "message"), [
    ("train.csv", b"text,label\nok,x\n\xff\xfe broken,y\n", "train.csv:3: not UTF-8 text (byte 0xff)"),
    ("train.jsonl", b'{"text": "a", "label": "x"}\n{"text": "\xe9t\xe9", "label": "y"}\n', "train.jsonl:2: not UTF-8"),
    ("train.csv", b"text,label\nfine,x\nshort\n", "train.csv:3: this row has no value for 'label'"),
    ("train.csv", b"text,label\nfine,x,extra\n", "train.csv:2: this row has more cells than the header"),
    ("train.jsonl", b'{"id": 1, "text": "a", "label": "x"}\n{"id": 1, "text": "b", "label": "y"}\n',
     "two train examples share the id 1"),
    ("train.jsonl", b'{"text": "a", "label": "x"}\n[1, 2]\n', "train.jsonl:2: each line must be a JSON object"),
])
def test_bad_data_is_a_named_error_at_validate(tmp_path: Path, name: str, data: bytes, message: str) -> None:
    code, out = invoke("validate", str(task_on(tmp_path, name, data)))
    assert code == 2 and message in out and "Traceback" not in out, out


def test_bom_quoted_newlines_and_line_separators_survive(tmp_path: Path) -> None:
    from gepa.data import read_rows

    csv_file = tmp_path / "rows.csv"
    csv_file.write_bytes('\ufefftext,label\n"two\nlines",x\n'.encode())
    assert read_rows(csv_file) == [{"text": "two\nlines", "label": "x"}]
    jsonl = tmp_path / "rows.jsonl"
    jsonl.write_text('{"text": "a\u2028b", "label": "x"}\n', encoding="utf-8")
    assert read_rows(jsonl) == [{"text": "a\u2028b", "label": "x"}]


def test_an_invalid_evaluator_schema_is_caught_at_validate(tmp_path: Path) -> None:
    task = task_on(tmp_path, "train.jsonl", b'{"text": "a", "label": "x"}\n',
                   evaluator="{type: json, schema: {type: objekt}}")
    code, out = invoke("validate", str(task))
    assert code == 2 and "not a valid JSON Schema" in out and "task.yaml" in out, out


def test_events_with_line_separators_are_read_back(tmp_path: Path) -> None:
    from gepa.runs import RunDir

    run_dir = RunDir.create(tmp_path, "t")
    run_dir.append_event({"kind": "budget", "note": "a\u2028b"})
    run_dir.append_event({"kind": "budget", "note": "c"})
    assert [e["note"] for e in run_dir.events()] == ["a\u2028b", "c"]


# -- 5: a score that is not a number in [0, 1] is an evaluator error, never a silent 0 or 1 ------------
@pytest.mark.parametrize("returned", ['"good"', 'float("nan")', "1.5", "None"])
def test_an_evaluator_that_never_returns_a_score_stops_the_run(tmp_path: Path, returned: str) -> None:
    task = write_task(tmp_path / "toy", budget=40)
    (tmp_path / "toy" / "score.py").write_text(f"def score(fields, output):\n    return {returned}\n")
    task.write_text(task.read_text().replace("evaluator:\n  type: exact\n  expected: label",
                                             "evaluator:\n  type: python\n  function: score.py:score"))
    code, out = invoke("optimize", str(task), "--runs-dir", str(tmp_path / "runs"))
    assert code == 2, out
    assert "the evaluator failed on every validation example of the seed" in out
    assert "evaluator python:gepa_user_score.score failed on example val/0" in out
    assert "a score must be a number in [0, 1]" in out and "Traceback" not in out


def test_a_bad_score_on_some_examples_is_an_error_on_those_only(tmp_path: Path) -> None:
    task = write_task(tmp_path / "toy", budget=40)
    (tmp_path / "toy" / "score.py").write_text(
        "def score(fields, output):\n    if '101' in fields['text']:\n        return 1.5\n"
        "    return float(output == fields['label'])\n")
    task.write_text(task.read_text().replace("evaluator:\n  type: exact\n  expected: label",
                                             "evaluator:\n  type: python\n  function: score.py:score"))
    code, out = invoke("optimize", str(task), "--runs-dir", str(tmp_path / "runs"), "--quiet")
    assert code == 0, out
    import json

    state = json.loads(next((tmp_path / "runs").iterdir()).joinpath("state.json").read_text())
    seed_rollouts = next(iter(state["rollouts"].values()))
    bad = seed_rollouts["val/1"]
    assert bad["score"] == 0.0 and bad["error_source"] == "evaluator" and "returned the score 1.5" in bad["error"]
