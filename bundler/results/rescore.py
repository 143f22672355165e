"""Rescore every entry with the scoring program and bootstrap its primary score: a process pool, and a cache.

The cache is keyed by the hashes of the submission, the reference and the scoring program, so a
second run over the same files reads everything back at once, and a changed file is scored anew.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from bundler.ground.layout import SCORING_FOLDER
from bundler.ground.zips import sha256
from bundler.results.entries import Entry
from scoring.cli import one_line, score_submission
from scoring.errors import SubmissionError
from scoring.files import write_atomically
from scoring.progress import progress
from scoring.resampling import Resampler


@dataclass
class Scored:
    """An entry's rescoring: every column, or the error line; and its primary score on each resample."""

    scores: Optional[Dict[str, float]]
    error: Optional[str]
    primaries: Optional[np.ndarray] = None


def folder_digest(folder: Path) -> str:
    """A hash of every file below ``folder``, with its relative path."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(f"{path.relative_to(folder).as_posix()}\0{sha256(path)}\0".encode())
    return digest.hexdigest()


class Cache:
    """Rescorings and bootstrap samples on disk, keyed by what they were computed from."""

    def __init__(self, folder: Path, reference: Path) -> None:
        self.folder = folder
        self.reference_digest = folder_digest(reference)
        self.context = f"{self.reference_digest}:{folder_digest(SCORING_FOLDER)}"

    def key(self, submission: Path) -> str:
        return hashlib.sha256(f"{sha256(submission)}:{self.context}".encode()).hexdigest()

    def scores(self, key: str) -> Optional[Scored]:
        path = self.folder / f"{key}.json"
        if not path.is_file():
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
        return Scored(data["scores"], data["error"])

    def primaries(self, key: str, bootstrap: int, seed: int) -> Optional[np.ndarray]:
        path = self.folder / f"{key}-b{bootstrap}-s{seed}.npy"
        return np.load(path) if path.is_file() else None

    def store(self, key: str, scored: Scored, bootstrap: int, seed: int) -> None:
        text = json.dumps({"scores": scored.scores, "error": scored.error})
        write_atomically(self.folder / f"{key}.json", text.encode())
        if scored.primaries is not None:
            write_atomically(self.folder / f"{key}-b{bootstrap}-s{seed}.npy", _npy(scored.primaries))


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def _score(reference: Path, submission: Path) -> Tuple[Optional[Dict[str, float]], Optional[str], Optional[Resampler]]:
    """Score one submission as the server does; an invalid one gives its error line instead."""
    try:
        _, result = score_submission(reference, submission)
    except SubmissionError as exc:
        return None, f"error: {one_line(str(exc))}", None
    return result.scores, None, result.resampler


def _primaries(resampler: Resampler, seed: int, start: int, stop: int) -> np.ndarray:
    return resampler.primaries(seed, range(start, stop))


class _Inline(Executor):
    """Runs each task at once in this process (one worker: no pool to start)."""

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future:  # type: ignore[override]
        future: Future = Future()
        future.set_result(fn(*args, **kwargs))
        return future


def _wait(futures: List[Future], what: str) -> List[Any]:
    return [future.result() for future in progress(futures, len(futures), what)]


def rescore(entries: List[Entry], reference: Path, bootstrap: int, seed: int, workers: int, cache: Cache
            ) -> List[Scored]:
    """Every entry's Scored, in the order of ``entries``: from the cache, else computed on ``workers`` processes."""
    results: List[Optional[Scored]] = [None] * len(entries)
    keys: Dict[int, str] = {}
    for i, entry in enumerate(entries):
        if entry.error is not None or entry.path is None:
            results[i] = Scored(None, f"error: {entry.error}")
            continue
        keys[i] = cache.key(entry.path)
        cached = cache.scores(keys[i])
        if cached is not None and (cached.error is not None or bootstrap == 0):
            results[i] = cached
        elif cached is not None:
            cached.primaries = cache.primaries(keys[i], bootstrap, seed)
            results[i] = cached if cached.primaries is not None else None
    todo = [i for i in keys if results[i] is None]
    if not todo:
        return _complete(results)
    pool: Executor = _Inline() if workers <= 1 else ProcessPoolExecutor(max_workers=workers)
    with pool:
        scored = _wait([pool.submit(_score, reference, entries[i].path) for i in todo], "rescoring")
        chunks = max(1, math.ceil(workers / max(1, len(todo))))  # few entries: split each one's resamples
        bounds = np.linspace(0, bootstrap, chunks + 1).astype(int)
        jobs: List[Tuple[int, Future]] = []
        for i, (scores, error, resampler) in zip(todo, scored):
            results[i] = Scored(scores, error)
            if error is None and resampler is not None and bootstrap:
                jobs += [(i, pool.submit(_primaries, resampler, seed, int(a), int(b))) for a, b in zip(bounds, bounds[1:])
                         if b > a]
        parts = _wait([future for _, future in jobs], f"bootstrap ({bootstrap} resamples)")
    for i in todo:
        found = [part for (j, _), part in zip(jobs, parts) if j == i]
        result = results[i]
        assert result is not None
        if found:
            result.primaries = np.concatenate(found)
        cache.store(keys[i], result, bootstrap, seed)
    return _complete(results)


def _complete(results: List[Optional[Scored]]) -> List[Scored]:
    """The results, every entry having one (so the list stays aligned with the entries)."""
    assert all(result is not None for result in results)
    return [result for result in results if result is not None]


def default_workers() -> int:
    """The cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
