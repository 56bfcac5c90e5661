"""Side by side: gepa-evolve against the reference GEPA (PyPI ``gepa`` 0.1.4) on the benchmark tasks.

    .venv/bin/python bench/compare_reference.py                 # 7 tasks x seeds 0-2, 150 metric calls (~4.5 h)
    .venv/bin/python bench/compare_reference.py --tasks polarity --seeds 0 --systems ours   # one quick look

Tasks: polarity (yes/no), intent (7 labels), sentiment (4 labels), counting (a number), navigate (true/false)
and hyperbaton (a letter, "a" or "b"). Same task model
(embedded SmolLM2), same reflector (``--reflector qwen``: Qwen2.5-Coder-1.5B, reassembled by
bench/reflector_model.py; or ``smollm2``), same splits, same budget, each system with its own default
reflection prompt. The reference runs in its own virtual environment (both packages are ``import gepa``)
through bench/reference_runner.py. Per task it prints mean ± sd of the best prompt's test score, model calls,
reflection calls, wall time and the share of reflections wasted before any rollout (gepa-evolve's unchanged,
duplicate or broken proposals; the reference evaluates every proposal, so it has no such share), and writes
bench/results/compare_reference.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from reflector_model import CACHE, reflector_path  # noqa: E402

from gepa import runner  # noqa: E402
from gepa.lm.cache import ResponseCache  # noqa: E402
from gepa.lm.local_model import resolve_local_path  # noqa: E402

REF_VENV = CACHE / "ref-venv"
# Both systems sample the reflector alike, with room for the reference's longer instructions (the example tasks
# cap replies for the 135M reflector of the quick start).
REFLECTION_PARAMS = {"temperature": 0.7, "max_tokens": 320}


def reference_python() -> Path:
    python = REF_VENV / "bin" / "python"
    if not python.is_file():
        subprocess.run([sys.executable, "-m", "venv", str(REF_VENV)], check=True)
        env = {**os.environ, "CMAKE_ARGS": "-DGGML_NATIVE=OFF"}
        subprocess.run([str(python), "-m", "pip", "install", "-q", "gepa==0.1.4", "llama-cpp-python>=0.3.7"],
                       check=True, env=env)
    return python


def run_ours(task: Path, seed: int, budget: int, reflector: str, cache: Path) -> dict[str, Any]:
    rows = {}
    for name in ("first", "rerun"):
        overrides = runner.Overrides(seed=seed, max_metric_calls=budget, reflection_model=reflector,
                                     reflection_template="default", reflection_params=REFLECTION_PARAMS,
                                     guard=False)  # the reference has no guard sets: same budget for the same work
        prepared = runner.prepare(task, overrides, cache=ResponseCache(cache))
        started = time.perf_counter()
        summary = runner.run(prepared, runs_root=cache.parent / "runs").summary
        usage, counts = summary.usage, summary.counts
        wasted = sum(v for k, v in counts.items() if k.startswith("proposal_"))
        rows[name] = {"seed_test": summary.seed.test, "best_test": summary.best.test,
                      "best_val": summary.best.val, "model_calls": usage.model_calls,
                      "reflection_calls": counts.get("reflection_calls", 0),
                      "wasted_share": wasted / counts["proposals_asked"] if counts.get("proposals_asked") else 0.0,
                      "tokens": usage.input_tokens + usage.output_tokens, "wall_s": time.perf_counter() - started,
                      "candidates": summary.candidates, "best": summary.best.components}
    return {**rows["first"], "rerun_calls": rows["rerun"]["model_calls"], "rerun_wall_s": rows["rerun"]["wall_s"]}


def run_reference(task: Path, seed: int, budget: int, reflector: str, workdir: Path, rerun: bool) -> dict[str, Any]:
    prepared = runner.prepare(task, runner.Overrides(seed=seed))
    spec = prepared.task.spec
    evaluator = spec.evaluator_dicts()[0]
    if len(spec.evaluator_dicts()) != 1 or evaluator["type"] != "exact":
        raise SystemExit(f"{task}: the reference runner supports one exact evaluator only")
    payload = {
        "seed_candidate": dict(prepared.seed.components), "seed": seed, "budget": budget,
        "train": [dict(e.fields) for e in prepared.splits.train], "val": [dict(e.fields) for e in prepared.splits.val],
        "test": [dict(e.fields) for e in prepared.splits.test], "minibatch_size": prepared.config.minibatch_size,
        "model_params": spec.model_params, "reflection_params": {**spec.reflection_params, **REFLECTION_PARAMS},
        "evaluator": evaluator,
        "task_model_path": str(resolve_local_path(spec.model)),
        "reflection_model_path": str(resolve_local_path(reflector)),
    }
    spec_file = workdir / f"ref-{task.parent.name}-{seed}.json"
    spec_file.write_text(json.dumps(payload))
    results = []
    for _ in range(2 if rerun else 1):
        out = subprocess.run([str(reference_python()), str(ROOT / "bench" / "reference_runner.py"), str(spec_file)],
                             capture_output=True, text=True, check=True)
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    first = results[0]
    first["reflection_calls"], first["wasted_share"] = first["calls"]["reflection"], None
    first["rerun_calls"] = results[1]["model_calls"] if rerun else None
    first["rerun_wall_s"] = results[1]["wall_s"] if rerun else None
    return first


def spread(values: list[float]) -> str:
    values = [v for v in values if v is not None]
    if not values:
        return "n/a"
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"


TASKS = ["polarity", "intent", "sentiment", "counting", "navigate", "hyperbaton", "anachronisms"]
SYSTEMS = {"ours": "gepa-evolve", "reference": "reference gepa 0.1.4"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reflector", choices=["qwen", "smollm2"], default="qwen")
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2])
    parser.add_argument("--budget", type=int, default=150)
    parser.add_argument("--tasks", nargs="*", default=TASKS)
    parser.add_argument("--systems", nargs="*", choices=list(SYSTEMS), default=list(SYSTEMS))
    parser.add_argument("--reference-rerun", action="store_true", help="run the reference twice (it has no cache)")
    parser.add_argument("--workdir", type=Path, help="keep run directories and caches here (default: a temporary one)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "compare_reference.json")
    args = parser.parse_args()
    reflector = f"local/{reflector_path()}" if args.reflector == "qwen" else "local/smollm2"
    if "reference" in args.systems:
        reference_python()
    rows: list[dict[str, Any]] = []
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="gepa-compare-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        for name in args.tasks:
            task = ROOT / "tasks" / name / "task.yaml"
            for seed in args.seeds:
                for system in args.systems:
                    if system == "ours":
                        row = run_ours(task, seed, args.budget, reflector, workdir / f"ours-{name}-{seed}" / "cache")
                    else:
                        row = run_reference(task, seed, args.budget, reflector, workdir, rerun=args.reference_rerun)
                    rows.append({"task": name, "system": SYSTEMS[system], "seed": seed, **row})
                    shown = {k: v for k, v in row.items() if k != "best"}
                    print(f"[{name} seed {seed}] {SYSTEMS[system]}: {json.dumps(shown)}", file=sys.stderr, flush=True)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    print_table(rows, args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"budget": args.budget, "seeds": args.seeds, "reflector": args.reflector,
                                    "rows": rows}, indent=2))
    print(f"results written to {args.out}")


def print_table(rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    print(f"budget {args.budget} metric calls; seeds {args.seeds}; task model SmolLM2-135M; reflector {args.reflector}")
    print(f"{'task':<10} {'system':<21} {'seed test':>13} {'best test':>13} {'calls':>6} {'reflect':>7} "
          f"{'wall s':>7} {'wasted':>6} {'rerun calls':>11}")
    for name in args.tasks:
        for system in (SYSTEMS[s] for s in args.systems):
            group = [r for r in rows if r["task"] == name and r["system"] == system]
            if not group:
                continue
            reruns = [r["rerun_calls"] for r in group if r["rerun_calls"] is not None]
            wasted = [r["wasted_share"] for r in group if r["wasted_share"] is not None]
            print(f"{name:<10} {system:<21} {spread([r['seed_test'] for r in group]):>13} "
                  f"{spread([r['best_test'] for r in group]):>13} "
                  f"{statistics.mean(r['model_calls'] for r in group):>6.0f} "
                  f"{statistics.mean(r['reflection_calls'] for r in group):>7.1f} "
                  f"{statistics.mean(r['wall_s'] for r in group):>7.0f} "
                  f"{(f'{statistics.mean(wasted):.0%}' if wasted else '-'):>6} "
                  f"{(f'{statistics.mean(reruns):.0f}' if reruns else '-'):>11}")


if __name__ == "__main__":
    main()
