"""One table from several ``compare_reference.py`` result files: per task, the seed's and each system's best test
score, ours - reference with its paired 95 % interval over the test examples, wall times, and what each best
answers on test. For results gathered by separate runs (one task or one system at a time).

    .venv/bin/python bench/capable_table.py bench/results/compare_reference_capable_*.json

A later file's row for the same (task, system, seed) replaces an earlier one's.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gepa.core.intervals import paired_difference  # noqa: E402


def load(paths: list[str]) -> dict[tuple[str, str, int], dict[str, Any]]:
    rows: dict[tuple[str, str, int], dict[str, Any]] = {}
    for path in paths:
        for row in json.loads(Path(path).read_text(encoding="utf-8"))["rows"]:
            who = "ours" if row["system"] == "gepa-evolve" else "reference"
            rows[(row["task"], who, int(row["seed"]))] = row
    return rows


def answers(row: dict[str, Any]) -> str:
    counts = row["answers"]["best"]["test"]
    top = sorted(counts.items(), key=lambda kv: -kv[1])[:4]
    return ", ".join(f"{answer!r} {n}" for answer, n in top)


def main() -> None:
    rows = load(sys.argv[1:])
    keys = sorted({(task, seed) for task, _, seed in rows})
    head = f"{'task':18} {'seed':>4} {'seed test':>9} {'ours':>6} {'ref':>6}  {'ours - ref (95% interval)':34}"
    print(head + " ours s  ref s")
    for task, seed in keys:
        ours, ref = rows.get((task, "ours", seed)), rows.get((task, "reference", seed))
        if ours is None or ref is None:
            print(f"{task:18} {seed:>4}  only {'ours' if ours else 'the reference'}")
            continue
        gap = paired_difference(ours["best_test_scores"], ref["best_test_scores"])
        interval = f"{gap.mean:+.3f} ({gap.low:+.3f}, {gap.high:+.3f}) {gap.better} better, {gap.worse} worse"
        print(
            f"{task:18} {seed:>4} {ours['seed_test']:9.3f} {ours['best_test']:6.3f} {ref['best_test']:6.3f}  "
            f"{interval:34} {ours['wall_s']:6.0f} {ref['wall_s']:6.0f}"
        )
        print(f"{'':23}ours best answers: {answers(ours)}")
        print(f"{'':23}ref  best answers: {answers(ref)}")


if __name__ == "__main__":
    main()
