"""``bundler site``: the event page (HTML, and a Markdown twin with front matter) from event.yaml."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional

from bundler.codalab import yaml_text
from bundler.event import Event
from bundler.pages import templates
from bundler.schema import Moment, Values
from bundler.zips import write_folder
from scoring.challenge import Column

OUTPUTS = ("index.html", "challenges.md")


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


def sections(event: Event) -> List[ChallengeSection]:
    """One section per challenge, in the event file's order."""
    found = []
    for competition in event.competitions:
        config, challenge = competition.config, competition.challenge
        found.append(ChallengeSection(
            competition.name, config.title, config.description, challenge.title, config.dataset or "see the competition",
            challenge.primary, [c.label for c in challenge.columns[1:]], challenge.submission_format, config.phases,
            config.end_date, f"{competition.name}{config.logo.suffix.lower()}", event.competition_url(competition),
            event.leaderboard_widget(competition),
        ))
    return found


def render(event: Event) -> Dict[str, str]:
    """File name -> text of the event page and its Markdown twin."""
    environment = templates()
    environment.filters["yaml_text"] = lambda value: yaml_text(str(value))
    environment.filters["md_text"] = lambda value: str(value).replace("<", "&lt;").replace(">", "&gt;")
    values: Dict[str, Any] = {"event": event.config, "dates": event.dates, "opens": event.opens,
                              "closes": event.closes, "challenges": sections(event)}
    return {name: environment.get_template(f"site{Path(name).suffix}").render(**values) for name in OUTPUTS}


def write_site(event: Event, folder: Path) -> List[Path]:
    """Write the pages and the challenges' logos into ``folder`` (replaced whole); return the pages."""
    files = {name: text.encode() for name, text in render(event).items()}
    for competition in event.competitions:
        logo = competition.config.logo
        files[f"{competition.name}{logo.suffix.lower()}"] = logo.read_bytes()
    return write_folder(folder, files)[: len(OUTPUTS)]
