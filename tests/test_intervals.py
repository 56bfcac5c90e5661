"""Paired bootstrap intervals: seeded (the same interval twice), and wide enough that two better examples of 40
are not told from noise while thirty are."""

from __future__ import annotations

import pytest

from gepa.core.intervals import paired_difference


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
