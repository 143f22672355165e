"""Re-identification: mean average precision and CMC of a gallery ranked by distance to each query.

Per query, over its valid gallery (every gallery item but the junk: where cameras are given, an item of the
query's identity seen by the query's camera, as open-reid and Market-1501 leave out):

- AP equals scikit-learn's ``average_precision_score(is_match, -distance)``: tied distances form one threshold,
  so a tie counts all its items at once (the result does not depend on their order);
- the rank of the first match orders by distance, ties by gallery position in the reference (a stable sort by
  distance); CMC rank-k (Market-1501's, open-reid's ``first_match_break``) is the share of queries whose first
  match is within the first k.

Every query counts: the reference must give each query at least one valid match (else a ReferenceDataError),
and a query never updated counts as AP 0 with no match within any rank.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Dict, Optional, Sequence, Tuple, Union

import numpy as np

from scoring.errors import ReferenceDataError
from scoring.resampling import Resampler

RANKS = (1, 5, 10)


@dataclass(frozen=True)
class ReidScores:
    """mAP and CMC over every query, with the per-query values they average."""

    mean_ap: float
    cmc: Dict[int, float]  # rank k -> share of queries whose first match is within the first k
    average_precision: np.ndarray  # per query
    first_match: np.ndarray  # per query: the 1-based rank of its first match (0 if never updated)
    missing: int  # queries never updated


class ReidMetric:
    """Streams distance rows (one query or a block of queries at a time) and scores them on ``compute()``.

    ``query_labels`` and ``gallery_labels`` are the identities; ``query_cameras`` and ``gallery_cameras``, if
    given (one per label), mark as junk the gallery items of the query's identity and camera.
    """

    def __init__(self, query_labels: Sequence[int], gallery_labels: Sequence[int], ranks: Sequence[int] = RANKS,
                 query_cameras: Optional[Sequence[int]] = None, gallery_cameras: Optional[Sequence[int]] = None) -> None:
        self.query_labels = np.asarray(query_labels, dtype=np.int64)
        self.gallery_labels = np.asarray(gallery_labels, dtype=np.int64)
        self.ranks: Tuple[int, ...] = tuple(sorted(ranks))
        if (query_cameras is None) != (gallery_cameras is None):
            raise ValueError("give cameras for both the queries and the gallery, or for neither")
        self.cameras = None if query_cameras is None or gallery_cameras is None else (
            np.asarray(query_cameras, dtype=np.int64), np.asarray(gallery_cameras, dtype=np.int64))
        if self.cameras is not None:
            for side, labels, cameras in zip(("query", "gallery"), (self.query_labels, self.gallery_labels), self.cameras):
                if cameras.shape != labels.shape:
                    raise ReferenceDataError(f"{side} cameras and labels differ in number ({cameras.size} and "
                                             f"{labels.size}); every {side} item needs one camera")
        self._check_matches()
        queries = len(self.query_labels)
        self.average_precision = np.zeros(queries)
        self.first_match = np.zeros(queries, dtype=np.int64)
        self.seen = np.zeros(queries, dtype=bool)

    def _check_matches(self) -> None:
        """Every query needs a valid match in the gallery (a reference property, checked before any submission)."""
        matches = Counter(self.gallery_labels.tolist())
        junk: Counter = Counter()
        if self.cameras is not None:
            junk = Counter(zip(self.gallery_labels.tolist(), self.cameras[1].tolist()))
        for query, label in enumerate(self.query_labels.tolist()):
            camera = None if self.cameras is None else int(self.cameras[0][query])
            if matches[label] - junk[(label, camera)] <= 0:
                raise ReferenceDataError(f"query {query} (0-based, in reference order) has no match in the gallery"
                                         f"{' seen by another camera' if self.cameras is not None else ''}; "
                                         "every query needs one")

    def update(self, queries: Union[int, Sequence[int], np.ndarray], distances: np.ndarray) -> None:
        """Record the distances from query ``queries`` (reference positions) to every gallery item, in gallery order.

        ``distances`` is one row for one query, or one row per query for a sequence of them; lower is closer.
        """
        rows = np.atleast_2d(np.asarray(distances, dtype=np.float64))
        indices = np.atleast_1d(np.asarray(queries, dtype=np.intp))
        if rows.shape != (len(indices), len(self.gallery_labels)):
            raise ValueError(f"distances of shape {rows.shape} for {len(indices)} queries and "
                             f"{len(self.gallery_labels)} gallery items")
        for query, row in zip(indices.tolist(), rows):
            self.average_precision[query], self.first_match[query] = self._score(query, row)
            self.seen[query] = True

    def _score(self, query: int, row: np.ndarray) -> Tuple[float, int]:
        """AP and first-match rank of one query."""
        match = self.gallery_labels == self.query_labels[query]
        if self.cameras is not None:
            valid = ~(match & (self.cameras[1] == self.cameras[0][query]))
            row, match = row[valid], match[valid]
        ranked = np.sort(row)
        thresholds, hits = np.unique(row[match], return_counts=True)  # one threshold per distinct match distance
        retrieved = np.searchsorted(ranked, thresholds, side="right")  # items at or below each threshold
        average_precision = float(np.sum(hits * (np.cumsum(hits) / retrieved)) / np.sum(hits))
        best = thresholds[0]
        first = int(np.flatnonzero(match & (row == best))[0])  # ties with the first match: gallery order decides
        rank = int(np.count_nonzero(row < best) + np.count_nonzero(row[:first] == best)) + 1
        return average_precision, rank

    def compute(self) -> ReidScores:
        """mAP and CMC at every rank, over all queries."""
        cmc = {k: float(np.mean((self.first_match > 0) & (self.first_match <= k))) for k in self.ranks}
        return ReidScores(float(np.mean(self.average_precision)), cmc, self.average_precision.copy(),
                          self.first_match.copy(), int(np.count_nonzero(~self.seen)))

    def resampler(self) -> QueryMeanResampler:
        """mAP on resamples of the queries."""
        return QueryMeanResampler(self.average_precision.copy())


class QueryMeanResampler(Resampler):
    """The mean of a per-query value (AP, for mAP) on a resample of the queries."""

    def __init__(self, values: np.ndarray) -> None:
        self.values = values
        self.items = len(values)

    def primary(self, counts: np.ndarray) -> float:
        return float(np.sum(counts * self.values) / np.sum(counts))  # no BLAS: the same sum on every machine
