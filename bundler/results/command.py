"""``bundler results``: from the platform's final submissions to results.json and its views."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Tuple

from bundler.bundles.references import data_references, reference_problem, scoring_problem
from bundler.config.competition import Competition, ConfigError
from bundler.results.entries import EntriesError, read_entries, read_leaderboard, remove_work
from bundler.results.outputs import Run, write_results
from bundler.results.ranking import Ranked, rank
from bundler.results.rescore import Cache, rescore


@dataclass
class Published:
    """What a results run wrote, and the ranking."""

    files: List[Path]
    ranked: List[Ranked]


def phase_reference(competition: Competition, phase: Optional[str], reference: Optional[Path], data: Optional[Path]
                    ) -> Tuple[int, str, Path]:
    """The phase's number and name (by default the last), and the reference folder to rescore against (--reference,
    or --data's split)."""
    phases = competition.config.phases
    number = competition.phase_number(phase) if phase is not None else len(phases)
    if reference is None:
        assert data is not None
        reference = data_references(competition, data)[number]
    problem = reference_problem(reference, competition) or scoring_problem(reference, number, phases[number - 1], False)
    if problem:
        raise ConfigError([f"{reference}: {problem}"])
    return number, phases[number - 1].name, reference


def publish(competition: Competition, submissions: Path, reference: Path, phase_name: str, output: Path,
            bootstrap: int, seed: int, workers: int, leaderboard: Optional[Path] = None) -> Published:
    """Rescore every submission, rank with intervals and ties, and write results.json and its views to ``output``.

    ``leaderboard`` is Codabench's leaderboard download, which selects the submissions of its bulk download that count.
    """
    work = output / ".work"
    remove_work(work)  # left by an interrupted run
    try:
        board = read_leaderboard(leaderboard, phase_name, competition.challenge.columns) if leaderboard else None
        entries = read_entries(submissions, work, competition.challenge.max_submission_bytes, board)
    except EntriesError as exc:
        remove_work(work)
        raise ConfigError([str(exc)]) from None
    if not entries:
        raise ConfigError([f"{submissions}: no submission found (a folder of .zip files, CodaLab's results zip or "
                           f"Codabench's bulk_submissions.zip)"])
    cache = Cache(output / ".cache", reference)
    try:
        resamples = bootstrap if competition.challenge.resampled else 0  # a challenge without a resampler says so
        scored = rescore(entries, reference, resamples, seed, workers, cache)
    finally:
        remove_work(work)
    columns = competition.challenge.columns
    ranked = rank(entries, scored, columns)
    platform = next((entry.platform for entry in entries if entry.platform), None)
    run = Run(competition.name, competition.config.title, phase_name, reference.name, cache.reference_digest, bootstrap,
              seed, platform)
    return Published(write_results(output, run, ranked, columns), ranked)
