"""Paired bootstrap intervals: seeded (the same interval twice), and wide enough that two better examples of 40
are not told from noise while thirty are."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from gepa.cli import main
from gepa.core.intervals import paired_difference
from tests.fakes import write_task


def test_a_seeded_interval_is_the_same_twice() -> None:
    new, old = [1, 0, 1, 1, 0, 1, 0, 1] * 5, [0, 0, 1, 0, 1, 1, 0, 0] * 5
    first, again = paired_difference(new, old, seed=3), paired_difference(new, old, seed=3)
    assert first == again
    assert first.low == pytest.approx(0.05) and first.high == pytest.approx(0.45) and first.excludes_zero
    assert first.mean == pytest.approx(0.25) and (first.better, first.worse, first.n) == (15, 5, 40)


@pytest.mark.parametrize(("better", "excludes_zero"), [(2, False), (30, True)])
def test_a_gain_on_few_examples_is_not_told_from_noise(better: int, excludes_zero: bool) -> None:
    old = [0.0] * 40
    new = [1.0] * better + [0.0] * (40 - better)
    found = paired_difference(new, old)
    assert found.excludes_zero is excludes_zero and found.low <= found.mean <= found.high


def test_identical_scores_give_a_zero_width_interval_and_unpaired_scores_an_error() -> None:
    same = paired_difference([1.0, 0.0], [1.0, 0.0])
    assert (same.mean, same.low, same.high, same.excludes_zero) == (0.0, 0.0, 0.0, False)
    with pytest.raises(ValueError, match="same examples"):
        paired_difference([1.0], [1.0, 0.0])


def test_a_run_reports_each_splits_gain_with_its_interval(tmp_path: Path) -> None:
    task = write_task(tmp_path / "toy", budget=60)
    result = CliRunner().invoke(main, ["optimize", str(task), "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.output
    summary = json.loads(next((tmp_path / "runs").iterdir()).joinpath("summary.json").read_text())
    gain = summary["gains"]["validation"]
    # the two [c] examples got worse: only the seed solves them
    assert (gain["mean"], gain["n"], gain["better"], gain["worse"]) == (pytest.approx(0.6), 10, 8, 2)
    assert gain["low"] <= gain["mean"] <= gain["high"] and summary["gains"]["test"]["n"] == 5
    assert (
        f"best 0.800   +0.600 (95% interval {gain['low']:+.3f} to {gain['high']:+.3f}; 8 better, 2 worse of 10)"
        in result.output
    )
    page = Path(summary["report"]).read_text()
    assert f"<td>+0.600 (95% interval {gain['low']:+.3f} to {gain['high']:+.3f}; 8 better, 2 worse of 10)</td>" in page


def test_a_gain_noise_can_explain_says_how_many_examples_would_tell() -> None:
    from gepa.run.diagnosis import noise_lines

    small = paired_difference([1.0, 1.0] + [0.0] * 20, [0.0, 0.0, 1.0] + [0.0] * 19)  # 2 better, 1 worse of 22
    assert small.low <= 0 < small.mean
    needed = small.examples_needed()
    assert needed is not None and needed > 22
    [line] = noise_lines({"validation": small})
    assert line.startswith("The gain on validation, +0.045") and f"about {needed} examples" in line
    clear = paired_difference([1.0] * 30 + [0.0] * 10, [0.0] * 40)
    assert clear.examples_needed() is None and noise_lines({"test": clear}) == []
    # Needing 4x the examples halves the interval: the estimate follows the square-root law.
    quadrupled = paired_difference(([1.0, 1.0] + [0.0] * 20) * 4, ([0.0, 0.0, 1.0] + [0.0] * 19) * 4)
    assert abs((quadrupled.high - quadrupled.low) - (small.high - small.low) / 2) < 0.03
