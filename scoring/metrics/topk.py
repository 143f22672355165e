"""Top-k accuracy over a fixed list of reference items, overall and as a mean over classes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Sequence, Tuple

import numpy as np

from scoring.resampling import Resampler


@dataclass(frozen=True)
class TopKScores:
    """Accuracies per k: over all items, and averaged over the classes present in the reference."""

    item_accuracy: Dict[int, float]
    mean_class_accuracy: Dict[int, float]
    per_class: Dict[int, np.ndarray]  # k -> accuracy per class (NaN where the class has no item)
    missing: int


class TopKAccuracy:
    """Streams ranked predictions, one item at a time; an item never updated counts as wrong.

    ``labels`` holds each reference item's class as an index 0..num_classes-1.
    """

    def __init__(self, labels: np.ndarray, num_classes: int, ks: Sequence[int]) -> None:
        self.labels = np.asarray(labels, dtype=np.int64)
        self.num_classes = num_classes
        self.ks: Tuple[int, ...] = tuple(sorted(ks))
        self.predictions = np.full((len(self.labels), self.ks[-1]), -1, dtype=np.int64)
        self.seen = np.zeros(len(self.labels), dtype=bool)

    def update(self, index: int, ranked: Sequence[int]) -> None:
        """Record the ranked class indices (best first) predicted for reference item ``index``."""
        top = ranked[: self.ks[-1]]
        self.predictions[index, : len(top)] = top
        self.seen[index] = True

    def hits(self, k: int) -> np.ndarray:
        """Whether each reference item has its class among its first ``k`` predictions."""
        return (self.predictions[:, :k] == self.labels[:, None]).any(axis=1)

    def resampler(self, k: int, per_class: bool) -> AccuracyResampler:
        """Top-``k`` accuracy (averaged over classes if ``per_class``) on resamples of the items."""
        return AccuracyResampler(self.hits(k), self.labels, per_class)

    def compute(self) -> TopKScores:
        """Accuracy for every k, overall and per class."""
        support = np.bincount(self.labels, minlength=self.num_classes)
        present = support > 0
        item, mean_class, per_class = {}, {}, {}
        for k in self.ks:
            hits = self.hits(k)
            correct = np.bincount(self.labels, weights=hits, minlength=self.num_classes)
            accuracy = np.full(self.num_classes, np.nan)
            accuracy[present] = correct[present] / support[present]
            item[k] = float(hits.mean()) if len(hits) else 0.0
            mean_class[k] = float(accuracy[present].mean()) if present.any() else 0.0
            per_class[k] = accuracy
        return TopKScores(item, mean_class, per_class, int((~self.seen).sum()))


class AccuracyResampler(Resampler):
    """Top-k accuracy on a resample: over all items, or averaged over the classes the resample holds."""

    def __init__(self, hits: np.ndarray, labels: np.ndarray, per_class: bool) -> None:
        self.items = len(labels)
        self.per_class = per_class
        self.order = np.argsort(labels, kind="stable")
        sorted_labels = labels[self.order]
        self.class_starts = np.flatnonzero(np.concatenate([[True], sorted_labels[1:] != sorted_labels[:-1]]))
        self.hits = hits[self.order].astype(np.int64)

    def primary(self, counts: np.ndarray) -> float:
        weights = counts[self.order]
        correct = weights * self.hits
        if not self.per_class:
            return float(correct.sum() / weights.sum())
        support = np.add.reduceat(weights, self.class_starts)
        right = np.add.reduceat(correct, self.class_starts)
        present = support > 0
        return float((right[present] / support[present]).mean())
