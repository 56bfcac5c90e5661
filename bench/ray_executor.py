"""The Ray executor against threads on an example task with a scripted model (local Ray, 2 CPUs).

    .venv/bin/python bench/ray_executor.py          # needs the ray extra: pip install -e '.[ray]'
    .venv/bin/python bench/ray_executor.py --smoke  # an 80-call budget (the test suite runs it)

Runs tasks/polarity/task.yaml twice through the task-file path, once with ``executor: threads`` and once with
``executor: ray``, with scripted task and reflection models (this module's ``answer`` and ``reflect``), and
prints whether state.json's candidates and every validation score are identical, with both wall times and the
model calls the run's ledger counted (the Ray run's task calls are made in worker processes).
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gepa.run import runner  # noqa: E402

CUE = "Answer with yes or no."


def answer(messages: Sequence[Mapping[str, str]], params: Mapping[str, Any]) -> str:
    """A scripted task model: right when the prompt carries the cue and the fact is not negated, else chatty."""
    user = messages[-1]["content"]
    if CUE not in user:
        return "Let me think about the fact first."
    return "no" if re.search(r"\b(didn't|not|never|failed)\b", user.split("Q:")[0]) else "yes"


def reflect(messages: Sequence[Mapping[str, str]], params: Mapping[str, Any]) -> str:
    """A scripted reflector: the cue, after the template's placeholder when it is shown one."""
    keep = "{{text}}\n" if "{{text}}" in messages[-1]["content"] else ""
    return f"```\n{keep}{CUE}\n```"


def run(executor: str, tmp: Path, budget: int = 150) -> tuple[list[Any], list[list[float]], float, int]:
    """One run of the polarity task file on ``executor``: state.json's candidates, the validation scores, the
    wall time and the model calls counted."""
    task = ROOT / "tasks" / "polarity" / "task.yaml"
    overrides = runner.Overrides(
        model="fake/bench.ray_executor:answer",
        reflection_model="fake/bench.ray_executor:reflect",
        max_metric_calls=budget,
        executor=executor,
        guard=False,
    )  # type: ignore[arg-type]
    prepared = runner.prepare(task, overrides, cache=None)
    started = time.perf_counter()
    outcome = runner.run(prepared, runs_root=tmp / executor)
    wall = time.perf_counter() - started
    state = json.loads((outcome.run_dir.root / "state.json").read_text())
    return state["candidates"], outcome.state.val_scores, wall, outcome.summary.usage.model_calls


if __name__ == "__main__":
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    budget = 80 if sys.argv[1:] == ["--smoke"] else 150
    with tempfile.TemporaryDirectory() as folder:
        threads = run("threads", Path(folder), budget)
        on_ray = run("ray", Path(folder), budget)
    best = max(sum(row) / len(row) for row in on_ray[1])
    print(f"threads: {len(threads[0])} candidates, {threads[3]} model calls, {threads[2]:.1f} s")
    print(
        f"ray (local, 2 CPUs): {len(on_ray[0])} candidates, {on_ray[3]} model calls, {on_ray[2]:.1f} s "
        f"(best val {best:.3f})"
    )
    print(
        f"state.json candidates identical: {threads[0] == on_ray[0]}; "
        f"validation scores identical: {threads[1] == on_ray[1]}"
    )
