"""Pareto maths on a score matrix (candidates x validation examples), as pure numpy functions.

The front follows GEPA: a candidate is on it when it is best (ties included) on at least one example
and is not made redundant by the others. Candidates are dropped from the per-example best sets from
the lowest mean score up, whenever every example they are best on keeps another best candidate. The
survivors are never dominated, and a candidate that is uniquely best on any example always survives.
"""

from __future__ import annotations

import random

import numpy as np
from numpy.typing import NDArray


def best_mask(scores: NDArray[np.float64]) -> NDArray[np.bool_]:
    """``mask[c, e]`` is True when candidate ``c`` has the best score on example ``e`` (ties included)."""
    if scores.size == 0:
        return np.zeros(scores.shape, dtype=bool)
    best: NDArray[np.bool_] = scores >= scores.max(axis=0, keepdims=True)
    return best


def frontier_weights(scores: NDArray[np.float64]) -> NDArray[np.int64]:
    """Per candidate, how many examples it is best on after redundant candidates are removed.

    Non-zero entries form the front; the numbers are GEPA's sampling weights.
    """
    n_candidates, n_examples = scores.shape
    if n_candidates == 0:
        return np.zeros(0, dtype=np.int64)
    if n_examples == 0:
        weights = np.zeros(n_candidates, dtype=np.int64)
        weights[0] = 1
        return weights
    mask = best_mask(scores)
    counts = mask.sum(axis=0)
    means = scores.mean(axis=1)
    on_some_front = np.flatnonzero(mask.any(axis=1))
    # Lowest mean first; among equal means the later candidate goes first, so the earliest twin survives.
    order = sorted(on_some_front.tolist(), key=lambda c: (means[c], -c))
    for candidate in order:
        row = mask[candidate]
        if not np.any(row & (counts < 2)):  # every example it wins keeps another winner
            counts -= row
            mask[candidate] = False
    wins: NDArray[np.int64] = mask.sum(axis=1).astype(np.int64)
    return wins


def frontier(scores: NDArray[np.float64]) -> list[int]:
    """Indices of the candidates on the Pareto front."""
    return np.flatnonzero(frontier_weights(scores)).tolist()


def sample_weighted(weights: NDArray[np.int64], rng: random.Random) -> int:
    """Pick a candidate with probability proportional to its (front) weight."""
    members = np.flatnonzero(weights).tolist()
    return rng.choices(members, weights=[int(weights[m]) for m in members], k=1)[0]
