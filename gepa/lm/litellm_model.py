"""Any provider through litellm (OpenAI, Anthropic, Ollama, vLLM, any OpenAI-compatible server).

litellm is imported lazily (it costs seconds) with its price map read from the package, never the
network. ``drop_params`` lets a provider ignore a parameter it does not take (such as the per-sample ``seed``).
Its exceptions become gepa's through ``gepa.lm.provider_errors``.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from gepa.errors import treat_as_secret
from gepa.lm.base import DEFAULT_ENDPOINT, Completion, Endpoint, Message, check_allow_model_calls, key_missing_error
from gepa.lm.provider_errors import map_provider_error, reading_reply


def import_litellm() -> Any:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.suppress_debug_info = True
    litellm.telemetry = False
    # litellm's async path builds its HTTP coroutine in a worker thread and drops it when that thread's call
    # fails (seen on a 500 from a hosted_vllm server): a warning about litellm's internals, not ours to show.
    warnings.filterwarnings(
        "ignore", message=r"coroutine 'BaseLLMHTTPHandler\.\w+' was never awaited", category=RuntimeWarning
    )
    return litellm


def missing_keys(model: str, api_base: str | None = None) -> list[str]:
    """Environment variables litellm needs for ``model`` that are not set (none when ``api_base`` is given)."""
    if api_base:
        return []
    try:
        report = import_litellm().validate_environment(model=model)
    except Exception:  # noqa: BLE001 - unknown provider: the call itself will say so
        return []
    return [str(k) for k in report.get("missing_keys", [])]


class LiteLLMModel:
    """A litellm model string; the endpoint's ``api_base`` for self-hosted servers, its ``api_key_env`` to pick the
    key's variable."""

    def __init__(self, model: str, endpoint: Endpoint = DEFAULT_ENDPOINT) -> None:
        self.name, self.api_base, self.api_key_env = model, endpoint.api_base, endpoint.api_key_env
        self.timeout, self.prices = endpoint.timeout, endpoint.prices
        treat_as_secret(self.api_key_env)

    def check_credentials(self) -> None:
        """Fail before any work when a key is missing, naming the variable to set."""
        if self.api_key_env and not os.environ.get(self.api_key_env):
            raise key_missing_error(self.name, [self.api_key_env])
        missing = [] if self.api_key_env else missing_keys(self.name, self.api_base)
        if missing:
            raise key_missing_error(self.name, missing)

    def complete(self, messages: Sequence[Message], params: Mapping[str, Any]) -> Completion:
        check_allow_model_calls(self.name)
        litellm = import_litellm()
        try:
            response = litellm.completion(**self._request(messages, params))
        except Exception as exc:
            raise map_provider_error(exc, self.name, self.api_base) from exc
        with reading_reply(self.name, self.api_base, response):
            return self._completion(litellm, response)

    async def acomplete(self, messages: Sequence[Message], params: Mapping[str, Any]) -> Completion:
        """``complete`` through ``litellm.acompletion``: many calls in flight on one thread."""
        check_allow_model_calls(self.name)
        litellm = import_litellm()
        try:
            response = await litellm.acompletion(**self._request(messages, params))
        except Exception as exc:
            raise map_provider_error(exc, self.name, self.api_base) from exc
        with reading_reply(self.name, self.api_base, response):
            return self._completion(litellm, response)

    def _request(self, messages: Sequence[Message], params: Mapping[str, Any]) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "model": self.name,
            "messages": list(messages),
            "timeout": self.timeout,
            "num_retries": 0,
            "max_retries": 0,
            "drop_params": True,
            **params,
        }
        if self.api_base:
            kwargs["api_base"] = self.api_base
        if self.api_key_env:
            treat_as_secret(self.api_key_env)  # again where a Ray worker unpickled this model
            kwargs["api_key"] = os.environ.get(self.api_key_env, "")
        elif self.api_base:
            kwargs.setdefault("api_key", "not-needed")
        return kwargs

    def _completion(self, litellm: Any, response: Any) -> Completion:
        text = response.choices[0].message.content or ""
        usage = getattr(response, "usage", None)
        tokens_in = int(getattr(usage, "prompt_tokens", 0) or 0)
        tokens_out = int(getattr(usage, "completion_tokens", 0) or 0)
        return Completion(
            text=text,
            input_tokens=tokens_in,
            output_tokens=tokens_out,
            cost_usd=self._cost(litellm, response, tokens_in, tokens_out),
        )

    def _cost(self, litellm: Any, response: Any, tokens_in: int, tokens_out: int) -> float | None:
        if self.prices:
            return (
                tokens_in * self.prices.get("input_per_mtok", 0.0)
                + tokens_out * self.prices.get("output_per_mtok", 0.0)
            ) / 1e6
        try:
            return float(litellm.completion_cost(completion_response=response))
        except Exception:  # noqa: BLE001 - not in the price map: unknown, reported as such
            return None
