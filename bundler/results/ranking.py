"""Rank the rescored entries: point scores, 95% bootstrap intervals, tie groups, and the platform's agreement.

Consecutive entries (in the order of their point scores) whose paired difference has a 95% interval
that contains 0 are not told apart by the test set: they share a rank, the rank of the first of
them, and a run of such pairs makes one tie group.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from bundler.results.entries import Entry
from bundler.results.rescore import Scored
from scoring.challenge import Column

LEVEL = 0.95
TOLERANCE = 1e-9  # a platform score further than this from ours is a disagreement


@dataclass
class Ranked:
    """One entry of the results, as results.json lists it."""

    entry: Entry
    scored: Scored
    rank: Optional[int] = None
    ci: Optional[Tuple[float, float]] = None
    tied_with: List[str] = field(default_factory=list)
    platform_agrees: Optional[bool] = None
    mismatches: List[Tuple[str, float, float]] = field(default_factory=list)  # (column, platform, ours)

    def record(self) -> Dict[str, Any]:
        """The JSON record of this entry."""
        return {
            "entrant": self.entry.entrant, "submission": self.entry.submission, "rank": self.rank,
            "scores": self.scored.scores, "ci": list(self.ci) if self.ci else None, "tied_with": self.tied_with,
            "platform_agrees": self.platform_agrees, "error": self.scored.error, "method": self.entry.method,
            "team": self.entry.team, "members": self.entry.members,
            "platform_mismatches": [{"column": c, "platform": p, "ours": o} for c, p, o in self.mismatches],
        }


def interval(samples: np.ndarray, level: float = LEVEL) -> Tuple[float, float]:
    """The percentile interval of ``samples`` holding ``level`` of them."""
    tail = (1 - level) / 2 * 100
    low, high = np.nanpercentile(samples, [tail, 100 - tail])
    return float(low), float(high)


def _agreement(ranked: Ranked, columns: Tuple[Column, ...]) -> None:
    platform, ours = ranked.entry.platform_scores, ranked.scored.scores
    if platform is None or ours is None:
        return
    compared = [c.key for c in columns if c.key in platform]
    ranked.mismatches = [(key, platform[key], ours[key]) for key in compared if abs(platform[key] - ours[key]) > TOLERANCE]
    ranked.platform_agrees = bool(compared) and not ranked.mismatches


def rank(entries: List[Entry], scored: List[Scored], columns: Tuple[Column, ...]) -> List[Ranked]:
    """The entries in rank order (invalid ones last, unranked), with intervals, ties and platform checks."""
    primary = columns[0]
    sign = 1.0 if primary.sort == "desc" else -1.0
    everything = [Ranked(entry, result) for entry, result in zip(entries, scored)]
    for ranked in everything:
        _agreement(ranked, columns)
    valid = sorted((r for r in everything if r.scored.scores is not None),
                   key=lambda r: (-sign * r.scored.scores[primary.key], r.entry.entrant, r.entry.submission))
    for position, ranked in enumerate(valid, 1):
        ranked.rank = position
        if ranked.scored.primaries is not None:
            ranked.ci = interval(ranked.scored.primaries)
    groups: List[List[Ranked]] = []
    for previous, current in zip([None] + valid[:-1], valid):
        if previous is not None and _tied(previous, current, primary.key):
            current.rank = previous.rank
            groups[-1].append(current)
        else:
            groups.append([current])
    for group in groups:
        for ranked in group:
            ranked.tied_with = [other.entry.entrant for other in group if other is not ranked]
    invalid = [r for r in everything if r.scored.scores is None]
    return valid + sorted(invalid, key=lambda r: (r.entry.entrant, r.entry.submission))


def _tied(better: Ranked, worse: Ranked, key: str) -> bool:
    """Whether the paired difference's interval holds 0 (no resamples: only equal scores tie)."""
    a, b = better.scored.primaries, worse.scored.primaries
    if a is None or b is None:
        assert better.scored.scores is not None and worse.scored.scores is not None
        return better.scored.scores[key] == worse.scored.scores[key]
    low, high = interval(a - b)
    return low <= 0.0 <= high
