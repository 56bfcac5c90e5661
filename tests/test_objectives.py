"""Several objectives: quality against cost and length on the Pareto front, and the select rule that picks the
one best prompt."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from gepa.cli import main
from gepa.core.candidate import Candidate
from gepa.core.config import Objective, OptimizerConfig, Selection
from gepa.core.engine import Optimizer
from gepa.core.types import Example
from gepa.evaluators import Exact
from gepa.lm import FakeModel, ModelClient
from gepa.lm.base import Message
from gepa.proposer import ReflectiveProposer
from gepa.system import PromptSystem
from tests import fakes

PADDING = "Take your time, read every word of the review twice, and weigh it with great care before answering."
LONG = Candidate(components={"system": f"You classify reviews. {fakes.RULE_A}", "user": "Review: {{text}}\n" + PADDING})


def trimmer(messages: Sequence[Message], params: Mapping[str, Any]) -> str:
    """Proposes the instructions with the padding cut to two words: as accurate, fewer tokens."""
    component, current = fakes._target(messages)
    if component == "system":
        return f"```\n{current}\n```"
    return "```\n" + current.replace(PADDING, "Be brief.").strip() + "\n```"


def run(config: OptimizerConfig) -> Any:
    examples = [Example(id=f"train/{i}", fields=r) for i, r in enumerate(fakes.make_rows(8))]
    val = [Example(id=f"val/{i}", fields=r) for i, r in enumerate(fakes.make_rows(10, 100))]
    optimizer = Optimizer(
        system=PromptSystem(ModelClient(FakeModel(fakes.task_model), role="task")),
        evaluator=Exact(expected="label"),
        proposer=ReflectiveProposer(ModelClient(FakeModel(trimmer), role="reflection")),
        trainset=examples,
        valset=val,
        config=config,
    )
    return optimizer.run(LONG)


def test_a_shorter_prompt_with_equal_accuracy_wins_under_select_on_tokens() -> None:
    base: dict[str, Any] = {
        "max_metric_calls": 80,
        "seed": 0,
        "proposals_per_iteration": 1,
        "skip_perfect": False,
        "optimize": ("user",),
    }
    plain = run(OptimizerConfig(**base))
    assert plain.candidates[plain.best_index()].id == LONG.id  # equal score: the shorter one is not better
    tokens = Objective(name="tokens", direction="min")
    for select in (
        Selection(weights={"score": 1.0, "tokens": 0.01}),
        Selection(maximize="score", limits={"tokens": 20.0}),
    ):
        state = run(OptimizerConfig(**base, objectives=(Objective(name="score"), tokens), select=select))
        best = state.best_index()
        assert PADDING not in state.candidates[best]["user"], select
        means = state.objective_means(best)
        assert means["score"] == pytest.approx(state.objective_means(0)["score"])
        assert means["tokens"] < state.objective_means(0)["tokens"]


def test_a_select_rule_reads_a_cost_objective_as_lower_is_better_without_listing_it() -> None:
    config = OptimizerConfig(
        max_metric_calls=80,
        seed=0,
        proposals_per_iteration=1,
        skip_perfect=False,
        optimize=("user",),
        select=Selection(weights={"score": 1.0, "tokens": 0.01}),
    )
    state = run(config)
    assert PADDING not in state.candidates[state.best_index()]["user"]


def test_conflicting_objectives_keep_both_specialists_on_the_front(tmp_path: Path) -> None:
    task = fakes.write_task(
        tmp_path / "toy", budget=200, extra="objectives: [score, {name: prompt_chars, direction: min}]\n"
    )
    result = CliRunner().invoke(main, ["optimize", str(task), "--runs-dir", str(tmp_path / "runs"), "--seed", "1"])
    assert result.exit_code == 0, result.output
    summary = json.loads(next((tmp_path / "runs").iterdir()).joinpath("summary.json").read_text())
    assert summary["objectives"] == [
        {"name": "score", "direction": "max"},
        {"name": "prompt_chars", "direction": "min"},
    ]
    front = {m["id"]: m["objectives"] for m in summary["front"]}
    shortest = min(front, key=lambda i: front[i]["prompt_chars"])
    most_accurate = max(front, key=lambda i: front[i]["score"])
    assert shortest != most_accurate  # the two specialists are both kept
    assert shortest == summary["seed"]["id"] and front[most_accurate]["score"] >= 0.6
    assert summary["best"]["id"] == most_accurate  # without select, the best score is chosen
    assert "front (score max, prompt_chars min):" in result.output
    page = Path(summary["report"]).read_text()
    assert 'aria-label="trade-off"' in page and "chosen: " + most_accurate in page
    exported = CliRunner().invoke(
        main,
        [
            "export",
            summary["run_dir"],
            "--name",
            "short",
            "--candidate",
            shortest,
            "--prompts-dir",
            str(tmp_path / "prompts"),
        ],
    )
    assert exported.exit_code == 0, exported.output
    from gepa.registry import load

    assert load("short", root=tmp_path / "prompts").candidate().id == shortest


def test_a_python_evaluator_can_return_named_scores(tmp_path: Path) -> None:
    task = fakes.write_task(tmp_path / "toy", budget=40, extra="objectives: [correct, polite]\n")
    (tmp_path / "toy" / "score.py").write_text(
        "def score(fields, output):\n"
        "    return {'scores': {'correct': float(output == fields['label']), 'polite': float(output != 'unsure')},"
        " 'feedback': 'checked'}\n"
    )
    task.write_text(
        task.read_text().replace(
            "evaluator:\n  type: exact\n  expected: label", "evaluator:\n  type: python\n  function: score.py:score"
        )
    )
    result = CliRunner().invoke(main, ["optimize", str(task), "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.output
    from gepa.run.rundir import RunDir

    run_dir = next((tmp_path / "runs").iterdir())
    seed = RunDir.open(run_dir).load_state().objective_means(0)
    assert seed["correct"] == pytest.approx(0.2) and seed["polite"] == pytest.approx(0.2)
    assert seed["score"] == pytest.approx(0.2)  # without a 'score' of their own, the mean of the named scores
    summary = json.loads(run_dir.joinpath("summary.json").read_text())
    assert all({"correct", "polite"} <= set(m["objectives"]) for m in summary["front"])


def test_an_objective_nobody_measures_is_a_named_error(tmp_path: Path) -> None:
    task = fakes.write_task(tmp_path / "toy", budget=40, extra="objectives: [score, tone]\n")
    result = CliRunner().invoke(main, ["optimize", str(task), "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 2 and "objective 'tone' is not measured" in result.output


def test_a_candidate_whose_every_call_fails_is_never_the_cheapest() -> None:
    """A failed rollout measures no tokens: it counts as the worst cost in the pool, not as zero, and a select
    rule on tokens never prefers it."""

    def task_model(messages: Sequence[Message], params: Mapping[str, Any]) -> str:
        if "BROKEN" in messages[-1]["content"]:
            raise RuntimeError("the pipeline crashed")
        return "unsure"  # every working prompt scores 0 too, so a non-strict search takes the broken child

    def breaker(messages: Sequence[Message], params: Mapping[str, Any]) -> str:
        return "```\nReview: {{text}} BROKEN\n```"

    def run(select: Selection | None) -> Any:
        return Optimizer(
            system=PromptSystem(ModelClient(FakeModel(task_model), role="task")),
            evaluator=Exact(expected="label"),
            proposer=ReflectiveProposer(ModelClient(FakeModel(breaker), role="reflection")),
            trainset=[Example(id=f"train/{i}", fields=r) for i, r in enumerate(fakes.make_rows(8))],
            valset=[Example(id=f"val/{i}", fields=r) for i, r in enumerate(fakes.make_rows(10, 100))],
            config=OptimizerConfig(
                max_metric_calls=40,
                seed=0,
                proposals_per_iteration=1,
                acceptance="non_strict",
                optimize=("user",),
                objectives=(Objective(name="score"), Objective(name="tokens")),
                select=select,
            ),
        ).run(Candidate(components={"system": "You classify reviews.", "user": "Review: {{text}}"}))

    plain = run(None)
    broken = [i for i, c in enumerate(plain.candidates) if "BROKEN" in c["user"]]
    assert broken
    for i in broken:
        assert plain.objective_means(i)["tokens"] >= plain.objective_means(0)["tokens"] > 0
        assert plain.front_weights(plain_objectives())[i] <= plain.front_weights(plain_objectives())[0]
    cheap = run(Selection(weights={"score": 1.0, "tokens": 0.01}))
    assert not any("BROKEN" in c["user"] for c in cheap.candidates)  # measured nothing: never better on the rule
    assert cheap.counts["rejected"] >= 1


def test_a_rejection_by_the_select_rule_says_so_in_the_report() -> None:
    from gepa.run.report import rejected_proposals

    event = {
        "kind": "candidate_rejected",
        "iteration": 1,
        "reason": "not better",
        "parent_minibatch": 2.0,
        "child_minibatch": 3.0,
        "select_rank": [[0.0, -0.5], [1.0, 0.5]],
        "components": {},
    }
    assert "the select rule ranks them (0.000, -0.500) against (1.000, 0.500)" in rejected_proposals([event])


def plain_objectives() -> tuple[Objective, ...]:
    return (Objective(name="score"), Objective(name="tokens"))


def test_a_single_named_evaluator_is_an_objective_under_its_name(tmp_path: Path) -> None:
    task = fakes.write_task(tmp_path / "toy", budget=40, extra="objectives: [accuracy]\n")
    text = task.read_text().replace("evaluator:\n  type: exact", "evaluator:\n  type: exact\n  name: accuracy")
    assert text != task.read_text()
    task.write_text(text)
    result = CliRunner().invoke(main, ["optimize", str(task), "--json", "-q"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert all(m["objectives"]["accuracy"] == m["objectives"]["score"] for m in summary["front"])


def test_a_named_score_of_a_failed_rollout_counts_zero_and_a_named_evaluator_keeps_its_own_scores(
    tmp_path: Path,
) -> None:
    from gepa.core.objectives import mean_objectives
    from gepa.core.types import Rollout
    from gepa.evaluators.build import build_evaluator

    rollouts = [
        Rollout(example_id="a", output="x", score=1.0, feedback="", objectives={"accuracy": 1.0, "tokens": 10.0}),
        Rollout(example_id="b", output="", score=0.0, feedback="crashed", error="boom", error_source="system"),
    ]
    means = mean_objectives(rollouts)
    assert means["accuracy"] == 0.5 and means["tokens"] == 10.0  # a crash is not a perfect score, nor free
    (tmp_path / "judge.py").write_text(
        "def judge(example, output):\n    return {'scores': {'fluency': 1.0, 'brevity': 0.5}, 'feedback': ''}\n"
    )
    named = build_evaluator({"type": "python", "function": "judge.py:judge", "name": "quality"}, base_dir=tmp_path)
    result = named(Example(id="e", fields={}), "hi")
    assert result.scores == {"fluency": 1.0, "brevity": 0.5, "quality": result.score}
