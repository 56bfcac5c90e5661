"""The response cache on diskcache: shared safely by threads and processes, errors never stored.

The key is SHA-256 over canonical JSON of the cache-format version, the model, the full messages, every
sampling parameter and a sample index (the n-th identical request of a run), so a run at temperature > 0
replays exactly and a rerun of a finished optimisation makes zero model calls.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import diskcache

from gepa.lm.base import Completion, Message

CACHE_VERSION = 1


def default_cache_dir() -> Path:
    """``$GEPA_CACHE_DIR``, else ``$XDG_CACHE_HOME/gepa``, else ``~/.cache/gepa``."""
    if os.environ.get("GEPA_CACHE_DIR"):
        return Path(os.environ["GEPA_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "gepa"


def cache_key(model: str, messages: Sequence[Message], params: Mapping[str, Any], sample_index: int) -> str:
    payload = {"v": CACHE_VERSION, "model": model, "messages": [dict(m) for m in messages],
               "params": dict(params), "sample": sample_index}
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


class ResponseCache:
    """Completions by key. One ``diskcache.Cache`` (SQLite + files) per directory."""

    def __init__(self, directory: str | Path | None = None) -> None:
        self.directory = Path(directory) if directory is not None else default_cache_dir()
        self._cache = diskcache.Cache(str(self.directory), size_limit=2**34)

    def get(self, key: str) -> Completion | None:
        row = self._cache.get(key)
        if not isinstance(row, dict):
            return None
        return Completion(text=row["text"], input_tokens=row["input_tokens"], output_tokens=row["output_tokens"],
                          cost_usd=row["cost_usd"], cached=True)

    def put(self, key: str, completion: Completion) -> None:
        self._cache.set(key, {"text": completion.text, "input_tokens": completion.input_tokens,
                              "output_tokens": completion.output_tokens, "cost_usd": completion.cost_usd})

    def stats(self) -> dict[str, Any]:
        return {"directory": str(self.directory), "entries": len(self._cache), "bytes": self._cache.volume()}

    def clear(self) -> int:
        return int(self._cache.clear())

    def close(self) -> None:
        self._cache.close()
