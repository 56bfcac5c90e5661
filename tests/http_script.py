"""A scripted OpenAI-protocol server's replies for tests that speak real HTTP on 127.0.0.1 (pytest-httpserver)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from gepa.lm import ModelClient, UsageLedger
from gepa.lm.base import Endpoint


def completion(text: str) -> Response:
    body = {
        "id": "c1",
        "object": "chat.completion",
        "created": 0,
        "model": "scripted",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 7, "completion_tokens": 2, "total_tokens": 9},
    }
    return Response(json.dumps(body), status=200, content_type="application/json")


def error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    body = {"error": {"message": message, "type": "error", "code": status}}
    return Response(json.dumps(body), status=status, content_type="application/json", headers=headers or {})


class Script:
    """Replies in order (the last one repeats); records every request and the peak of concurrent ones."""

    def __init__(self, *replies: Callable[[], Response], delay: float = 0.0) -> None:
        self.replies, self.delay = list(replies), delay
        self.requests: list[dict[str, Any]] = []
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


def client_for(
    server: HTTPServer, script: Script, backend_cls: type, *, timeout: float = 10.0, attempts: int = 4
) -> ModelClient:
    server.expect_request("/v1/chat/completions", method="POST").respond_with_handler(script)
    endpoint = Endpoint(
        api_base=server.url_for("/v1"), timeout=timeout, prices={"input_per_mtok": 1.0, "output_per_mtok": 2.0}
    )
    backend = backend_cls("openai/scripted", endpoint)
    return ModelClient(
        backend, role="task", ledger=UsageLedger(), max_attempts=attempts, backoff_initial=0.01, backoff_max=0.05
    )
