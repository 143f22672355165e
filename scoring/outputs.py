"""Write the scoring outputs: scores.txt (CodaLab), scores.json (Codabench), detailed_results.html."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Dict, Union

import numpy as np

from scoring import report
from scoring.challenge import Challenge, Result
from scoring.files import write_atomically

Number = Union[int, float]


def plain_float(value: float) -> str:
    """Shortest exact decimal without exponent, so both float() and a YAML reader see a number."""
    if not math.isfinite(value):
        raise ValueError(f"score {value!r} is not a finite number")
    return np.format_float_positional(float(value), unique=True, trim="0")


def scores_txt(challenge: Challenge, result: Result) -> str:
    """One ``key: value`` line per column: exactly one colon, a plain float."""
    return "".join(f"{c.key}: {plain_float(result.scores[c.key])}\n" for c in challenge.columns)


def scores_json(challenge: Challenge, result: Result) -> str:
    """A flat JSON object: every column's value and the counts (all numbers)."""
    flat: Dict[str, Number] = {c.key: float(result.scores[c.key]) for c in challenge.columns}
    flat.update(result.counts)
    return json.dumps(flat, indent=2) + "\n"


def detailed_html(challenge: Challenge, result: Result) -> str:
    """The participant's detailed results page."""
    rows = [(c.label, c.key, report.number(result.scores[c.key], c.digits)) for c in challenge.columns]
    counts = [(name.replace("_", " "), value) for name, value in result.counts.items()]
    return report.page(
        f"{challenge.title}: detailed results",
        rows,
        counts,
        result.warnings + result.score_warnings,
        result.notes,
        [(s.title, s.html) for s in result.sections],
    )


def write_outputs(folder: Path, challenge: Challenge, result: Result) -> None:
    """Write the three files; scores.txt last, so its presence means the others are complete."""
    folder.mkdir(parents=True, exist_ok=True)
    write_atomically(folder / "scores.json", scores_json(challenge, result).encode())
    write_atomically(folder / "detailed_results.html", detailed_html(challenge, result).encode())
    write_atomically(folder / "scores.txt", scores_txt(challenge, result).encode())
