"""Every event a run emits has the payload its kind declares (``gepa.core.events.PAYLOADS``): the keys, and the
types of the values, that the run log, the report, the diagnosis and a user's callback read."""

from __future__ import annotations

import json
import types
from pathlib import Path
from typing import Any, Union, get_args, get_origin, get_type_hints

from click.testing import CliRunner

import gepa
from gepa.cli import main
from gepa.core.events import PAYLOADS, Event
from gepa.lm import ModelClient
from gepa.proposer import ReflectiveProposer
from tests import fakes

# Kinds the scripted world reaches below (guard_failed, guard_unpaid and merge_rejected are not: mypy checks their
# emit sites against their types, and nothing here checks what they write).
REACHED = {
    "run_started", "iteration_started", "minibatch_skipped", "proposal_rejected", "proposal_repaired",
    "candidate_rejected", "candidate_accepted", "merge_accepted", "new_best", "constant_answer", "within_noise",
    "budget", "run_finished", "rollout_scored", "final_scoring",
}  # fmt: skip


def fits(value: Any, hint: Any) -> bool:
    """Whether a JSON value fits a payload field's annotation (containers checked one level deep)."""
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        return any(fits(value, arg) for arg in get_args(hint))
    if hint is type(None):
        return value is None
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if origin is list:
        return isinstance(value, list) and all(fits(v, get_args(hint)[0]) for v in value)
    if origin is dict:
        return isinstance(value, dict) and all(fits(v, get_args(hint)[1]) for v in value.values())
    if origin is not None:  # a Literal
        return value in get_args(hint)
    return isinstance(value, hint)


def problem(kind: str, data: dict[str, Any]) -> str | None:
    """What is wrong with one event's payload against every type its kind allows; None when one fits."""
    problems = []
    for payload in PAYLOADS[kind]:  # type: ignore[index]
        hints = get_type_hints(payload)
        required = set(payload.__required_keys__)  # type: ignore[attr-defined]
        missing, extra = required - set(data), set(data) - set(hints)
        wrong = [k for k, v in data.items() if k in hints and not fits(v, hints[k])]
        ordered = [k for k in hints if k in data] == list(data)  # events.jsonl keeps the declared order
        if not (missing or extra or wrong) and ordered:
            return None
        problems.append(
            f"{payload.__name__}: missing {sorted(missing)}, extra {sorted(extra)}, wrong {wrong}, ordered {ordered}"
        )
    return f"{kind} {data}: " + "; ".join(problems)


def cli_run(tmp_path: Path, name: str, skewed: bool = False, **settings: Any) -> list[dict[str, Any]]:
    task = fakes.write_task(tmp_path / name, budget=200, **settings)
    for split, offset in (("train", 0), ("val", 100), ("test", 200)) if skewed else ():
        rows = fakes.skewed_rows(10, offset)
        (task.parent / "data" / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    runs = tmp_path / name / "runs"
    result = CliRunner().invoke(main, ["optimize", str(task), "--runs-dir", str(runs), "-q", "--no-cache"])
    assert result.exit_code == 0, result.output
    lines = (next(runs.iterdir()) / "events.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def test_every_event_has_the_payload_its_kind_declares(tmp_path: Path) -> None:
    recorded = [
        *cli_run(tmp_path, "default", optimizer="{proposals_per_iteration: 1}"),
        *cli_run(
            tmp_path, "subset", optimizer="{proposals_per_iteration: 1, validation: subset, validation_subset: 4}"
        ),
        *cli_run(tmp_path, "select", extra="objectives: [score, cost_usd]\nselect: {maximize: score}\n"),
        *cli_run(
            tmp_path,
            "constant",
            skewed=True,
            model="fake/tests.fakes:skewed_task_model",
            reflection_model="fake/tests.fakes:marker_reflector",
            optimizer="{proposals_per_iteration: 1, minibatch_size: 10}",
            extra="optimize: [system]\n",
        ),
    ]
    events = [
        {"kind": e.pop("kind"), **{k: v for k, v in e.items() if k not in ("time", "iteration")}} for e in recorded
    ]
    shown: list[Event] = []  # callbacks see every kind, those never written to the run log too
    repairing = ReflectiveProposer(
        ModelClient(gepa.lm.FakeModel(fakes.repairable_reflector), role="reflection"),
        template=fakes.WHOLE_TEXT_TEMPLATE,
    )
    for name, reflection_model in (("plain", gepa.lm.FakeModel(fakes.reflector)), ("repairs", repairing)):
        gepa.optimize(
            {"system": "You classify reviews.", "user": "Review: {{text}}"},
            fakes.make_rows(10),
            fakes.make_rows(10, 100),
            testset=fakes.make_rows(5, 200),
            task_model=gepa.lm.FakeModel(fakes.task_model),
            reflection_model=reflection_model,
            evaluator=gepa.evaluators.Exact(expected="label"),
            config=fakes.scripted_config(max_metric_calls=40, optimize=("user",)),
            callbacks=[shown.append],
            run_dir=tmp_path / name,
            use_cache=False,
        )
    events += [{"kind": e.kind, **e.data} for e in shown]
    problems = []
    kinds = set()
    for event in events:
        kind = event.pop("kind")
        kinds.add(kind)
        if (found := problem(kind, event)) is not None:
            problems.append(found)
    assert problems == []
    assert kinds >= REACHED, f"not reached: {sorted(REACHED - kinds)}"


def test_a_payload_that_drifts_from_its_type_is_caught() -> None:
    assert problem("budget", {"metric_calls": 3, "cost_usd": 0.0}) is None
    assert "missing ['cost_usd']" in (problem("budget", {"metric_calls": 3}) or "")
    assert "extra ['calls']" in (problem("budget", {"metric_calls": 3, "cost_usd": 0.0, "calls": 1}) or "")
    assert "wrong ['metric_calls']" in (problem("budget", {"metric_calls": "3", "cost_usd": 0.0}) or "")
    assert "ordered False" in (problem("budget", {"cost_usd": 0.0, "metric_calls": 3}) or "")
    subset = {"child": "c", "origin": "m", "reason": "validation subset", "subset": 4, "child_subset": 1.0,
              "best_subset": 2.0}  # fmt: skip
    assert problem("candidate_rejected", subset) is None
    assert problem("candidate_rejected", {**subset, "reason": "gone"}) is not None


def test_every_rejection_reason_has_its_words() -> None:
    from typing import get_args

    from gepa.core.admission import REJECTION_WORDS, RejectionReason

    assert set(REJECTION_WORDS) == set(get_args(RejectionReason))
