"""Text helpers shared by the evaluators and the proposer."""

from __future__ import annotations


def clip(text: str, limit: int = 200) -> str:
    """``text`` cut at ``limit`` characters, marked with an ellipsis when cut."""
    return text if len(text) <= limit else text[:limit] + "…"
