"""What the seed's validation rollouts say about the setup: when every one failed the same way, the fault is in
the evaluator or the model's server (or its parameters), not in the prompt, so optimising would only spend the
budget on failures. Such a run stops at once with the first error, as for an unreachable server."""

from __future__ import annotations

from collections.abc import Sequence

from gepa.core.types import Rollout
from gepa.errors import EvaluatorError, GepaError, SystemicModelError

SYSTEM_FAILURES = ("system", "unreachable")


def seed_failure(scored: Sequence[Rollout]) -> GepaError | None:
    """The error that stops a run whose seed failed on every validation example; None when any rollout worked."""
    if not scored:
        return None
    first = scored[0].error
    if all(r.error_source == "evaluator" for r in scored):
        return EvaluatorError(
            f"the evaluator failed on every validation example of the seed, so there is "
            f"nothing to optimise; the first: {first}"
        )
    if all(r.error_source in SYSTEM_FAILURES for r in scored):
        return SystemicModelError(
            f"every rollout of the seed failed on the {len(scored)} validation examples, so "
            f"there is nothing to optimise (the model's server or its parameters are at fault, "
            f"not the prompt); the first error: {first}"
        )
    return None
