"""What a model backend is: ``complete(messages, params) -> Completion``.

``ALLOW_MODEL_CALLS`` is the guard tests switch off so no test reaches a paid provider by accident;
only backends that leave the machine (litellm) check it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypedDict

from gepa.errors import ModelConfigError

CHARS_PER_TOKEN = 4  # a rough rule for English text, for estimates made before a call
ON_MACHINE_PREFIXES = ("local/", "fake/")  # embedded or scripted models: no key, no cost, no network


def prompt_tokens(contents: Iterable[str]) -> int:
    """The size in tokens of a prompt's message texts, estimated from their characters (the real count needs the
    model's tokenizer)."""
    return sum(len(text) for text in contents) // CHARS_PER_TOKEN


def is_local(model: str) -> bool:
    """A model that runs on this machine (embedded or scripted): no key, no cost, no network."""
    return model.startswith(ON_MACHINE_PREFIXES)


ALLOW_MODEL_CALLS = os.environ.get("GEPA_ALLOW_MODEL_CALLS", "1") != "0"

# The sampling parameters of each role when none are given (task files and ``gepa.optimize`` alike): the task
# model answers greedily, so a candidate's score is repeatable; the reflector samples, so retries differ.
TASK_PARAMS: dict[str, Any] = {"temperature": 0, "max_tokens": 512}
REFLECTION_PARAMS: dict[str, Any] = {"temperature": 0.7, "max_tokens": 512}


Prices = Mapping[str, float]  # a model's price: {"input_per_mtok": ..., "output_per_mtok": ...}


@dataclass(frozen=True, kw_only=True)
class Endpoint:
    """Where a remote model is and how to pay for it."""

    api_base: str | None = None
    api_key_env: str | None = None
    timeout: float = 60.0
    prices: Prices | None = None


DEFAULT_ENDPOINT = Endpoint()  # the provider's own address, its usual key variable, a 60 s timeout


def key_missing_error(model: str, variables: Sequence[str]) -> ModelConfigError:
    """The error for a remote model whose API key variables are not set, naming them."""
    return ModelConfigError(
        f"model {model!r} needs an API key: set the environment variable {' and '.join(variables)}", model=model
    )


class Message(TypedDict):
    role: str
    content: str


@dataclass(frozen=True, kw_only=True)
class Completion:
    """A model's answer with its token counts. ``cost_usd`` is None when the price is unknown."""

    text: str
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = 0.0
    latency_s: float = 0.0  # of the call that produced it (a cache hit keeps the original's)
    cached: bool = False


class LanguageModel(Protocol):
    """A backend. ``name`` identifies it in cache keys and accounting; ``complete`` may raise
    ``gepa.errors.ModelCallError`` subclasses (transient ones are retried by ``ModelClient``)."""

    name: str

    def complete(self, messages: Sequence[Message], params: Mapping[str, Any]) -> Completion: ...


class Completes(Protocol):
    """Anything that answers chat messages: a ``ModelClient`` (what evaluators, proposers and systems take)."""

    def complete(self, messages: Any, params: Mapping[str, Any] | None = None, *, sample: int | None = None) -> Any: ...


def check_allow_model_calls(model: str) -> None:
    """Refuse a call that would leave the machine while the guard is off (as in the test suite)."""
    if not ALLOW_MODEL_CALLS:
        raise ModelConfigError(
            f"model calls to {model!r} are disabled (GEPA_ALLOW_MODEL_CALLS=0 or a test guard)", model=model
        )
