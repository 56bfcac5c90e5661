"""Test guards: no test can reach a paid provider, and caches, runs and prompts live in tmp dirs."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

import gepa.lm.base
from gepa.lm.litellm_model import LiteLLMModel
from gepa.lm.openai_model import OpenAIModel


@pytest.fixture(autouse=True)
def _isolate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gepa.lm.base, "ALLOW_MODEL_CALLS", False)
    monkeypatch.setenv("GEPA_ALLOW_MODEL_CALLS", "0")
    monkeypatch.setenv("GEPA_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("GEPA_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("GEPA_PROMPTS_DIR", str(tmp_path / "prompts"))
    for key in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "MISTRAL_API_KEY"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")


@pytest.fixture
def allow_local_http(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let litellm reach a server this test started on 127.0.0.1 (and nothing else: no keys are set)."""
    monkeypatch.setattr(gepa.lm.base, "ALLOW_MODEL_CALLS", True)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    os.environ.pop("HTTP_PROXY", None)
    os.environ.pop("HTTPS_PROXY", None)


@pytest.fixture(params=[LiteLLMModel, OpenAIModel], ids=["litellm", "openai-sdk"])
def backend_cls(request: pytest.FixtureRequest) -> Any:
    return request.param


@pytest.fixture
def server() -> Iterator[HTTPServer]:
    with HTTPServer(host="127.0.0.1", threaded=True) as http:
        yield http
