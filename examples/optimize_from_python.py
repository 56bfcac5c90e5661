"""The README's Python section as a script CI runs (tests/test_readme_python.py checks the README shows exactly
this code): optimise a prompt from Python on the embedded model, keep the run, export the best prompt to the
registry and load it back by name, as a pipeline would at serving time.

    .venv/bin/python examples/optimize_from_python.py      # a minute or two on 2 cores
"""

import json
from pathlib import Path

import gepa

rows = [json.loads(line) for line in Path("tasks/polarity/data/all.jsonl").read_text().splitlines()]
result = gepa.optimize(
    {"system": "You are a helpful assistant.", "user": "{{text}}"},
    rows[:20],
    rows[20:40],
    testset=rows[40:60],
    task_model="local/smollm2",
    reflection_model="local/smollm2",  # or "openai/gpt-4.1-mini", "openai/gpt-4.1"
    evaluator=gepa.evaluators.Exact(expected="label", normalize=("lower", "strip", "strip_punctuation")),
    config=gepa.OptimizerConfig(max_metric_calls=80, minibatch_size=4, seed=0),
    run_dir="runs/python-example",
    name="polarity-python",
)  # events, state, report, summary; calling again resumes
print(
    f"validation {result.summary.seed.val:.3f} -> {result.summary.best.val:.3f}; "
    f"test {result.summary.seed.test:.3f} -> {result.summary.best.test:.3f}"
)
print(*result.summary.diagnosis, sep="\n")
version = result.export("polarity-python", alias="production")  # into prompts/ (or $GEPA_PROMPTS_DIR)
print(f"v{version.version}:", gepa.registry.load("polarity-python@production").messages(text=rows[40]["text"]))
