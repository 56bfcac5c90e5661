"""Side by side: gepa-evolve against the reference GEPA (PyPI ``gepa`` 0.1.4) on the benchmark tasks, in two tiers.

    .venv/bin/python bench/compare_reference.py                       # SmolLM2 tier: 7 tasks x seeds 0-2 (~4.5 h)
    .venv/bin/python bench/compare_reference.py --tier capable        # Qwen 1.5B tier: 4 tasks x seeds 0-2
    .venv/bin/python bench/compare_reference.py --tasks polarity --seeds 0 --systems ours   # one quick look
    .venv/bin/python bench/compare_reference.py --smoke      # ours once on polarity, scripted models, no download

The ``smollm2`` tier (the cheap one) runs the example tasks polarity, intent, sentiment, counting, navigate,
hyperbaton and anachronisms with the embedded SmolLM2-135M as the task model: it never answers in form unprompted,
so what it measures is mostly whether the search finds an answer cue. The ``capable`` tier runs disambiguation,
penguins, logical_deduction and tracking_three with Qwen2.5-Coder-1.5B as the task model, whose seed prompts
already state the answer's form and score 0.2-0.5 with varied answers: it measures whether a prompt teaches the task.
Both tiers reflect with Qwen2.5-Coder-1.5B (reassembled by bench/reflector_model.py; ``--reflector smollm2`` for the
135M one), the same splits, budget and seeds for both systems, each system with its own default reflection
prompt (``ours-general`` / ``ours-scaffolded`` run gepa-evolve with that reflection policy). The reference runs in
its own virtual environment (both packages are ``import gepa``) through bench/reference_runner.py.

Per task and system it prints mean ± sd over seeds of the seed's and the best prompt's test score, the paired
difference best - seed over seeds x test examples with its 95 % bootstrap interval, model calls, reflection
calls, wall time and the share of reflections wasted before any rollout (gepa-evolve's unchanged, duplicate or
broken proposals; the reference evaluates every proposal, so it has no such share); then per task gepa-evolve -
reference, paired the same way, and what each system's best prompts answer on test (the answer counts). Rows are
written to the ``--out`` JSON as they finish, so a long run that is cut keeps what it measured.
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

from gepa.core.answers import answer_counts  # noqa: E402
from gepa.core.intervals import paired_difference  # noqa: E402
from gepa.core.types import Rollout  # noqa: E402
from gepa.lm.cache import ResponseCache  # noqa: E402
from gepa.lm.local_model import resolve_local_path  # noqa: E402
from gepa.run import runner  # noqa: E402

REF_VENV = CACHE / "ref-venv"
# Both systems sample the reflector alike, with room for the reference's longer instructions (the example tasks
# cap replies for the 135M reflector of the quick start).
REFLECTION_PARAMS = {"temperature": 0.7, "max_tokens": 320}


def reference_python() -> Path:
    python = REF_VENV / "bin" / "python"
    if not python.is_file():
        subprocess.run([sys.executable, "-m", "venv", str(REF_VENV)], check=True)
        env = {**os.environ, "CMAKE_ARGS": "-DGGML_NATIVE=OFF"}
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "gepa==0.1.4", "llama-cpp-python>=0.3.7"], check=True, env=env
        )
    return python


def run_ours(task: Path, seed: int, budget: int, models: dict[str, str], cache: Path, template: str) -> dict[str, Any]:
    rows = {}
    for name in ("first", "rerun"):
        overrides = runner.Overrides(
            seed=seed,
            max_metric_calls=budget,
            model=models["task"],
            reflection_model=models["reflector"],
            reflection_template=template,
            reflection_params=REFLECTION_PARAMS,
            guard=False,
        )  # the reference has no guard sets: same budget for the same work
        prepared = runner.prepare(task, overrides, cache=ResponseCache(cache))
        started = time.perf_counter()
        outcome = runner.run(prepared, runs_root=cache.parent / "runs")
        wall_s = time.perf_counter() - started
        summary = outcome.summary
        usage, counts = summary.usage, summary.counts
        wasted = sum(v for k, v in counts.items() if k.startswith("proposal_"))
        state = outcome.state
        seed_rollouts = runner.score(prepared, state.candidates[0], prepared.splits.test)[1]  # cached: free
        best_rollouts = runner.score(prepared, state.candidates[state.best_index()], prepared.splits.test)[1]
        # what the run would have crowned without the noise rule (best_gain_level null): same search, other choice
        unruled = state.highest_allowed(refuse_noise=False)
        unruled_rollouts = runner.score(prepared, state.candidates[unruled], prepared.splits.test)[1]
        rows[name] = {
            "seed_test": summary.seed.test,
            "best_test": summary.best.test,
            "seed_test_scores": [r.score for r in seed_rollouts],
            "best_test_scores": [r.score for r in best_rollouts],
            "best_val": summary.best.val,
            "model_calls": usage.model_calls,
            "reflection_calls": counts.get("reflection_calls", 0),
            "wasted_share": wasted / counts["proposals_asked"] if counts.get("proposals_asked") else 0.0,
            "tokens": usage.input_tokens + usage.output_tokens,
            "wall_s": wall_s,
            "candidates": summary.candidates,
            "best": summary.best.components,
            "answers": summary.answers,
            "constant_answers": len(summary.constant_answers),
            "within_noise": len(summary.within_noise),
            "no_rule_best_val": state.mean_scores()[unruled],
            "no_rule_best_test_scores": [r.score for r in unruled_rollouts],
            "diagnosis": summary.diagnosis,
        }
    return {**rows["first"], "rerun_calls": rows["rerun"]["model_calls"], "rerun_wall_s": rows["rerun"]["wall_s"]}


def run_reference(
    task: Path, seed: int, budget: int, models: dict[str, str], workdir: Path, rerun: bool
) -> dict[str, Any]:
    prepared = runner.prepare(task, runner.Overrides(seed=seed))
    spec = prepared.task.spec
    evaluator = spec.evaluator_dicts()[0]
    if len(spec.evaluator_dicts()) != 1 or evaluator["type"] != "exact":
        raise SystemExit(f"{task}: the reference runner supports one exact evaluator only")
    payload = {
        "seed_candidate": dict(prepared.seed.components),
        "seed": seed,
        "budget": budget,
        "train": [dict(e.fields) for e in prepared.splits.train],
        "val": [dict(e.fields) for e in prepared.splits.val],
        "test": [dict(e.fields) for e in prepared.splits.test],
        "minibatch_size": prepared.config.minibatch_size,
        "model_params": spec.model_params,
        "reflection_params": {**spec.reflection_params, **REFLECTION_PARAMS},
        "evaluator": evaluator,
        "task_model_path": str(resolve_local_path(models["task"] or spec.model)),
        "reflection_model_path": str(resolve_local_path(models["reflector"])),
    }
    spec_file = workdir / f"ref-{task.parent.name}-{seed}.json"
    spec_file.write_text(json.dumps(payload))
    results = []
    for _ in range(2 if rerun else 1):
        # -I: the reference's own environment only, so a PYTHONPATH pointing at our checkout (as when the bench runs
        # from a worktree) cannot shadow the reference ``gepa`` with ours.
        out = subprocess.run(
            [str(reference_python()), "-I", str(ROOT / "bench" / "reference_runner.py"), str(spec_file)],
            capture_output=True,
            text=True,
            check=False,
        )
        if out.returncode != 0:
            failed = f"the reference runner failed on {spec_file} (exit {out.returncode})"
            raise SystemExit(f"{failed}:\n{out.stderr[-3000:]}")
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    first = results[0]
    first["reflection_calls"], first["wasted_share"] = first["calls"]["reflection"], None
    first["rerun_calls"] = results[1]["model_calls"] if rerun else None
    first["rerun_wall_s"] = results[1]["wall_s"] if rerun else None
    labels = {
        "test": [e.fields[evaluator["expected"]] for e in prepared.splits.test],
        "validation": [e.fields[evaluator["expected"]] for e in prepared.splits.val],
    }
    outputs = first.pop("outputs")
    first["answers"] = {
        who: {split: _answers(texts, labels[split]) for split, texts in by_split.items()}
        for who, by_split in outputs.items()
    }
    return first


def _answers(outputs: list[str], labels: list[Any]) -> dict[str, int]:
    """The five most frequent answers, read as gepa-evolve reads its own (``gepa.core.answers``)."""
    rollouts = [
        Rollout(example_id=str(i), output=text, score=0.0, feedback="", expected=str(label))
        for i, (text, label) in enumerate(zip(outputs, labels, strict=True))
    ]
    return dict(list(answer_counts(rollouts).items())[:5])


def spread(values: list[float]) -> str:
    values = [v for v in values if v is not None]
    if not values:
        return "n/a"
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"


TIERS = {
    "smollm2": {
        "tasks": ["polarity", "intent", "sentiment", "counting", "navigate", "hyperbaton", "anachronisms"],
        "budget": 150,
        "task_model": None,
    },  # None: the task file's model, SmolLM2
    "capable": {
        "tasks": ["disambiguation", "penguins", "logical_deduction", "tracking_three"],
        "budget": 400,
        "task_model": "qwen",
    },
}
SYSTEMS = {
    "ours": "gepa-evolve",
    "ours-general": "gepa-evolve general",
    "ours-scaffolded": "gepa-evolve scaffolded",
    "reference": "reference gepa 0.1.4",
}
TEMPLATES = {"ours": "default", "ours-general": "general", "ours-scaffolded": "scaffolded"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tier", choices=list(TIERS), default="smollm2")
    parser.add_argument("--reflector", choices=["qwen", "smollm2"], default="qwen")
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2])
    parser.add_argument("--budget", type=int, help="metric calls per run (default: 150 smollm2, 400 capable)")
    parser.add_argument("--tasks", nargs="*", help="default: the tier's tasks")
    parser.add_argument("--systems", nargs="*", choices=list(SYSTEMS), default=["ours", "reference"])
    parser.add_argument("--reference-rerun", action="store_true", help="run the reference twice (it has no cache)")
    parser.add_argument("--workdir", type=Path, help="keep run directories and caches here (default: a temporary one)")
    parser.add_argument("--out", type=Path, help="default: bench/results/compare_reference_<tier>.json")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="gepa-evolve once on polarity with bench/ray_executor.py's scripted models: nothing "
        "downloaded, results not kept (the test suite runs it)",
    )
    args = parser.parse_args()
    tier = TIERS[args.tier]
    if args.smoke:
        args.tasks, args.seeds, args.systems, args.budget = ["polarity"], [0], ["ours"], args.budget or 120
        args.out = args.out or Path(tempfile.mkdtemp(prefix="gepa-compare-smoke-")) / "compare_reference_smoke.json"
    args.tasks = args.tasks or tier["tasks"]
    args.budget = args.budget or tier["budget"]
    args.out = args.out or ROOT / "bench" / "results" / f"compare_reference_{args.tier}.json"
    if args.smoke:
        models = {"task": "fake/bench.ray_executor:answer", "reflector": "fake/bench.ray_executor:reflect"}
    else:
        qwen = f"local/{reflector_path()}"
        models = {
            "task": qwen if tier["task_model"] == "qwen" else None,
            "reflector": qwen if args.reflector == "qwen" else "local/smollm2",
        }
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
                    if system == "reference":
                        row = run_reference(task, seed, args.budget, models, workdir, rerun=args.reference_rerun)
                    else:
                        row = run_ours(
                            task,
                            seed,
                            args.budget,
                            models,
                            workdir / f"{system}-{name}-{seed}" / "cache",
                            TEMPLATES[system],
                        )
                    rows.append({"task": name, "system": SYSTEMS[system], "seed": seed, **row})
                    hidden = ("best", "seed_test_scores", "best_test_scores", "no_rule_best_test_scores", "diagnosis")
                    shown = {k: v for k, v in row.items() if k not in hidden}
                    print(f"[{name} seed {seed}] {SYSTEMS[system]}: {json.dumps(shown)}", file=sys.stderr, flush=True)
                    write(args, rows)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    print_table(rows, args)
    print(f"results written to {args.out}")


def write(args: argparse.Namespace, rows: list[dict[str, Any]]) -> None:
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {"tier": args.tier, "budget": args.budget, "seeds": args.seeds, "reflector": args.reflector, "rows": rows},
            indent=2,
        )
    )


def print_table(rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    task_model = "Qwen2.5-Coder-1.5B" if args.tier == "capable" else "SmolLM2-135M"
    print(f"budget {args.budget} metric calls; seeds {args.seeds}; task model {task_model}; reflector {args.reflector}")
    print(
        f"{'task':<17} {'system':<22} {'seed test':>13} {'best test':>13} {'best - seed (95% interval)':>28} "
        f"{'calls':>6} {'reflect':>7} {'wall s':>7} {'wasted':>6}"
    )
    systems = list(dict.fromkeys(r["system"] for r in rows))
    for name in args.tasks:
        for system in systems:
            group = [r for r in rows if r["task"] == name and r["system"] == system]
            if not group:
                continue
            wasted = [r["wasted_share"] for r in group if r["wasted_share"] is not None]
            gain = _interval(
                [x for r in group for x in r["best_test_scores"]], [x for r in group for x in r["seed_test_scores"]]
            )
            print(
                f"{name:<17} {system:<22} {spread([r['seed_test'] for r in group]):>13} "
                f"{spread([r['best_test'] for r in group]):>13} {gain:>28} "
                f"{statistics.mean(r['model_calls'] for r in group):>6.0f} "
                f"{statistics.mean(r['reflection_calls'] for r in group):>7.1f} "
                f"{statistics.mean(r['wall_s'] for r in group):>7.0f} "
                f"{(f'{statistics.mean(wasted):.0%}' if wasted else '-'):>6}"
            )
    print(
        "\ngepa-evolve - reference on test, paired over seeds x test examples (a win or a loss only when the "
        "interval excludes 0):"
    )
    for name in args.tasks:
        (our_seeds, ours), (their_seeds, theirs) = (_best_scores(rows, name, s) for s in ("ours", "reference"))
        if ours and our_seeds == their_seeds:
            print(f"  {name:<17} {_interval(ours, theirs):<28} {_verdict(ours, theirs)}")
    print(
        "\nthe noise rule: gepa-evolve's best against what the highest validation mean would have crowned "
        "(best_gain_level null; the same search), on test:"
    )
    for name in args.tasks:
        group = [r for r in rows if r["task"] == name and "no_rule_best_test_scores" in r]
        if group:
            ruled = [x for r in group for x in r["best_test_scores"]]
            unruled = [x for r in group for x in r["no_rule_best_test_scores"]]
            refused = sum(r.get("within_noise", 0) for r in group)
            print(f"  {name:<17} rule - no rule {_interval(ruled, unruled):<28} ({refused} candidates refused)")
    print("\nwhat each best prompt answers on test (per seed: the most frequent answers):")
    for row in rows:
        answers = row.get("answers", {}).get("best", {}).get("test", {})
        shown = ", ".join(f"{a!r} {n}" for a, n in answers.items()) or "-"
        print(f"  {row['task']:<17} {row['system']:<22} seed {row['seed']}: {shown}")


def _best_scores(rows: list[dict[str, Any]], task: str, system: str) -> tuple[list[int], list[float]]:
    """The seeds of a system's runs on a task and their best prompts' test scores, seed after seed."""
    group = sorted((r for r in rows if r["task"] == task and r["system"] == SYSTEMS[system]), key=lambda r: r["seed"])
    return [r["seed"] for r in group], [x for r in group for x in r["best_test_scores"]]


def _verdict(ours: list[float], theirs: list[float]) -> str:
    found = paired_difference(ours, theirs)
    return "win" if found.low > 0 else "loss" if found.high < 0 else "no difference beyond noise"


def _interval(new: list[float], old: list[float]) -> str:
    if not new or len(new) != len(old):
        return "n/a"
    found = paired_difference(new, old)
    return f"{found.mean:+.3f} ({found.low:+.3f}, {found.high:+.3f})" + (" *" if found.excludes_zero else "")


if __name__ == "__main__":
    main()
