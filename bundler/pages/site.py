"""``bundler site``: the event page (HTML, and a Markdown twin with front matter) from event.yaml."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from bundler.bundles.zips import write_folder
from bundler.config.competition import ConfigError
from bundler.config.event import Event
from bundler.config.schema import Moment, Values
from bundler.config.yaml_lines import yaml_text
from bundler.pages.render import templates
from scoring.challenge import Column

OUTPUTS = ("index.html", "challenges.md")
TOP = 10  # entries of a final ranking shown on the event page


@dataclass
class ChallengeSection:
    """What the page says about one challenge, all from its YAML and its scoring module."""

    name: str
    title: str
    description: str
    task: str
    dataset: str
    metric: Column
    others: List[str]
    submission: str
    phases: List[Values]
    end: Moment
    logo: str
    url: Optional[str]
    widget: Optional[str]
    ranking: List[Standing]
    closed: bool  # past its end date, or its final ranking is published


@dataclass
class Standing:
    """One line of a challenge's final ranking, from ``bundler results``' results.json."""

    rank: int
    entrant: str
    team: Optional[str]
    method: Optional[str]
    score: float
    ci: Optional[Tuple[float, float]]
    tied: bool


def final_ranking(name: str, results: Optional[Path]) -> List[Standing]:
    """The top entries of ``results/<name>_results/results.json``; none before that file exists."""
    if results is None:
        return []
    path = results / f"{name}_results" / "results.json"
    if not path.is_file():
        return []
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        primary = document["primary"]
        return [Standing(int(e["rank"]), str(e["entrant"]), e.get("team"), e.get("method"), float(e["scores"][primary]),
                         tuple(e["ci"]) if e.get("ci") else None, bool(e.get("tied_with")))
                for e in document["entries"] if e.get("rank") is not None][:TOP]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError([f"{path}: not the results.json of 'bundler results' ({type(exc).__name__}: {exc})"]) from None


def sections(event: Event, results: Optional[Path] = None, now: Optional[dt.datetime] = None) -> List[ChallengeSection]:
    """One section per challenge, in the event file's order; with its final ranking where ``results`` holds one.

    A challenge is closed once its end date is before ``now`` (default: the current time) or its ranking is published.
    """
    now = now or dt.datetime.now(dt.timezone.utc)
    found = []
    for competition in event.competitions:
        config, challenge = competition.config, competition.challenge
        ranking = final_ranking(competition.name, results)
        found.append(ChallengeSection(
            competition.name, config.title, config.description, challenge.title, config.dataset or "see the competition",
            challenge.primary, [c.label for c in challenge.columns[1:]], challenge.submission_format, config.phases,
            config.end_date, f"{competition.name}{config.logo.suffix.lower()}", event.competition_url(competition),
            event.leaderboard_widget(competition), ranking, bool(ranking) or config.end_date.when <= now,
        ))
    return found


def _md_text(value: Any) -> str:
    return str(value).replace("<", "&lt;").replace(">", "&gt;")


def render(event: Event, results: Optional[Path] = None, now: Optional[dt.datetime] = None) -> Dict[str, str]:
    """File name -> text of the event page and its Markdown twin."""
    environment = templates()
    environment.filters["yaml_text"] = lambda value: yaml_text(str(value))
    environment.filters["md_text"] = _md_text
    environment.filters["md_cell"] = lambda value: _md_text(value).replace("|", "\\|")
    values: Dict[str, Any] = {"event": event.config, "dates": event.dates, "opens": event.opens,
                              "closes": event.closes, "challenges": sections(event, results, now)}
    return {name: environment.get_template(f"site{Path(name).suffix}").render(**values) for name in OUTPUTS}


def write_site(event: Event, folder: Path, results: Optional[Path] = None, now: Optional[dt.datetime] = None
               ) -> List[Path]:
    """Write the pages and the challenges' logos into ``folder`` (replaced whole); return the pages.

    ``results`` is where ``bundler results`` wrote ``<name>_results/``: each challenge with a results.json there
    shows its final ranking.
    """
    files = {name: text.encode() for name, text in render(event, results, now).items()}
    for competition in event.competitions:
        logo = competition.config.logo
        files[f"{competition.name}{logo.suffix.lower()}"] = logo.read_bytes()
    return write_folder(folder, files)[: len(OUTPUTS)]
