"""Custom pipelines from a task file: ``system: {python: file.py:Class}`` runs a two-step chain whose prompts are
both optimised, its placeholders for fields the pipeline fills are accepted, and the reflector sees each step's
output. The scripted world: step one drafts "clean" only when its prompt holds RULE1; step two answers the even
examples only from a clean draft and the odd ones only when its own prompt holds RULE2."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from gepa.cli import main
from gepa.core.types import Example, Rollout
from gepa.lm.base import Message
from gepa.proposer.evidence import format_examples

PIPELINE = """
import gepa


class Chain:
    provides = ("draft",)

    def __init__(self, client):
        self.client = client

    def run(self, candidate, example):
        fields = dict(example.fields)
        draft = self.client.complete([{"role": "user", "content": gepa.render(candidate["first"], fields)}]).text
        answer = self.client.complete([{"role": "user",
                                        "content": gepa.render(candidate["second"], {**fields, "draft": draft})}])
        return gepa.SystemOutput(text=answer.text, trace={"steps": {"draft": draft}})
"""


def chain_model(messages: Sequence[Message], params: Mapping[str, Any]) -> str:
    content = messages[-1]["content"]
    if "STEP1" in content:
        return "clean" if "RULE1" in content else "noisy"
    match = re.search(r"item (\d+) is (\w+)", content)
    assert match, content
    number, label = int(match.group(1)), match.group(2)
    solved = "draft: clean" in content if number % 2 == 0 else "RULE2" in content
    return label if solved else "unsure"


def chain_reflector(messages: Sequence[Message], params: Mapping[str, Any]) -> str:
    """Adds RULE1 to the first step's instructions and RULE2 to the second's."""
    current = re.search(r"```\n(.*?)\n```", messages[-1]["content"], re.DOTALL)
    assert current, messages[-1]["content"]
    text = current.group(1)
    rule = "RULE1" if "STEP1" in text else "RULE2"
    return f"```\n{text if rule in text else text + ' ' + rule}\n```"


def write_chain_task(
    folder: Path, *, pipeline: str = PIPELINE, second: str = "STEP2 decide.\\n{{text}}\\ndraft: {{draft}}"
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "chain.py").write_text(pipeline)
    for split, start in (("train", 0), ("val", 100), ("test", 200)):
        rows = [
            {
                "text": f"item {i} is {('positive', 'negative')[i % 4 // 2]}",
                "label": ("positive", "negative")[i % 4 // 2],
            }
            for i in range(start, start + 8)
        ]
        (folder / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    task = folder / "task.yaml"
    task.write_text(f"""name: chain
system: {{python: chain.py:Chain}}
prompt:
  first: "STEP1 summarise.\\n{{{{text}}}}"
  second: "{second}"
data: {{train: train.jsonl, val: val.jsonl, test: test.jsonl}}
model: fake/tests.test_pipelines:chain_model
reflection_model: fake/tests.test_pipelines:chain_reflector
evaluator: {{type: exact, expected: label}}
budget: {{max_metric_calls: 120}}
optimizer: {{minibatch_size: 4, proposals_per_iteration: 1}}
""")
    return task


def test_a_two_step_pipeline_named_in_the_task_file_is_optimised_step_by_step(tmp_path: Path) -> None:
    task = write_chain_task(tmp_path / "chain")
    result = CliRunner().invoke(
        main, ["optimize", str(task), "--runs-dir", str(tmp_path / "runs"), "--quiet", "--json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output[result.output.index("{") :])
    assert summary["seed"]["val"] == 0.0 and summary["best"]["val"] == 1.0
    best = summary["best"]["components"]
    assert "RULE1" in best["first"] and "RULE2" in best["second"] and "{{draft}}" in best["second"]
    run_dir = next((tmp_path / "runs").iterdir())
    state = json.loads((run_dir / "state.json").read_text())
    touched = {c["origin"] for c in state["candidates"]}
    assert {"mutation:first", "mutation:second"} <= touched | {o.replace("merge", "mutation") for o in touched}
    first_rollout = json.loads((run_dir / "rollouts.jsonl").read_text().splitlines()[0])
    assert first_rollout["trace"]["steps"]["draft"] in ("clean", "noisy")


def test_the_reflector_reads_what_each_step_wrote() -> None:
    example = Example(id="t/0", fields={"text": "item 0 is positive", "label": "positive"})
    rollout = Rollout(
        example_id="t/0",
        output="unsure",
        score=0.0,
        feedback="Expected 'positive'.",
        trace={"steps": {"draft": "noisy"}},
    )
    shown = format_examples([(example, rollout)], ["text"])
    assert "Step draft wrote: noisy" in shown and "Assistant's answer: unsure" in shown


def test_a_placeholder_neither_the_data_nor_the_pipeline_fills_is_refused(tmp_path: Path) -> None:
    task = write_chain_task(tmp_path / "chain", second="STEP2 {{text}} {{drfat}}")
    result = CliRunner().invoke(main, ["validate", str(task)])
    assert result.exit_code != 0 and "{{drfat}}" in result.output and "'second'" in result.output
    assert "the pipeline fills draft" in result.output, result.output


def test_a_pipeline_that_cannot_be_built_names_the_task_field(tmp_path: Path) -> None:
    broken = PIPELINE.replace("self.client = client", "raise RuntimeError('no index on disk')")
    task = write_chain_task(tmp_path / "chain", pipeline=broken)
    result = CliRunner().invoke(main, ["optimize", str(task), "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code != 0 and "system: chain.py:Chain could not be built" in result.output
    assert "no index on disk" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
