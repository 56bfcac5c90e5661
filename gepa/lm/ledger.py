"""Thread-safe accounting of calls, cache hits, tokens and cost per (model, role)."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
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


class UsageLedger:
    """One per run, shared by every client, so budgets see the cost of all roles together."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._usage: dict[tuple[str, str], Usage] = {}

    def record(self, model: str, role: str, **amounts: Any) -> None:
        with self._lock:
            usage = self._usage.setdefault((model, role), Usage())
            for name, value in amounts.items():
                setattr(usage, name, getattr(usage, name) + value)

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
