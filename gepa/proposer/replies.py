"""Reply extraction: the proposed text out of a reflector's reply, without the talk around it.

Chat-tuned reflectors wrap their text in fences, labels, lead-ins ("Certainly! Here's an improved prompt:"),
closing remarks and JSON; a kept lead-in is copied into every later prompt of the lineage, so all of it goes.
"""

from __future__ import annotations

import json
import re

from gepa.core.candidate import placeholders

_FENCE = re.compile(r"```[^\n`]*\n(.*?)```", re.DOTALL)
_RULE = re.compile(r"(?:-{3,}|\*{3,}|_{3,})")
# Talk about the text, not part of it: a lead-in naming a new version of it, a remark on what it does.
_LEAD_IN = re.compile(
    r"^\W*(?:certainly|sure|of course|okay|ok|absolutely|here(?:'s| is| are)|below is)\b[^\n]*"
    r"\b(?:improved|revised|updated|new|rewritten|better|modified)\b[^\n]*"
    r"\b(?:prompt|text|instructions?|version|template)\b[^\n]*:\s*$",
    re.IGNORECASE,
)
_REMARK = re.compile(
    r"^\s*(?:this|the above)\s+(?:(?:improved|revised|updated|new|rewritten)\s+(?:\w+\s+)?"
    r"(?:prompt|text|version|instructions?|template)\b|(?:\w+\s+)?(?:prompt|text|version|"
    r"instructions?|template)\s+(?:is|are|should|will|helps|ensures|addresses|now|makes|keeps|"
    r"clearly|provides|specifies|focuses|emphasizes|guides)\b)",
    re.IGNORECASE,
)
_WRAPPER_KEY = re.compile(r"(?:new|improved|revised|updated)\w*|\w*(?:prompt|instructions?)\w*", re.IGNORECASE)
_LABEL = re.compile(
    r"^\s*(?:new|improved|updated|revised)?\s*(?:text|prompt|instruction|version)?[^\n:]{0,40}:\s*\n", re.IGNORECASE
)


_FENCE_LINE = re.compile(r"[ \t]*```[^\n`]*[ \t]*")


def extract_text(reply: str) -> str:
    """The proposed text: the longest fenced block, a leading quoted block, or the reply without a label line;
    stray fence lines (bare ones before the text, an unpaired one after it) never become part of a prompt, while
    a fenced block inside the text (a prompt asking for a fenced JSON answer) stays."""
    lines = _without_chatter(_extracted(reply)).strip().splitlines()

    def unpaired() -> bool:
        return sum(bool(_FENCE_LINE.fullmatch(line)) for line in lines) % 2 == 1

    while lines and (
        not lines[0].strip() or lines[0].strip() == "```" or (_FENCE_LINE.fullmatch(lines[0]) and unpaired())
    ):
        lines.pop(0)
    if lines and _FENCE_LINE.fullmatch(lines[-1]) and unpaired():
        lines.pop()
    return "\n".join(lines).strip()


def _extracted(reply: str) -> str:
    quoted = re.match(r'^\s*"(.*?)"[ \t]*(?:\n|$)', reply, re.DOTALL)
    if quoted and quoted.group(1).strip():
        return quoted.group(1).strip()
    blocks: list[str] = [b.strip() for b in _FENCE.findall(reply) if b.strip()]
    if blocks:
        return max(blocks, key=len)
    unterminated = reply.split("```", 1)
    if len(unterminated) == 2 and unterminated[1].strip():
        body = unterminated[1]
        return (body.split("\n", 1)[1] if "\n" in body and not body.startswith("\n") else body).strip()
    return _LABEL.sub("", reply, count=1).strip()


def _without_chatter(text: str) -> str:
    """The text without the reflector's talk around it: a lead-in line ("Certainly! Here's an improved prompt:"),
    horizontal rules at its ends, a closing remark about it ("This prompt is clear..."), a JSON wrapper with one
    string. Chat-tuned reflectors add these, and a kept lead-in is copied into every later prompt of the lineage."""
    try:
        wrapped = json.loads(text)
    except ValueError:
        wrapped = None
    if isinstance(wrapped, dict) and len(wrapped) == 1:
        ((key, value),) = wrapped.items()
        if isinstance(value, str) and _WRAPPER_KEY.fullmatch(key):
            text = value
    lines = text.strip().splitlines()
    if len(lines) > 1 and _LEAD_IN.match(lines[0]):
        lines = lines[1:]
    text = _strip_rules("\n".join(lines))
    paragraphs = text.split("\n\n")
    if len(paragraphs) > 1 and _REMARK.match(paragraphs[-1]) and not placeholders(paragraphs[-1]):
        text = _strip_rules("\n\n".join(paragraphs[:-1]))
    return text


def _strip_rules(text: str) -> str:
    lines = text.strip().splitlines()
    while lines and (not lines[0].strip() or _RULE.fullmatch(lines[0].strip())):
        lines.pop(0)
    while lines and (not lines[-1].strip() or _RULE.fullmatch(lines[-1].strip())):
        lines.pop()
    return "\n".join(lines)
