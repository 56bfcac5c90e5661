"""The default ``System``: render a candidate's components with an example's fields into chat messages
and ask the task model.

``system`` becomes the system message; every other component, in order, joins the user message. So a
candidate may optimise the user template itself (``user: "{{text}}\nAnswer with one word:"``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from gepa.core.candidate import Candidate, render
from gepa.core.types import Example, SystemOutput
from gepa.lm.base import Completes


def chat_turns(components: Mapping[str, str]) -> list[dict[str, str]]:
    """``system`` as the system turn, every other component in order joined as the user turn."""
    turns = [{"role": "system", "content": components["system"]}] if "system" in components else []
    user = [text for name, text in components.items() if name != "system"]
    if user:
        turns.append({"role": "user", "content": "\n\n".join(user)})
    return turns


def render_messages(
    candidate: Candidate, fields: Mapping[str, Any], input_fields: Sequence[str] = ()
) -> list[dict[str, str]]:
    """Chat messages for one example; with no user-side component, the input fields are listed."""
    rendered = {name: render(text, fields) for name, text in candidate.components.items()}
    if set(rendered) <= {"system"}:
        rendered["user"] = "\n".join(f"{name}: {fields[name]}" for name in input_fields)
    return chat_turns(rendered)


class PromptSystem:
    """One task-model call per example."""

    def __init__(self, client: Completes, input_fields: Sequence[str] = ()) -> None:
        self.client, self.input_fields = client, tuple(input_fields)

    @property
    def supports_async(self) -> bool:
        """True when the client's backend is async itself (litellm, the openai SDK)."""
        return bool(getattr(self.client, "native_async", False))

    def run(self, candidate: Candidate, example: Example) -> SystemOutput:
        messages = render_messages(candidate, example.fields, self.input_fields)
        if example.sample is None:  # the only run of a pair: the client numbers identical requests itself
            return self._output(messages, self.client.complete(messages))
        # one of a pair's samples: its index fixes its seed and cache entry whatever order the samples run in
        return self._output(messages, self.client.complete(messages, sample=example.sample))

    async def arun(self, candidate: Candidate, example: Example) -> SystemOutput:
        messages = render_messages(candidate, example.fields, self.input_fields)
        complete_async = getattr(self.client, "acomplete", None)
        if complete_async is None:  # a client without an async path: a worker thread
            return await asyncio.to_thread(self.run, candidate, example)
        if example.sample is None:
            return self._output(messages, await complete_async(messages))
        return self._output(messages, await complete_async(messages, sample=example.sample))

    @staticmethod
    def _output(messages: list[dict[str, str]], reply: Any) -> SystemOutput:
        usage = {
            "tokens": float(reply.input_tokens + reply.output_tokens),
            "cost_usd": float(reply.cost_usd or 0.0),
            "latency_s": float(reply.latency_s),
        }
        return SystemOutput(text=reply.text.strip(), trace={"messages": messages}, usage=usage)


class PipelineSystem:
    """A user's pipeline (``system: {python: ...}`` in a task file): its ``run`` may return the answer text or a
    ``SystemOutput``; ``provides`` names the fields it fills itself (a second step's ``{{draft}}``)."""

    def __init__(self, pipeline: Any) -> None:
        if not callable(getattr(pipeline, "run", None)):
            raise TypeError(f"{type(pipeline).__name__} has no run(candidate, example) method")
        self.pipeline = pipeline
        self.provides = tuple(getattr(pipeline, "provides", ()))

    def run(self, candidate: Candidate, example: Example) -> SystemOutput:
        output = self.pipeline.run(candidate, example)
        return output if isinstance(output, SystemOutput) else SystemOutput(text=str(output))


def preview_fields(system: Any, fields: Mapping[str, Any]) -> dict[str, Any]:
    """An example's fields plus a marker for each field a pipeline fills itself, so a dry run or an estimate can
    render every prompt without running the pipeline."""
    return {**fields, **{name: f"<{name}, filled by the pipeline>" for name in getattr(system, "provides", ())}}
