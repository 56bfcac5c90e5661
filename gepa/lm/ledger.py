"""Thread-safe accounting of calls, cache hits, tokens and cost per (model, role).

A ledger sent to another process (a Ray worker running rollouts) arrives empty but keeps its identity: what the
worker records there comes back with ``drain_shipped`` and is added to the original with ``absorb``, so the run's
budget and summary count calls wherever they were made.

A ``journal`` (the run directory's usage log) receives every amount as it is recorded, so what a run paid for
survives a crash between checkpoints.
"""

from __future__ import annotations

import threading
import uuid
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class Usage:
    calls: int = 0
    cache_hits: int = 0
    errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    tokens_saved: int = 0
    cost_usd: float = 0.0

    def add(self, other: Usage) -> None:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)


Journal = Callable[[str, str, Mapping[str, Any]], None]  # (model, role, amounts), called under the ledger's lock


class UsageLedger:
    """One per run, shared by every client, so budgets see the cost of all roles together."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._usage: dict[tuple[str, str], Usage] = {}
        self.journal: Journal | None = None
        self.id = uuid.uuid4().hex
        _LIVE[self.id] = self

    def __getstate__(self) -> dict[str, Any]:
        return {"id": self.id}

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Unpickled in a worker: record into this process's copy of the ledger ``state["id"]``."""
        with _SHIPPED_LOCK:
            shipped = _SHIPPED.get(state["id"])
            if shipped is None:
                shipped = _SHIPPED[state["id"]] = object.__new__(UsageLedger)
                shipped._lock, shipped._usage, shipped.id, shipped.journal = threading.Lock(), {}, state["id"], None
        self._lock, self._usage, self.id, self.journal = shipped._lock, shipped._usage, shipped.id, None

    def drain(self) -> dict[tuple[str, str], Usage]:
        """Everything recorded so far, leaving the ledger empty."""
        with self._lock:
            drained = dict(self._usage)
            self._usage.clear()
            return drained

    def record(self, model: str, role: str, **amounts: Any) -> None:
        with self._lock:
            usage = self._usage.setdefault((model, role), Usage())
            for name, value in amounts.items():
                setattr(usage, name, getattr(usage, name) + value)
            if self.journal is not None:
                self.journal(model, role, amounts)

    def total(self, role: str | None = None) -> Usage:
        with self._lock:
            total = Usage()
            for (_, r), usage in self._usage.items():
                if role is None or r == role:
                    total.add(usage)
            return total

    def spent_usd(self) -> float:
        return self.total().cost_usd

    def to_dict(self) -> list[dict[str, Any]]:
        with self._lock:
            return [{"model": m, "role": r, **asdict(u)} for (m, r), u in sorted(self._usage.items())]

    def restore(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Carry a resumed run's earlier spending forward."""
        for row in rows:
            amounts = {k: v for k, v in row.items() if k not in ("model", "role")}
            self.record(str(row["model"]), str(row["role"]), **amounts)


_LIVE: weakref.WeakValueDictionary[str, UsageLedger] = weakref.WeakValueDictionary()
_SHIPPED: dict[str, UsageLedger] = {}  # ledgers unpickled in this process, by the id of their original
_SHIPPED_LOCK = threading.Lock()

ShippedUsage = dict[str, dict[tuple[str, str], Usage]]


def drain_shipped() -> ShippedUsage:
    """What the ledgers sent to this process recorded since the last drain, by ledger id."""
    with _SHIPPED_LOCK:
        ledgers = list(_SHIPPED.values())
    return {ledger.id: usage for ledger in ledgers if (usage := ledger.drain())}


def absorb(shipped: ShippedUsage) -> None:
    """Add usage drained in another process to the original ledgers of this one."""
    for ledger_id, usage in shipped.items():
        ledger = _LIVE.get(ledger_id)
        if ledger is None:
            continue
        for (model, role), amounts in usage.items():
            ledger.record(model, role, **asdict(amounts))
