"""The primary score of a submission on a bootstrap resample of the reference items, without re-scoring it.

A challenge's scoring keeps, beside the scores, a :class:`Resampler`: the per-item parts of its metric
(hits per item, a confusion matrix per image, COCO matches per image), from which the primary score
of any resample follows by re-weighting. Resample ``b`` of seed ``s`` draws the items with replacement
from ``numpy.random.default_rng([s, b])``: the same draws for every submission (paired), on every
machine, and in any order or process.
"""

from __future__ import annotations

import abc
from typing import Iterable

import numpy as np


def resample_draws(seed: int, index: int, items: int) -> np.ndarray:
    """The item positions drawn, with replacement, by resample ``index`` of ``seed``."""
    return np.random.default_rng([seed, index]).integers(0, items, items)


def resample_counts(seed: int, index: int, items: int) -> np.ndarray:
    """How many times resample ``index`` of ``seed`` draws each item."""
    return np.bincount(resample_draws(seed, index, items), minlength=items)


class Resampler(abc.ABC):
    """The primary score of one submission under any re-weighting of the reference items."""

    #: the number of reference items (images, clips) that resamples draw from
    items: int

    @abc.abstractmethod
    def primary(self, counts: np.ndarray) -> float:
        """The primary score when item ``i`` is counted ``counts[i]`` times (all ones: the ordinary score)."""

    def primaries(self, seed: int, indices: Iterable[int]) -> np.ndarray:
        """The primary score on each of the resamples ``indices`` of ``seed``."""
        return np.array([self.primary(resample_counts(seed, index, self.items)) for index in indices], dtype=float)
