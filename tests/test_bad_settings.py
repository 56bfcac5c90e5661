"""Settings that would be accepted and then fail late or score 0 in silence are refused by ``gepa validate`` and
``gepa optimize`` before any call: exit 2, one line naming the task file, the line and the field, and no run."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from gepa.cli import main
from tests.fakes import write_task
from tests.refusals import refused


def line_of(task: Path, text: str) -> int:
    return next(i for i, line in enumerate(task.read_text().splitlines(), 1) if text in line)


@pytest.mark.parametrize(
    ("setting", "field", "problem"),
    [
        ("model_params: {temperature: hot}", "model_params.temperature", "must be a number"),
        ("model_params: {temperature: true}", "model_params.temperature", "must be a number"),
        ("model_params: {temperature: -1}", "model_params.temperature", "at least 0"),
        ("model_params: {top_p: 1.5}", "model_params.top_p", "at most 1"),
        ("model_params: {max_tokens: 1.5}", "model_params.max_tokens", "must be an integer"),
        ("model_params: {max_tokens: 0}", "model_params.max_tokens", "at least 1"),
        ("model_params: {seed: '7'}", "model_params.seed", "must be an integer"),
        ("model_params: {stop: 3}", "model_params.stop", "a string or a list of strings"),
        ("reflection_params: {temperature: .nan}", "reflection_params.temperature", "must be a finite number"),
    ],
)
def test_a_sampling_parameter_of_the_wrong_type_is_refused_naming_it(
    tmp_path: Path, setting: str, field: str, problem: str
) -> None:
    task = write_task(tmp_path / "toy", extra=setting + "\n")
    refused(task, tmp_path, f"{task}:{line_of(task, setting.split(':')[0])}", field, problem)


def test_known_parameters_of_the_right_type_and_unknown_ones_pass(tmp_path: Path) -> None:
    task = write_task(
        tmp_path / "toy",
        extra="model_params: {temperature: 0, top_p: 0.9, max_tokens: 16, seed: 3, "
        "stop: ['\\n'], repeat_penalty: 1.1}\n",
    )
    result = CliRunner().invoke(main, ["validate", str(task)])
    assert result.exit_code == 0, result.output


def edited(tmp_path: Path, old: str, new: str, **options: str) -> Path:
    task = write_task(tmp_path / "toy", **options)  # type: ignore[arg-type]
    text = task.read_text()
    assert old in text
    task.write_text(text.replace(old, new))
    return task


EVALUATOR = "evaluator:\n  type: exact\n  expected: label\n"


@pytest.mark.parametrize(
    ("old", "new", "field", "problem"),
    [
        (EVALUATOR, "evaluator: []\n", "evaluator", "give at least one evaluator"),
        (
            EVALUATOR,
            "evaluator: {type: numeric, expected: label, tolerance: -1}\n",
            "evaluator.tolerance",
            "greater than or equal to 0",
        ),
        ("  max_metric_calls: 60", "  max_metric_calls: true", "budget.max_metric_calls", "valid integer"),
        ("seed: 0", "seed: '3'", "seed", "valid integer"),
    ],
)
def test_a_setting_that_would_score_nothing_or_be_misread_is_refused(
    tmp_path: Path, old: str, new: str, field: str, problem: str
) -> None:
    task = edited(tmp_path, old, new)
    refused(task, tmp_path, f"{task}:", field, problem)


@pytest.mark.parametrize(
    ("select", "problem"),
    [
        ("{weights: {score: .nan}}", "select.weights.score: must be a finite number"),
        ("{weights: {score: 1e308}}", "select.weights.score: must be at most 1e+06"),
        ("{weights: {score: 0, tokens: 0}}", "select.weights: give at least one weight that is not 0"),
        ("{maximize: score, limits: {tokens: 0}}", "select.limits: no prompt can use at most 0 tokens"),
        ("{maximize: score, limits: {score: 1.5}}", "select.limits: score at least 1.5 cannot be met"),
        ("{maximize: score, limits: {cost_usd: .inf}}", "select.limits.cost_usd: must be a finite number"),
    ],
)
def test_a_select_rule_no_prompt_can_meet_is_refused(tmp_path: Path, select: str, problem: str) -> None:
    task = write_task(tmp_path / "toy", extra=f"select: {select}\n")
    refused(task, tmp_path, f"{task}:{line_of(task, 'select:')}", problem)


def test_a_repeated_key_is_refused_naming_both_lines(tmp_path: Path) -> None:
    task = write_task(tmp_path / "toy", extra="model: fake/echo\n")
    first, second = (i for i, line in enumerate(task.read_text().splitlines(), 1) if line.startswith("model:"))
    refused(task, tmp_path, f"{task}:{second}:", f"the key 'model' appears twice (first on line {first})")


def test_a_repeated_nested_key_is_refused(tmp_path: Path) -> None:
    task = edited(tmp_path, "  expected: label\n", "  expected: label\n  expected: text\n")
    refused(task, tmp_path, f"{task}:{line_of(task, 'expected: text')}:", "the key 'expected' appears twice")


@pytest.mark.parametrize("user", ["Review: {{text", "Review: {{ text }", "Review: {{text}"])
def test_an_unclosed_placeholder_is_refused(tmp_path: Path, user: str) -> None:
    task = edited(tmp_path, '"Review: {{text}}"', f'"{user}"')
    refused(
        task, tmp_path, f"{task}: unclosed placeholder " + "{{text in prompt component 'user'", "write it as {{text}}"
    )


def test_a_prompt_showing_the_answer_field_is_warned_about(tmp_path: Path) -> None:
    task = edited(tmp_path, '"Review: {{text}}"', '"Review: {{text}} (answer: {{label}})"')
    for command in (["validate", str(task)], ["optimize", str(task), "--runs-dir", str(tmp_path / "runs"), "-q"]):
        result = CliRunner().invoke(main, command)
        assert result.exit_code == 0, result.output
        assert (
            "warning: prompt component 'user' shows {{label}}, the field the evaluator compares against: the "
            "task model sees the answer"
        ) in result.output


@pytest.mark.parametrize(
    ("setting", "name"),
    [
        ("objectives: [score, accuracy]", "accuracy"),
        ("select: {weights: {score: 1, acuracy: 1}}", "acuracy"),
        ("select: {maximize: exactness, limits: {tokens: 100}}", "exactness"),
    ],
)
def test_an_objective_nothing_measures_is_refused_at_validate(tmp_path: Path, setting: str, name: str) -> None:
    task = write_task(tmp_path / "toy", extra=setting + "\n")
    refused(
        task,
        tmp_path,
        f"{task}:{line_of(task, setting.split(':')[0])}",
        f"objective {name!r} is not measured by this task; measured: balanced, cost_usd, latency_s, "
        "prompt_chars, score, tokens",
    )


def test_a_named_evaluator_is_an_objective_and_a_python_one_is_left_to_the_run(tmp_path: Path) -> None:
    named = edited(
        tmp_path,
        "  expected: label\n",
        "  expected: label\n  name: accuracy\n",
        extra="objectives: [accuracy, tokens]\n",
    )
    assert CliRunner().invoke(main, ["validate", str(named)]).exit_code == 0
    (tmp_path / "toy" / "score.py").write_text("def score(fields, output):\n    return {'score': 1.0, 'style': 1.0}\n")
    named.write_text(
        named.read_text()
        .replace(
            "evaluator:\n  type: exact\n  expected: label\n  name: accuracy",
            "evaluator:\n  type: python\n  function: score.py:score",
        )
        .replace("[accuracy, tokens]", "[style]")
    )
    result = CliRunner().invoke(main, ["validate", str(named)])
    assert result.exit_code == 0, result.output
