"""The GEPA loop on the scripted world: improvement, acceptance rule, merge, budget, determinism, failures."""

from __future__ import annotations

import random
import time
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import pytest

from gepa.core.candidate import Candidate
from gepa.core.config import OptimizerConfig
from gepa.core.engine import Optimizer
from gepa.core.events import Callback, Event
from gepa.core.types import Example
from gepa.errors import ModelConfigError
from gepa.evaluators import Exact
from gepa.lm import FakeModel, ModelClient
from gepa.lm.base import Message
from gepa.proposer import ReflectiveProposer
from gepa.system import PromptSystem
from tests import fakes

SEED = Candidate(components={"system": "You classify reviews.", "user": "Review: {{text}}"})


def examples(split: str, n: int, offset: int) -> list[Example]:
    return [Example(id=f"{split}/{i}", fields=row) for i, row in enumerate(fakes.make_rows(n, offset))]


# The scripted reflector is deterministic: more proposals would repeat it; 10 validation examples are too few for
# the noise rule (tests/test_noise_gate.py tests it)
ONE: dict[str, Any] = {"proposals_per_iteration": 1, **fakes.NO_NOISE_RULE}


def build(
    config: OptimizerConfig,
    *,
    task: Any = fakes.task_model,
    reflect: Any = fakes.reflector,
    events: list[Event] | None = None,
    template: str | None = None,
    callbacks: Sequence[Callback] = (),
    record: Callback | None = None,
) -> tuple[Optimizer, FakeModel, FakeModel]:
    task_model, reflector = FakeModel(task), FakeModel(reflect)
    optimizer = Optimizer(
        system=PromptSystem(ModelClient(task_model, role="task")),
        evaluator=Exact(expected="label"),
        proposer=ReflectiveProposer(ModelClient(reflector, role="reflection"), template=template),
        trainset=examples("train", 8, 0),
        valset=examples("val", 10, 100),
        config=config,
        callbacks=[events.append, *callbacks] if events is not None else callbacks,
        record=record,
    )
    return optimizer, task_model, reflector


def test_run_finds_the_better_prompt_and_respects_the_budget_exactly() -> None:
    events: list[Event] = []
    optimizer, task_model, _ = build(OptimizerConfig(max_metric_calls=60, seed=0, **ONE), events=events)
    state = optimizer.run(SEED)
    best = state.candidates[state.best_index()]
    assert state.mean_scores()[0] < 0.3
    assert state.mean_scores()[state.best_index()] > 0.7
    assert fakes.RULE_A in best["system"] and fakes.RULE_B in best["user"]
    assert state.metric_calls <= 60
    assert len(task_model.history) == state.metric_calls  # every metric call is one task-model call


@pytest.mark.parametrize("budget", [10, 23, 31, 45])
def test_the_budget_is_never_exceeded(budget: int) -> None:
    optimizer, task_model, _ = build(OptimizerConfig(max_metric_calls=budget, seed=4, merge=False, **ONE))
    state = optimizer.run(SEED)
    assert state.stop_reason.startswith("max_metric_calls")
    assert len(task_model.history) == state.metric_calls <= budget
    worst_iteration = 2 * 3 + 10  # minibatch twice plus the validation set
    assert budget - state.metric_calls < worst_iteration  # it stopped only when the next step might not fit


def test_acceptance_decisions_follow_the_strict_rule() -> None:
    events: list[Event] = []
    optimizer, _, _ = build(OptimizerConfig(max_metric_calls=80, seed=3, **ONE), events=events)
    optimizer.run(SEED)
    decided = [e for e in events if e.kind in ("candidate_accepted", "candidate_rejected")]
    assert decided
    for event in decided:
        better = event.data["child_minibatch"] > event.data["parent_minibatch"]
        assert better == (event.kind == "candidate_accepted")


def test_merge_combines_two_lineages() -> None:
    # Pareto selection from a seed that is on the front: the two fixes grow in separate lineages.
    events: list[Event] = []
    optimizer, _, _ = build(OptimizerConfig(max_metric_calls=200, seed=1, max_iterations=30, **ONE), events=events)
    state = optimizer.run(SEED)
    merged = [c for c in state.candidates if c.origin == "merge"]
    assert merged, [e.kind for e in events]
    child = merged[0]
    first, second = (state.candidates[state.index_of(p)] for p in child.parents)
    assert first.origin.startswith("mutation") and second.origin.startswith("mutation")
    for name in child.components:
        assert child[name] in (first[name], second[name])
    assert child.components != first.components and child.components != second.components


def test_same_seed_same_run() -> None:
    first = build(OptimizerConfig(max_metric_calls=100, seed=7, **ONE))[0].run(SEED)
    second = build(OptimizerConfig(max_metric_calls=100, seed=7, **ONE))[0].run(SEED)
    assert first.to_dict() == second.to_dict()


def test_known_pairs_are_never_paid_twice() -> None:
    optimizer, task_model, _ = build(OptimizerConfig(max_metric_calls=150, seed=2, **ONE))
    state = optimizer.run(SEED)
    asked = [tuple(tuple(sorted(m.items())) for m in messages) for messages, _ in task_model.history]
    assert len(asked) == len(set(asked)) == state.metric_calls


def test_placeholder_breaking_proposals_are_rejected_before_any_rollout() -> None:
    events: list[Event] = []
    optimizer, task_model, reflector = build(
        OptimizerConfig(max_iterations=6, max_metric_calls=None, seed=0, optimize=("user",)),
        reflect=fakes.placeholder_dropping_reflector,
        events=events,
        template=fakes.WHOLE_TEXT_TEMPLATE,
    )
    state = optimizer.run(SEED)
    rejected = [e for e in events if e.kind == "proposal_rejected"]
    assert rejected and all(e.data["reason"] == "placeholders" for e in rejected)
    assert "dropped {{text}}" in rejected[0].data["detail"]
    # Each break was sent back once with the problem quoted before the proposal was given up.
    repairs = [messages for messages, _ in reflector.history if len(messages) > 1]
    assert repairs and "dropped {{text}}" in repairs[0][-1]["content"]
    assert state.counts["reflection_calls"] == len(reflector.history)
    assert len(state.candidates) == 1
    # Only the seed was ever run: no child rollout was paid for.
    assert set(state.rollouts) == {SEED.id}
    assert len(task_model.history) == state.metric_calls == len(state.rollouts[SEED.id])


def test_a_failing_example_is_score_zero_with_feedback() -> None:
    def flaky(messages: Sequence[Message], params: Mapping[str, Any]) -> str:
        if "review 101 " in messages[-1]["content"]:
            raise RuntimeError("provider hiccup")
        return fakes.task_model(messages, params)

    optimizer, _, _ = build(OptimizerConfig(max_metric_calls=40, seed=0, **ONE), task=flaky)
    state = optimizer.run(SEED)
    failed = state.rollouts[SEED.id]["val/1"]  # "review 101"
    assert failed.score == 0.0 and "provider hiccup" in failed.feedback and failed.error


def test_a_systemic_failure_stops_the_run() -> None:
    def no_key(messages: Sequence[Message], params: Mapping[str, Any]) -> str:
        raise ModelConfigError("model 'x' needs an API key: set the environment variable OPENAI_API_KEY")

    optimizer, _, _ = build(OptimizerConfig(max_metric_calls=40, seed=0, **ONE), task=no_key)
    with pytest.raises(ModelConfigError, match="OPENAI_API_KEY"):
        optimizer.run(SEED)


def test_a_placeholder_break_is_repaired_by_one_request_and_then_evaluated() -> None:
    events: list[Event] = []
    optimizer, _, reflector = build(
        OptimizerConfig(max_iterations=1, max_metric_calls=None, seed=0, optimize=("user",), skip_perfect=False, **ONE),
        reflect=fakes.repairable_reflector,
        events=events,
        template=fakes.WHOLE_TEXT_TEMPLATE,
    )
    state = optimizer.run(SEED)
    assert state.counts["repaired"] == state.counts["proposals"] == 1 and "proposal_placeholders" not in state.counts
    assert [e.data["problem"] for e in events if e.kind == "proposal_repaired"] == ["dropped {{text}}"]
    assert state.candidates[-1]["user"] == "Review: {{text}}\n" + fakes.RULE_B
    assert state.candidates[-1].id in state.rollouts  # the repaired text was evaluated
    assert state.counts["reflection_calls"] == len(reflector.history) == 2


def test_a_repeated_text_gets_a_repair_request_then_is_asked_again_with_other_examples_and_another_sample() -> None:
    calls: list[tuple[str, str, int]] = []

    def third_time_lucky(messages: Sequence[Message], params: Mapping[str, Any]) -> str:
        calls.append((fakes.request(messages), messages[-1]["content"], params["seed"]))
        if len(calls) <= 2:
            return "```\n(none yet)\n```"  # the current instructions, repeated (and repeated again when told so)
        return fakes.reflector(messages, params)

    config = OptimizerConfig(
        max_iterations=1, max_metric_calls=None, seed=0, optimize=("user",), skip_perfect=False, **ONE
    )
    optimizer, _, _ = build(config, reflect=third_time_lucky)
    state = optimizer.run(SEED)
    assert state.counts["proposal_unchanged"] == 1 and state.counts["proposals"] == 1
    (first, _, first_seed), (_, repair, _), (third, _, third_seed) = calls
    assert "it repeats the current text unchanged; write a different text" in repair
    assert first_seed != third_seed
    examples_shown = [[line for line in prompt.splitlines() if line.startswith("Input:")] for prompt in (first, third)]
    assert examples_shown[0] != examples_shown[1] and sorted(examples_shown[0]) == sorted(examples_shown[1])


def test_the_reflection_budget_stops_a_reflector_that_repeats_itself() -> None:
    events: list[Event] = []
    config = OptimizerConfig(max_metric_calls=None, max_reflection_calls=20, max_idle_iterations=1000, seed=0)
    optimizer, _task_model, reflector = build(config, reflect=fakes.parrot_reflector, events=events)
    state = optimizer.run(SEED)
    assert state.stop_reason.startswith("max_reflection_calls (20) reached")
    assert len(reflector.history) == state.counts["reflection_calls"] <= 20
    assert state.counts["proposal_unchanged"] == state.counts["proposals_asked"] < len(reflector.history)
    repairs = [m for m, _ in reflector.history if "it repeats the current text unchanged" in m[-1]["content"]]
    assert len(repairs) == len(reflector.history) - state.counts["proposals_asked"]  # one repair per repeat, at most
    assert len(state.candidates) == 1 and set(state.rollouts) == {SEED.id}


def test_several_proposals_per_iteration_are_deterministic_and_the_best_goes_on() -> None:
    def varied(messages: Sequence[Message], params: Mapping[str, Any]) -> str:
        time.sleep(random.random() / 200)  # threads finish in a different order on every run
        _component, _current = fakes._target(messages)
        if params["seed"] % 3 == 0:
            return fakes.reflector(messages, params)
        return f"```\nvariant {params['seed'] % 7}: think about it\n```"

    def run(events: list[Event]) -> Any:
        config = OptimizerConfig(max_metric_calls=120, seed=11, proposals_per_iteration=3, concurrency=4)
        return build(config, reflect=varied, events=events)[0].run(SEED)

    first_events: list[Event] = []
    first, second = run(first_events), run([])
    assert first.to_dict() == second.to_dict()
    assert first.counts["proposals"] > first.to_dict()["iteration"]  # several children per iteration
    assert first.metric_calls <= 120
    decided: dict[int, list[Event]] = {}
    for event in first_events:
        if event.kind in ("candidate_accepted", "candidate_rejected"):
            decided.setdefault(event.iteration, []).append(event)
    for group in decided.values():
        winner = [e for e in group if e.data.get("reason") != "outscored"]
        assert len(winner) == 1
        assert all(e.data["child_minibatch"] <= winner[0].data["child_minibatch"] for e in group)


def test_a_failing_display_is_ignored_but_a_failing_run_log_stops_the_run() -> None:
    def broken(event: Event) -> None:
        raise RuntimeError("display gone")

    optimizer, _, _ = build(OptimizerConfig(max_metric_calls=40, seed=0, **ONE), callbacks=[broken])
    assert optimizer.run(SEED).finished

    def disk_full(event: Event) -> None:
        if event.kind == "iteration_started":
            raise OSError(28, "No space left on device")

    optimizer, _, _ = build(OptimizerConfig(max_metric_calls=40, seed=0, **ONE), record=disk_full)
    with pytest.raises(OSError, match="No space left"):
        optimizer.run(SEED)


def test_an_idle_run_names_what_kept_it_idle() -> None:
    config = OptimizerConfig(max_metric_calls=None, max_reflection_calls=1000, max_idle_iterations=3, seed=0, **ONE)
    state = build(config, reflect=fakes.failing_reflector)[0].run(SEED)
    assert state.stop_reason == "nothing new to evaluate in 3 iterations (every reflection call failed)"
    state = build(config, reflect=fakes.parrot_reflector)[0].run(SEED)
    assert state.stop_reason.endswith("(the reflector repeated texts already tried)")


def rows_of(kinds: str, offset: int) -> list[Example]:
    return [
        Example(id=f"{offset + i}", fields={"text": f"[{kind}] review {offset + i} is positive", "label": "positive"})
        for i, kind in enumerate(kinds)
    ]


def test_the_subset_policy_keeps_a_child_that_only_wins_its_minibatch_off_the_full_validation_set() -> None:
    """Training rows of kinds a and b, validation rows of kinds b and c: the system rule fixes a but breaks c, so
    that child beats its parent on a minibatch and loses on validation; the user rule fixes b everywhere."""

    def run(validation: Literal["full", "subset"]) -> tuple[Any, list[Event]]:
        events: list[Event] = []
        optimizer = Optimizer(
            system=PromptSystem(ModelClient(FakeModel(fakes.task_model), role="task")),
            evaluator=Exact(expected="label"),
            proposer=ReflectiveProposer(ModelClient(FakeModel(fakes.reflector), role="reflection")),
            trainset=rows_of("ab" * 6, 0),
            valset=rows_of("bccc" * 50, 1000),
            callbacks=[events.append],
            config=OptimizerConfig(
                max_metric_calls=2000,
                max_iterations=6,
                seed=1,
                merge=False,
                skip_perfect=False,
                validation=validation,
                validation_subset=20,
                **ONE,
            ),
        )
        return optimizer.run(SEED), events

    full, _ = run("full")
    subset, events = run("subset")
    for state in (full, subset):
        assert all(len(row) == 200 for row in state.val_scores)  # every member of the pool is scored everywhere
        assert fakes.RULE_B in state.candidates[state.best_index()]["user"]
    assert any(fakes.RULE_A in c["system"] for c in full.candidates)
    assert not any(fakes.RULE_A in c["system"] for c in subset.candidates)
    rejected = [e for e in events if e.kind == "candidate_rejected" and e.data["reason"] == "validation subset"]
    assert rejected and subset.counts["subset_rejected"] == len(rejected)
    assert rejected[0].data["child_subset"] < rejected[0].data["best_subset"]
    from gepa.run.report import rejected_proposals  # the report lists it (and does not trip over its fields)

    assert "below the best on a validation subset of 20" in rejected_proposals([e.to_dict() for e in events])
    assert subset.mean_scores()[subset.best_index()] == full.mean_scores()[full.best_index()]
    assert subset.metric_calls < full.metric_calls


def _rival_rules(messages: Sequence[Message], params: Mapping[str, Any]) -> str:
    """``fakes.task_model``, except that a prompt holding both rules confuses it: merging the lineages hurts."""
    system, user = next(m["content"] for m in messages if m["role"] == "system"), messages[-1]["content"]
    if fakes.RULE_A in system and fakes.RULE_B in user:
        return "unsure"
    return fakes.task_model(messages, params)


@pytest.mark.parametrize("seed", [0, 1, 2, 5])
def test_patience_counts_every_iteration_without_a_new_best_a_rejected_merge_included(seed: int) -> None:
    events: list[Event] = []
    optimizer, _, _ = build(
        OptimizerConfig(max_metric_calls=400, seed=seed, patience=3, **ONE), task=_rival_rules, events=events
    )
    state = optimizer.run(SEED)
    last_best = max(e.iteration for e in events if e.kind == "new_best")
    assert state.stop_reason == "no improvement in 3 iterations"
    assert state.iteration == last_best + 3
    merges = [e.iteration for e in events if e.kind == "merge_rejected"]
    assert bool(merges) == (seed in (1, 5))  # seeds 1 and 5 reject a merge after their last new best
    assert all(last_best < iteration <= state.iteration for iteration in merges)
