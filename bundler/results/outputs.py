"""Write results.json and its views: results.csv, results.html (figures inline), results.tex, results.md, and the figures
as standalone SVG files. Every number of every view comes from results.json."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from bundler.pages.render import templates
from bundler.results import figures
from bundler.results.ranking import LEVEL, Ranked
from bundler.results.stability import agreement, analyse, as_json
from scoring.challenge import Column
from scoring.files import write_atomically
from scoring.report import UNDEFINED, WHY_UNDEFINED, score_text, undefined

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet would run such a cell as a formula


def has_undefined(document: Dict[str, Any]) -> bool:
    """Whether any view of ``document`` shows an undefined score (and so says once why)."""
    return any(undefined(value) for entry in document["entries"] for value in (entry["scores"] or {}).values())


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
    platform: Optional[str] = None  # where the submissions were downloaded from (None: a folder of zips)


def results_document(run: Run, ranked: List[Ranked], columns: Tuple[Column, ...]) -> Dict[str, Any]:
    """The whole results, entries in rank order, with the rank analysis: what results.json holds and every view shows."""
    document: Dict[str, Any] = {
        "competition": run.competition, "title": run.title, "phase": run.phase, "platform": run.platform,
        "reference": {"name": run.reference, "sha256": run.reference_sha256},
        "primary": columns[0].key,
        "columns": [{"key": c.key, "label": c.label, "sort": c.sort, "digits": c.digits} for c in columns],
        "bootstrap": run.bootstrap, "seed": run.seed, "level": LEVEL, "stability": None,
        "entries": [r.record() for r in ranked],
    }
    valid = [r for r in ranked if r.rank is not None]
    if valid and all(r.scored.primaries is not None for r in valid):
        primary = columns[0]
        analysis = analyse(np.array([r.scored.scores[primary.key] for r in valid]),  # type: ignore[index]
                           np.stack([r.scored.primaries for r in valid]), primary.sort == "desc")
        per_entrant, overall = as_json(analysis)
        for record, extra in zip(document["entries"], per_entrant):
            record.update(extra)
        names = [r.entry.entrant for r in valid]
        overall["order"] = names
        overall["agreement"] = agreement(analysis, [a.rank == b.rank for a, b in zip(valid, valid[1:])], names)
        document["stability"] = overall
    return document


def _cell(value: Any) -> Any:
    text = "" if value is None else value
    return "'" + text if isinstance(text, str) and text.startswith(FORMULA_START) else text


def results_csv(document: Dict[str, Any]) -> str:
    """One row per entry; participants' text cannot become a spreadsheet formula."""
    keys = [c["key"] for c in document["columns"]]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["rank", "entrant", "submission", "team", "method", *keys, "ci_low", "ci_high", "median_rank",
                     "rank_low", "rank_high", "tied_with", "platform_agrees", "error"])
    for e in document["entries"]:
        scores = e["scores"] or {}
        writer.writerow([_cell(v) for v in [e["rank"], e["entrant"], e["submission"], e["team"], e["method"],
                                            *(UNDEFINED if undefined(scores.get(key)) else scores.get(key) for key in keys),
                                            *(e["ci"] or (None, None)),
                                            e.get("median_rank"), *(e.get("rank_interval") or (None, None)),
                                            "; ".join(e["tied_with"]), e["platform_agrees"], e["error"]]])
    return buffer.getvalue()


def _rank_text(entry: Dict[str, Any]) -> str:
    """``3`` or, in a tie group, ``3=``."""
    return f"{entry['rank']}{'=' if entry['tied_with'] else ''}"


LATEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
         "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def _tex(text: Optional[str]) -> str:
    return "".join(LATEX.get(c, c) for c in (text or ""))


def results_tex(document: Dict[str, Any]) -> str:
    """The ranking as a booktabs table for the workshop report; ``=`` marks the entries of a tie group."""
    primary, *others = document["columns"]
    level = round(document["level"] * 100)
    head = ["Rank", "Team", "Method", f"{_tex(primary['label'])} [{level}\\% CI]", *(_tex(c["label"]) for c in others)]
    lines = ["% Generated by vipriors-bench (bundler results) from results.json; needs \\usepackage{booktabs}.",
             "\\begin{table}[t]", "\\centering", "\\small",
             f"\\caption{{{_tex(document['title'])}, {_tex(document['phase'])} phase: final ranking by "
             f"{_tex(primary['label'])} with its {level}\\% bootstrap interval ({document['bootstrap']} resamples). "
             f"Ranks marked $=$ are shared: those entries are within chance of each other on this test set.}}",
             f"\\begin{{tabular}}{{rll{'r' * (1 + len(others))}}}", "\\toprule", " & ".join(head) + " \\\\", "\\midrule"]
    for e in figures.ranked_entries(document):
        scores = e["scores"]
        low, high = (score_text(v, primary["digits"]) for v in e["ci"] or (None, None))
        interval = f" [{low}, {high}]" if e["ci"] else ""
        cells = [_rank_text(e).replace("=", "$=$"), _tex(e["team"] or e["entrant"]), _tex(e["method"]),
                 score_text(scores[primary["key"]], primary["digits"]) + interval,
                 *(score_text(scores[c["key"]], c["digits"]) for c in others)]
        lines.append(" & ".join(cells) + " \\\\")
    lines += ["\\bottomrule", "\\end{tabular}"]
    if has_undefined(document):
        lines.append(f"\\par\\footnotesize {_tex(WHY_UNDEFINED)}.")
    lines.append("\\end{table}")
    return "\n".join(lines) + "\n"


def _md(text: Optional[str]) -> str:
    return (text or "").replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def results_md(document: Dict[str, Any]) -> str:
    """The ranking as a Markdown table, with the rank analysis in a sentence."""
    primary, *others = document["columns"]
    level = round(document["level"] * 100)
    lines = [f"# {_md(document['title'])}: final results", "",
             f"{_md(document['phase'])} phase, ranked by {_md(primary['label'])}; intervals are {level}% paired-bootstrap "
             f"intervals over {document['bootstrap']} resamples (seed {document['seed']}). Ranks marked `=` are shared."
             + (f" The final submissions as downloaded from {document['platform']}." if document["platform"] else ""), ""]
    stability = document["stability"]
    if stability and stability["kendall_tau"]:
        tau = stability["kendall_tau"]
        lines += [f"Kendall's tau between the ranking and the resampled rankings: median {tau['median']:.3f} "
                  f"({level}%: {tau['interval'][0]:.3f} to {tau['interval'][1]:.3f}); the winner stays first in "
                  f"{stability['winner_stays_first']:.0%} of the resamples.", ""]
    header = ["Rank", "Entrant", "Team", "Method", primary["label"], f"{level}% interval", "Median rank (interval)",
              *(c["label"] for c in others)]
    lines += ["| " + " | ".join(_md(h) for h in header) + " |", "|" + " --- |" * len(header)]
    for e in figures.ranked_entries(document):
        scores = e["scores"]
        interval = " – ".join(score_text(v, primary["digits"]) for v in e["ci"]) if e["ci"] else ""
        median = f"{e['median_rank']:g} ({e['rank_interval'][0]}–{e['rank_interval'][1]})" if "median_rank" in e else ""
        cells = [_rank_text(e), _md(e["entrant"]), _md(e["team"]), _md(e["method"]),
                 score_text(scores[primary["key"]], primary["digits"]), interval, median,
                 *(score_text(scores[c["key"]], c["digits"]) for c in others)]
        lines.append("| " + " | ".join(cells) + " |")
    if has_undefined(document):
        lines += ["", f"{WHY_UNDEFINED}."]
    invalid = [e for e in document["entries"] if e["error"]]
    if invalid:
        lines += ["", "Invalid submissions:", ""] + [f"- {_md(e['entrant'])} ({_md(e['submission'])}): `{e['error']}`"
                                                     for e in invalid]
    return "\n".join(lines) + "\n"


def results_html(document: Dict[str, Any], svgs: Dict[str, str]) -> str:
    """The results page: the table on one shared axis, the rank analysis with its figures inline."""
    ranked = figures.ranked_entries(document)
    group_of: Dict[int, int] = {}
    for e in ranked:
        group_of.setdefault(e["rank"], len(group_of))
    return templates().get_template("results.html").render(
        document=document, ranked=ranked, group_of=group_of, primary=document["columns"][0],
        others=document["columns"][1:], level=round(document["level"] * 100), svgs=svgs, score=score_text,
        why_undefined=WHY_UNDEFINED if has_undefined(document) else None,
        interval_cell=lambda e: figures.interval_cell(e, document), axis=figures.axis_cell(document),
        mismatched=[e for e in document["entries"] if e["platform_mismatches"]],
        invalid=[e for e in document["entries"] if e["error"]])


def write_results(folder: Path, run: Run, ranked: List[Ranked], columns: Tuple[Column, ...]) -> List[Path]:
    """Write results.json and every view of it (each through a temporary file); return their paths, results.json first."""
    document = results_document(run, ranked, columns)
    svgs: Dict[str, str] = {}
    if figures.ranked_entries(document):
        svgs["intervals.svg"] = figures.intervals(document)
        if document["stability"]:
            svgs["blob_plot.svg"] = figures.blob_plot(document)
            svgs["significance.svg"] = figures.significance_map(document)
    files = {"results.json": json.dumps(document, indent=1, ensure_ascii=False) + "\n", "results.csv": results_csv(document),
             "results.html": results_html(document, svgs), "results.tex": results_tex(document),
             "results.md": results_md(document)}
    files.update({name: f'<?xml version="1.0" encoding="utf-8"?>\n{svg}\n' for name, svg in svgs.items()})
    for name, text in files.items():
        write_atomically(folder / name, text.encode())
    return [folder / name for name in files]
