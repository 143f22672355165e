"""Do a split's public names give its hidden labels away by their order?

Sorted by their public names (numbers in a name compared as numbers: ``img_2`` before ``img_10``), a
split's items should be in random order of their labels. Under random order each of the ``n - 1``
neighbouring pairs shares its label with probability ``p = sum(n_c (n_c - 1)) / (n (n - 1))`` (``n_c``
items of class ``c``); the count of pairs that share one is taken as binomial (n - 1, p). A count
whose upper tail is below ``ALPHA`` is a leak: names given class by class (2020's action test clips)
put nearly every pair together.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import List, Mapping, Optional, Tuple, Union

import numpy as np

ALPHA = 1e-6  # probability under random order below which a count of same-label neighbours is a leak
DIGITS = re.compile(r"(\d+)")


@dataclass(frozen=True)
class OrderLeak:
    """Sorted by name, ``same`` of the ``pairs`` neighbouring items share their label; random order gives about
    ``expected``, and ``threshold`` or more with probability below ``ALPHA``."""

    same: int
    pairs: int
    expected: float
    threshold: int


def name_order(name: str) -> Tuple[List[Union[int, str]], str]:
    """A sort key for a public name: its runs of digits compared as numbers, the rest as text."""
    return [int(part) if index % 2 else part for index, part in enumerate(DIGITS.split(name))], name


def tail_threshold(trials: int, p: float, alpha: float = ALPHA) -> int:
    """The smallest k with P(Binomial(trials, p) >= k) < alpha (``trials + 1`` if there is none)."""
    if p <= 0:
        return 1
    if p >= 1:
        return trials + 1
    k = np.arange(trials)
    steps = np.log((trials - k) / (k + 1)) + math.log(p) - math.log1p(-p)
    log_pmf = trials * math.log1p(-p) + np.concatenate([[0.0], np.cumsum(steps)])
    log_tail = np.logaddexp.accumulate(log_pmf[::-1])[::-1]  # log P(X >= k), k = 0..trials
    below = np.flatnonzero(log_tail < math.log(alpha))
    return int(below[0]) if below.size else trials + 1


def order_leak(labels: Mapping[str, str]) -> Optional[OrderLeak]:
    """The leak if sorting ``labels``' items (public name -> hidden label) by name groups their labels beyond chance."""
    n = len(labels)
    if n < 3:
        return None
    ordered = [labels[name] for name in sorted(labels, key=name_order)]
    same = sum(a == b for a, b in zip(ordered, ordered[1:]))
    p = sum(c * (c - 1) for c in Counter(ordered).values()) / (n * (n - 1))
    threshold = tail_threshold(n - 1, p)
    return OrderLeak(same, n - 1, (n - 1) * p, threshold) if same >= threshold else None
