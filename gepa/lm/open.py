"""Turn a model string into a backend by its prefix (``BACKENDS``): ``local/...`` in-process, ``fake/...``
scripted (tests, dry runs), ``openai/...`` (OpenAI or any OpenAI-compatible server) through the openai SDK;
any other prefix through litellm."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from gepa.errors import ModelConfigError
from gepa.lm.base import DEFAULT_ENDPOINT, Endpoint, LanguageModel
from gepa.lm.fake import FakeModel, Responder, echo_last_user
from gepa.lm.litellm_model import LiteLLMModel
from gepa.lm.local_model import LocalModel
from gepa.lm.openai_model import OpenAIModel


def _remote(cls: type[OpenAIModel] | type[LiteLLMModel]) -> Callable[[str, Endpoint], LanguageModel]:
    def open_remote(model: str, endpoint: Endpoint) -> LanguageModel:
        backend = cls(model, endpoint)
        backend.check_credentials()
        return backend

    return open_remote


BACKENDS: dict[str, Callable[[str, Endpoint], LanguageModel]] = {
    "local/": lambda model, _: LocalModel(model),
    "fake/": lambda model, _: FakeModel(fake_responder(model), name=model),
    "openai/": _remote(OpenAIModel),
}
FALLBACK = _remote(LiteLLMModel)


def open_backend(model: str, endpoint: Endpoint = DEFAULT_ENDPOINT) -> LanguageModel:
    """The backend for ``model``; raises ``ModelConfigError`` for missing keys, files or extras."""
    factory = next((f for prefix, f in BACKENDS.items() if model.startswith(prefix)), FALLBACK)
    return factory(model, endpoint)


def fake_responder(model: str) -> Responder:
    """``fake/echo`` repeats the last user message; ``fake/<module:function>`` answers with that function."""
    reference = model.removeprefix("fake/")
    if ":" not in reference:
        return echo_last_user
    module_name, _, attr = reference.partition(":")
    try:
        responder: Responder = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ModelConfigError(f"fake model {model!r}: cannot import {reference!r}: {exc}", model=model) from exc
    return responder
