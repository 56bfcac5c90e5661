"""Both HTTP backends (litellm, and the openai SDK for openai/ models) against a real OpenAI-protocol server on
127.0.0.1: success, retries, auth failure, timeout, overlap."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from pytest_httpserver import HTTPServer

from gepa.errors import ModelCallError, ModelConfigError, TransientModelError
from gepa.lm import ModelClient
from gepa.lm.base import Endpoint, Message
from gepa.lm.litellm_model import LiteLLMModel
from tests.http_script import Script, client_for, completion, error

pytestmark = pytest.mark.usefixtures("allow_local_http")


MESSAGES: list[Message] = [{"role": "user", "content": "Say hi"}]


def test_a_call_through_litellm_succeeds_and_is_accounted(server: HTTPServer, backend_cls: type) -> None:
    script = Script(lambda: completion("hi"))
    client = client_for(server, script, backend_cls)
    reply = client.complete(MESSAGES, {"temperature": 0, "max_tokens": 5})
    assert reply.text == "hi"
    assert script.requests[0]["messages"] == MESSAGES and script.requests[0]["max_tokens"] == 5
    usage = client.ledger.total()
    assert (usage.calls, usage.input_tokens, usage.output_tokens) == (1, 7, 2)
    assert usage.cost_usd == pytest.approx((7 * 1.0 + 2 * 2.0) / 1e6)


@pytest.mark.parametrize("status", [429, 500, 503])
def test_transient_errors_are_retried(server: HTTPServer, backend_cls: type, status: int) -> None:
    script = Script(lambda: error(status, "busy"), lambda: completion("ok"))
    reply = client_for(server, script, backend_cls).complete(MESSAGES)
    assert reply.text == "ok"
    assert len(script.requests) == 2


def test_retry_after_is_honoured(server: HTTPServer, backend_cls: type) -> None:
    script = Script(lambda: error(429, "slow down", {"Retry-After": "1"}), lambda: completion("ok"))
    client = client_for(server, script, backend_cls)
    client.backoff_max = 5.0
    started = time.monotonic()
    client.complete(MESSAGES)
    assert time.monotonic() - started >= 0.9  # waited as told, not the 10 ms backoff


def test_unauthorized_fails_at_once_with_a_clear_error(server: HTTPServer, backend_cls: type) -> None:
    script = Script(lambda: error(401, "Incorrect API key provided"))
    with pytest.raises(ModelConfigError, match="rejected the credentials"):
        client_for(server, script, backend_cls).complete(MESSAGES)
    assert len(script.requests) == 1


def test_other_client_errors_fail_at_once_with_the_providers_message(server: HTTPServer, backend_cls: type) -> None:
    script = Script(lambda: error(400, "max_tokens is too large"))
    with pytest.raises(ModelCallError, match="max_tokens is too large") as raised:
        client_for(server, script, backend_cls).complete(MESSAGES)
    assert not isinstance(raised.value, TransientModelError)
    assert len(script.requests) == 1


def test_a_timeout_is_retried_then_reported(server: HTTPServer, backend_cls: type) -> None:
    script = Script(lambda: completion("late"), delay=1.5)
    with pytest.raises(TransientModelError):
        client_for(server, script, backend_cls, timeout=0.3, attempts=2).complete(MESSAGES)
    assert len(script.requests) == 2


def test_concurrent_calls_overlap(server: HTTPServer, backend_cls: type) -> None:
    script = Script(lambda: completion("ok"), delay=0.4)
    client = client_for(server, script, backend_cls)
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda i: client.complete([{"role": "user", "content": f"q{i}"}]), range(4)))
    assert script.peak >= 3  # N=4 calls were in flight together


def test_errors_are_not_cached(server: HTTPServer, backend_cls: type, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from gepa.lm.cache import ResponseCache

    script = Script(lambda: error(400, "bad"), lambda: completion("fine"))
    client = client_for(server, script, backend_cls)
    client.cache = ResponseCache(tmp_path / "cache")
    greedy = {"temperature": 0}
    with pytest.raises(ModelCallError):
        client.complete(MESSAGES, greedy)
    assert client.complete(MESSAGES, greedy).text == "fine"
    assert client.complete(MESSAGES, greedy).cached
    assert len(script.requests) == 2


def test_the_guard_blocks_real_providers(monkeypatch: pytest.MonkeyPatch) -> None:
    import gepa.lm.base

    monkeypatch.setattr(gepa.lm.base, "ALLOW_MODEL_CALLS", False)
    backend = LiteLLMModel("openai/gpt-4.1-mini", Endpoint(api_key_env="HOME"))
    with pytest.raises(ModelConfigError, match="disabled"):
        backend.complete(MESSAGES, {})


def test_a_shared_rate_limit_spaces_calls_across_clients(server: HTTPServer, backend_cls: type) -> None:
    from gepa.lm.ratelimit import RateLimiter

    script = Script(lambda: completion("ok"))
    first = client_for(server, script, backend_cls)
    second = ModelClient(first.backend, role="reflection", ledger=first.ledger)
    limiter = RateLimiter(requests=3, period_seconds=1)
    first.limiter = second.limiter = limiter
    started = time.monotonic()
    for i in range(6):
        (first if i % 2 else second).complete([{"role": "user", "content": f"q{i}"}], {"temperature": 0})
    assert time.monotonic() - started >= 0.9  # 6 calls at 3 per second need a second window
    assert len(script.requests) == 6
