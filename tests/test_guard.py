"""The generalisation guard: a candidate that gains on validation but falls on a guard set is never the best,
never exported and never promoted; proposals that paste training inputs are rejected before any rollout."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from gepa.cli import main
from gepa.lm.base import Message
from tests import fakes


def guarded_task(tmp_path: Path, *, tolerance: float = 0.02, budget: int = 200, export: str = "") -> Path:
    """The scripted world with a guard set of [c] examples only: the seed solves all of them, and any prompt
    with RULE_A in its system part (the path to the best validation score, 0.8) solves none."""
    task = fakes.write_task(
        tmp_path / "toy",
        budget=budget,
        extra=export,
        optimizer=f"{{proposals_per_iteration: 1, guard_tolerance: {tolerance}, best_gain_level: null}}",
    )
    rows = [
        {"text": f"[c] story {i} is {('positive', 'negative')[i % 2]}", "label": ("positive", "negative")[i % 2]}
        for i in range(6)
    ]
    (tmp_path / "toy" / "data" / "guard.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    task.write_text(
        task.read_text().replace("  test: data/test.jsonl", "  test: data/test.jsonl\n  guard: {ood: data/guard.jsonl}")
    )
    return task


def optimize(task: Path, tmp_path: Path, runs: str = "runs") -> tuple[str, dict[str, Any]]:
    result = CliRunner().invoke(main, ["optimize", str(task), "--runs-dir", str(tmp_path / runs), "--seed", "1"])
    assert result.exit_code == 0, result.output
    run_dir = sorted((tmp_path / runs).iterdir())[-1]
    return result.output, json.loads((run_dir / "summary.json").read_text())


def test_the_best_on_validation_that_falls_on_the_guard_set_is_not_the_best(tmp_path: Path) -> None:
    out, summary = optimize(guarded_task(tmp_path, export="export: {name: toy, alias: production}\n"), tmp_path)
    assert summary["counts"]["guard_failed"] >= 1
    best = summary["best"]
    assert best["val"] == pytest.approx(0.6) and best["guard"] == {"ood": 1.0}
    assert fakes.RULE_A not in best["components"]["system"] and fakes.RULE_B in best["components"]["user"]
    assert summary["seed"]["guard"] == {"ood": 1.0}
    failed = [m for m in summary["front"] if m["guard_failed"]]
    assert failed and max(m["val"] for m in failed) == pytest.approx(0.8) and failed[0]["guard"]["ood"] == 0.0
    why = next(line for line in summary["diagnosis"] if "fell on the guard set" in line)
    assert "'ood' 0.000 against the seed's 1.000 (tolerance 0.02)" in why and "never exported" in why
    assert summary["gaps"]["best"]["val_to_guard"] == {"ood": pytest.approx(0.4)}
    assert "guard ood    seed 1.000  ->  best 1.000" in out and "gaps from val: test seed" in out
    from gepa.registry import load

    exported = load("toy@production")
    assert fakes.RULE_A not in exported.components["system"] and exported.meta["guard_scores"] == {"ood": 1.0}
    page = Path(summary["report"]).read_text()
    assert "guard failed: never the best" in page and "<th>guard ood</th>" in page


def test_promote_if_better_refuses_a_guard_regression(tmp_path: Path) -> None:
    _, first = optimize(guarded_task(tmp_path), tmp_path, runs="first")
    exported = CliRunner().invoke(main, ["export", first["run_dir"], "--name", "toy", "--alias", "production"])
    assert exported.exit_code == 0, exported.output
    # A later run starts from a seed that already holds RULE_A: measured against its own seed it passes its guard,
    # but against production it falls on the guard set, though it wins on test.
    task = tmp_path / "toy" / "task.yaml"
    task.write_text(
        task.read_text().replace('system: "You classify reviews."', f'system: "You classify reviews. {fakes.RULE_A}"')
    )
    _, second = optimize(task, tmp_path, runs="second")
    assert second["best"]["guard"] == {"ood": 0.0} and second["best"]["test"] > first["best"]["test"]
    result = CliRunner().invoke(
        main, ["export", second["run_dir"], "--name", "toy", "--alias", "production", "--promote-if-better"]
    )
    assert result.exit_code == 0, result.output
    assert (
        "not promoted: v2 falls on the guard set 'ood' 0.000 against v1's 1.000 (tolerance 0.02); "
        "'production' stays on v1"
    ) in result.output
    from gepa.registry import load

    assert load("toy@production").version == 1 and load("toy@2").meta["guard_scores"] == {"ood": 0.0}


@pytest.mark.parametrize("outcome", ["rejected", "repaired", "cut"])
def test_a_proposal_that_pastes_a_training_input_is_cut_repaired_or_rejected_before_any_rollout(outcome: str) -> None:
    from gepa.core.candidate import Candidate
    from gepa.core.config import OptimizerConfig
    from gepa.core.engine import Optimizer
    from gepa.core.events import Event
    from gepa.core.types import Example
    from gepa.evaluators import Exact
    from gepa.lm import FakeModel, ModelClient
    from gepa.proposer import ReflectiveProposer
    from gepa.system import PromptSystem

    # Every input asks the same question (the task's wording: repeating it is no leak); each tells its own story.
    stories = [
        "the film about a lighthouse keeper and his dog was long",
        "a quiet drama about two sisters running a bakery in winter",
        "the sequel to the robot heist comedy lost all of its charm",
        "an animated tale of a fox who learns to sail alone",
        "the documentary on deep sea volcanoes never drags",
        "a courtroom thriller where the judge hides a secret twin",
    ]
    train = [
        Example(
            id=f"train/{i}",
            fields={"text": f"[b] Is this review positive or negative, tell me please? {story}", "label": "positive"},
        )
        for i, story in enumerate(stories)
    ]
    val = [Example(id=f"val/{i}", fields=row) for i, row in enumerate(fakes.make_rows(5, 100))]

    def paster(messages: Sequence[Message], params: Mapping[str, Any]) -> str:
        if outcome == "repaired" and "copies a training example word for word" in messages[-1]["content"]:
            return "```\nLabel the review positive or negative.\n```"
        if outcome == "cut":  # the copy is one sentence of several: it is cut out, the rest is evaluated
            return "```\nLabel the review. For example: the film about a lighthouse keeper and his dog was long.\n```"
        return "```\nLike: the film about a lighthouse keeper and his dog was long -> positive\n```"

    events: list[Event] = []
    task_model = FakeModel(fakes.task_model)
    optimizer = Optimizer(
        system=PromptSystem(ModelClient(task_model, role="task")),
        evaluator=Exact(expected="label"),
        proposer=ReflectiveProposer(ModelClient(FakeModel(paster), role="reflection")),
        trainset=train,
        valset=val,
        callbacks=[events.append],
        config=OptimizerConfig(
            max_iterations=2, max_metric_calls=None, seed=0, proposals_per_iteration=1, skip_perfect=False
        ),
    )
    state = optimizer.run(Candidate(components={"system": "Classify.", "user": "{{text}}"}))
    leaks = [e for e in events if e.kind == "proposal_rejected" and e.data["reason"] == "leakage"]
    if outcome == "cut":
        assert not leaks and next(e.data["problem"] for e in events if e.kind == "proposal_repaired") == (
            "copied a training example ('the film about a lighthouse keeper and his'): the copied sentences were cut"
        )
        assert any(c.components["system"] == "Label the review." for c in state.candidates) or any(
            e.data.get("components", {}).get("system") == "Label the review." for e in events
        )
        return
    if outcome == "repaired":  # one repair request quoting the copy, then the clean text is evaluated
        assert not leaks and state.counts["repaired"] >= 1
        assert next(e.data["problem"] for e in events if e.kind == "proposal_repaired").startswith(
            "copies a training example word for word ('the film about a lighthouse keeper and his')"
        )
        assert len(state.rollouts) > 1  # the repaired child was run
        return
    assert leaks
    assert leaks[0].data["detail"] == "copies a training example: 'the film about a lighthouse keeper and his'"
    assert state.counts["proposal_leakage"] == state.counts["proposals_asked"]
    assert set(state.rollouts) == {state.candidates[0].id}  # no child was ever run


def test_a_missing_or_malformed_guard_file_is_a_named_error(tmp_path: Path) -> None:
    task = guarded_task(tmp_path)
    guard = tmp_path / "toy" / "data" / "guard.jsonl"
    guard.write_text('{"text": "[c] x is positive"}\n')
    result = CliRunner().invoke(main, ["optimize", str(task), "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 2 and "guard set 'ood': example guard:ood/0 has no field 'label'" in result.output
    guard.unlink()
    result = CliRunner().invoke(main, ["validate", str(task)])
    assert result.exit_code == 2 and "guard.jsonl: data file not found" in result.output
    assert not (tmp_path / "runs").exists()


def test_a_would_be_best_the_budget_cannot_guard_check_waits_for_a_resume(tmp_path: Path) -> None:
    """The guard's calls are no longer reserved at every step: the run goes on while a check would still fit, a
    would-be best whose check no longer fits is never the best nor exported, and a resume with more budget checks it."""
    task = guarded_task(tmp_path, tolerance=1.0, budget=54)  # at 54 calls the third candidate's check does not fit
    _out, summary = optimize(task, tmp_path)
    assert summary["counts"]["guard_unpaid"] == 1
    assert (
        summary["stop_reason"] == "max_metric_calls (54) reached: a new best could no longer be checked on the "
        "guard sets (6 calls)"
    )
    waiting = next(m for m in summary["front"] if m["guard_unpaid"])
    assert waiting["val"] > summary["best"]["val"] and not waiting["guard"]
    run_dir = sorted((tmp_path / "runs").iterdir())[-1]
    state = json.loads((run_dir / "state.json").read_text())
    assert 54 - 6 < state["metric_calls"] <= 54  # the old reserve (minibatches + val + guard) stopped far earlier
    refused = CliRunner().invoke(
        main,
        [
            "export",
            str(run_dir),
            "--name",
            "toy",
            "--candidate",
            waiting["id"],
            "--prompts-dir",
            str(tmp_path / "prompts"),
        ],
    )
    assert refused.exit_code == 2 and "never checked on the task's guard sets" in refused.output
    assert "guard not checked (budget spent): never the best" in (run_dir / "report.html").read_text()

    why = next(line for line in summary["diagnosis"] if waiting["id"] in line)
    assert "its guard check (6 calls) no longer fit the budget" in why and "--budget" in why

    def resume(budget: str) -> dict[str, Any]:
        result = CliRunner().invoke(
            main, ["optimize", str(task), "--resume", str(run_dir), "--budget", budget, "--seed", "1"]
        )
        assert result.exit_code == 0, result.output
        summary: dict[str, Any] = json.loads((run_dir / "summary.json").read_text())
        return summary

    same = resume("54")  # nothing more to pay with: the candidate still waits, counted once
    assert same["counts"]["guard_unpaid"] == 1 and same["best"]["id"] == summary["best"]["id"]
    assert [m["id"] for m in same["front"] if m["guard_unpaid"]] == [waiting["id"]]
    resumed = CliRunner().invoke(
        main, ["optimize", str(task), "--resume", str(run_dir), "--budget", "62", "--seed", "1"]
    )
    assert resumed.exit_code == 0, resumed.output
    after = json.loads((run_dir / "summary.json").read_text())
    assert after["best"]["val"] >= waiting["val"] and not any(m["guard_unpaid"] for m in after["front"])
    assert waiting["id"] in json.loads((run_dir / "state.json").read_text())["guard_scores"]
    assert after["best"]["id"] == waiting["id"] and after["counts"]["guard_unpaid"] == 1
    assert not any(waiting["id"] in line for line in after["diagnosis"])


def test_a_budget_that_cannot_score_the_seed_on_validation_and_guard_sets_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["optimize", str(guarded_task(tmp_path, budget=12)), "--runs-dir", str(tmp_path / "runs")]
    )
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert (
        "budget of 12 metric calls cannot even score the seed on the 10 validation examples and the 6 "
        "guard-set examples"
    ) in result.output


def test_the_question_every_input_asks_is_the_tasks_wording_not_a_leak() -> None:
    from gepa.core.leakage import LeakageCheck
    from gepa.core.types import Example

    question = "If you follow these instructions, do you return to the starting point?"
    steps = [
        "Take 5 steps left. Take 1 step backward. Take 4 steps right. Take 1 step forward.",
        "Turn around. Take 7 steps. Turn left. Take 2 steps. Turn around. Take 3 steps.",
        "Always face forward. Take 9 steps left. Take 4 steps forward. Take 9 steps right.",
    ]
    check = LeakageCheck(
        [Example(id=f"train/{i}", fields={"text": f"{question} {s}", "label": "true"}) for i, s in enumerate(steps)]
    )
    assert check.copied(f"Read the steps. {question} Answer true or false.") is None
    # a run that spans the shared question and two words of one example is still mostly the task's wording
    assert check.copied(f"Read the steps. {question} Turn around, then answer true or false.") is None
    assert (
        check.copied("Work it out, e.g. Always face forward. Take 9 steps left. Take 4 steps forward.")
        == "always face forward take 9 steps left take"
    )


def test_a_whole_input_pasted_is_a_leak_even_when_each_phrase_is_common_wording() -> None:
    from gepa.core.leakage import LeakageCheck
    from gepa.core.types import Example

    steps = [
        "Take 5 steps. Turn left. Take 2 steps.",
        "Turn left. Take 2 steps. Take 10 steps. Take 10 steps.",
        "Take 9 steps. Turn left. Take 2 steps. Take 8 steps.",
    ]
    question = "If you follow these instructions, do you return to the starting point?"
    check = LeakageCheck(
        [Example(id=f"train/{i}", fields={"text": f"{question} {s}", "label": "true"}) for i, s in enumerate(steps)]
    )
    for s in steps:
        assert check.copied(f"For example: {question} {s} Then answer.") is not None
    assert check.copied(f"Answer this: {question}") is None


def test_cutting_a_copy_removes_the_sentences_it_spans_and_never_an_input_line() -> None:
    from gepa.core.leakage import LeakageCheck
    from gepa.core.types import Example

    check = LeakageCheck(
        [
            Example(
                id="train/0",
                fields={"text": "Take 5 steps. Turn left. Take 2 steps. Take 7 steps backward.", "label": "false"},
            )
        ]
    )
    text = "{{text}}\nCount the steps. E.g. Take 5 steps. Turn left. Take 2 steps.\nAnswer true or false."
    assert check.without_copies(text) == "{{text}}\nCount the steps. E.g. \nAnswer true or false."
    assert check.without_copies("{{text}} Take 5 steps. Turn left. Take 2 steps.") is None  # on the input line
    assert check.without_copies("Take 5 steps. Turn left. Take 2 steps.") is None  # nothing left
