"""gepa: evolve the prompts of an LLM task by reflective mutation on a Pareto front (GEPA).

    import gepa
    result = gepa.optimize(seed, trainset, valset, task_model=..., reflection_model=..., evaluator=...)

The public surface is ``__all__``; everything else is an implementation detail.
"""

from gepa import evaluators, lm, registry
from gepa.adapters import ReferenceAdapter
from gepa.api import RunResult, optimize, run_task
from gepa.core.candidate import Candidate, render
from gepa.core.config import Objective, OptimizerConfig, Selection
from gepa.core.events import Callback, Event
from gepa.core.policies import Policies
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
from gepa.lm.ledger import Usage
from gepa.run.assembly import ModelLike
from gepa.run.summary import RunSummary
from gepa.taskfile.spec import load_task

__all__ = [
    "Callback",
    "Candidate",
    "EvalResult",
    "Evaluator",
    "Event",
    "Example",
    "GepaError",
    "ModelCallError",
    "ModelConfigError",
    "ModelLike",
    "Objective",
    "OptimizerConfig",
    "Policies",
    "Proposer",
    "ReferenceAdapter",
    "RegistryError",
    "Rollout",
    "RunResult",
    "RunStateError",
    "RunSummary",
    "Selection",
    "System",
    "SystemOutput",
    "TaskSpecError",
    "Usage",
    "UserError",
    "evaluators",
    "lm",
    "load_task",
    "optimize",
    "registry",
    "render",
    "run_task",
]
