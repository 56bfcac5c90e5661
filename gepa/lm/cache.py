"""The response cache on diskcache: shared safely by threads and processes, errors never stored.

The key is SHA-256 over canonical JSON of the cache-format version, the model, the full messages, every
sampling parameter and a sample index (the n-th identical request of a run), so a run at temperature > 0
replays exactly and a rerun of a finished optimisation makes zero model calls.

A cache that cannot be opened (a damaged database, a read-only directory) raises ``CacheError`` naming the
directory; one that breaks while in use stops being used (``problem`` says why), so a paid run goes on.
``clear_directory`` empties a cache directory even when its database is damaged, deleting only diskcache's files.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import diskcache

from gepa.errors import CacheError
from gepa.lm.base import Completion, Message

BROKEN = (sqlite3.DatabaseError, OSError)


CACHE_VERSION = 1


def default_cache_dir() -> Path:
    """``$GEPA_CACHE_DIR``, else ``$XDG_CACHE_HOME/gepa``, else ``~/.cache/gepa``."""
    if os.environ.get("GEPA_CACHE_DIR"):
        return Path(os.environ["GEPA_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "gepa"


def cache_key(model: str, messages: Sequence[Message], params: Mapping[str, Any], sample_index: int) -> str:
    payload = {
        "v": CACHE_VERSION,
        "model": model,
        "messages": [dict(m) for m in messages],
        "params": dict(params),
        "sample": sample_index,
    }
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
            raise CacheError(
                f"the response cache at {self.directory} cannot be used ({_reason(exc)}); "
                "run `gepa cache clear` to reset it, or pass --no-cache"
            ) from None

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
        return Completion(
            text=row["text"],
            input_tokens=row["input_tokens"],
            output_tokens=row["output_tokens"],
            cost_usd=row["cost_usd"],
            latency_s=float(row.get("latency_s", 0.0)),
            cached=True,
        )

    def put(self, key: str, completion: Completion) -> None:
        if self.problem is not None:
            return
        try:
            self._cache.set(
                key,
                {
                    "text": completion.text,
                    "input_tokens": completion.input_tokens,
                    "output_tokens": completion.output_tokens,
                    "cost_usd": completion.cost_usd,
                    "latency_s": completion.latency_s,
                },
            )
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


DATABASE = "cache.db"
_DATABASE_FILES = (DATABASE, f"{DATABASE}-wal", f"{DATABASE}-shm")
_VALUE_FOLDER = re.compile(r"^[0-9a-f]{2}$")  # diskcache stores large values as ab/cd/<hex>.val


def clear_directory(directory: str | Path | None = None) -> int | None:
    """Empty a cache directory and return the number of responses removed (None when a damaged database could
    not count them). Only diskcache's own files are ever deleted: a directory that is not a cache is left as it
    is, and a damaged cache loses its database and value files, never a neighbour (a project's ``src/``)."""
    path = Path(directory) if directory is not None else default_cache_dir()
    if not (path / DATABASE).is_file():
        return 0
    try:
        cache = ResponseCache(path)
    except CacheError:
        _delete_cache_files(path)
        return None
    try:
        return cache.clear()
    finally:
        cache.close()


def _delete_cache_files(path: Path) -> None:
    for name in _DATABASE_FILES:
        (path / name).unlink(missing_ok=True)
    for outer in path.iterdir():
        if not (outer.is_dir() and not outer.is_symlink() and _VALUE_FOLDER.match(outer.name)):
            continue
        for inner in outer.iterdir():
            if inner.is_dir() and not inner.is_symlink() and _VALUE_FOLDER.match(inner.name):
                for value in inner.glob("*.val"):
                    if value.is_file() and not value.is_symlink():
                        value.unlink()
                _remove_if_empty(inner)
        _remove_if_empty(outer)


def _remove_if_empty(folder: Path) -> None:
    if not any(folder.iterdir()):
        folder.rmdir()
