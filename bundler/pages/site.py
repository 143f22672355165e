"""``bundler site``: the event page (HTML, and a Markdown twin with front matter) from event.yaml."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from bundler.config.competition import Competition, ConfigError
from bundler.config.event import Event
from bundler.config.schema import Moment, Values
from bundler.config.yaml_lines import yaml_text
from bundler.ground.zips import write_folder
from bundler.pages.render import templates
from scoring.challenge import Column
from scoring.report import WHY_UNDEFINED, score_text, undefined

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
    url: Optional[str]  # its page on the platform
    leaderboard: Optional[str]  # its leaderboard on the platform
    widget: Optional[str]  # an embeddable leaderboard, where the platform serves one
    ranking: List[Standing]
    closed: bool  # its last phase has ended (at end_date)


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


def final_ranking(competition: Competition, folder: Path) -> List[Standing]:
    """The top entries of ``folder/results.json``, which must be the ranking of ``competition``'s last phase."""
    path = folder / "results.json"
    if not path.is_file():
        raise ConfigError([f"--publish {competition.name}={folder}: no results.json there (written by 'bundler results')"])
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        primary = document["primary"]
        ranking = [Standing(int(e["rank"]), str(e["entrant"]), e.get("team"), e.get("method"),
                            float(e["scores"][primary]), tuple(e["ci"]) if e.get("ci") else None, bool(e.get("tied_with")))
                   for e in document["entries"] if e.get("rank") is not None][:TOP]
        ranked, phase = str(document["competition"]), str(document["phase"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError([f"{path}: not the results.json of 'bundler results' ({type(exc).__name__}: {exc})"]) from None
    last = competition.config.phases[-1].name
    if ranked != competition.name or phase != last:
        raise ConfigError([f"{path}: the results of {ranked}, phase {phase}, not of {competition.name}'s last phase "
                           f"({last}), which ranks it"])
    return ranking


def published_rankings(event: Event, publish: Dict[str, Path], now: dt.datetime, rehearsal: bool
                       ) -> Dict[str, List[Standing]]:
    """Competition name -> its final ranking, for the results the organiser publishes (``--publish NAME=DIR``).

    Results of a competition whose last phase has not ended are refused, unless this is a ``rehearsal``.
    """
    by_name = {competition.name: competition for competition in event.competitions}
    rankings, problems = {}, []
    for name, folder in publish.items():
        competition = by_name.get(name)
        if competition is None:
            problems.append(f"--publish {name}: not a challenge of the event; its challenges are {', '.join(by_name)}")
            continue
        end = competition.config.phases[-1].end
        if not rehearsal and (end is None or end.when > now):
            when = "never ends" if end is None else f"ends {end.text}"
            problems.append(f"--publish {name}: its last phase ({competition.config.phases[-1].name}) {when}; results "
                            f"are published once it has ended (--rehearsal shows them, marked as a rehearsal)")
            continue
        try:
            rankings[name] = final_ranking(competition, folder)
        except ConfigError as exc:
            problems += exc.problems
    if problems:
        raise ConfigError(problems)
    return rankings


def sections(event: Event, rankings: Dict[str, List[Standing]], now: dt.datetime) -> List[ChallengeSection]:
    """One section per challenge, in the event file's order, with its final ranking where ``rankings`` has one."""
    found = []
    platform = event.platform
    for competition in event.competitions:
        config, challenge = competition.config, competition.challenge
        found.append(ChallengeSection(
            competition.name, config.title, config.description, challenge.title, config.dataset or "see the competition",
            challenge.primary, [c.label for c in challenge.columns[1:]], challenge.submission_format, config.phases,
            config.end_date, f"{competition.name}{config.logo.suffix.lower()}",
            event.address(competition, platform.page), event.address(competition, platform.leaderboard),
            event.address(competition, platform.widget), rankings.get(competition.name, []),
            config.end_date.when <= now,
        ))
    return found


def _md_text(value: Any) -> str:
    return str(value).replace("<", "&lt;").replace(">", "&gt;")


def utc_now() -> dt.datetime:
    """The present instant, in UTC (what decides whether a competition has closed)."""
    return dt.datetime.now(dt.timezone.utc)


def render(event: Event, publish: Optional[Dict[str, Path]] = None, now: Optional[dt.datetime] = None,
           rehearsal: bool = False) -> Dict[str, str]:
    """File name -> text of the event page and its Markdown twin.

    ``publish`` maps a challenge to the folder of its final results (``bundler results``' output); ``now`` (default: the
    current time) decides which challenges have closed; ``rehearsal`` shows results before the close, every page
    saying that they are a rehearsal's.
    """
    now = now or utc_now()
    rankings = published_rankings(event, publish or {}, now, rehearsal)
    environment = templates()
    environment.filters["yaml_text"] = lambda value: yaml_text(str(value))
    environment.filters["md_text"] = _md_text
    environment.filters["md_cell"] = lambda value: _md_text(value).replace("|", "\\|")
    environment.filters["score"] = lambda value: score_text(value, 4)
    environment.tests["undefined_score"] = undefined
    values: Dict[str, Any] = {"event": event.config, "platform": event.platform, "dates": event.dates,
                              "opens": event.opens, "closes": event.closes, "challenges": sections(event, rankings, now),
                              "rehearsal": rehearsal and bool(rankings), "why_undefined": WHY_UNDEFINED}
    return {name: environment.get_template(f"site{Path(name).suffix}").render(**values) for name in OUTPUTS}


def write_site(event: Event, folder: Path, publish: Optional[Dict[str, Path]] = None, now: Optional[dt.datetime] = None,
               rehearsal: bool = False) -> List[Path]:
    """Write the pages and the challenges' logos into ``folder`` (replaced whole); return the pages.

    Nothing is written when a published result is refused (see :func:`render`).
    """
    files = {name: text.encode() for name, text in render(event, publish, now, rehearsal).items()}
    for competition in event.competitions:
        logo = competition.config.logo
        files[f"{competition.name}{logo.suffix.lower()}"] = logo.read_bytes()
    return write_folder(folder, files)[: len(OUTPUTS)]
