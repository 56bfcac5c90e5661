"""The CLI end to end on the scripted world, and every user mistake: one clear line, exit code 2, nothing written."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from gepa.cli import main
from tests.fakes import write_task


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_optimize_prints_scores_and_writes_the_run(tmp_path: Path) -> None:
    task = write_task(tmp_path / "toy", budget=80)
    runs = tmp_path / "runs"
    code, out = invoke("optimize", str(task), "--runs-dir", str(runs))
    assert code == 0, out
    assert "val score   seed 0.200  ->  best 0.800" in out
    assert "test score" in out and "best prompt:" in out
    run_dir = next(runs.iterdir())
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["best"]["val"] == pytest.approx(0.8)
    assert (run_dir / "best" / "user.txt").read_text().startswith("Review: {{text}}")
    assert (run_dir / "events.jsonl").read_text().count("\n") > 5


def test_a_run_that_improves_nothing_says_why_in_numbers(tmp_path: Path) -> None:
    task = write_task(tmp_path / "toy", budget=60, reflection_model="fake/tests.fakes:parrot_reflector")
    code, out = invoke("optimize", str(task), "--runs-dir", str(tmp_path / "runs"))
    assert code == 0, out
    assert "val score   seed 0.200  ->  best 0.200" in out
    summary = json.loads(next((tmp_path / "runs").iterdir()).joinpath("summary.json").read_text())
    asked = summary["counts"]["proposals_asked"]
    assert asked > 0 and summary["counts"]["proposal_unchanged"] == asked
    why = (
        f"{asked} of {asked} proposals unchanged: the reflection model repeats itself; "
        "try a stronger --reflection-model"
    )
    assert why in out and why in summary["diagnosis"][1]
    assert f"Reflection: {summary['counts']['reflection_calls']} calls made {asked} proposals; 0 were evaluated" in out
    page = Path(summary["report"]).read_text()
    assert "repeats itself" in page and "unchanged: the reflector returned the same text" in page


def test_a_remote_task_model_is_not_reflected_on_by_the_embedded_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    task = write_task(tmp_path / "toy", reflection_model="local/smollm2")
    code, out = invoke("optimize", str(task), "--dry-run", "--model", "openai/gpt-4o-mini")
    assert code == 0, out
    assert "task model openai/gpt-4o-mini; reflection model openai/gpt-4o-mini" in out
    code, out = invoke(
        "optimize", str(task), "--dry-run", "--model", "openai/gpt-4o-mini", "--reflection-model", "openai/gpt-4.1"
    )
    assert "reflection model openai/gpt-4.1" in out


def test_dry_run_renders_and_spends_nothing(tmp_path: Path) -> None:
    task = write_task(tmp_path / "toy")
    code, out = invoke("optimize", str(task), "--dry-run", "--runs-dir", str(tmp_path / "runs"))
    assert code == 0, out
    assert "[user] Review: [a] review 0 is positive" in out
    assert "at most 60 task-model calls" in out
    assert not (tmp_path / "runs").exists()


def test_budget_override(tmp_path: Path) -> None:
    task = write_task(tmp_path / "toy")
    code, out = invoke("optimize", str(task), "--budget", "20", "--runs-dir", str(tmp_path / "runs"), "--json")
    assert code == 0, out
    assert json.loads(out)["metric_calls"] <= 20


def _task_with(tmp_path: Path, text: str) -> Path:
    write_task(tmp_path / "toy")
    task = tmp_path / "toy" / "task.yaml"
    task.write_text(text)
    return task


BASE = """name: toy
prompt:
  system: "You classify reviews."
  user: "Review: {{text}}"
data: {train: data/train.jsonl, val: data/val.jsonl}
model: fake/tests.fakes:task_model
reflection_model: fake/tests.fakes:reflector
evaluator: {type: exact, expected: label}
"""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: toy\nprompt: a: b\n", "task.yaml:2:10: malformed YAML: mapping values are not allowed here"),
        (BASE + "budgett: {max_metric_calls: 3}\n", "task.yaml:9: unknown key 'budgett'; valid keys:"),
        (
            BASE + "budget: {max_calls: 3}\n",
            "unknown key 'max_calls' in budget; valid keys: max_cost_usd, max_iterations",
        ),
        (
            BASE.replace("type: exact", "type: exakt"),
            "valid types: exact, contains, regex, json, numeric, python, judge",
        ),
        (
            BASE.replace(
                "data: {train: data/train.jsonl, val: data/val.jsonl}",
                "data: {train: data/nope.jsonl, val: data/val.jsonl}",
            ),
            "nope.jsonl: data file not found",
        ),
        (
            BASE.replace("Review: {{text}}", "Review: {{review}}"),
            "placeholder {{review}} in prompt component 'user' has no matching field in the data (fields: label, text)",
        ),
        (BASE.replace("expected: label", "expected: answer"), "evaluator expects the field 'answer'"),
        (
            BASE.replace("model: fake/tests.fakes:task_model", "model: openai/gpt-4.1-mini"),
            "needs an API key: set the environment variable OPENAI_API_KEY",
        ),
        (BASE.replace("name: toy", "name: toy\noptimize: [sytem]"), "optimize names ['sytem']"),
        (
            BASE.replace("data: {train: data/train.jsonl, val: data/val.jsonl}", "data: {train: data/train.jsonl}"),
            "give 'train' and 'val' paths",
        ),
    ],
)
def test_user_mistakes_are_one_line_exit_2_and_write_nothing(tmp_path: Path, text: str, expected: str) -> None:
    task = _task_with(tmp_path, text)
    runs = tmp_path / "runs"
    result = CliRunner().invoke(main, ["optimize", str(task), "--runs-dir", str(runs)])
    assert result.exit_code == 2, result.output
    assert expected in result.output
    assert "Traceback" not in result.output
    assert not runs.exists()


def test_empty_split_is_its_own_error(tmp_path: Path) -> None:
    task = _task_with(tmp_path, BASE)
    (tmp_path / "toy" / "data" / "val.jsonl").write_text("")
    result = CliRunner().invoke(main, ["validate", str(task)])
    assert result.exit_code == 2 and "the val split is empty" in result.output


def test_bad_data_line_names_file_and_line(tmp_path: Path) -> None:
    task = _task_with(tmp_path, BASE)
    with open(tmp_path / "toy" / "data" / "train.jsonl", "a") as handle:
        handle.write("{not json\n")
    result = CliRunner().invoke(main, ["validate", str(task)])
    assert result.exit_code == 2
    assert "train.jsonl:11: invalid JSON" in result.output


def test_missing_task_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["validate", str(tmp_path / "missing.yaml")])
    assert result.exit_code == 2 and "missing.yaml: task file not found" in result.output


def listed_commands(help_text: str) -> dict[str, str]:
    """The Commands section of a --help page: each command's name and the start of its help line."""
    section = help_text.split("\nCommands:\n", 1)[1]
    rows = [re.match(r"  (\S+)\s+(\S.*)", line) for line in section.splitlines()]
    return {row.group(1): row.group(2) for row in rows if row}


@pytest.mark.parametrize(
    ("group", "commands"),
    [
        ((), {"optimize", "eval", "validate", "schema", "runs", "export", "prompts", "cache"}),
        (("runs",), {"list", "show", "report"}),
        (("prompts",), {"list", "show", "diff", "promote"}),
        (("cache",), {"stats", "clear"}),
    ],
)
def test_help_lists_and_explains_every_command(group: tuple[str, ...], commands: set[str]) -> None:
    """Read from the Commands section, a name with its help line, so a removed command fails here (the word
    appearing elsewhere in the help, as "runs" does in "runs offline", cannot pass for it)."""
    code, out = invoke(*group, "--help")
    listed = listed_commands(out)
    assert code == 0 and commands <= set(listed), sorted(commands - set(listed))


def test_optimize_help_names_its_main_options() -> None:
    code, out = invoke("optimize", "--help")
    assert code == 0 and "--dry-run" in out and "--resume" in out and "--budget" in out


def test_eval_scores_the_seed_a_run_and_a_registry_prompt(tmp_path: Path) -> None:
    task = write_task(tmp_path / "toy", budget=60)
    code, out = invoke("eval", str(task))
    assert code == 0 and "test score 0.200 on 5 examples" in out
    invoke("optimize", str(task), "--runs-dir", str(tmp_path / "runs"), "--quiet")
    run_dir = next((tmp_path / "runs").iterdir())
    code, out = invoke("eval", str(task), "--run", str(run_dir))
    assert code == 0 and "test score 0.800" in out
    invoke("export", str(run_dir), "--name", "toy", "--prompts-dir", str(tmp_path / "prompts"))
    code, out = invoke("eval", str(task), "--prompt", "toy@latest", "--split", "val")
    assert code == 0 and "val score 0.800 on 10 examples" in out


def test_a_component_can_come_from_a_file(tmp_path: Path) -> None:
    task = write_task(tmp_path / "toy")
    (tmp_path / "toy" / "system.txt").write_text("System text from a file.")
    task.write_text(task.read_text().replace('system: "You classify reviews."', "system: {file: system.txt}"))
    code, out = invoke("optimize", str(task), "--dry-run")
    assert code == 0 and "[system] System text from a file." in out
    task.write_text(task.read_text().replace("system.txt", "missing.txt"))
    result = CliRunner().invoke(main, ["validate", str(task)])
    assert result.exit_code == 2 and "prompt file not found" in result.output


def test_dry_run_estimates_cost_from_prices(tmp_path: Path) -> None:
    task = write_task(
        tmp_path / "toy",
        budget=100,
        extra="prices: {fake/tests.fakes:task_model: {input_per_mtok: 1000000, output_per_mtok: 0}}\n",
    )
    code, out = invoke("optimize", str(task), "--dry-run")
    assert code == 0
    cost = float(out.split("at most about $")[1].split()[0])
    assert cost > 100  # 110 task and test calls, each ~8 prompt tokens at $1 a token


def test_eval_writes_per_example_results_and_gates_on_a_minimum(tmp_path: Path) -> None:
    task = write_task(tmp_path / "toy")
    code, out = invoke("eval", str(task), "-o", str(tmp_path / "results.jsonl"), "--min-score", "0.2")
    assert code == 0, out
    rows = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    assert len(rows) == 5 and {"id", "score", "output", "feedback"} <= set(rows[0])
    assert sum(r["score"] for r in rows) / 5 == pytest.approx(0.2)
    code, out = invoke("eval", str(task), "-o", str(tmp_path / "results.csv"), "--json", "--min-score", "0.5")
    assert code == 1
    report = json.loads(out)
    assert report["score"] == pytest.approx(0.2) and report["passed"] is False and report["examples"] == 5
    assert (tmp_path / "results.csv").read_text().splitlines()[0] == "id,input,expected,score,output,feedback,error"
    assert rows[0]["input"] == {"text": "[a] review 200 is positive"} and rows[0]["expected"] == "positive"
    code, out = invoke("eval", str(task), "-o", str(tmp_path / "results.txt"))
    assert code == 2 and "must end in .jsonl or .csv" in out


def test_runs_list_and_prompts_list_speak_json(tmp_path: Path) -> None:
    task = write_task(tmp_path / "toy", budget=40)
    invoke("optimize", str(task), "--runs-dir", str(tmp_path / "runs"), "--quiet")
    code, out = invoke("runs", "list", "--runs-dir", str(tmp_path / "runs"), "--json")
    (row,) = json.loads(out)
    assert code == 0 and row["status"] == "finished" and row["seed_val"] == pytest.approx(0.2)
    run_dir = tmp_path / "runs" / row["run"]
    invoke("export", str(run_dir), "--name", "toy", "--alias", "production", "--prompts-dir", str(tmp_path / "p"))
    code, out = invoke("prompts", "--prompts-dir", str(tmp_path / "p"), "list", "--json")
    assert code == 0 and json.loads(out) == [{"name": "toy", "versions": 1, "aliases": {"latest": 1, "production": 1}}]


def test_schema_describes_every_field_and_accepts_the_example_tasks() -> None:
    import jsonschema
    import yaml

    code, out = invoke("schema")
    schema = json.loads(out)
    assert code == 0 and schema["title"] == "gepa task file"
    undescribed = []

    def walk(node: object, path: str) -> None:
        if isinstance(node, dict):
            for key, value in node.get("properties", {}).items():
                if "description" not in value:
                    undescribed.append(f"{path}.{key}")
            for key, value in node.items():
                walk(value, f"{path}/{key}")
        elif isinstance(node, list):
            for item in node:
                walk(item, path)

    walk(schema, "")
    assert not undescribed
    branches = schema["properties"]["evaluator"]["anyOf"][0]["oneOf"]  # one definition per evaluator type
    types = [schema["$defs"][b["$ref"].rsplit("/", 1)[-1]]["properties"]["type"]["const"] for b in branches]
    assert types == ["exact", "contains", "regex", "json", "numeric", "python", "judge"]
    assert "minibatch_size" in schema["$defs"]["OptimizerSpec"]["properties"]
    for task in sorted(Path(__file__).parent.parent.joinpath("tasks").glob("*/task.yaml")):
        jsonschema.validate(yaml.safe_load(task.read_text()), schema)


def test_help_names_files_that_exist_and_every_option_is_explained() -> None:
    import click

    from gepa.cli import main as group

    _code, out = invoke("--help")
    for path in re.findall(r"tasks/[\w/]+\.yaml", out):
        assert (Path(__file__).parent.parent / path).is_file(), path
    missing = []

    def visit(command: click.Command, name: str) -> None:
        for param in command.params:
            if isinstance(param, click.Option) and not param.help and "--help" not in param.opts:
                missing.append(f"{name} {param.opts[0]}")
        for sub_name, sub in getattr(command, "commands", {}).items():
            visit(sub, f"{name} {sub_name}")

    visit(group, "gepa")
    assert not missing


def test_the_task_file_reference_in_docs_is_what_the_schema_generates() -> None:
    """docs/task-file.md cannot drift: regenerate it with `gepa schema --markdown > docs/task-file.md`."""
    code, out = invoke("schema", "--markdown")
    assert code == 0
    assert (Path(__file__).parents[1] / "docs" / "task-file.md").read_text(encoding="utf-8") == out
    for key in ("reflection_template", "max_metric_calls", "guard_tolerance", "`data.split`", "promote_if_better"):
        assert key in out


def test_eval_against_another_prompt_gives_the_paired_difference(tmp_path: Path) -> None:
    task = write_task(tmp_path / "toy", budget=60, n_test=40)
    invoke("optimize", str(task), "--runs-dir", str(tmp_path / "runs"), "--quiet")
    run_dir = next((tmp_path / "runs").iterdir())
    code, out = invoke("eval", str(task), "--run", str(run_dir), "--against", "seed")
    assert code == 0, out
    assert "test score 0.800 on 40 examples" in out
    assert "against " in out and "(seed): 0.200; difference +0.600 (95% interval" in out
    assert "32 better, 8 worse of 40" in out and "noise could explain" not in out
    code, out = invoke("eval", str(task), "--run", str(run_dir), "--against", "seed", "--split", "val", "--json")
    report = json.loads(out)
    assert report["against"]["difference"]["n"] == 10 and report["against"]["score"] == pytest.approx(0.2)
