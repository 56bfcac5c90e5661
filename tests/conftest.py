"""Test guards: no test can reach a paid provider, and caches, runs and prompts live in tmp dirs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import gepa.lm.base


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
