"""The async path of the model layer and the engine, against a real OpenAI-protocol server on 127.0.0.1, for both
HTTP backends: the same cache, retries, Retry-After, accounting and rate limit as the threaded path, and as many
calls in flight as the ceiling allows."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Coroutine, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from gepa.core.candidate import Candidate
from gepa.core.config import OptimizerConfig
from gepa.core.engine import Optimizer
from gepa.core.executors import AsyncRollouts, Rollouts
from gepa.core.types import Example
from gepa.errors import ModelCallError
from gepa.evaluators import Exact
from gepa.lm import FakeModel, ModelClient, ResponseCache
from gepa.lm.base import Endpoint, Message
from gepa.lm.ratelimit import RateLimiter, estimate_tokens
from gepa.proposer import ReflectiveProposer
from gepa.system import PromptSystem
from tests import fakes
from tests.http_script import Script, client_for, completion, error

pytestmark = pytest.mark.usefixtures("allow_local_http")
T = TypeVar("T")
MESSAGES: list[Message] = [{"role": "user", "content": "Say hi"}]
GREEDY = {"temperature": 0}


@pytest.fixture
def run_async() -> Iterator[Any]:
    """Runs coroutines on one long-lived event loop in its own thread, as a run's async executor does."""
    executor = AsyncRollouts(4)
    loop = executor._loop

    def run(coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout=60)

    yield run
    executor.close()


def test_an_async_call_succeeds_and_is_accounted(server: HTTPServer, backend_cls: type, run_async: Any) -> None:
    script = Script(lambda: completion("hi"))
    client = client_for(server, script, backend_cls)
    assert client.native_async
    reply = run_async(client.acomplete(MESSAGES, {"temperature": 0, "max_tokens": 5}))
    assert reply.text == "hi" and reply.latency_s > 0
    assert script.requests[0]["messages"] == MESSAGES and script.requests[0]["max_tokens"] == 5
    usage = client.ledger.total()
    assert (usage.calls, usage.input_tokens, usage.output_tokens) == (1, 7, 2)
    assert usage.cost_usd == pytest.approx((7 * 1.0 + 2 * 2.0) / 1e6)


def test_async_transient_errors_are_retried(server: HTTPServer, backend_cls: type, run_async: Any) -> None:
    script = Script(lambda: error(500, "busy"), lambda: error(503, "busy"), lambda: completion("ok"))
    client = client_for(server, script, backend_cls)
    assert run_async(client.acomplete(MESSAGES)).text == "ok"
    assert len(script.requests) == 3 and client.ledger.total().errors == 2


def test_async_429_waits_for_retry_after(server: HTTPServer, backend_cls: type, run_async: Any) -> None:
    script = Script(lambda: error(429, "slow down", {"Retry-After": "1"}), lambda: completion("ok"))
    client = client_for(server, script, backend_cls)
    started = time.monotonic()
    assert run_async(client.acomplete(MESSAGES)).text == "ok"
    assert time.monotonic() - started >= 0.9  # waited as told, not the 10 ms backoff
    assert len(script.requests) == 2


def test_async_errors_are_not_cached(server: HTTPServer, backend_cls: type, run_async: Any, tmp_path: Path) -> None:
    script = Script(lambda: error(400, "bad"), lambda: completion("fine"))
    client = client_for(server, script, backend_cls)
    client.cache = ResponseCache(tmp_path / "cache")
    with pytest.raises(ModelCallError, match="bad"):
        run_async(client.acomplete(MESSAGES, GREEDY))
    assert run_async(client.acomplete(MESSAGES, GREEDY)).text == "fine"
    assert run_async(client.acomplete(MESSAGES, GREEDY)).cached
    assert client.complete(MESSAGES, GREEDY).cached  # one cache for both paths
    assert len(script.requests) == 2


def test_calls_in_flight_reach_the_ceiling_and_never_pass_it(server: HTTPServer, backend_cls: type) -> None:
    script = Script(lambda: completion("positive"), delay=0.5)
    system = PromptSystem(client_for(server, script, backend_cls))
    seed = Candidate(components={"user": "{{text}}"})
    pairs = [(seed, Example(id=str(i), fields=row)) for i, row in enumerate(fakes.make_rows(60))]
    executor = AsyncRollouts(24)
    try:
        rollouts = executor.map(system, Exact(expected="label"), pairs)
    finally:
        executor.close()
    assert [r.example_id for r in rollouts] == [e.id for _, e in pairs]  # in the order asked
    assert script.peak == 24
    assert len(script.requests) == 60


def task_server_reply(request: Request) -> Response:
    """The scripted world's task model behind HTTP: the answer depends only on the request."""
    messages = json.loads(request.data)["messages"]
    return completion(fakes.task_model(messages, {}))


def test_the_async_executor_gives_the_same_run_as_threads(server: HTTPServer, backend_cls: type) -> None:
    server.expect_request("/v1/chat/completions", method="POST").respond_with_handler(task_server_reply)
    states = []
    for executor in ("threads", "async"):
        backend = backend_cls("openai/scripted", Endpoint(api_base=server.url_for("/v1"), prices={}))
        system = PromptSystem(ModelClient(backend, role="task"))
        optimizer = Optimizer(
            system=system,
            evaluator=Exact(expected="label"),
            proposer=ReflectiveProposer(ModelClient(FakeModel(fakes.reflector), role="reflection")),
            trainset=[Example(id=f"t{i}", fields=r) for i, r in enumerate(fakes.make_rows(8))],
            valset=[Example(id=f"v{i}", fields=r) for i, r in enumerate(fakes.make_rows(10, 100))],
            config=OptimizerConfig(
                max_metric_calls=60, seed=0, proposals_per_iteration=1, executor=executor, concurrency=8
            ),
        )
        states.append(
            optimizer.run(Candidate(components={"system": "You classify reviews.", "user": "Review: {{text}}"}))
        )
    threads, async_ = states
    assert [c.id for c in threads.candidates] == [c.id for c in async_.candidates]
    assert threads.val_scores == async_.val_scores and max(threads.mean_scores()) > 0.7
    assert threads.metric_calls == async_.metric_calls


def test_auto_picks_async_for_http_backends_and_threads_for_in_process_models() -> None:
    from gepa.lm.litellm_model import LiteLLMModel
    from gepa.lm.openai_model import OpenAIModel

    for backend in (
        LiteLLMModel("openai/m", Endpoint(api_base="http://127.0.0.1:9/v1")),
        OpenAIModel("openai/m", Endpoint(api_base="http://127.0.0.1:9/v1")),
    ):
        with Rollouts("auto", 4, PromptSystem(ModelClient(backend, role="task"))) as executor:
            assert isinstance(executor, AsyncRollouts)
    in_process = Rollouts("auto", 4, PromptSystem(ModelClient(FakeModel(), role="task")))
    assert in_process.name == "threads"
    with in_process:
        pass


def test_a_fake_model_on_the_async_path_runs_in_worker_threads(run_async: Any) -> None:
    client = ModelClient(FakeModel(lambda m, p: "yes"), role="task")
    assert not client.native_async
    assert run_async(client.acomplete(MESSAGES)).text == "yes"
    assert client.ledger.total().calls == 1


def test_the_rate_limiter_settles_estimates_with_real_token_counts() -> None:
    messages: Sequence[Message] = [{"role": "user", "content": "x" * 40}]
    params = {"max_tokens": 50}
    estimate = estimate_tokens(messages, params)
    assert estimate == 60
    overestimated = RateLimiter(tokens=100, period_seconds=2)
    overestimated.acquire(messages, params)
    overestimated.settle(estimate, 10)  # the call used 10 tokens: 50 come back
    assert overestimated.acquire(messages, params) == 0
    plain = RateLimiter(tokens=100, period_seconds=2)
    plain.acquire(messages, params)
    assert plain.acquire(messages, params) > 0.5  # 120 estimated tokens do not fit
    underestimated = RateLimiter(tokens=100, period_seconds=2)
    underestimated.acquire([{"role": "user", "content": "x"}], {"max_tokens": 1})
    underestimated.settle(1, 120)  # the call used 120 tokens: the next call pays the difference
    assert underestimated.acquire([{"role": "user", "content": "x"}], {"max_tokens": 1}) > 0.5


def test_an_async_rate_limit_spaces_calls(server: HTTPServer, backend_cls: type, run_async: Any) -> None:
    script = Script(lambda: completion("ok"))
    client = client_for(server, script, backend_cls)
    client.limiter = RateLimiter(requests=3, period_seconds=1)

    async def six() -> list[Any]:
        return await asyncio.gather(
            *(client.acomplete([{"role": "user", "content": f"q{i}"}], GREEDY) for i in range(6))
        )

    started = time.monotonic()
    run_async(six())
    assert time.monotonic() - started >= 0.9  # 6 calls at 3 per second need a second window
    assert len(script.requests) == 6


def acquire_in_worker(limiter: RateLimiter) -> float:
    return limiter.acquire([{"role": "user", "content": "x"}], {"max_tokens": 1})


def test_a_limiter_sent_to_a_worker_process_keeps_one_window_there() -> None:
    """Each rollout sent to a worker carries the limiter again; the worker must keep one limiter per process,
    or every rollout would start with a fresh window and nothing would be limited."""
    import multiprocessing

    limiter = RateLimiter(requests=1, period_seconds=2)
    with multiprocessing.get_context("spawn").Pool(1) as worker:
        first = worker.apply(acquire_in_worker, (limiter,))
        second = worker.apply(acquire_in_worker, (limiter,))
    assert first == 0 and second > 0.5


def test_latency_is_the_calls_own_not_the_rate_limits_wait() -> None:
    client = ModelClient(FakeModel(lambda m, p: "ok"), role="task", limiter=RateLimiter(requests=1, period_seconds=1))
    client.complete([{"role": "user", "content": "first"}], GREEDY)
    started = time.monotonic()
    second = client.complete([{"role": "user", "content": "second"}], GREEDY)
    assert time.monotonic() - started > 0.5 and second.latency_s < 0.2  # waited for the window, answered at once


def test_a_failing_callback_cancels_the_rest_of_the_async_batch() -> None:
    """A batch whose progress callback fails stops there: the rollouts not yet started are never paid for."""
    from gepa.core.types import SystemOutput

    ran: list[str] = []

    class Slow:
        supports_async = True

        def run(self, candidate: Candidate, example: Example) -> SystemOutput:
            raise NotImplementedError

        async def arun(self, candidate: Candidate, example: Example) -> SystemOutput:
            await asyncio.sleep(0.2)
            ran.append(example.id)
            return SystemOutput(text="x")

    def failing(index: int, result: object) -> None:
        raise RuntimeError("the record could not be written")

    executor = AsyncRollouts(concurrency=2)
    pairs = [(Candidate(components={"user": "hi"}), Example(id=str(i), fields={"label": "x"})) for i in range(6)]
    try:
        with pytest.raises(RuntimeError, match="could not be written"):
            executor.map(Slow(), Exact(expected="label"), pairs, failing)
        time.sleep(1.0)  # time enough for the other four to run, were they still going
        assert len(ran) <= 3
    finally:
        executor.close()
