"""How stable the ranking is, from the same paired bootstrap resamples as the intervals (no extra scoring).

After challengeR (Wiesenfarth et al., Sci. Rep. 2021) and Maier-Hein et al. (Nat. Commun. 2018): each
entrant's rank in every resample (ties by the primary score share the best rank, the ``min``
method), its rank distribution, median rank and 95% rank interval; Kendall's tau-b between the full
ranking and each resample's; how often the winner stays first; and, for every pair, the one-sided
paired-bootstrap p-value that the higher-ranked entrant beats the other, Holm-adjusted over the
pairs. One analysis; the table, the blob plot and the significance map are views of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from bundler.results.ranking import LEVEL  # also of the rank intervals and of the interval of Kendall's tau

ALPHA = 0.05  # the level of the pairwise tests (after Holm's adjustment)


def ranks(values: np.ndarray) -> np.ndarray:
    """The ``min`` rank of each row in each column, higher values first: 1 + the number of rows strictly above."""
    return 1 + (values[None, :, :] > values[:, None, :]).sum(axis=1)


def kendall_tau_b(reference: np.ndarray, rankings: np.ndarray) -> np.ndarray:
    """Kendall's tau-b between the ranking ``reference`` (n) and each column of ``rankings`` (n, B); NaN where undefined."""
    upper = np.triu_indices(len(reference), k=1)
    x = np.sign(reference[:, None] - reference[None, :])[upper]  # (pairs,)
    y = np.sign(rankings[:, None, :] - rankings[None, :, :])[upper]  # (pairs, B)
    pairs = len(x)
    concordance = (x[:, None] * y).sum(axis=0)
    untied_x = pairs - (x == 0).sum()
    untied_y = pairs - (y == 0).sum(axis=0)
    denominator = np.sqrt(untied_x * untied_y.astype(float))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, concordance / np.where(denominator > 0, denominator, 1), np.nan)


def holm(p_values: np.ndarray) -> np.ndarray:
    """Holm's step-down adjustment of ``p_values`` (any shape; NaN entries are not tests)."""
    flat = p_values.ravel()
    tested = np.flatnonzero(~np.isnan(flat))
    adjusted = np.full(flat.shape, np.nan)
    order = tested[np.argsort(flat[tested], kind="stable")]
    m = len(order)
    running = 0.0
    for position, index in enumerate(order):
        running = max(running, min(1.0, (m - position) * flat[index]))
        adjusted[index] = running
    return adjusted.reshape(p_values.shape)


@dataclass
class Stability:
    """The rank analysis of the entrants in rank order (the point ranking of ``points``)."""

    resamples: int
    rank_counts: np.ndarray  # (n, n): how often entrant i takes rank r + 1
    median_rank: np.ndarray  # (n,)
    rank_interval: np.ndarray  # (n, 2)
    tau: np.ndarray  # (B,): Kendall's tau-b between the full ranking and each resample's
    winner_first: float  # the share of resamples in which the first entrant of the full ranking is first
    p_values: np.ndarray  # (n, n): one-sided p-value that i beats j, for i ranked above j; NaN elsewhere
    adjusted: np.ndarray  # (n, n): Holm-adjusted over the pairs

    def tau_summary(self) -> Optional[Dict[str, Any]]:
        defined = self.tau[~np.isnan(self.tau)]
        if not len(defined):
            return None
        tail = (1 - LEVEL) / 2
        return {"median": float(np.median(defined)),
                "interval": [float(np.quantile(defined, tail)), float(np.quantile(defined, 1 - tail))]}

    def significant(self) -> np.ndarray:
        """Where the row entrant beats the column entrant at ALPHA, Holm-adjusted."""
        return np.nan_to_num(self.adjusted, nan=1.0) < ALPHA


def analyse(points: np.ndarray, primaries: np.ndarray, higher_is_better: bool = True) -> Stability:
    """The analysis of ``primaries`` (n entrants in rank order, B resamples), ``points`` their point scores."""
    sign = 1.0 if higher_is_better else -1.0
    values, full = sign * primaries, sign * points
    n, resamples = values.shape
    resampled = ranks(values)
    counts = np.stack([np.bincount(row - 1, minlength=n) for row in resampled]) if n else np.zeros((0, 0), int)
    tail = (1 - LEVEL) / 2
    interval = np.stack([np.quantile(resampled, tail, axis=1, method="lower"),
                         np.quantile(resampled, 1 - tail, axis=1, method="higher")], axis=1) if n else np.zeros((0, 2))
    point_ranks = ranks(full[:, None])[:, 0]
    tau = kendall_tau_b(point_ranks, resampled) if n > 1 else np.full(resamples, np.nan)
    winner = float((resampled[0] == 1).mean()) if n and resamples else float("nan")
    p_values = np.full((n, n), np.nan)
    for i in range(n):
        for j in range(i + 1, n):
            p_values[i, j] = (1 + np.count_nonzero(values[i] - values[j] <= 0)) / (resamples + 1)
    return Stability(resamples, counts, np.median(resampled, axis=1) if n else np.zeros(0), interval, tau, winner,
                     p_values, holm(p_values))


def agreement(stability: Stability, tied_with_next: List[bool], names: List[str]) -> List[Dict[str, Any]]:
    """Each neighbouring pair where the tie groups and the significance map disagree, with why."""
    notes = []
    significant = stability.significant()
    pairs = int(np.count_nonzero(~np.isnan(stability.p_values)))
    for i, tied in enumerate(tied_with_next):
        raw, adjusted = stability.p_values[i, i + 1], stability.adjusted[i, i + 1]
        if tied and significant[i, i + 1]:
            why = (f"tied by the two-sided {LEVEL:.0%} interval of the paired difference, yet the one-sided test at "
                   f"{ALPHA:g} finds {names[i]} better (p = {raw:.4f}): the one-sided test asks less")
        elif not tied and not significant[i, i + 1]:
            why = (f"apart by the {LEVEL:.0%} interval of the paired difference (p = {raw:.4f} alone), but not after "
                   f"Holm's adjustment for the {pairs} comparisons (p = {adjusted:.4f})")
        else:
            continue
        notes.append({"better": names[i], "worse": names[i + 1], "tied": tied, "significant": bool(significant[i, i + 1]),
                      "p": float(raw), "p_holm": float(adjusted), "why": why})
    return notes


def as_json(stability: Stability) -> Tuple[List[Dict[str, Any]], Dict[str, Any]]:
    """(per entrant, overall) parts of results.json."""
    entrants = [{"rank_distribution": [int(c) for c in counts], "median_rank": float(median),
                 "rank_interval": [int(low), int(high)]}
                for counts, median, (low, high) in zip(stability.rank_counts, stability.median_rank, stability.rank_interval)]

    def matrix(values: np.ndarray) -> List[List[Optional[float]]]:
        return [[None if np.isnan(v) else float(v) for v in row] for row in values]

    overall = {"resamples": stability.resamples, "kendall_tau": stability.tau_summary(),
               "winner_stays_first": None if np.isnan(stability.winner_first) else stability.winner_first,
               "alpha": ALPHA, "p_values": matrix(stability.p_values), "p_values_holm": matrix(stability.adjusted),
               "significant": [[bool(v) for v in row] for row in stability.significant()]}
    return entrants, overall
