"""Text helpers shared by the evaluators and the proposer."""

from __future__ import annotations

import re


def clip(text: str, limit: int = 200) -> str:
    """``text`` cut at ``limit`` characters, marked with an ellipsis when cut."""
    return text if len(text) <= limit else text[:limit] + "…"


# Characters a terminal acts on rather than shows: C0 controls but tab and newline (ESC starts colour, title and
# cursor sequences; CR overwrites a line), DEL, C1 controls, and the bidirectional marks that reorder what is shown.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def terminal_safe(text: str) -> str:
    """``text`` with every character a terminal would act on written as its escape (``\\x1b``, ``\\u202e``), so
    model and data text is seen as it is and cannot set a title, move the cursor or hide what follows it."""
    return _UNSAFE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)
