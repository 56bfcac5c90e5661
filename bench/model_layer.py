"""Model-call layer figures (issue: the model-call layer).

    .venv/bin/python bench/model_layer.py

1. Cost of a cache hit per call (microseconds).
2. A cached rerun of a whole optimisation against its first run: model calls (goal 0) and wall-time ratio
   (goal <= 5 %), on the quick-start task with the embedded SmolLM2 as task and reflection model.
3. Concurrency through litellm and through the openai SDK against a local OpenAI-protocol server adding
   200 ms per call: speed-up at N = 1, 4, 16 concurrent calls on threads (goal >= 0.8 x N).
4. The async path (the engine's async executor: PromptSystem rollouts on one event loop) against a local aiohttp
   server adding 200 ms per call: speed-up over N=1 at N = 16, 64, 256 calls in flight (goal >= 0.8 x N at 64).

    .venv/bin/python bench/model_layer.py --only async     # just part 4
    .venv/bin/python bench/model_layer.py --smoke          # every part at tiny sizes, the rerun on scripted models
                                                            # (the test suite runs it)
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gepa.lm import FakeModel, ModelClient, ResponseCache
from gepa.lm.base import Endpoint
from gepa.lm.litellm_model import LiteLLMModel
from gepa.lm.openai_model import OpenAIModel
from gepa.run import runner


def cache_hit_us(tmp: Path, calls: int = 3000) -> float:
    client = ModelClient(FakeModel(lambda m, p: "Paris"), role="task", cache=ResponseCache(tmp / "hits"))
    messages = [{"role": "user", "content": "Capital of France? " * 20}]
    client.complete(messages, {"temperature": 0})
    started = time.perf_counter()
    for _ in range(calls):
        client.complete(messages, {"temperature": 0})
    return (time.perf_counter() - started) / calls * 1e6


SEARCH_CALLS = 60  # metric calls the rerun's search gets beyond scoring the seed (validation and guard sets)


def cached_rerun(tmp: Path, smoke: bool = False) -> tuple[dict, dict]:
    """The quick-start task run twice on one cache; ``smoke`` runs it on bench/ray_executor.py's scripted models
    instead of the embedded SmolLM2."""
    task = Path(__file__).resolve().parent.parent / "tasks" / "polarity" / "task.yaml"
    models = (
        runner.Overrides(model="fake/bench.ray_executor:answer", reflection_model="fake/bench.ray_executor:reflect")
        if smoke
        else runner.Overrides()
    )
    splits = runner.prepare(task, models).splits
    seed_calls = len(splits.val) + sum(map(len, splits.guard.values()))
    rows = []
    for name in ("first", "rerun"):
        overrides = replace(models, max_metric_calls=seed_calls + SEARCH_CALLS)
        prepared = runner.prepare(task, overrides, cache=ResponseCache(tmp / "rerun-cache"))
        started = time.perf_counter()
        outcome = runner.run(prepared, runs_root=tmp / f"runs-{name}")
        rows.append(
            {
                "wall_s": time.perf_counter() - started,
                "model_calls": outcome.summary.usage.model_calls,
                "cache_hits": outcome.summary.usage.cache_hits,
                "best_val": outcome.summary.best.val,
            }
        )
    return rows[0], rows[1]


def concurrency_speedups(
    backend_cls: type, latency: float = 0.2, levels: tuple[int, ...] = (1, 4, 16)
) -> dict[int, float]:
    from pytest_httpserver import HTTPServer
    from werkzeug import Response

    body = json.dumps(
        {
            "id": "x",
            "object": "chat.completion",
            "created": 0,
            "model": "m",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
        }
    )

    def slow(request):  # type: ignore[no-untyped-def]
        time.sleep(latency)
        return Response(body, content_type="application/json")

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    results: dict[int, float] = {}
    with HTTPServer(host="127.0.0.1", threaded=True) as server:
        server.expect_request("/v1/chat/completions").respond_with_handler(slow)
        client = ModelClient(backend_cls("openai/m", Endpoint(api_base=server.url_for("/v1"), prices={})), role="task")
        client.complete([{"role": "user", "content": "warm up"}], {"temperature": 0})
        base_rate = 0.0
        for n in levels:
            calls = 8 * n
            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=n) as pool:
                list(
                    pool.map(
                        lambda i, n=n: client.complete([{"role": "user", "content": f"{n}-{i}"}], {"temperature": 0}),
                        range(calls),
                    )
                )
            rate = calls / (time.perf_counter() - started)
            base_rate = base_rate or rate
            results[n] = rate / base_rate
    return results


COMPLETION_BODY = json.dumps(
    {
        "id": "x",
        "object": "chat.completion",
        "created": 0,
        "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
    }
)


def serve_slow_completions(latency: float, ports: Any) -> None:
    """An aiohttp OpenAI-protocol server answering every call after ``latency`` seconds; its port goes to
    ``ports``. Run in its own process, so the server's CPU does not share the client's interpreter lock."""
    import asyncio

    from aiohttp import web

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(latency)
        return web.Response(text=COMPLETION_BODY, content_type="application/json")

    async def serve() -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", slow)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=2048)
        await site.start()
        ports.put(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
        await asyncio.Event().wait()

    asyncio.run(serve())


def async_speedups(
    backend_cls: type, latency: float = 0.2, levels: tuple[int, ...] = (1, 16, 64, 256), rounds: int = 4
) -> dict[int, float]:
    """Rollouts per second through the async executor at each ceiling, over the rate at N=1."""
    import multiprocessing

    from gepa.core.candidate import Candidate
    from gepa.core.executors import AsyncRollouts
    from gepa.core.types import Example
    from gepa.evaluators import Exact
    from gepa.system import PromptSystem

    context = multiprocessing.get_context("spawn")
    ports = context.Queue()
    server = context.Process(target=serve_slow_completions, args=(latency, ports), daemon=True)
    server.start()
    try:
        backend = backend_cls("openai/m", Endpoint(api_base=f"http://127.0.0.1:{ports.get(timeout=60)}/v1", prices={}))
        system = PromptSystem(ModelClient(backend, role="task"))
        seed = Candidate(components={"user": "{{text}} {{i}}"})
        results: dict[int, float] = {}
        base_rate = 0.0
        for n in levels:
            executor = AsyncRollouts(n)
            try:
                warm = [
                    (seed, Example(id=f"w{i}", fields={"text": "warm", "i": f"{n}-{i}", "label": "ok"}))
                    for i in range(n)
                ]
                executor.map(system, Exact(expected="label"), warm)  # opens the connections
                pairs = [
                    (seed, Example(id=str(i), fields={"text": f"{n}", "i": i, "label": "ok"}))
                    for i in range(rounds * max(n, 2))
                ]
                started = time.perf_counter()
                executor.map(system, Exact(expected="label"), pairs)
                rate = len(pairs) / (time.perf_counter() - started)
            finally:
                executor.close()
            base_rate = base_rate or rate
            results[n] = rate / base_rate
        return results
    finally:
        server.terminate()


def print_async_speedups(smoke: bool = False) -> None:
    sizes: dict[str, Any] = {"latency": 0.02, "levels": (1, 4), "rounds": 1} if smoke else {}
    for label, backend_cls in (("litellm", LiteLLMModel), ("openai SDK", OpenAIModel)):
        for n, speedup in async_speedups(backend_cls, **sizes).items():
            if n > 1:
                goal = f"goal >= {0.8 * n:.1f}x" if n == 64 else f"ideal {n}x"
                print(f"async via {label}, N={n:<3}: speed-up {speedup:.1f}x over N=1 ({goal})")


if __name__ == "__main__":
    if sys.argv[1:] == ["--only", "async"]:
        print_async_speedups()
        sys.exit(0)
    smoke = sys.argv[1:] == ["--smoke"]
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        print(f"cache hit: {cache_hit_us(tmp, calls=100 if smoke else 3000):.0f} us per call")
        first, rerun = cached_rerun(tmp, smoke)
        print(
            f"optimisation, first run: {first['model_calls']} model calls, {first['wall_s']:.2f} s "
            f"(best val {first['best_val']:.2f})"
        )
        print(
            f"optimisation, cached rerun: {rerun['model_calls']} model calls (goal 0), "
            f"{rerun['cache_hits']} cache hits, "
            f"{rerun['wall_s']:.2f} s = {rerun['wall_s'] / first['wall_s']:.1%} of the first run (goal <= 5 %)"
        )
        threads: dict[str, Any] = {"latency": 0.02, "levels": (1, 4)} if smoke else {}
        for label, backend_cls in (("litellm", LiteLLMModel), ("openai SDK", OpenAIModel)):
            for n, speedup in concurrency_speedups(backend_cls, **threads).items():
                print(f"concurrency via {label}, N={n:<2}: speed-up {speedup:.2f}x over N=1 (goal >= {0.8 * n:.1f}x)")
    print_async_speedups(smoke)
