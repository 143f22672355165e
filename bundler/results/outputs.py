"""Write results.json, results.csv and results.html (self-contained: intervals drawn as bars, ties shown)."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from bundler.bundles.zips import write_atomically
from bundler.pages.render import templates
from bundler.results.ranking import LEVEL, Ranked
from scoring.challenge import Column

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet would run such a cell as a formula


@dataclass
class Run:
    """What the results were computed from, for the record."""

    competition: str
    title: str
    phase: str
    reference: str  # the reference folder's name, never its path (which is the organiser's private layout)
    reference_sha256: str  # of every file of the reference, with its relative path
    bootstrap: int
    seed: int


def results_json(run: Run, ranked: List[Ranked], columns: Tuple[Column, ...]) -> str:
    """The whole results, entries in rank order."""
    document = {
        "competition": run.competition, "title": run.title, "phase": run.phase,
        "reference": {"name": run.reference, "sha256": run.reference_sha256},
        "primary": columns[0].key, "columns": [{"key": c.key, "label": c.label, "sort": c.sort} for c in columns],
        "bootstrap": run.bootstrap, "seed": run.seed, "level": LEVEL,
        "entries": [r.record() for r in ranked],
    }
    return json.dumps(document, indent=1, ensure_ascii=False) + "\n"


def _cell(value: Any) -> Any:
    text = "" if value is None else value
    return "'" + text if isinstance(text, str) and text.startswith(FORMULA_START) else text


def results_csv(ranked: List[Ranked], columns: Tuple[Column, ...]) -> str:
    """One row per entry; participants' text cannot become a spreadsheet formula."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["rank", "entrant", "submission", "team", "method", *(c.key for c in columns), "ci_low", "ci_high",
                     "tied_with", "platform_agrees", "error"])
    for r in ranked:
        scores = r.scored.scores or {}
        writer.writerow([_cell(v) for v in [r.rank, r.entry.entrant, r.entry.submission, r.entry.team, r.entry.method,
                                            *(scores.get(c.key) for c in columns), *(r.ci or (None, None)),
                                            "; ".join(r.tied_with), r.platform_agrees, r.scored.error]])
    return buffer.getvalue()


def _scale(ranked: List[Ranked]) -> Optional[Tuple[float, float]]:
    values = [v for r in ranked if r.ci for v in r.ci]
    if not values:
        return None
    low, high = min(values), max(values)
    return (low, high) if high > low else (low - 0.5, high + 0.5)


def results_html(run: Run, ranked: List[Ranked], columns: Tuple[Column, ...]) -> str:
    """The results page."""
    scale = _scale(ranked)
    group_of: Dict[int, int] = {}
    for r in ranked:
        if r.rank is not None:
            group_of.setdefault(r.rank, len(group_of))

    def position(value: float) -> float:
        assert scale is not None
        return round(100 * (value - scale[0]) / (scale[1] - scale[0]), 2)

    rows = [{"r": r, "scores": r.scored.scores or {}, "group": group_of.get(r.rank, 0) if r.rank else 0,
             "bar": (position(r.ci[0]), position(r.ci[1]), position(r.scored.scores[columns[0].key]))
             if r.ci and scale and r.scored.scores else None} for r in ranked]
    return templates().get_template("results.html").render(
        run=run, rows=rows, columns=columns, primary=columns[0], level=int(LEVEL * 100),
        mismatched=[r for r in ranked if r.mismatches], invalid=[r for r in ranked if r.scored.error])


def write_results(folder: Path, run: Run, ranked: List[Ranked], columns: Tuple[Column, ...]) -> List[Path]:
    """Write the three files (each through a temporary file); return their paths."""
    files = {"results.json": results_json(run, ranked, columns), "results.csv": results_csv(ranked, columns),
             "results.html": results_html(run, ranked, columns)}
    for name, text in files.items():
        write_atomically(folder / name, text.encode())
    return [folder / name for name in files]
