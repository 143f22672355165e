"""The event file (competitions/<edition>/event.yaml): what the challenges of one edition share, and its dates.

Validated like a competition's YAML (every problem at once, ``file:line``). The opening and closing
dates come from the competitions' phases; a date written in the event file that contradicts them
is an error, so the event page can never drift from the competitions.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from bundler.config import schema as s
from bundler.config.competition import COMPETITIONS, Competition, ConfigError, competition_names, load_competition
from bundler.config.yaml_lines import Document, Where
from bundler.ground.facts import DEFAULT_PLATFORM, SERVERS, Server

EVENT = "event.yaml"  # in an edition's folder
EVENT_FILE = COMPETITIONS / EVENT  # the checkout's default edition's
RELATIONS = {
    "before-open": "before the challenges open",
    "during": "while the challenges are open",
    "after-close": "after the challenges close",
}


def edition_names(editions: Path) -> List[str]:
    """The editions of the competitions folder ``editions``: every folder of it holding an event file, sorted."""
    return sorted(p.name for p in editions.iterdir() if (p / EVENT).is_file()) if editions.is_dir() else []


class CompetitionName(s.Option):
    """A folder of the competitions folder that holds a competition.yaml."""

    def __init__(self, competitions: Path) -> None:
        super().__init__()
        self.competitions = competitions

    def convert(self, value: Any, where: Where, context: Document) -> str:
        return s.Choice(competition_names(self.competitions)).convert(value, where, context)


MILESTONE = {
    "name": s.String(doc="what happens, e.g. 'Winners announced'"),
    "date": s.Date(doc="when (ISO 8601; a date alone means 00:00 UTC)"),
    "relation": s.Choice(list(RELATIONS), default="after-close",
                         doc="before-open, during or after-close: checked against the competitions' dates"),
}

LINK = {
    "title": s.String(doc="the link's text"),
    "url": s.Url(doc="an absolute https:// address"),
}


def schema(competitions: Path) -> Dict[str, s.Option]:
    """The event file's schema, its competitions named among the folders of ``competitions``."""
    return {
        "title": s.String(doc="the event's title, e.g. 'VIPriors 2027 challenges'"),
        "intro": s.String(doc="one or two paragraphs introducing the challenges"),
        "competitions": s.ListOf(CompetitionName(competitions), doc="folders of the edition's folder, in the page's "
                                                                    "order"),
        "rules": s.ListOf(s.String(), doc="the rules all challenges share, one sentence each"),
        "opens": s.Date(default=None, doc="if written, must equal the earliest phase start of the challenges"),
        "closes": s.Date(default=None, ends=True, doc="if written, must equal the latest end_date of the challenges (a date "
                                                      "alone: 23:59:59 UTC, as end_date)"),
        "milestones": s.ListOf(s.SubConfig(MILESTONE), default=[], min_items=0, doc="other dated events"),
        "links": s.ListOf(s.SubConfig(LINK), default=[], min_items=0, doc="the toolkit, the workshop, ..."),
        "platform": s.Choice(list(SERVERS), default=DEFAULT_PLATFORM,
                             doc="where the challenges run: codabench (www.codabench.org by default) or codalab (a "
                                 "self-hosted CodaLab server: give server)"),
        "server": s.Url(default=None, doc="the platform's address, which the challenges' platform_id refer to (default: "
                                          "https://www.codabench.org; required for codalab)"),
        "codalab_url": s.Renamed("server", " (and platform: codalab for a CodaLab server)"),
    }


@dataclass
class Event:
    """A validated event: its values, its competitions, and its important dates in order."""

    config: s.Values
    competitions: List[Competition]
    opens: s.Moment
    closes: s.Moment
    dates: List[Tuple[s.Moment, str]]

    @property
    def platform(self) -> Server:
        """The platform the challenges run on."""
        return SERVERS[self.config.platform]

    def address(self, competition: Competition, pattern: Optional[str]) -> Optional[str]:
        """``pattern`` (one of the platform's addresses) for the competition; None before it has a platform_id."""
        number = competition.config.platform_id
        if number is None or pattern is None:
            return None
        return pattern.format(server=(self.config.server or self.platform.default).rstrip("/"), id=number)


def _load_competitions(config: s.Values, context: Document, competitions: Path) -> Tuple[List[Competition], List[str]]:
    """The listed competitions (folders of ``competitions``), and the problems of their own files."""
    loaded: List[Competition] = []
    problems: List[str] = []
    for i, name in enumerate(config.competitions or []):
        if name is None:
            continue
        if config.competitions.index(name) != i:
            context.report(("competitions", i), f"competitions[{i + 1}]: {name!r} is listed twice")
            continue
        try:
            competition = load_competition(name, competitions / name)
        except ConfigError as exc:
            problems += exc.problems
            continue
        if competition.config.end_date is None:
            context.report(("competitions", i), f"competitions[{i + 1}]: {competition.folder / 'competition.yaml'} has no "
                                              f"end_date; the event page needs every challenge's closing date")
            continue
        loaded.append(competition)
    return loaded, problems


def _dates(config: s.Values, competitions: List[Competition], context: Document) -> Tuple[s.Moment, s.Moment]:
    """The opening and closing moments, with the event's own dates checked against them."""
    starts = [(c.config.phases[0].start, f"{c.name}, phase {c.config.phases[0].name}") for c in competitions]
    ends = [(c.config.end_date, f"{c.name}, end_date") for c in competitions]
    opens, opens_source = min(starts, key=lambda item: item[0].when)
    closes, closes_source = max(ends, key=lambda item: item[0].when)
    for key, written, computed, source, what in (("opens", config.opens, opens, opens_source, "earliest phase start"),
                                                 ("closes", config.closes, closes, closes_source, "latest end_date")):
        if written is not None and written.when != computed.when:
            context.report((key,), f"{key} ({written.text}) contradicts the competitions: their {what} is "
                                   f"{computed.text} ({source}); fix or remove it")
    for i, milestone in enumerate(config.milestones):
        if milestone is None or milestone.date is None or milestone.relation is None:
            continue
        when = milestone.date.when
        fits = {"before-open": when < opens.when, "during": opens.when <= when <= closes.when,
                "after-close": when > closes.when}[milestone.relation]
        if not fits:
            context.report(("milestones", i, "date"),
                           f"milestones[{i + 1}] ({milestone.name}, {milestone.date.text}) must be "
                           f"{RELATIONS[milestone.relation]} ({opens.text} to {closes.text}, from the competitions)")
    return opens, closes


def load_event(path: Path = EVENT_FILE, competitions: Optional[Path] = None) -> Event:
    """Load and validate the event file, its competitions read from ``competitions`` (default: the event file's folder);
    ConfigError lists every problem."""
    competitions = competitions or path.parent
    if not path.is_file():
        raise ConfigError([f"{path}: not found; the event page is built from the edition's event.yaml "
                           f"(competitions/<edition>/event.yaml)"])
    config, context = s.validate_file(schema(competitions), path)
    if config is not None and config.server is None and SERVERS[config.platform].default is None:
        context.report(("platform",), f"platform: {config.platform} needs server: the address of your "
                                      f"{SERVERS[config.platform].name} server (the public CodaLab servers accept no "
                                      f"submission since 2025-12-31; codabench is the default)")
    competitions, problems = _load_competitions(config, context, competitions) if config is not None else ([], [])
    dates: Tuple[Optional[s.Moment], Optional[s.Moment]] = (None, None)
    if config is not None and competitions and len(competitions) == len(config.competitions or []):
        dates = _dates(config, competitions, context)
    problems = context.messages() + problems
    if problems:
        raise ConfigError(problems)
    assert config is not None and dates[0] is not None and dates[1] is not None
    opens, closes = dates
    listed = [(opens, "Challenges open"), (closes, "Challenges close")]
    listed += [(m.date, m.name) for m in config.milestones]
    return Event(config, competitions, opens, closes, sorted(listed, key=lambda item: item[0].when))
