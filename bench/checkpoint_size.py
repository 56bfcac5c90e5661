"""Bytes written per checkpoint, at iteration 10 and 100 of a run whose outputs are 1 KB each.

    .venv/bin/python bench/checkpoint_size.py

A scripted task model answers with 1 KB of text; the run checkpoints into a real run directory after every
iteration. Printed: the bytes each checkpoint wrote (state.json, usage.json and what rollouts.jsonl grew by)
at iterations 10 and 100, and what the same checkpoint would have written as one state.json holding every
rollout (the format before rollouts moved to an append-only log).

    .venv/bin/python bench/checkpoint_size.py --smoke    # iterations 10 and 12 only (the test suite runs it)
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gepa.core.candidate import Candidate  # noqa: E402
from gepa.core.config import OptimizerConfig  # noqa: E402
from gepa.core.engine import Optimizer  # noqa: E402
from gepa.core.state import RunState  # noqa: E402
from gepa.core.types import Example  # noqa: E402
from gepa.evaluators import Exact  # noqa: E402
from gepa.lm import FakeModel, ModelClient  # noqa: E402
from gepa.proposer import ReflectiveProposer  # noqa: E402
from gepa.run.rundir import RunDir  # noqa: E402
from gepa.system import PromptSystem  # noqa: E402


def answer(messages: Any, params: Any) -> str:
    return ("label " + messages[-1]["content"])[:40].ljust(1024, ".")


def reflect(messages: Any, params: Any) -> str:
    return f"```\nRewrite {params.get('seed', 0)}: answer with the label only.\n```"


def main(iterations: int = 100) -> None:
    examples = [Example(id=f"train/{i}", fields={"text": f"example {i}", "label": "x"}) for i in range(400)]
    val = [Example(id=f"val/{i}", fields={"text": f"held out {i}", "label": "x"}) for i in range(20)]
    root = Path(tempfile.mkdtemp(prefix="gepa-checkpoint-"))
    run_dir = RunDir.create(root, "bench")
    written: dict[int, tuple[int, int]] = {}

    def checkpoint(state: RunState) -> None:
        before = {p.name: p.stat().st_size for p in run_dir.root.iterdir() if p.is_file()}
        run_dir.save_state(state, [])
        after = {p.name: p.stat().st_size for p in run_dir.root.iterdir() if p.is_file()}
        now = (
            after.get("state.json", 0)
            + after.get("usage.json", 0)
            + after.get("rollouts.jsonl", 0)
            - before.get("rollouts.jsonl", 0)
        )
        old_format = len(json.dumps(state.to_dict(), ensure_ascii=False, separators=(",", ":"))) + 1
        written[state.iteration] = (now, old_format)

    config = OptimizerConfig(
        max_metric_calls=None,
        max_iterations=iterations,
        max_idle_iterations=1000,
        seed=0,
        minibatch_size=3,
        proposals_per_iteration=1,
        skip_perfect=False,
        merge=False,
    )
    optimizer = Optimizer(
        system=PromptSystem(ModelClient(FakeModel(answer), role="task")),
        evaluator=Exact(expected="label"),
        proposer=ReflectiveProposer(ModelClient(FakeModel(reflect), role="reflection")),
        trainset=examples,
        valset=val,
        config=config,
        checkpoint=checkpoint,
    )
    optimizer.run(Candidate(components={"system": "Label it.", "user": "{{text}}"}))
    for iteration in (10, iterations):
        now, old = written[iteration]
        print(
            f"iteration {iteration}: {now:,} bytes written by the checkpoint; {old:,} as one state.json "
            f"with every rollout ({old / now:.0f}x)"
        )


if __name__ == "__main__":
    main(12 if sys.argv[1:] == ["--smoke"] else 100)
