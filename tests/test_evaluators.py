"""Each evaluator type: a score in [0, 1] and feedback that says what went wrong."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gepa.core.types import Example
from gepa.errors import EvaluatorError
from gepa.evaluators import build_evaluator
from gepa.lm import FakeModel, ModelClient

EXAMPLE = Example(id="val/0", fields={"question": "How many legs has a spider?", "answer": "8", "label": "Positive"})


def build(spec: Any, tmp_path: Path = Path("."), judge: FakeModel | None = None) -> Any:
    return build_evaluator(
        spec, base_dir=tmp_path, judge_client=(lambda model: ModelClient(judge, role="judge")) if judge else None
    )


def test_exact_with_normalisers() -> None:
    strict = build({"type": "exact", "expected": "label"})
    loose = build({"type": "exact", "expected": "label", "normalize": ["lower", "strip", "strip_punctuation"]})
    assert strict(EXAMPLE, "positive").score == 0.0
    assert strict(EXAMPLE, "positive").feedback == (
        "Right answer, wrong spelling. Expected exactly 'Positive' but "
        "the output was 'positive': write the answer exactly as expected."
    )
    assert loose(EXAMPLE, " positive. ").score == 1.0
    assert loose(EXAMPLE, "Negative.").feedback == "Wrong answer. Expected 'Positive' but the output was 'Negative.'."
    assert loose(EXAMPLE, "I would say it is positive").feedback.endswith(
        "The whole output must be the answer and nothing else."
    )


def test_contains_regex_and_numeric() -> None:
    assert build({"type": "contains", "expected": "label"})(EXAMPLE, "It is POSITIVE overall").score == 1.0
    regex = build({"type": "regex", "pattern": r"^\s*{answer}\b"})
    assert regex(EXAMPLE, "8 legs").score == 1.0 and regex(EXAMPLE, "It has 8").score == 0.0
    numeric = build({"type": "numeric", "expected": "answer", "tolerance": 0.01})
    assert numeric(EXAMPLE, "2 + 6 gives 8.0").score == 1.0
    wrong = numeric(EXAMPLE, "I count 6, then 10")
    assert wrong.score == 0.0 and "final number was 10 but the answer is 8" in wrong.feedback
    assert "no number" in numeric(EXAMPLE, "eight").feedback


def test_a_bad_regex_is_a_configuration_error() -> None:
    with pytest.raises(EvaluatorError, match="invalid pattern"):
        build({"type": "regex", "pattern": "(unclosed"})


def test_json_schema_and_fields_give_partial_credit() -> None:
    spec = {
        "type": "json",
        "schema": {"type": "object", "properties": {"legs": {"type": "integer"}}, "required": ["legs"]},
        "fields": {"legs": "answer"},
    }
    evaluate = build(spec)
    assert evaluate(EXAMPLE, '```json\n{"legs": 8}\n```').score == 1.0
    half = evaluate(EXAMPLE, '{"legs": "eight"}')
    assert 0 < half.score < 1 and "schema" in half.feedback and "should be '8'" in half.feedback
    assert evaluate(EXAMPLE, "eight legs").score == 0.0


def test_python_function_from_a_file(tmp_path: Path) -> None:
    (tmp_path / "check.py").write_text(
        "def score(fields, output):\n    ok = output.strip() == fields['answer']\n"
        "    return (1.0 if ok else 0.25, 'fine' if ok else 'say only the number')\n"
    )
    evaluate = build({"type": "python", "function": "check.py:score"}, tmp_path)
    assert evaluate(EXAMPLE, "8").score == 1.0
    result = evaluate(EXAMPLE, "eight")
    assert (result.score, result.feedback) == (0.25, "say only the number")
    with pytest.raises(EvaluatorError, match="has no function 'nope'"):
        build({"type": "python", "function": "check.py:nope"}, tmp_path)
    (tmp_path / "answer.py").write_text("def score(fields, output):\n    return {'score': 0, 'expected': 8}\n")
    assert build({"type": "python", "function": "answer.py:score"}, tmp_path)(EXAMPLE, "7").expected == "8"
    from gepa.core.candidate import Candidate
    from gepa.core.evaluation import score_output
    from gepa.core.types import EvalResult, SystemOutput

    as_int = score_output(
        lambda example, output: EvalResult(score=0.0, expected=8),  # type: ignore[arg-type]
        Candidate(components={"user": "{{question}}"}),
        EXAMPLE,
        SystemOutput(text="7"),
    )
    assert as_int.expected == "8" and as_int.error is None  # a user's int reaches the reflector as text


def test_judge_scores_through_the_model_layer() -> None:
    judge = FakeModel(lambda messages, params: '{"score": 7, "reason": "right number, too chatty"}')
    evaluate = build({"type": "judge", "rubric": "Correct and brief.", "expected": "answer"}, judge=judge)
    result = evaluate(EXAMPLE, "A spider has 8 legs, as everyone knows.")
    assert result.score == pytest.approx(0.7) and "too chatty" in result.feedback
    prompt = judge.history[0][0][0]["content"]
    assert "Correct and brief." in prompt and "How many legs" in prompt and "everyone knows" in prompt


def test_weighted_list() -> None:
    evaluate = build(
        [{"type": "contains", "expected": "answer", "weight": 3}, {"type": "regex", "pattern": "^[0-9]+$", "weight": 1}]
    )
    assert evaluate(EXAMPLE, "8 legs").score == pytest.approx(0.75)


def test_matching_evaluators_say_which_answer_they_expected() -> None:
    """The reflector is told the expected answers of a minibatch; only evaluators with one answer know it."""
    assert build({"type": "exact", "expected": "label"})(EXAMPLE, "Positive").expected == "Positive"
    assert build({"type": "contains", "expected": "label"})(EXAMPLE, "no").expected == "Positive"
    assert build({"type": "numeric", "expected": "answer"})(EXAMPLE, "eight").expected == "8"
    big = Example(id="val/1", fields={"answer": "1234567"})
    assert build({"type": "numeric", "expected": "answer"})(big, "1").expected == "1234567"
    assert build({"type": "regex", "pattern": "^8$"})(EXAMPLE, "8").expected is None
    weighted = build([{"type": "regex", "pattern": "^8$"}, {"type": "exact", "expected": "answer"}])
    assert weighted(EXAMPLE, "8").expected == "8"


def test_each_evaluator_names_the_fields_it_compares_against(tmp_path: Path) -> None:
    from gepa.evaluators import compared_fields

    weighted = build([{"type": "exact", "expected": "label"}, {"type": "json", "fields": {"intent": "gold"}}])
    assert compared_fields(weighted) == {"label", "gold"}
    assert compared_fields(build({"type": "numeric", "expected": "answer"})) == {"answer"}
    assert compared_fields(build({"type": "regex", "pattern": "^8$"})) == set()

    class Graded:  # a user's evaluator that reads an answer field says so; a function reads what it likes
        def compared_fields(self) -> set[str]:
            return {"rubric_answer"}

    assert compared_fields(Graded()) == {"rubric_answer"}
    assert compared_fields(lambda example, output: 1.0) == set()
