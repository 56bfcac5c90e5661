"""Turn a model string into a backend: ``local/...`` in-process, ``fake/...`` scripted (tests, dry runs),
``openai/...`` (OpenAI or any OpenAI-compatible server) through the openai SDK, anything else through litellm."""

from __future__ import annotations

import importlib

from gepa.errors import ModelConfigError
from gepa.lm.base import LanguageModel
from gepa.lm.fake import FakeModel, Responder, echo_last_user
from gepa.lm.litellm_model import LiteLLMModel
from gepa.lm.local_model import LocalModel
from gepa.lm.openai_model import OpenAIModel
from gepa.lm.pricing import Prices


def open_backend(model: str, *, api_base: str | None = None, api_key_env: str | None = None,
                 timeout: float = 60.0, prices: Prices | None = None) -> LanguageModel:
    """The backend for ``model``; raises ``ModelConfigError`` for missing keys, files or extras."""
    if model.startswith("local/"):
        return LocalModel(model)
    if model.startswith("fake/"):
        return FakeModel(fake_responder(model), name=model)
    cls = OpenAIModel if model.startswith("openai/") else LiteLLMModel
    backend = cls(model, api_base=api_base, api_key_env=api_key_env, timeout=timeout, prices=prices)
    backend.check_credentials()
    return backend


def fake_responder(model: str) -> Responder:
    """``fake/echo`` repeats the last user message; ``fake/<module:function>`` answers with that function."""
    reference = model.removeprefix("fake/")
    if ":" not in reference:
        return echo_last_user
    module_name, _, attr = reference.partition(":")
    try:
        responder = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ModelConfigError(f"fake model {model!r}: cannot import {reference!r}: {exc}", model=model) from exc
    return responder  # type: ignore[no-any-return]
