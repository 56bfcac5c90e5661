"""Token prices: the task file's ``prices:`` first, else litellm's price map (read from the package, never the
network); local and scripted models are free. ``None`` means unknown, and is reported as such."""

from __future__ import annotations

from collections.abc import Mapping

from gepa.lm.base import Prices, is_local


def model_prices(prices: Mapping[str, Mapping[str, float]] | None, model: str) -> Prices | None:
    """The task file's prices for ``model``, if it gives any."""
    return dict(prices[model]) if prices and model in prices else None


def token_prices(model: str, prices: Prices | None = None) -> tuple[float, float] | None:
    """USD per input and output token: the task's prices, else litellm's price map; None when unknown."""
    if prices:
        return prices.get("input_per_mtok", 0.0) / 1e6, prices.get("output_per_mtok", 0.0) / 1e6
    if is_local(model):
        return 0.0, 0.0
    from gepa.lm.litellm_model import import_litellm

    table = import_litellm().model_cost
    entry = table.get(model) or table.get(model.split("/", 1)[-1])
    if not entry:
        return None
    return float(entry.get("input_cost_per_token") or 0.0), float(entry.get("output_cost_per_token") or 0.0)
