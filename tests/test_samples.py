"""``samples_per_example``: a pair is run that many times through a sampled task model, its score is the mean,
each sample has its own cache entry (a rerun calls nothing and scores the same), and the reflector is told."""

from __future__ import annotations

from pathlib import Path

import gepa
from gepa.core.events import Event
from tests import fakes


def optimize(cache: Path, samples: int) -> tuple[gepa.RunResult, gepa.lm.FakeModel, list[Event]]:
    model = gepa.lm.FakeModel(fakes.coin_task_model)
    events: list[Event] = []
    result = gepa.optimize(
        {"system": "You classify reviews.", "user": "Review: {{text}}"},
        fakes.make_rows(10),
        fakes.make_rows(10, 100),
        testset=fakes.make_rows(5, 200),
        task_model=model,
        reflection_model="fake/tests.fakes:reflector",
        task_params={"temperature": 0.7, "max_tokens": 16},
        evaluator=gepa.evaluators.Exact(expected="label"),
        cache_dir=cache,
        run_dir=cache.parent / f"run-{len(list(cache.parent.glob('run-*')))}",
        callbacks=[events.append],
        config=fakes.scripted_config(max_metric_calls=60, samples_per_example=samples),
    )
    return result, model, events


def test_each_pair_is_sampled_three_times_scored_by_the_mean_and_replayed_from_the_cache(tmp_path: Path) -> None:
    result, model, events = optimize(tmp_path / "cache", 3)
    final = next(e for e in events if e.kind == "final_scoring")
    pairs = result.metric_calls + final.data["examples"]
    assert len(model.history) == 3 * pairs  # three task-model calls per scored pair
    seeds: dict[str, set[int]] = {}
    for messages, params in model.history:
        seeds.setdefault(repr(messages), set()).add(params["seed"])
    assert {len(found) for found in seeds.values()} == {3}  # each pair's three samples had their own seeds
    seed_scores = result.val_scores[0]
    assert any(0 < s < 1 and abs(s * 3 - round(s * 3)) < 1e-9 for s in seed_scores)  # a mean of three: 1/3, 2/3
    rollouts = result.state.rollouts[result.candidates[0].id].values()
    assert any("run 3 times" in r.feedback for r in rollouts)  # what the reflector reads says so

    again, replay, _ = optimize(tmp_path / "cache", 3)
    assert replay.history == [] and again.val_scores == result.val_scores  # every sample came from the cache


def test_one_sample_per_pair_is_the_default(tmp_path: Path) -> None:
    result, model, events = optimize(tmp_path / "cache", 1)
    final = next(e for e in events if e.kind == "final_scoring")
    assert len(model.history) == result.metric_calls + final.data["examples"]
    assert all(s in (0.0, 1.0) for s in result.val_scores[0])


def test_samples_of_a_greedy_task_model_are_warned_about(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from gepa.cli import main

    greedy = fakes.write_task(tmp_path / "greedy", optimizer="{proposals_per_iteration: 1, samples_per_example: 3}")
    result = CliRunner().invoke(main, ["optimize", str(greedy), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "samples_per_example is 3 but the task model answers greedily" in " ".join(result.output.split())

    sampled = fakes.write_task(
        tmp_path / "sampled",
        optimizer="{proposals_per_iteration: 1, samples_per_example: 3}",
        extra="model_params: {temperature: 0.7}\n",
    )
    result = CliRunner().invoke(main, ["optimize", str(sampled), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "greedily" not in result.output


def test_a_pair_whose_other_samples_failed_shows_the_answer_it_gave() -> None:
    from gepa.core.sampling import combine
    from gepa.core.types import Rollout

    answered = Rollout(example_id="e", output="positive", score=1.0, feedback="", expected="positive")
    failed = Rollout(example_id="e", output="", score=0.0, feedback="timed out", error="timeout", error_source="system")
    pair = combine([failed, answered, failed])
    assert pair.output == "positive" and pair.error is None and pair.expected == "positive"
    assert abs(pair.score - 1 / 3) < 1e-9 and pair.feedback.startswith("timed out")
    all_failed = combine([failed, failed])
    assert all_failed.error == "timeout" and all_failed.output == ""
