"""The response cache on diskcache: shared safely by threads and processes, errors never stored.

The key is SHA-256 over canonical JSON of the cache-format version, the model, the full messages, every
sampling parameter and a sample index (the n-th identical request of a run), so a run at temperature > 0
replays exactly and a rerun of a finished optimisation makes zero model calls.

A cache that cannot be opened (a damaged database, a read-only directory) raises ``CacheError`` naming the
directory; one that breaks while in use stops being used (``problem`` says why), so a paid run goes on.
``clear_directory`` empties a cache directory even when its database is damaged.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import diskcache

from gepa.errors import UserError
from gepa.lm.base import Completion, Message

BROKEN = (sqlite3.DatabaseError, OSError)


class CacheError(UserError):
    """The response cache directory cannot be used; the message names it and the way out."""

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
        self.problem: str | None = None
        try:
            self._cache = diskcache.Cache(str(self.directory), size_limit=2**34)
            len(self._cache)  # a damaged database may open, then fail on the first query
        except BROKEN as exc:
            raise CacheError(f"the response cache at {self.directory} cannot be used ({_reason(exc)}); "
                             "run `gepa cache clear` to reset it, or pass --no-cache") from None

    def get(self, key: str) -> Completion | None:
        if self.problem is not None:
            return None
        try:
            row = self._cache.get(key)
        except BROKEN as exc:
            self._break(exc)
            return None
        if not isinstance(row, dict):
            return None
        return Completion(text=row["text"], input_tokens=row["input_tokens"], output_tokens=row["output_tokens"],
                          cost_usd=row["cost_usd"], latency_s=float(row.get("latency_s", 0.0)), cached=True)

    def put(self, key: str, completion: Completion) -> None:
        if self.problem is not None:
            return
        try:
            self._cache.set(key, {"text": completion.text, "input_tokens": completion.input_tokens,
                                  "output_tokens": completion.output_tokens, "cost_usd": completion.cost_usd,
                                  "latency_s": completion.latency_s})
        except BROKEN as exc:
            self._break(exc)

    def _break(self, exc: BaseException) -> None:
        self.problem = f"the response cache at {self.directory} failed ({_reason(exc)}) and is no longer used"

    def stats(self) -> dict[str, Any]:
        return {"directory": str(self.directory), "entries": len(self._cache), "bytes": self._cache.volume()}

    def clear(self) -> int:
        return int(self._cache.clear())

    def close(self) -> None:
        self._cache.close()


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def clear_directory(directory: str | Path | None = None) -> int:
    """Empty a cache directory; when its database is damaged, delete diskcache's files instead of reading them.
    Returns the number of responses removed (0 when they could not be counted)."""
    path = Path(directory) if directory is not None else default_cache_dir()
    try:
        cache = ResponseCache(path)
    except CacheError:
        if (path / "cache.db").exists():
            for child in path.iterdir():
                shutil.rmtree(child) if child.is_dir() else child.unlink()
        return 0
    try:
        return cache.clear()
    finally:
        cache.close()
