"""Scripted models for tests and offline dry runs: no network, fully deterministic.

``FakeModel(respond)`` answers with ``respond(messages, params)``; ``fail_with`` makes the next calls raise.
Every call is kept in ``history``. Registered as ``fake/<anything>`` through the same route as real models.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from gepa.lm.base import Completion, Message

Responder = Callable[[Sequence[Message], Mapping[str, Any]], str]


def echo_last_user(messages: Sequence[Message], params: Mapping[str, Any]) -> str:
    """The default responder: repeat the last user message."""
    return next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")


class FakeModel:
    def __init__(self, respond: Responder = echo_last_user, name: str = "fake/model") -> None:
        self.name, self.respond = name, respond
        self.history: list[tuple[list[Message], dict[str, Any]]] = []
        self.failures: list[BaseException] = []
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_lock"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, _lock=threading.Lock())

    def fail_with(self, *errors: BaseException) -> None:
        """Raise these, one per call, before answering normally again."""
        self.failures.extend(errors)

    def complete(self, messages: Sequence[Message], params: Mapping[str, Any]) -> Completion:
        with self._lock:
            self.history.append((list(messages), dict(params)))
            if self.failures:
                raise self.failures.pop(0)
        text = self.respond(messages, params)
        tokens_in = sum(len(m["content"].split()) for m in messages)
        return Completion(text=text, input_tokens=tokens_in, output_tokens=len(text.split()), cost_usd=0.0)
