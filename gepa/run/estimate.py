"""What a run would spend at most, before it spends anything (``gepa optimize --dry-run``)."""

from __future__ import annotations

from dataclasses import dataclass

from gepa.lm.base import prompt_tokens
from gepa.lm.pricing import model_prices, token_prices
from gepa.run.runner import Prepared, task_prices
from gepa.system import preview_fields, render_messages


@dataclass(frozen=True, kw_only=True)
class Estimate:
    """What a run would spend at most: calls per role and a rough cost (None where a price is unknown)."""

    task_calls: int
    reflection_calls: int
    test_calls: int
    cost_usd: float | None


def estimate(prepared: Prepared) -> Estimate:
    """Upper-bound calls from the budgets; cost from the first example's prompt size (``prompt_tokens``)."""
    config, splits, spec = prepared.config, prepared.splits, prepared.task_file().spec
    samples = config.samples_per_example  # each metric call runs the task model this many times
    task_calls = (config.max_metric_calls or 0) * samples
    reflection_calls = config.reflection_call_limit() or 0
    test_calls = 2 * len(splits.test) * samples
    shown = render_messages(
        prepared.seed, preview_fields(prepared.system, splits.train[0].fields), prepared.input_fields
    )
    prompt_size = prompt_tokens(m["content"] for m in shown)
    prices = task_prices(spec)
    task_rate = token_prices(prepared.task_model, model_prices(prices, prepared.task_model))
    reflection_rate = token_prices(prepared.reflection_model, model_prices(prices, prepared.reflection_model))
    if task_rate is None or reflection_rate is None:
        return Estimate(task_calls=task_calls, reflection_calls=reflection_calls, test_calls=test_calls, cost_usd=None)
    task_out = int(spec.model_params.get("max_tokens") or 256)
    reflection_in = 1500 + prompt_size * config.minibatch_size
    reflection_out = int(spec.reflection_params.get("max_tokens") or 512)
    cost = (task_calls + test_calls) * (prompt_size * task_rate[0] + task_out * task_rate[1]) + reflection_calls * (
        reflection_in * reflection_rate[0] + reflection_out * reflection_rate[1]
    )
    return Estimate(task_calls=task_calls, reflection_calls=reflection_calls, test_calls=test_calls, cost_usd=cost)
