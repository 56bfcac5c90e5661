"""Side by side: gepa-evolve against the reference GEPA (PyPI ``gepa`` 0.1.4) on the benchmark tasks.

    .venv/bin/python bench/compare_reference.py            # default: polarity, seeds 0 and 1, 80 metric calls
    .venv/bin/python bench/compare_reference.py --full     # polarity + intent, seeds 0-2, 150 calls, reference reruns

Same task model (embedded SmolLM2), same reflector (``--reflector qwen``: Qwen2.5-Coder-1.5B, reassembled by
bench/reflector_model.py; or ``smollm2``), same splits, same budget, each system with its own default reflection
prompt. The reference runs in its own virtual environment (both packages are ``import gepa``) through
bench/reference_runner.py. Prints a table and writes bench/results/compare_reference.json.
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
                                     reflection_template="default")
        prepared = runner.prepare(task, overrides, cache=ResponseCache(cache))
        started = time.perf_counter()
        summary = runner.run(prepared, runs_root=cache.parent / "runs").summary
        usage = summary["usage"]
        rows[name] = {"seed_test": summary["seed"]["test"], "best_test": summary["best"]["test"],
                      "best_val": summary["best"]["val"], "model_calls": usage["model_calls"],
                      "tokens": usage["input_tokens"] + usage["output_tokens"], "wall_s": time.perf_counter() - started,
                      "candidates": summary["candidates"]}
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
        "model_params": spec.model_params, "reflection_params": spec.reflection_params, "evaluator": evaluator,
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", action="store_true")
    parser.add_argument("--reflector", choices=["qwen", "smollm2"], default="qwen")
    parser.add_argument("--seeds", type=int, nargs="*")
    parser.add_argument("--budget", type=int)
    parser.add_argument("--tasks", nargs="*")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "compare_reference.json")
    args = parser.parse_args()
    tasks = args.tasks or (["polarity", "intent"] if args.full else ["polarity"])
    seeds = args.seeds if args.seeds is not None else ([0, 1, 2] if args.full else [0, 1])
    budget = args.budget or (150 if args.full else 80)
    reflector = f"local/{reflector_path()}" if args.reflector == "qwen" else "local/smollm2"
    reference_python()
    rows: list[dict[str, Any]] = []
    workdir = Path(tempfile.mkdtemp(prefix="gepa-compare-"))
    try:
        for name in tasks:
            task = ROOT / "tasks" / name / "task.yaml"
            for seed in seeds:
                cache = workdir / f"ours-{name}-{seed}" / "cache"
                ours = run_ours(task, seed, budget, reflector, cache)
                rows.append({"task": name, "system": "gepa-evolve", "seed": seed, **ours})
                print(f"[{name} seed {seed}] gepa-evolve: {json.dumps(ours)}", file=sys.stderr, flush=True)
                ref = run_reference(task, seed, budget, reflector, workdir, rerun=args.full)
                rows.append({"task": name, "system": "reference gepa 0.1.4", "seed": seed, **ref})
                print(f"[{name} seed {seed}] reference: {json.dumps({k: v for k, v in ref.items() if k != 'best'})}",
                      file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    header = (f"{'task':<10} {'system':<22} {'seed test':>14} {'best test':>14} {'calls':>7} {'tokens':>8} "
              f"{'wall s':>8} {'rerun calls':>11} {'rerun s':>8}")
    print(f"budget {budget} metric calls; seeds {seeds}; task model SmolLM2-135M; reflector {args.reflector}")
    print(header)
    for name in tasks:
        for system in ("gepa-evolve", "reference gepa 0.1.4"):
            group = [r for r in rows if r["task"] == name and r["system"] == system]
            reruns = [r["rerun_calls"] for r in group if r["rerun_calls"] is not None]
            rerun_s = [r["rerun_wall_s"] for r in group if r["rerun_wall_s"] is not None]
            print(f"{name:<10} {system:<22} {spread([r['seed_test'] for r in group]):>14} "
                  f"{spread([r['best_test'] for r in group]):>14} {statistics.mean(r['model_calls'] for r in group):>7.0f} "
                  f"{statistics.mean(r['tokens'] for r in group):>8.0f} {statistics.mean(r['wall_s'] for r in group):>8.1f} "
                  f"{(f'{statistics.mean(reruns):.0f}' if reruns else 'not run'):>11} "
                  f"{(f'{statistics.mean(rerun_s):.1f}' if rerun_s else '-'):>8}")
    out = args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"budget": budget, "seeds": seeds, "reflector": args.reflector, "rows": rows}, indent=2))
    print(f"results written to {out}")


if __name__ == "__main__":
    main()
