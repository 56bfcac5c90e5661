"""A two-step pipeline that gepa optimises as a whole: the ``summary`` prompt turns a spoken request into a short
statement of what the user wants, and the ``answer`` prompt reads that statement (its ``{{summary}}``
placeholder) and names the intent. Both prompts are components of one candidate, so a reflection may rewrite
either; the summary goes into the trace, where the reflector sees it beside the final answer."""

from __future__ import annotations

from typing import Any

import gepa


class SummarizeThenAnswer:
    """``system: {python: pipeline.py:SummarizeThenAnswer}``: built with the run's task-model client."""

    provides = ("summary",)  # the field this pipeline fills for the second prompt

    def __init__(self, client: Any) -> None:
        self.client = client

    def ask(self, text: str) -> str:
        return str(self.client.complete([{"role": "user", "content": text}]).text).strip()

    def run(self, candidate: gepa.Candidate, example: gepa.Example) -> gepa.SystemOutput:
        fields = dict(example.fields)
        summary = self.ask(gepa.render(candidate["summary"], fields))
        answer = self.ask(gepa.render(candidate["answer"], {**fields, "summary": summary}))
        return gepa.SystemOutput(text=answer, trace={"steps": {"summary": summary}})
