"""The one path from model names to live parts, shared by ``gepa.optimize`` and task files: the clients of a
run (one ledger, cache, rate limit and run seed for every role), the task system and the reflective proposer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gepa.core.config import OptimizerConfig
from gepa.core.executors import RolloutExecutor
from gepa.core.types import Proposer, System
from gepa.lm.base import Endpoint, LanguageModel, is_local
from gepa.lm.cache import ResponseCache
from gepa.lm.client import ModelClient
from gepa.lm.ledger import UsageLedger
from gepa.lm.local_model import EMBEDDED_MODEL
from gepa.lm.open import open_backend
from gepa.lm.pricing import model_prices
from gepa.lm.ratelimit import RateLimiter
from gepa.proposer.reflective import ReflectiveProposer
from gepa.system import PromptSystem

ModelLike = str | LanguageModel | ModelClient


def pick_reflection_model(task_model: str, configured: str | None, *, task_model_overridden: bool = False) -> str:
    """The reflector: the one configured; else the task model, unless that is local (the embedded model then).

    A task file's local reflector gives way to the task model when the task model was overridden with a remote
    one (``--model openai/...``): a 135M reflector would silently waste a paid run.
    """
    if configured and not (task_model_overridden and is_local(configured) and not is_local(task_model)):
        return configured
    return EMBEDDED_MODEL if is_local(task_model) else task_model


@dataclass(kw_only=True)
class RunModels:
    """What every model client of one run shares, so budgets, cache and seeds cover all roles together."""

    ledger: UsageLedger = field(default_factory=UsageLedger)
    cache: ResponseCache | None = None
    limiter: RateLimiter | None = None
    seed: int = 0
    prices: Mapping[str, Mapping[str, float]] = field(default_factory=dict)

    def client(
        self,
        model: ModelLike,
        role: str,
        params: Mapping[str, Any],
        *,
        api_base: str | None = None,
        api_key_env: str | None = None,
    ) -> ModelClient:
        """A client for ``model`` in ``role``; a ready ``ModelClient`` is used as it is."""
        if isinstance(model, ModelClient):
            return model
        backend = (
            model
            if not isinstance(model, str)
            else open_backend(
                model, Endpoint(api_base=api_base, api_key_env=api_key_env, prices=model_prices(self.prices, model))
            )
        )
        return ModelClient(
            backend,
            role=role,
            ledger=self.ledger,
            cache=self.cache,
            params=params,
            limiter=self.limiter,
            seed=self.seed,
        )


def task_system(
    task_model: ModelLike | System,
    models: RunModels,
    params: Mapping[str, Any],
    *,
    input_fields: Sequence[str] = (),
    api_base: str | None = None,
    api_key_env: str | None = None,
) -> System:
    """The system under optimisation: a given pipeline, or one call of the task model per example."""
    if isinstance(task_model, System) and not isinstance(task_model, ModelClient):
        return task_model
    client = models.client(task_model, "task", params, api_base=api_base, api_key_env=api_key_env)
    return PromptSystem(client, input_fields)


def default_policy(reflection_model: ModelLike) -> str:
    """The reflection request for a reflector: ``scaffolded`` (worked examples, an answer cue) for a model that runs
    on this machine, whose size is that of the embedded models (135M to a few B); ``general`` (the task's facts,
    rules and strategy, the GEPA paper's kind of request) for a served model, which is usually far larger."""
    name = (
        reflection_model
        if isinstance(reflection_model, str)
        else str(getattr(reflection_model, "model", "") or getattr(reflection_model, "name", ""))
    )
    return "scaffolded" if is_local(name) else "general"


def reflective_proposer(
    reflection_model: ModelLike | Proposer,
    models: RunModels,
    params: Mapping[str, Any],
    *,
    template: str | None = None,
    policy: str = "default",
    input_fields: Sequence[str] = (),
    api_base: str | None = None,
    api_key_env: str | None = None,
) -> Proposer:
    """The proposer: a given one, or the reflective proposer on the reflection model (``policy`` ``default``:
    the one ``default_policy`` picks for it)."""
    if isinstance(reflection_model, Proposer):
        return reflection_model
    client = models.client(reflection_model, "reflection", params, api_base=api_base, api_key_env=api_key_env)
    chosen = default_policy(reflection_model) if policy == "default" else policy
    return ReflectiveProposer(client, template=template, policy=chosen, input_fields=input_fields)


def rollout_executor(config: OptimizerConfig) -> RolloutExecutor | None:
    """The rollout executor built outside the core: Ray when the settings ask for it; else None, and the engine
    uses its own (threads or async)."""
    if config.executor != "ray":
        return None
    from gepa.run.ray_executor import RayRollouts  # Ray is an extra, imported only when asked for

    return RayRollouts(
        config.concurrency,
        address=config.ray_address,
        cpus=config.ray_cpus_per_rollout,
        gpus=config.ray_gpus_per_rollout,
        timeout=config.rollout_timeout,
    )
