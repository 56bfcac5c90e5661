"""Which reflection request makes better proposals: each policy's proposals for the same minibatches, scored on
validation, without a search around them (cheaper than whole runs, and every proposal counts).

    .venv/bin/python bench/reflection_probe.py --tier capable       # 4 tasks x 6 minibatches x 2 policies
    .venv/bin/python bench/reflection_probe.py --tasks polarity navigate --tier smollm2 --probes 4

Per task, ``--probes`` minibatches of 4 training examples are drawn (seeded, the same for every policy); the seed
prompt's rollouts on each, with the evaluator's feedback, go to the reflector under each policy (the user template
on even probes, the system prompt on odd ones), and the proposal, as the reflector wrote it (the engine's repairs
and cuts are not applied), is scored on the validation split. Printed per task and policy: the seed's validation
score, the proposals' mean, how many beat the seed, the best, how many were unusable (a broken placeholder, the
text unchanged), and how many answer one label to everything (``gepa.core.answers``). The task model and the
reflector are the bench's (Qwen2.5-Coder-1.5B reflects; the capable tier's task model is Qwen too, the smollm2
tier's is SmolLM2). Responses are cached in ``--cache``, so a rerun costs nothing.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from compare_reference import REFLECTION_PARAMS, TIERS  # noqa: E402
from reflector_model import CACHE, reflector_path  # noqa: E402

from gepa.core.admission import placeholder_problem  # noqa: E402
from gepa.core.answers import constant_answer  # noqa: E402
from gepa.core.candidate import Candidate  # noqa: E402
from gepa.lm.cache import ResponseCache  # noqa: E402
from gepa.run import runner  # noqa: E402


def probe(task: Path, policy: str, models: dict[str, str | None], probes: int, cache: Path) -> dict[str, Any]:
    overrides = runner.Overrides(
        model=models["task"],
        reflection_model=models["reflector"],
        reflection_template=policy,
        reflection_params=REFLECTION_PARAMS,
        guard=False,
    )
    prepared = runner.prepare(task, overrides, cache=ResponseCache(cache))
    seed, val, train = prepared.seed, prepared.splits.val, prepared.splits.train
    _, seed_val = runner.score(prepared, seed, val)
    base = sum(r.score for r in seed_val) / len(val)
    rng = random.Random(0)
    results = []
    for number in range(probes):
        batch = rng.sample(train, min(4, len(train)))
        _, rollouts = runner.score(prepared, seed, batch)
        component = "user" if number % 2 == 0 and "user" in seed.components else "system"
        text = prepared.proposer.propose(seed, component, list(zip(batch, rollouts, strict=True)), sample=number)
        if placeholder_problem(seed[component], text) or text.strip() == seed[component].strip():
            results.append({"component": component, "usable": False, "text": text})
            continue
        child = Candidate(components={**seed.components, component: text})
        _, child_val = runner.score(prepared, child, val)
        found = constant_answer(child_val, "validation")
        results.append(
            {
                "component": component,
                "usable": True,
                "text": text,
                "val": sum(r.score for r in child_val) / len(val),
                "constant": found.line() if found else None,
            }
        )
    return {"seed_val": base, "proposals": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tier", choices=list(TIERS), default="capable")
    parser.add_argument("--tasks", nargs="*", help="default: the tier's tasks")
    parser.add_argument("--policies", nargs="*", default=["scaffolded", "general"])
    parser.add_argument("--probes", type=int, default=6)
    parser.add_argument("--cache", type=Path, default=CACHE / "probe-cache")
    parser.add_argument("--out", type=Path, help="default: bench/results/reflection_probe_<tier>.json")
    args = parser.parse_args()
    tier = TIERS[args.tier]
    qwen = f"local/{reflector_path()}"
    models = {"task": qwen if tier["task_model"] == "qwen" else None, "reflector": qwen}
    out = args.out or ROOT / "bench" / "results" / f"reflection_probe_{args.tier}.json"
    rows = []
    for name in args.tasks or tier["tasks"]:
        for policy in args.policies:
            result = probe(ROOT / "tasks" / name / "task.yaml", policy, models, args.probes, args.cache)
            rows.append({"task": name, "policy": policy, **result})
            print(f"[{name}] {policy}: {json.dumps(result)[:300]}", file=sys.stderr, flush=True)
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps({"tier": args.tier, "probes": args.probes, "rows": rows}, indent=2))
    print(
        f"{'task':<17} {'policy':<11} {'seed val':>8} {'mean':>6} {'better':>6} {'best':>6} {'unusable':>8} "
        f"{'constant':>8}"
    )
    for row in rows:
        scored = [p["val"] for p in row["proposals"] if p["usable"]]
        better = sum(v > row["seed_val"] for v in scored)
        print(
            f"{row['task']:<17} {row['policy']:<11} {row['seed_val']:>8.3f} "
            f"{(statistics.mean(scored) if scored else float('nan')):>6.3f} {better:>6} "
            f"{max(scored, default=float('nan')):>6.3f} {len(row['proposals']) - len(scored):>8} "
            f"{sum(bool(p.get('constant')) for p in row['proposals']):>8}"
        )
    print(f"results written to {out}")


if __name__ == "__main__":
    main()
