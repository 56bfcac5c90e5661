"""gepa: evolve the prompts of an LLM task by reflective mutation on a Pareto front (GEPA).

    import gepa
    result = gepa.optimize(seed, trainset, valset, task_model=..., reflection_model=..., evaluator=...)

The public surface is ``__all__``; everything else is an implementation detail.
"""

from gepa import evaluators, registry
from gepa.api import RunResult, optimize, run_task
from gepa.core.candidate import Candidate
from gepa.core.config import OptimizerConfig
from gepa.core.events import Event
from gepa.core.types import EvalResult, Evaluator, Example, Proposer, Rollout, System, SystemOutput
from gepa.errors import (
    GepaError,
    ModelCallError,
    ModelConfigError,
    RegistryError,
    RunStateError,
    TaskSpecError,
    UserError,
)
from gepa.task import load_task

__all__ = [
    "Candidate",
    "EvalResult",
    "Evaluator",
    "Event",
    "Example",
    "GepaError",
    "ModelCallError",
    "ModelConfigError",
    "OptimizerConfig",
    "Proposer",
    "RegistryError",
    "Rollout",
    "RunResult",
    "RunStateError",
    "System",
    "SystemOutput",
    "TaskSpecError",
    "UserError",
    "evaluators",
    "load_task",
    "optimize",
    "registry",
    "run_task",
]
