"""How sure a claimed gain is: the paired difference of two prompts on the same examples, with a bootstrap
interval over those examples.

On 30 validation examples one example is 0.033 of score; a gain of two examples can be noise. Pairing (each
example scored by both prompts) removes the examples' own difficulty from the comparison, and the interval says
which differences the data cannot tell from zero. Seeded, so a rerun prints the same interval.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True, kw_only=True)
class PairedDifference:
    """``new`` minus ``old`` over paired examples: the mean, its bootstrap interval at ``level``, and how many
    examples got better and worse."""

    mean: float
    low: float
    high: float
    level: float
    n: int
    better: int
    worse: int

    @property
    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0

    def line(self) -> str:
        return (
            f"{self.mean:+.3f} ({self.level:.0%} interval {self.low:+.3f} to {self.high:+.3f}; "
            f"{self.better} better, {self.worse} worse of {self.n})"
        )

    def examples_needed(self) -> int | None:
        """Roughly how many paired examples would tell a difference of this size from noise (the interval
        narrows as one over the square root of the count); None when this one already does, or there is none."""
        if self.excludes_zero or self.mean == 0:
            return None
        half_width = (self.high - self.low) / 2
        return max(self.n + 1, math.ceil(self.n * (half_width / abs(self.mean)) ** 2))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def paired_difference(
    new: Sequence[float], old: Sequence[float], *, level: float = 0.95, seed: int = 0, resamples: int = 2000
) -> PairedDifference:
    """The mean of ``new[i] - old[i]`` with a percentile bootstrap interval over the pairs."""
    if len(new) != len(old) or not new:
        raise ValueError(f"paired scores need the same examples on both sides ({len(new)} and {len(old)})")
    diffs = np.asarray(new, dtype=np.float64) - np.asarray(old, dtype=np.float64)
    mean = float(diffs.mean())
    if np.ptp(diffs) == 0:  # every pair moved alike: nothing to resample
        low = high = mean
    else:
        from scipy import stats  # imported when first needed: it costs a second, too much for CLI start

        with warnings.catch_warnings():  # a two-valued sample may warn about its few distinct resamples
            warnings.simplefilter("ignore", RuntimeWarning)
            result = stats.bootstrap(
                (diffs,),
                np.mean,
                confidence_level=level,
                n_resamples=resamples,
                method="percentile",
                random_state=np.random.default_rng(seed),
            )
        low, high = float(result.confidence_interval.low), float(result.confidence_interval.high)
    return PairedDifference(
        mean=mean,
        low=low,
        high=high,
        level=level,
        n=len(diffs),
        better=int((diffs > 0).sum()),
        worse=int((diffs < 0).sum()),
    )
