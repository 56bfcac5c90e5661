"""Fingerprints of the engine's decisions: fixed-seed runs on the scripted world, one line per setting with the
sha256 of the run's ``state.json`` (which holds the pool, every score, the counters, the patience count and the
random state) and of its ``events.jsonl`` without the times (what the engine said, in order). A refactor of the
loop that changes no behaviour prints the same lines before and after.

    .venv/bin/python bench/engine_fingerprint.py          # ~20 s; compare its output across two commits

The settings cover the engine's paths: mutation and merge, several proposals, a validation subset, a guard set
that fails a would-be best, a constant answer flagged, a gain noise explains refused (every setting but
``no_noise_rule``: the scripted world's 10 validation examples are few), patience, a reflector that repeats
itself or breaks placeholders (repairs), and a select rule.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path

from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gepa.cli import main  # noqa: E402
from tests import fakes  # noqa: E402

SETTINGS: dict[str, dict[str, str]] = {
    "default": {"optimizer": "{proposals_per_iteration: 1}"},  # the noise rule on, as in a user's run
    "no_noise_rule": {},  # tests.fakes.write_task's own settings: best_gain_level null
    "three_proposals": {"optimizer": "{proposals_per_iteration: 3, minibatch_size: 4}"},
    "subset": {"optimizer": "{proposals_per_iteration: 1, validation: subset, validation_subset: 4}"},
    "no_merge_all_components": {"optimizer": "{proposals_per_iteration: 1, merge: false, component_selection: all}"},
    "patience": {"optimizer": "{proposals_per_iteration: 1, acceptance: non_strict}", "patience": "2"},
    "parrot": {"reflection_model": "fake/tests.fakes:parrot_reflector"},
    "repairs": {"reflection_model": "fake/tests.fakes:repairable_reflector"},
    "select_rule": {"extra": "objectives: [score, cost_usd]\nselect: {maximize: score}\n"},
    "guard": {"guard": "yes", "optimizer": "{proposals_per_iteration: 1, guard_tolerance: 0.02}"},
    "constant": {"skewed": "yes"},
}


def write(folder: Path, setting: dict[str, str]) -> Path:
    """The scripted task for ``setting``, written under ``folder``."""
    extra = setting.get("extra", "")
    kwargs = {"budget": 200, "extra": extra}
    if "optimizer" in setting:
        kwargs["optimizer"] = setting["optimizer"]
    if "reflection_model" in setting:
        kwargs["reflection_model"] = setting["reflection_model"]
    if setting.get("skewed"):
        kwargs.update(
            model="fake/tests.fakes:skewed_task_model",
            reflection_model="fake/tests.fakes:marker_reflector",
            optimizer="{proposals_per_iteration: 1, minibatch_size: 10}",
            extra="optimize: [system]\n",
        )
    task = fakes.write_task(folder, **kwargs)  # type: ignore[arg-type]
    data = folder / "data"
    if setting.get("skewed"):
        for name, rows in (
            ("train", fakes.skewed_rows(10)),
            ("val", fakes.skewed_rows(10, 100)),
            ("test", fakes.skewed_rows(10, 200)),
        ):
            (data / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    if setting.get("patience"):
        task.write_text(
            task.read_text().replace(
                "  max_metric_calls: 200", f"  max_metric_calls: 200\n  patience: {setting['patience']}"
            )
        )
    if setting.get("guard"):
        rows = [r for r in fakes.make_rows(25, 300) if r["text"].startswith("[c]")]
        (data / "guard.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        task.write_text(
            task.read_text().replace(
                "  test: data/test.jsonl", "  test: data/test.jsonl\n  guard: {ood: data/guard.jsonl}"
            )
        )
    return task


def fingerprint(name: str, setting: dict[str, str], root: Path) -> str:
    task = write(root / name / "toy", setting)
    runs = root / name / "runs"
    result = CliRunner().invoke(
        main, ["optimize", str(task), "--runs-dir", str(runs), "--cache-dir", str(root / name / "cache"), "-q"]
    )
    if result.exit_code != 0:
        return f"failed ({result.exit_code}): {result.output.strip().splitlines()[-1:]}"
    state = next(runs.iterdir()) / "state.json"
    summary = json.loads((state.parent / "summary.json").read_text())
    digest = hashlib.sha256(state.read_bytes()).hexdigest()[:16]
    events = [json.loads(line) for line in (state.parent / "events.jsonl").read_text().splitlines()]
    timeless = "\n".join(json.dumps({k: v for k, v in e.items() if k != "time"}) for e in events)
    events_digest = hashlib.sha256(timeless.encode()).hexdigest()[:8]
    counts = summary["counts"]
    seen = ", ".join(
        f"{key} {counts[key]}"
        for key in (
            "merges_accepted",
            "merges_rejected",
            "guard_failed",
            "constant_answer",
            "within_noise",
            "repaired",
            "subset_rejected",
        )
        if counts.get(key)
    )
    return (
        f"{digest}  events {events_digest}  best {summary['best']['val']:.3f}  calls {summary['metric_calls']}  {seen}"
    )


def main_() -> None:
    os.chdir(ROOT)
    with tempfile.TemporaryDirectory() as tmp:
        for name, setting in SETTINGS.items():
            print(f"{name:26s} {fingerprint(name, setting, Path(tmp))}", flush=True)


if __name__ == "__main__":
    main_()
