"""Degenerate prompts: on an imbalanced split a prompt that makes the model answer one label to everything scores
the share of that label. Such a candidate stays in the pool but is never the best nor exported, and the run says
what it answers and which free baseline its score is; ``balanced`` (mean per-label recall) can be selected on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from gepa.cli import main
from gepa.core.answers import answer_counts, balanced_values, baseline, constant_answer
from gepa.core.types import Rollout
from tests.fakes import skewed_rows, write_task


def skewed_task(tmp_path: Path, *, extra: str = "", budget: int = 200) -> Path:
    task = write_task(
        tmp_path / "toy",
        model="fake/tests.fakes:skewed_task_model",
        reflection_model="fake/tests.fakes:marker_reflector",
        budget=budget,
        optimizer="{proposals_per_iteration: 1, minibatch_size: 10}",
        extra="optimize: [system]\n" + extra,
    )
    for name, rows in (("train", skewed_rows(10)), ("val", skewed_rows(10, 100)), ("test", skewed_rows(10, 200))):
        (tmp_path / "toy" / "data" / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return task


def optimize(task: Path, tmp_path: Path) -> tuple[str, dict[str, Any]]:
    result = CliRunner().invoke(main, ["optimize", str(task), "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.output
    run_dir = sorted((tmp_path / "runs").iterdir())[-1]
    return result.output, json.loads((run_dir / "summary.json").read_text())


def test_a_prompt_that_answers_the_majority_label_everywhere_is_never_the_best(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GEPA_TEST_MARKERS", "ALWAYS")  # the reflector's one idea: answer "positive" always
    out, summary = optimize(skewed_task(tmp_path), tmp_path)
    assert summary["counts"]["constant_answer"] == 1
    flagged = summary["constant_answers"][0]
    assert flagged["val"] == pytest.approx(0.7) and flagged["answer"] == "positive"
    assert summary["best"]["id"] == summary["seed"]["id"] and summary["best"]["val"] == pytest.approx(0.2)
    line = (
        "answers 'positive' on 10 of 10 validation examples and scores 0.700; 'positive' on every example scores "
        "0.700 (the majority rate), so it is not the best and is never exported."
    )
    assert line in out and any(line in d for d in summary["diagnosis"])
    assert (
        "The best prompt scores no more than always answering the majority label on validation (0.200 against "
        "'positive' 0.700) and test (0.200 against 'positive' 0.700): a constant answer would do as well."
    ) in out
    assert summary["baselines"]["validation"] == {
        "labels": {"positive": 7, "negative": 3},
        "majority": "positive",
        "majority_rate": pytest.approx(0.7),
        "chance": 0.5,
    }
    assert summary["answers"]["seed"]["validation"] == {"unsure": 8, "positive": 1, "negative": 1}
    exported = CliRunner().invoke(
        main, ["export", summary["run_dir"], "--name", "toy", "--candidate", flagged["candidate"]]
    )
    assert exported.exit_code == 2 and "never exported" in exported.output and "Traceback" not in exported.output
    page = Path(summary["report"]).read_text()
    assert "answers &#x27;positive&#x27; on 10 of 10 validation examples" in page
    assert "answers one label to everything: never the best" in page  # on the front beside the seed, flagged


def test_a_real_gain_after_a_constant_answer_becomes_the_best(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEPA_TEST_MARKERS", "ALWAYS,LEAN")
    _, summary = optimize(skewed_task(tmp_path), tmp_path)
    assert "LEAN" in summary["best"]["components"]["system"] and summary["best"]["val"] == pytest.approx(0.9)
    assert summary["answers"]["best"]["validation"] == {"positive": 8, "negative": 2}
    assert [f["answer"] for f in summary["constant_answers"]] == ["positive"]


@pytest.mark.parametrize(
    ("select", "winner", "val"),
    [
        ("", "LEAN", 0.9),  # by accuracy, LEAN (0.9) beats SEPARATE (0.8)
        ("select: {maximize: balanced}\n", "SEPARATE", 0.8),  # by mean per-label recall, 0.857 beats 0.833
    ],
)
def test_balanced_selects_the_prompt_that_separates_the_labels(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, select: str, winner: str, val: float
) -> None:
    monkeypatch.setenv("GEPA_TEST_MARKERS", "LEAN,SEPARATE")
    _, summary = optimize(skewed_task(tmp_path, extra=select), tmp_path)
    system = summary["best"]["components"]["system"]
    assert system.rsplit(" ", 1)[-1] == winner and summary["best"]["val"] == pytest.approx(val)
    if select:
        best = next(m for m in summary["front"] if m["id"] == summary["best"]["id"])
        assert best["objectives"]["balanced"] == pytest.approx((5 / 7 + 1) / 2)


def rollouts(outputs: list[str], expected: list[str]) -> list[Rollout]:
    return [
        Rollout(example_id=str(i), output=o, score=float(o.lower().startswith(e)), feedback="", expected=e)
        for i, (o, e) in enumerate(zip(outputs, expected, strict=True))
    ]


def test_answers_are_read_as_labels_and_free_baselines_computed() -> None:
    expected = ["yes"] * 6 + ["no"] * 4
    verbose = rollouts(["No, it is not.", "No.", "no", "NO!"] * 2 + ["Yes", "Perhaps"], expected)
    assert answer_counts(verbose) == {"no": 8, "yes": 1, "perhaps": 1}
    base = baseline(verbose)
    assert base is not None and (base.majority, base.majority_rate, base.chance) == ("yes", 0.6, 0.5)
    assert constant_answer(verbose, "validation") is None  # 8 of 10 is not (nearly) every example
    found = constant_answer(rollouts(["no"] * 9 + ["yes"], expected), "test")
    assert found is not None and (found.answer, found.count, found.label_rate) == ("no", 9, 0.4)
    assert found.line() == (
        "answers 'no' on 9 of 10 test examples and scores 0.300; 'no' on every example scores "
        "0.400 (the majority label 'yes' 0.600)"
    )
    wordy = constant_answer(rollouts(["No, it is not."] * 9 + ["yes"], expected), "test")
    assert wordy is not None and wordy.count == 9  # the replies start with 'no'; an exact check takes none of them
    strict = [Rollout(example_id=r.example_id, output=r.output, score=0.0, feedback="", expected=r.expected)
              for r in rollouts(["No, it is not."] * 9 + ["yes"], expected)]  # fmt: skip
    said = constant_answer(strict, "test")
    assert said is not None and said.line().startswith(
        "answers 'no' on 9 of 10 test examples and scores 0.000 (3 of those replies were right but not in a form "
        "the evaluator accepts); 'no' on every example scores 0.400"
    )
    # a perfect prompt on a split that is 95 % one label answers it 95 % of the time: not a constant answer
    lopsided = ["yes"] * 19 + ["no"]
    assert constant_answer(rollouts(lopsided, lopsided), "validation") is None
    # the same non-answer everywhere scores nothing: a failure, not a gamed metric
    assert constant_answer(rollouts(["unsure"] * 10, expected), "validation") is None
    values = balanced_values(rollouts(["yes"] * 10, expected))
    assert values is not None and sum(values) / len(values) == pytest.approx(0.5)


def test_the_report_shows_free_baselines_answers_and_the_confusion_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GEPA_TEST_MARKERS", "ALWAYS,LEAN")
    _, summary = optimize(skewed_task(tmp_path), tmp_path)
    page = Path(summary["report"]).read_text()
    assert "<h2>Answers</h2>" in page and "<td>positive 0.700</td><td>0.500</td>" in page
    assert "<td>unsure 8, positive 1, negative 1</td><td>positive 8, negative 2</td>" in page
    # LEAN on validation: every positive right; of the 3 negatives, one answered "positive"
    assert "<tr><th>positive</th><td>7</td><td>0</td><td>1.000</td></tr>" in page
    assert "<tr><th>negative</th><td>1</td><td>2</td><td>0.667</td></tr>" in page
    assert "their mean (balanced) is 0.833" in page
