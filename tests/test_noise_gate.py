"""A gain noise explains is not a gain: a candidate better than the seed on 2 of 40 validation examples stays in
the pool but is not the best, and the run says why in numbers; the same change on 20 of 40 is the best; with
``best_gain_level: null`` the highest validation mean wins as before."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from gepa.cli import main
from tests import fakes


def rows(kinds: str, count: int, offset: int) -> list[dict[str, str]]:
    """``count`` scripted rows of the given kinds: the seed solves [c] and fails [b]; RULE_B in the user
    template (what the reflector adds there) solves [b] too."""
    return [r for r in fakes.make_rows(count * 5, offset) if r["text"][1] in kinds][:count]


def run(
    tmp_path: Path, val: list[dict[str, str]], optimizer: str = "{proposals_per_iteration: 1}", budget: int = 200
) -> dict[str, Any]:
    task = fakes.write_task(tmp_path / "toy", budget=budget, optimizer=optimizer)
    data = task.parent / "data"
    for name, found in (("train", rows("b", 10, 0)), ("val", val), ("test", rows("bc", 10, 500))):
        (data / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in found))
    result = CliRunner().invoke(
        main, ["optimize", str(task), "--runs-dir", str(tmp_path / "runs"), "--cache-dir", str(tmp_path / "cache")]
    )
    assert result.exit_code == 0, result.output
    summary: dict[str, Any] = json.loads((next((tmp_path / "runs").iterdir()) / "summary.json").read_text())
    summary["output"] = result.output
    return summary


BEFORE_THE_GAIN = 50  # metric calls: the seed's 40 on validation and one iteration's minibatches


def two_of_forty() -> list[dict[str, str]]:
    return rows("b", 2, 1000) + rows("c", 38, 2000)


def test_a_gain_on_two_of_forty_examples_keeps_the_seed_and_says_why(tmp_path: Path) -> None:
    summary = run(tmp_path, two_of_forty())
    assert summary["best"]["id"] == summary["seed"]["id"] and summary["best"]["val"] == 0.95
    [refused] = summary["within_noise"]
    assert refused["val"] == 1.0 and refused["gain"]["better"] == 2 and refused["gain"]["worse"] == 0
    assert refused["gain"]["low"] <= 0 < refused["gain"]["mean"]
    assert summary["counts"]["within_noise"] >= 1
    line = next(line for line in summary["diagnosis"] if "noise could explain" in line)
    assert refused["candidate"] in line and "2 better, 0 worse of 40" in line and "0.950" in line
    assert "noise could explain" in " ".join(summary["output"].split())  # the CLI's end-of-run lines say it too
    assert fakes.RULE_B not in (Path(summary["best_prompt_dir"]) / "user.txt").read_text()
    report = Path(summary["report"]).read_text()
    assert "gain over the seed within noise: not the best" in report  # its row on the front says why


def test_the_same_change_on_twenty_of_forty_examples_is_the_best(tmp_path: Path) -> None:
    summary = run(tmp_path, rows("b", 20, 1000) + rows("c", 20, 2000))
    assert summary["best"]["val"] == 1.0 and summary["within_noise"] == []
    assert fakes.RULE_B in summary["best"]["components"]["user"]


def test_with_the_rule_off_the_highest_validation_mean_wins(tmp_path: Path) -> None:
    summary = run(tmp_path, two_of_forty(), optimizer="{proposals_per_iteration: 1, best_gain_level: null}")
    assert summary["best"]["val"] == 1.0 and summary["within_noise"] == []


def test_a_run_recorded_before_the_rule_resumes_without_it(tmp_path: Path) -> None:
    """config.json of a run made before ``best_gain_level`` existed lacks it: that run crowned the highest mean,
    and resumed under today's default (0.95) it goes on doing so, resume after resume, where the rule would keep
    the seed; a value the user sets for it is a changed setting, refused as any other."""
    summary = run(
        tmp_path,
        two_of_forty(),
        optimizer="{proposals_per_iteration: 1, best_gain_level: null}",
        budget=BEFORE_THE_GAIN,
    )
    assert summary["best"]["id"] == summary["seed"]["id"]  # stopped before the reflector found the rule
    run_dir = Path(summary["best_prompt_dir"]).parent
    config = json.loads((run_dir / "config.json").read_text())
    for section in (config["optimizer"], config["task"]["optimizer"]):
        section.pop("best_gain_level")
    (run_dir / "config.json").write_text(json.dumps(config))
    task = tmp_path / "toy" / "task.yaml"
    task.write_text(task.read_text().replace(", best_gain_level: null", ""))  # the file as that gepa knew it
    for budget in ("400", "500"):
        result = CliRunner().invoke(
            main,
            [
                "optimize",
                str(task),
                "--resume",
                str(run_dir),
                "--budget",
                budget,
                "--cache-dir",
                str(tmp_path / "cache"),
            ],
        )
        assert result.exit_code == 0, result.output
        resumed = json.loads((run_dir / "summary.json").read_text())
        assert resumed["best"]["val"] == 1.0 and resumed["within_noise"] == []  # the rule would keep the seed
        assert "best_gain_level" not in json.loads((run_dir / "config.json").read_text())["optimizer"]
    task.write_text(
        task.read_text().replace("proposals_per_iteration: 1", "proposals_per_iteration: 1, best_gain_level: 0.9")
    )
    result = CliRunner().invoke(main, ["optimize", str(task), "--resume", str(run_dir), "--budget", "600"])
    assert result.exit_code == 2 and "changed since this run started" in " ".join(result.output.split())
