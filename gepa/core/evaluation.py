"""Scoring a candidate on examples: one rollout per example, failures turned into data.

A system or evaluator error on one example becomes score 0 with the error as feedback (the reflector
can learn from it). Systemic errors (bad key, unknown model, misconfigured evaluator) propagate.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Mapping
from typing import Any

from gepa.core.candidate import Candidate
from gepa.core.deadline import in_daemon
from gepa.core.types import AsyncSystem, EvalResult, Evaluator, Example, Rollout, System, SystemOutput
from gepa.errors import EvaluatorError, SystemicModelError, TransientModelError, UserError, redact_secrets

FATAL = (SystemicModelError, UserError, EvaluatorError)


def evaluator_name(evaluator: Evaluator) -> str:
    """How errors name an evaluator: its ``name`` attribute, else its class."""
    return str(getattr(evaluator, "name", None) or type(evaluator).__name__)


def valid_score(value: Any) -> float | None:
    """``value`` as a score if it is a finite real number in [0, 1]; None otherwise (a string, NaN, 1.5...)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    score = float(value)
    return score if math.isfinite(score) and 0.0 <= score <= 1.0 else None


def rollout(
    system: System, evaluator: Evaluator, candidate: Candidate, example: Example, timeout: float | None = None
) -> Rollout:
    """Run and score ``candidate`` on ``example``; never raises for a per-example failure. With ``timeout``, a
    rollout still running after that many seconds is left behind and scores 0 (see ``gepa.core.deadline``)."""
    if timeout is None:
        return _rollout(system, evaluator, candidate, example, [])
    reached: list[SystemOutput] = []  # the system's output, once the evaluator has it
    try:
        return in_daemon(lambda: _rollout(system, evaluator, candidate, example, reached)).result(timeout)
    except TimeoutError:
        return timed_out(evaluator, example, reached[0] if reached else None, timeout)


def _rollout(
    system: System, evaluator: Evaluator, candidate: Candidate, example: Example, reached: list[SystemOutput]
) -> Rollout:
    try:
        output = system.run(candidate, example)
    except Exception as exc:  # noqa: BLE001 - sorted by failed_run
        return failed_run(example, exc)
    reached.append(output)
    return score_output(evaluator, candidate, example, output)


async def arollout(
    system: AsyncSystem, evaluator: Evaluator, candidate: Candidate, example: Example, timeout: float | None = None
) -> Rollout:
    """``rollout`` on the async path; the evaluator runs in a worker thread (it may call a judge model)."""
    started = time.monotonic()
    try:
        output = await asyncio.wait_for(system.arun(candidate, example), timeout)
    except TimeoutError:
        return timed_out(evaluator, example, None, timeout or 0.0)
    except Exception as exc:  # noqa: BLE001 - sorted by failed_run
        return failed_run(example, exc)
    if timeout is None:
        return await asyncio.to_thread(score_output, evaluator, candidate, example, output)
    left = max(0.0, timeout - (time.monotonic() - started))
    try:
        scoring = in_daemon(lambda: score_output(evaluator, candidate, example, output))
        return await asyncio.wait_for(asyncio.wrap_future(scoring), left)
    except TimeoutError:
        return timed_out(evaluator, example, output, timeout)


def timed_out(evaluator: Evaluator, example: Example, output: SystemOutput | None, timeout: float) -> Rollout:
    """A rollout given up after ``timeout`` seconds: in the system (no output yet) or in the evaluator."""
    limit = f"took longer than rollout_timeout ({timeout:g}s)"
    if output is None:
        return system_failed(example, f"the system {limit} on example {example.id}")
    return evaluator_failed(
        example, output, f"evaluator {evaluator_name(evaluator)} failed on example {example.id}: it {limit}"
    )


def evaluator_failed(
    example: Example, output: SystemOutput, message: str, objectives: Mapping[str, float] | None = None
) -> Rollout:
    """A zero-score rollout of an output the evaluator could not score, with ``message`` as error and feedback."""
    return Rollout(
        example_id=example.id,
        output=output.text,
        score=0.0,
        trace=output.trace,
        error=message,
        error_source="evaluator",
        feedback=f"The evaluator failed on this output: {message}",
        objectives=objectives or {},
    )


def failed_run(example: Example, exc: Exception) -> Rollout:
    """A system failure on one example as data for the reflector; a systemic one is raised again."""
    if isinstance(exc, FATAL):
        raise exc
    if isinstance(exc, TransientModelError):  # the engine stops when a whole batch fails so
        return Rollout(
            example_id=example.id,
            output="",
            score=0.0,
            error=str(exc),
            error_source="unreachable",
            feedback=f"The model could not be reached: {exc}",
        )
    return system_failed(example, redact_secrets(f"{type(exc).__name__}: {exc}"))


def system_failed(example: Example, message: str) -> Rollout:
    """A zero-score rollout of an example the system gave no output for, with ``message`` as error and feedback."""
    return Rollout(
        example_id=example.id,
        output="",
        score=0.0,
        error=message,
        error_source="system",
        feedback=f"The system failed on this example: {message}",
    )


def as_result(value: Any) -> EvalResult:
    """What a metric naturally returns, as an ``EvalResult``: a number, ``(score, feedback)``, a dict (``score``,
    ``feedback``, ``scores``, ``expected``), an object with ``score`` and ``feedback`` attributes (DSPy's
    ``Prediction``), or an ``EvalResult``. The score is passed on as it is: ``score_output`` refuses one that is
    not a number in [0, 1]."""
    if isinstance(value, EvalResult):
        return value
    if isinstance(value, tuple) and len(value) == 2:
        return EvalResult(score=value[0], feedback=str(value[1]))
    if isinstance(value, Mapping):
        scores = dict(value.get("scores") or {})
        if "score" not in value and scores:  # several named scores: the primary is their mean
            numbers = [v for v in scores.values() if isinstance(v, int | float)]
            primary: Any = sum(numbers) / len(numbers) if len(numbers) == len(scores) else scores
        else:
            primary = value["score"]
        expected = value.get("expected")
        return EvalResult(
            score=primary,
            feedback=str(value.get("feedback", "")),
            scores=scores,
            expected=None if expected is None else str(expected),
        )
    if hasattr(value, "score") and not isinstance(value, int | float):
        return EvalResult(score=value.score, feedback=str(getattr(value, "feedback", "") or ""))
    return EvalResult(score=value, feedback="")


def score_output(evaluator: Evaluator, candidate: Candidate, example: Example, output: SystemOutput) -> Rollout:
    """Score one output; an evaluator that fails or returns a score outside [0, 1] is an error on the example.
    Any evaluator may return what ``as_result`` converts (a plain metric returning a float included)."""
    try:
        result = as_result(evaluator(example, output.text))
        score = valid_score(result.score)
        if score is None:
            raise ValueError(f"returned the score {result.score!r}; a score must be a number in [0, 1]")
        named = {}
        for name, value in result.scores.items():
            checked = valid_score(value)
            if checked is None:
                raise ValueError(f"returned the score {value!r} for {name!r}; a score must be a number in [0, 1]")
            named[name] = checked
    except FATAL:
        raise
    except SystemExit as exc:  # would end the process without a word; the run's saved state must survive it
        raise EvaluatorError(
            f"evaluator {evaluator_name(evaluator)} called sys.exit({exc.code!r}) on example "
            f"{example.id}; an evaluator returns a score and never exits (the run's saved state is "
            "kept: fix the evaluator and resume)"
        ) from None
    except Exception as exc:  # noqa: BLE001 - one output the evaluator choked on
        message = redact_secrets(f"evaluator {evaluator_name(evaluator)} failed on example {example.id}: {exc}")
        return evaluator_failed(example, output, message, measured(candidate, output, {"score": 0.0}))
    return Rollout(
        example_id=example.id,
        output=output.text,
        score=score,
        feedback=result.feedback,
        trace=output.trace,
        objectives=measured(candidate, output, {"score": score, **named}),
        expected=None if result.expected is None else str(result.expected),
    )


def measured(candidate: Candidate, output: SystemOutput, scores: dict[str, float]) -> dict[str, float]:
    """Every objective one rollout measures: the scores, what the call cost (tokens, cost_usd, latency_s) and
    ``prompt_chars``, the length of the prompt as sent (the candidate's texts when the system shows no trace)."""
    messages = output.trace.get("messages") if isinstance(output.trace, dict) else None
    if isinstance(messages, list) and all(isinstance(m, dict) for m in messages):
        chars = sum(len(str(m.get("content", ""))) for m in messages)
    else:
        chars = sum(len(text) for text in candidate.components.values())
    return {**scores, **{k: float(v) for k, v in output.usage.items()}, "prompt_chars": float(chars)}
