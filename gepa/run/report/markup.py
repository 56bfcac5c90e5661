"""The HTML pieces every section of the report shares: escaping, score colours, text that keeps its lines, diffs.

Everything a run recorded (prompts, outputs, feedback, field names, ids) is user text and goes through ``esc``.
"""

from __future__ import annotations

import difflib
import html
import re

_QUOTED_NEWLINE = re.compile(r"(?<!\\)\\n")  # "\n" as repr() writes it, not an escaped backslash before an n


def esc(value: object) -> str:
    return html.escape(str(value))


def score_text(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def score_colour(value: float) -> str:
    """Red at 0, yellow at 0.5, green at 1, light enough to read black text on: the colour says the value, so a
    0 is never painted as a success."""
    hue = 120 * min(max(value, 0.0), 1.0)
    return f"hsl({hue:.0f} 65% 82%)"


def score_cell(value: float | None, *, digits: int = 2, extra: str = "") -> str:
    """A table cell holding a score, coloured by it (``-`` and uncoloured when there is none)."""
    if value is None:
        return f'<td class="num{extra}">-</td>'
    return f'<td class="num{extra}" style="background:{score_colour(value)}">{value:.{digits}f}</td>'


def chip(value: float | None, label: str = "") -> str:
    """A score inline in a sentence, on its colour."""
    colour = score_colour(value) if value is not None else "#eee"
    return f'<span class=chip style="background:{colour}">{esc(label)}{score_text(value)}</span>'


def text_block(text: str, css: str = "text") -> str:
    """``text`` with its line breaks kept (CSS pre-wrap), escaped."""
    return f'<div class="{css}">{esc(text)}</div>'


def feedback_block(text: str) -> str:
    """Feedback as a person reads it: evaluators quote outputs with repr(), whose newlines would otherwise show as
    the two characters backslash and n."""
    return text_block(_QUOTED_NEWLINE.sub("\n", text), "text feedback")


def line_diff(old: str, new: str, old_name: str, new_name: str) -> list[str]:
    """A unified diff of two texts, one escaped ``<span>`` a line, added and removed lines marked by class."""
    lines = []
    for line in difflib.unified_diff(old.splitlines(), new.splitlines(), old_name, new_name, lineterm=""):
        css = "add" if line.startswith("+") else "del" if line.startswith("-") else ""
        lines.append(f'<span class="{css}">{esc(line)}</span>')
    return lines


def word_diff(old: str, new: str) -> str:
    """``new`` with the words it added marked ``<ins>`` and those it dropped from ``old`` ``<del>``: a prompt is
    mostly prose, often one long line, where a line diff shows the whole text twice."""
    before, after = re.split(r"(\s+)", old), re.split(r"(\s+)", new)
    parts = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, before, after, autojunk=False).get_opcodes():
        if op in ("replace", "delete"):
            parts.append(f"<del>{esc(''.join(before[i1:i2]))}</del>")
        if op in ("replace", "insert"):
            parts.append(f"<ins>{esc(''.join(after[j1:j2]))}</ins>")
        if op == "equal":
            parts.append(esc("".join(after[j1:j2])))
    return "".join(parts)


def section(anchor: str, title: str, body: str) -> str:
    """A titled part of the page that the contents line links to."""
    return f'<section id="{anchor}"><h2>{esc(title)}</h2>{body}</section>'
