"""Progress on stderr for long scoring runs, shown only when stderr is a terminal."""

from __future__ import annotations

import sys
import time
from typing import Iterable, Iterator, TypeVar

T = TypeVar("T")


def progress(items: Iterable[T], total: int, what: str, every: float = 0.25) -> Iterator[T]:
    """Yield ``items`` while showing ``what: done/total`` at most every ``every`` seconds."""
    if not sys.stderr.isatty():
        yield from items
        return
    last = 0.0
    done = 0
    for done, item in enumerate(items, 1):
        now = time.monotonic()
        if now - last >= every:
            sys.stderr.write(f"\r{what}: {done}/{total}")
            sys.stderr.flush()
            last = now
        yield item
    sys.stderr.write(f"\r{what}: {done}/{total}\n")
