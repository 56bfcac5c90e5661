"""The default ``System``: render a candidate's components with an example's fields into chat messages
and ask the task model.

``system`` becomes the system message; every other component, in order, joins the user message. So a
candidate may optimise the user template itself (``user: "{{text}}\nAnswer with one word:"``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from gepa.core.candidate import Candidate, render
from gepa.core.types import Example, SystemOutput


class Completes(Protocol):
    def complete(self, messages: Any, params: Mapping[str, Any] | None = None) -> Any: ...


def render_messages(candidate: Candidate, fields: Mapping[str, Any],
                    input_fields: Sequence[str] = ()) -> list[dict[str, str]]:
    """Chat messages for one example; with no user-side component, the input fields are listed."""
    messages = []
    if "system" in candidate.components:
        messages.append({"role": "system", "content": render(candidate["system"], fields)})
    user = [render(text, fields) for name, text in candidate.components.items() if name != "system"]
    if not user:
        user = ["\n".join(f"{name}: {fields[name]}" for name in input_fields)]
    messages.append({"role": "user", "content": "\n\n".join(user)})
    return messages


class PromptSystem:
    """One task-model call per example."""

    def __init__(self, client: Completes, input_fields: Sequence[str] = ()) -> None:
        self.client, self.input_fields = client, tuple(input_fields)

    def run(self, candidate: Candidate, example: Example) -> SystemOutput:
        messages = render_messages(candidate, example.fields, self.input_fields)
        reply = self.client.complete(messages)
        return SystemOutput(text=reply.text.strip(), trace={"messages": messages})
