"""Both HTTP backends (litellm, and the openai SDK for openai/ models) against a real OpenAI-protocol server on
127.0.0.1: success, retries, auth failure, timeout, overlap."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from gepa.errors import ModelCallError, ModelConfigError, TransientModelError
from gepa.lm import ModelClient, UsageLedger
from gepa.lm.litellm_model import LiteLLMModel
from gepa.lm.openai_model import OpenAIModel

pytestmark = pytest.mark.usefixtures("allow_local_http")


def completion(text: str) -> Response:
    body = {"id": "c1", "object": "chat.completion", "created": 0, "model": "scripted",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 7, "completion_tokens": 2, "total_tokens": 9}}
    return Response(json.dumps(body), status=200, content_type="application/json")


def error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    body = {"error": {"message": message, "type": "error", "code": status}}
    return Response(json.dumps(body), status=status, content_type="application/json", headers=headers or {})


class Script:
    """Replies in order (the last one repeats); records every request and the peak of concurrent ones."""

    def __init__(self, *replies: Callable[[], Response], delay: float = 0.0) -> None:
        self.replies, self.delay = list(replies), delay
        self.requests: list[dict] = []
        self.in_flight = self.peak = 0
        self.lock = threading.Lock()

    def __call__(self, request: Request) -> Response:
        with self.lock:
            self.requests.append(json.loads(request.data))
            index = min(len(self.requests) - 1, len(self.replies) - 1)
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        try:
            time.sleep(self.delay)
            return self.replies[index]()
        finally:
            with self.lock:
                self.in_flight -= 1


@pytest.fixture(params=[LiteLLMModel, OpenAIModel], ids=["litellm", "openai-sdk"])
def backend_cls(request: pytest.FixtureRequest) -> type:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def server() -> Iterator[HTTPServer]:
    with HTTPServer(host="127.0.0.1", threaded=True) as http:
        yield http


def client_for(server: HTTPServer, script: Script, backend_cls: type, *, timeout: float = 10.0,
               attempts: int = 4) -> ModelClient:
    server.expect_request("/v1/chat/completions", method="POST").respond_with_handler(script)
    backend = backend_cls("openai/scripted", api_base=server.url_for("/v1"), timeout=timeout,
                           prices={"input_per_mtok": 1.0, "output_per_mtok": 2.0})
    return ModelClient(backend, role="task", ledger=UsageLedger(), max_attempts=attempts,
                       backoff_initial=0.01, backoff_max=0.05)


MESSAGES = [{"role": "user", "content": "Say hi"}]


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
    backend = LiteLLMModel("openai/gpt-4.1-mini", api_key_env="HOME")
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
