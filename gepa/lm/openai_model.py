"""OpenAI-protocol models through the openai SDK: ``openai/<model>`` on api.openai.com or any
OpenAI-compatible server (``api_base``). Lighter per call than litellm, which matters at high concurrency;
errors go through the same mapping as litellm's, so retries and messages are identical.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from gepa.errors import treat_as_secret
from gepa.lm.base import DEFAULT_ENDPOINT, Completion, Endpoint, Message, check_allow_model_calls, key_missing_error
from gepa.lm.pricing import token_prices
from gepa.lm.provider_errors import map_provider_error, reading_reply


class OpenAIModel:
    """``name`` is the gepa model string (``openai/gpt-4.1-mini``); the SDK gets the part after ``openai/``."""

    def __init__(self, model: str, endpoint: Endpoint = DEFAULT_ENDPOINT) -> None:
        self.name, self.api_base, self.timeout, self.prices = (
            model,
            endpoint.api_base,
            endpoint.timeout,
            endpoint.prices,
        )
        self.api_key_env = endpoint.api_key_env or "OPENAI_API_KEY"
        treat_as_secret(self.api_key_env)
        self._client: Any = None
        self._async_client: tuple[asyncio.AbstractEventLoop, Any] | None = None  # an async client serves one loop
        self._lock = threading.Lock()
        self._prices: tuple[float, float] | None = None
        self._prices_resolved = False

    def __getstate__(self) -> dict[str, Any]:
        """Picklable: the SDK clients are built again where the model is used."""
        return {**self.__dict__, "_client": None, "_async_client": None, "_lock": None}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, _lock=threading.Lock())

    def check_credentials(self) -> None:
        if not self.api_base and not os.environ.get(self.api_key_env):
            raise key_missing_error(self.name, [self.api_key_env])

    def _client_settings(self) -> dict[str, Any]:
        """What both SDK clients are built with (call under the lock); resolves the prices on first use."""
        if not self._prices_resolved:
            # Known prices, else the price map for OpenAI itself; a self-hosted server's cost is unknown.
            self._prices = token_prices(self.name, self.prices) if self.prices or not self.api_base else None
            self._prices_resolved = True
        treat_as_secret(self.api_key_env)  # again where a Ray worker unpickled this model
        key = os.environ.get(self.api_key_env) or ("not-needed" if self.api_base else None)
        return {"api_key": key, "base_url": self.api_base, "timeout": self.timeout, "max_retries": 0}

    def _sdk(self) -> Any:
        with self._lock:
            if self._client is None:
                import openai

                self._client = openai.OpenAI(**self._client_settings())
            return self._client

    def _async_sdk(self) -> Any:
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._async_client is None or self._async_client[0] is not loop:
                import openai

                self._async_client = (loop, openai.AsyncOpenAI(**self._client_settings()))
            return self._async_client[1]

    def complete(self, messages: Sequence[Message], params: Mapping[str, Any]) -> Completion:
        check_allow_model_calls(self.name)
        client = self._sdk()
        try:
            response = client.chat.completions.create(**self._request(messages, params))
        except Exception as exc:
            raise map_provider_error(exc, self.name, self.api_base) from exc
        with reading_reply(self.name, self.api_base, response):
            return self._completion(response)

    async def acomplete(self, messages: Sequence[Message], params: Mapping[str, Any]) -> Completion:
        """``complete`` on the SDK's async client: many calls in flight on one thread."""
        check_allow_model_calls(self.name)
        client = self._async_sdk()
        try:
            response = await client.chat.completions.create(**self._request(messages, params))
        except Exception as exc:
            raise map_provider_error(exc, self.name, self.api_base) from exc
        with reading_reply(self.name, self.api_base, response):
            return self._completion(response)

    def _request(self, messages: Sequence[Message], params: Mapping[str, Any]) -> dict[str, Any]:
        return {"model": self.name.removeprefix("openai/"), "messages": list(messages), **params}

    def _completion(self, response: Any) -> Completion:
        usage = response.usage
        tokens_in = int(getattr(usage, "prompt_tokens", 0) or 0)
        tokens_out = int(getattr(usage, "completion_tokens", 0) or 0)
        cost = None if self._prices is None else tokens_in * self._prices[0] + tokens_out * self._prices[1]
        return Completion(
            text=response.choices[0].message.content or "",
            input_tokens=tokens_in,
            output_tokens=tokens_out,
            cost_usd=cost,
        )
