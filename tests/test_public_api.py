"""The public surface: ``__all__`` is sorted and complete, and ``gepa.optimize`` runs a custom system."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

import gepa
from tests import fakes


def test_all_is_sorted_and_importable() -> None:
    assert gepa.__all__ == sorted(gepa.__all__)
    for name in gepa.__all__:
        assert getattr(gepa, name) is not None


def test_optimize_with_fake_models() -> None:
    result = gepa.optimize(
        {"system": "You classify reviews.", "user": "Review: {{text}}"},
        fakes.make_rows(10),
        fakes.make_rows(10, 100),
        task_model=gepa.lm.FakeModel(fakes.task_model),
        reflection_model=gepa.lm.FakeModel(fakes.reflector),
        evaluator=gepa.evaluators.Exact(expected="label"),
        config=fakes.scripted_config(max_metric_calls=80),
        use_cache=False,
    )
    assert result.best_score == 0.8 and fakes.RULE_B in result.best["user"]
    assert result.metric_calls <= 80 and result.best in result.frontier
    assert result.usage.calls > 0


class Pipeline:
    """A two-step custom system: it only uses the candidate's `user` component as a prefix."""

    def run(self, candidate: gepa.Candidate, example: gepa.Example) -> gepa.SystemOutput:
        user = candidate["user"].replace("{{text}}", example.fields["text"])
        answer = fakes.task_model([{"role": "user", "content": user}], {})
        return gepa.SystemOutput(text=answer, trace={"steps": 2})


def test_optimize_accepts_a_custom_system_and_evaluator() -> None:
    def evaluate(example: gepa.Example, output: str) -> gepa.EvalResult:
        ok = output == example.fields["label"]
        return gepa.EvalResult(score=float(ok), feedback="ok" if ok else "say the label")

    def respond(messages: Any, params: Mapping[str, Any]) -> str:
        return fakes.reflector(messages, params)

    result = gepa.optimize(
        {"user": "Review: {{text}}"},
        fakes.make_rows(10),
        fakes.make_rows(10, 100),
        task_model=Pipeline(),
        reflection_model=gepa.lm.FakeModel(respond),
        evaluator=evaluate,
        use_cache=False,
        config=fakes.scripted_config(max_metric_calls=60),
    )
    assert fakes.RULE_B in result.best["user"]


def test_every_public_name_of_gepa_is_in_all() -> None:
    import types

    public = {
        name
        for name, value in vars(gepa).items()
        if not name.startswith("_") and not (isinstance(value, types.ModuleType) and name not in gepa.__all__)
    }
    assert public == set(gepa.__all__)
    for name in ("ModelLike", "RunSummary", "Objective", "Selection", "Callback", "Usage"):  # the API uses them
        assert name in gepa.__all__


def scripted_metric_run(metric: Any, **kwargs: Any) -> gepa.RunResult:
    return gepa.optimize(
        {"system": "You classify reviews.", "user": "Review: {{text}}"},
        fakes.make_rows(10),
        fakes.make_rows(10, 100),
        task_model=gepa.lm.FakeModel(fakes.task_model),
        reflection_model=gepa.lm.FakeModel(fakes.reflector),
        evaluator=metric,
        use_cache=False,
        config=fakes.scripted_config(max_metric_calls=80),
        **kwargs,
    )


class Prediction:
    """Shaped like DSPy's ``dspy.Prediction(score=..., feedback=...)``."""

    def __init__(self, score: float, feedback: str) -> None:
        self.score, self.feedback = score, feedback


@pytest.mark.parametrize("shape", ["float", "tuple", "dict", "EvalResult", "prediction", "fields-dict"])
def test_a_metric_written_as_people_write_them_drives_the_search(shape: str) -> None:
    def metric(example: Any, output: str) -> Any:
        right = output == example["label"]  # an Example reads like a dict of its fields
        score, feedback = float(right), "ok" if right else f"say {example.get('label')}"
        return {
            "float": score,
            "tuple": (score, feedback),
            "dict": {"score": score, "feedback": feedback},
            "EvalResult": gepa.EvalResult(score=score, feedback=feedback),
            "prediction": Prediction(score, feedback),
            "fields-dict": score,
        }[shape]

    result = scripted_metric_run(metric)
    assert result.best_score == pytest.approx(0.8) and fakes.RULE_B in result.best["user"]


def test_a_string_seed_shows_the_examples_fields_to_the_model() -> None:
    task_model = gepa.lm.FakeModel(fakes.task_model)
    gepa.optimize(
        "You classify reviews.",
        fakes.make_rows(4),
        fakes.make_rows(4, 100),
        task_model=task_model,
        reflection_model=gepa.lm.FakeModel(fakes.reflector),
        evaluator=gepa.evaluators.Exact(expected="label"),
        use_cache=False,
        config=gepa.OptimizerConfig(max_metric_calls=10, proposals_per_iteration=1),
    )
    messages = task_model.history[0][0]
    assert messages[0] == {"role": "system", "content": "You classify reviews."}
    assert messages[1]["role"] == "user" and messages[1]["content"].startswith("text: [")  # the input, not the label
    assert "label:" not in messages[1]["content"]


def test_a_placeholder_typo_is_refused_before_any_call() -> None:
    task_model = gepa.lm.FakeModel(fakes.task_model)
    with pytest.raises(
        gepa.UserError,
        match=r"placeholder \{\{txt\}\} in prompt component 'user' has no matching "
        r"field in train example train/0 \(fields: label, text\)",
    ):
        gepa.optimize(
            {"user": "{{txt}}"},
            fakes.make_rows(4),
            fakes.make_rows(4, 100),
            task_model=task_model,
            reflection_model=gepa.lm.FakeModel(fakes.reflector),
            evaluator=gepa.evaluators.Exact(expected="label"),
            use_cache=False,
        )
    assert task_model.history == []


def test_an_evaluator_field_the_data_lacks_is_refused_before_any_call() -> None:
    task_model = gepa.lm.FakeModel(fakes.task_model)
    val = [*fakes.make_rows(3, 100), {"text": "[a] review 9 is positive"}]  # one row without its label
    with pytest.raises(
        gepa.UserError,
        match=r"evaluator Exact expects the field 'label', which val example val/3 "
        r"lacks \(fields: text\)",
    ):
        gepa.optimize(
            {"user": "{{text}}"},
            fakes.make_rows(4),
            val,
            task_model=task_model,
            reflection_model=gepa.lm.FakeModel(fakes.reflector),
            evaluator=gepa.evaluators.Exact(expected="label"),
            use_cache=False,
        )
    assert task_model.history == []


def test_a_weighted_evaluator_part_is_checked_and_a_users_own_class_is_not() -> None:
    rows = [{"text": "[a] review 9 is positive", "label": "positive"}]
    weighted = gepa.evaluators.custom.Weighted(parts=[("match", gepa.evaluators.Exact(expected="gold"), 1.0)])
    with pytest.raises(gepa.UserError, match=r"expects the field 'gold'"):
        gepa.optimize(
            {"user": "{{text}}"},
            rows,
            rows,
            task_model=gepa.lm.FakeModel(fakes.task_model),
            reflection_model=gepa.lm.FakeModel(fakes.reflector),
            evaluator=weighted,
            use_cache=False,
        )

    class OwnEvaluator:  # ``expected`` here is the user's own setting, not a field name
        expected = "strict"

        def __call__(self, example: gepa.Example, output: str) -> float:
            return float(output.strip() == example["label"])

    task_model = gepa.lm.FakeModel(fakes.task_model)
    gepa.optimize(
        {"user": "{{text}}"},
        rows,
        rows,
        task_model=task_model,
        reflection_model=gepa.lm.FakeModel(fakes.reflector),
        evaluator=OwnEvaluator(),
        config=fakes.scripted_config(max_metric_calls=4),
        use_cache=False,
    )
    assert task_model.history  # the run went ahead: 'strict' was never looked up as a field


class SeedOnly:
    """A parent selector from Python: always the seed, and it counts its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def select(self, state: Any, rng: Any) -> int:
        self.calls += 1
        return 0


class NeverAccept:
    def accepts(self, child: tuple[float, ...], parent: tuple[float, ...]) -> bool:
        return False


@pytest.mark.parametrize("run_dir", [False, True])
def test_optimize_uses_the_policy_objects_passed_from_python(tmp_path: Any, run_dir: bool) -> None:
    events: list[gepa.Event] = []
    selector = SeedOnly()
    config = gepa.OptimizerConfig(max_metric_calls=80, proposals_per_iteration=1, merge=False)
    result = gepa.optimize(
        {"system": "You classify reviews.", "user": "Review: {{text}}"},
        fakes.make_rows(10),
        fakes.make_rows(10, 100),
        task_model=gepa.lm.FakeModel(fakes.task_model),
        reflection_model=gepa.lm.FakeModel(fakes.reflector),
        evaluator=gepa.evaluators.Exact(expected="label"),
        config=config,
        use_cache=False,
        policies=gepa.Policies.named(config, selector=selector),
        callbacks=[events.append],
        run_dir=tmp_path / "run" if run_dir else None,
    )
    seed = result.state.candidates[0].id
    parents = [e.data["parent"] for e in events if e.kind == "iteration_started"]
    assert parents and set(parents) == {seed} and selector.calls == len(parents)
    assert len(result.state.candidates) > 2  # children were accepted, all of the seed

    refused = gepa.optimize(
        {"system": "You classify reviews.", "user": "Review: {{text}}"},
        fakes.make_rows(10),
        fakes.make_rows(10, 100),
        task_model=gepa.lm.FakeModel(fakes.task_model),
        reflection_model=gepa.lm.FakeModel(fakes.reflector),
        evaluator=gepa.evaluators.Exact(expected="label"),
        config=config,
        use_cache=False,
        policies=gepa.Policies.named(config, acceptance=NeverAccept()),
    )
    assert len(refused.state.candidates) == 1 and refused.state.counts["rejected"] > 0


def test_every_exception_gepa_raises_for_users_is_in_the_drawn_tree() -> None:
    """A user-facing error outside the tree escapes the CLI's handler (a traceback) and the docs; control-flow
    signals are private (``_Name``) or say why in a noqa."""
    import importlib
    import inspect
    import pkgutil
    import re

    import gepa.errors

    signals = {"OutOfTime"}  # between the clock and the loop, caught inside the engine
    found = {}
    for module in pkgutil.walk_packages(gepa.__path__, "gepa."):
        if module.name == "gepa.__main__" or module.name.startswith("gepa.run.ray_executor"):
            continue  # the CLI entry point runs on import; extras may not be installed
        for name, value in vars(importlib.import_module(module.name)).items():
            if inspect.isclass(value) and issubclass(value, BaseException) and value.__module__.startswith("gepa"):
                found[name] = value
    public = {name: cls for name, cls in found.items() if not name.startswith("_") and name not in signals}
    assert {"CacheError", "StateFormatError", "UserError", "ModelCallError"} <= set(public)
    for name, cls in public.items():
        assert issubclass(cls, gepa.GepaError), name
        assert cls.__module__ == "gepa.errors", f"{name} is defined outside gepa/errors.py"
        assert re.search(rf"^    (?:[│├└─ ]*)?{name} ", gepa.errors.__doc__ or "", re.MULTILINE), (
            f"{name} is not drawn in the tree of gepa/errors.py"
        )
