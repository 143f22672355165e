"""The competition.yaml an organiser edits: its schema, defaults, and cross-field checks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, List, Optional, Tuple

from bundler.config import schema as s
from bundler.config.schema import ConfigError
from bundler.config.yaml_lines import Document, Where
from bundler.ground.editions import DEFAULT_EDITION
from bundler.ground.facts import (
    DOCKER_IMAGE,
    DOCKER_IMAGE_LIMIT,
    PHASE_COLOURS,
    PHASE_GAP,
    PHASE_LABEL_LIMIT,
    RANKING_RULES,
    REQUIRED_PAGES,
    TITLE_LIMIT,
)
from scoring.challenge import Challenge, challenges

REPO = Path(__file__).resolve().parents[2]  # the source checkout (or, installed, the folder above the package)
SPLITS = ("val", "test")  # the scored splits of a `bundler data` folder


EDITIONS_FOLDER = REPO / "competitions"  # the checkout's own competitions folder: a folder per edition, and _shared/
COMPETITIONS = EDITIONS_FOLDER / DEFAULT_EDITION  # the checkout's default edition: the default of the functions below


def edition_folder(edition: str = DEFAULT_EDITION) -> Path:
    """The folder of ``edition`` that a command works on: in ``competitions/`` of the current folder, else the
    checkout's own."""
    here = Path.cwd() / "competitions"
    return (here if here.is_dir() else EDITIONS_FOLDER) / edition


def competition_names(competitions: Path = COMPETITIONS) -> List[str]:
    """The competitions of an edition: every folder of its folder ``competitions`` holding a competition.yaml, sorted."""
    if not competitions.is_dir():
        return []
    return sorted(p.name for p in competitions.iterdir() if (p / "competition.yaml").is_file())


class ReferenceFolder(s.Option):
    """A folder outside the repository holding reference.json and the hidden reference files."""

    def convert(self, value: Any, where: Where, context: Document) -> Path:
        if not isinstance(value, str) or not value.strip():
            raise s.Invalid(f"expected the path of a reference folder, found {value!r}")
        path = s.resolve(context.file.parent, value)
        checkout = context.file.resolve().parents[3]  # the one holding competitions/<edition>/<name>/competition.yaml
        if any(path == root or root in path.parents for root in (REPO, checkout)):
            raise s.Invalid(f"{value!r} is inside the repository; hidden reference data must live outside it")
        if not (path / "reference.json").is_file():
            raise s.Invalid(f"{value!r} is not a reference folder (no reference.json in {path})")
        return path


class PublicData(s.Option):
    """The participants' data: an https:// address the pages link to, or a zip file attached to the phases."""

    def convert(self, value: Any, where: Where, context: Document) -> Any:
        if isinstance(value, str) and value.startswith(("https://", "http://")):
            return s.Url().convert(value, where, context)
        path = s.File().convert(value, where, context)
        if path.suffix.lower() != ".zip":
            raise s.Invalid(f"{value!r}: expected an https:// address or a .zip file")
        return path


PHASE = {
    "name": s.String(doc="the phase's label on the platform, e.g. 'Development'", max_length=PHASE_LABEL_LIMIT),
    "description": s.String(default="", doc="one paragraph shown with the phase", non_empty=False),
    "start": s.Date(doc="when the phase opens (ISO 8601; a date alone means 00:00 UTC)"),
    "end": s.Date(default=None, ends=True, doc="when it closes (a date alone: 23:59:59 UTC that day); by default one "
                                                "second before the next phase starts, the last phase at end_date"),
    "max_submissions": s.Integer(default=100, doc="submissions a participant may make in this phase"),
    "max_submissions_per_day": s.Integer(default=5, doc="submissions a participant may make per day"),
    "execution_time_limit": s.Integer(default=600, doc="seconds the scoring program may run per submission"),
    "split": s.Choice(SPLITS, default=None, doc="the split it scores: val or test (build --data takes reference/<split>/)"),
    "reference": ReferenceFolder(default=None, doc="hidden reference folder, outside the repo (default: demo data)"),
    "color": s.Choice(list(PHASE_COLOURS), default="green",
                      doc="the phase's colour on CodaLab"),
    "ranking": s.Misplaced("the ranking rule is the competition's, not a phase's: Codabench gives every phase the "
                           "same leaderboard and CodaLab sets it for the whole competition; write `ranking:` once at "
                           "the top of the file"),
}

SCHEMA = {
    "title": s.String(doc="the competition's title", max_length=TITLE_LIMIT),
    "description": s.String(doc="one or two sentences shown in the competition list"),
    "challenge": s.Choice(sorted(challenges()), doc="which scoring module scores it (scoring/challenges/)"),
    "logo": s.File(doc="the logo image shown on the platform, relative to this file"),
    "docker_image": s.String(default=DOCKER_IMAGE, doc="the worker's docker image: Python 3.9+, numpy, Pillow",
                             max_length=DOCKER_IMAGE_LIMIT),
    "end_date": s.Date(default=None, ends=True,
                       doc="when the last phase closes (a date alone: 23:59:59 UTC that day); none: it never closes"),
    "ranking": s.Choice(list(RANKING_RULES), default="last",
                        doc="which submission ranks a participant: last, best, or choose (participants pick)"),
    "hide_leaderboard": s.Boolean(default=False, doc="hide the leaderboard from participants until the organisers "
                                                     "show it after the close"),
    "public_data": PublicData(default=None, doc="the data participants download: a URL the pages link to, or a zip "
                                                "attached to every phase (small data only)"),
    "registration_required": s.Boolean(default=True, doc="participants must be approved by the organisers"),
    "allow_teams": s.Boolean(default=False, doc="participants may form teams (CodaLab only)"),
    "pages": s.MappingOf(s.File(), doc="page name -> Jinja2 HTML template; overview, evaluation, terms, data required"),
    "phases": s.ListOf(s.SubConfig(PHASE), doc="the phases, in order"),
    "organizers": s.String(default="", doc="who runs the competition, shown on the overview page", non_empty=False),
    "dataset": s.String(default="", doc="the data in one line, for the event page", non_empty=False),
    "platform_id": s.Integer(default=None, doc="the competition's number on the event's platform once uploaded (the "
                                               "<id> of its address .../competitions/<id>/; the event page links it)"),
    "codalab_id": s.Renamed("platform_id"),
}


class UnknownPhase(ValueError):
    """The phase asked for is not in the bundle; the message names the phases there are."""


def choose_phase(wanted: str, phases: List[Tuple[int, str]]) -> int:
    """The number of the phase ``wanted`` names, by its number or its name (case-insensitive) among ``phases``.

    ``phases`` lists (number, name); an unknown phase raises UnknownPhase listing them.
    """
    for number, name in phases:
        if wanted.strip() == str(number) or wanted.strip().casefold() == str(name).casefold():
            return number
    listed = ", ".join(f"{number} ({name})" for number, name in phases)
    raise UnknownPhase(f"no phase {wanted!r}: the phases are {listed}; give a number or a name")


@dataclass
class Competition:
    """A validated competition: its folder, values and scoring module."""

    name: str
    folder: Path
    config: s.Values
    challenge: Challenge

    @property
    def data_url(self) -> Optional[str]:
        """The address the pages give for the data, if the public data is linked rather than attached."""
        return self.config.public_data if isinstance(self.config.public_data, str) else None

    @property
    def public_data_file(self) -> Optional[Path]:
        """The zip attached to every phase as its public data, if the public data is attached rather than linked."""
        return self.config.public_data if isinstance(self.config.public_data, Path) else None

    @property
    def ranking_sentence(self) -> str:
        """What the pages say about which submission ranks a participant (the rule both bundles set)."""
        return RANKING_RULES[self.config.ranking].sentence

    def phase_number(self, wanted: str) -> int:
        """The number of the phase ``wanted`` names (its number or its name); ConfigError naming the phases if none."""
        try:
            return choose_phase(wanted, [(number, phase.name) for number, phase in enumerate(self.config.phases, 1)])
        except UnknownPhase as exc:
            raise ConfigError([f"{self.name}: {exc}"]) from None


def resolve_ends(config: s.Values) -> None:
    """Give every phase the one instant it closes, which every bundle and page then reads from ``phase.end``: as
    written, else one second before the next phase starts, the last phase at ``end_date`` (none: never); a last
    phase's written end is also the competition's ``end_date``."""
    phases = config.phases
    config.end_date = config.end_date or phases[-1].end
    for number, phase in enumerate(phases):
        if phase.end is None and number + 1 < len(phases):
            phase.end = s.Moment(phases[number + 1].start.when - PHASE_GAP)
        elif phase.end is None:
            phase.end = config.end_date


def _cross_checks(config: s.Values, context: Document) -> None:
    """Rules that involve several keys: required pages, phase order, end dates."""
    if config.pages is not None:
        for page in REQUIRED_PAGES:
            if page not in config.pages:
                context.report(("pages",), f"pages.{page} is required (CodaLab needs {', '.join(REQUIRED_PAGES)})")
    phases = [p for p in (config.phases or []) if p is not None and p.start is not None]
    for i, phase in enumerate(phases):
        where: Where = ("phases", i)
        if phase.end is not None and phase.end.when <= phase.start.when:
            context.report(where + ("end",),
                           f"phases[{i + 1}].end ({phase.end.text}) must be after its start ({phase.start.text})")
        if i + 1 < len(phases):
            following = phases[i + 1]
            if following.start.when <= phase.start.when:
                context.report(("phases", i + 1, "start"),
                               f"phases[{i + 2}].start ({following.start.text}) must be after phases[{i + 1}].start "
                               f"({phase.start.text}): phases run one after the other")
            elif phase.end is not None and phase.end.when >= following.start.when:
                context.report(where + ("end",), f"phases[{i + 1}].end ({phase.end.text}) must be before the next "
                                                 f"phase's start ({following.start.text})")
    last_end = phases[-1].end if phases else None
    if last_end is not None and config.end_date is not None and last_end.when != config.end_date.when:
        context.report(("phases", len(phases) - 1, "end"),
                       f"phases[{len(phases)}].end ({last_end.text}) differs from end_date ({config.end_date.text}): "
                       f"the competition closes when its last phase does; write one of them")
    if config.end_date is not None and phases and config.end_date.when <= phases[-1].start.when:
        context.report(("end_date",), f"end_date ({config.end_date.text}) must be after the last phase's start "
                                      f"({phases[-1].start.text})")
    listed = [p for p in (config.phases or []) if p is not None]
    if listed and listed[-1].split == "val":
        context.report(("phases", len(listed) - 1, "split"),
                       f"phases[{len(listed)}].split: val, but the last phase ranks the competition and participants "
                       f"download the val labels: score test in the last phase (val may only be a development phase)")
    names = [p.name for p in phases]
    for i, name in enumerate(names):
        if name in names[:i]:
            context.report(("phases", i, "name"), f"phase name {name!r} is used twice")


def load_competition(name: str, folder: Optional[Path] = None) -> Competition:
    """Load and validate ``<folder>/competition.yaml`` (default: ``<name>/`` of the checkout's default edition);
    ConfigError lists every problem."""
    folder = folder or COMPETITIONS / name
    path = folder / "competition.yaml"
    if not path.is_file():
        known = (", ".join(competition_names(folder.parent))
                 or f"none in {folder.parent} (use --edition NAME or --competitions DIR)")
        raise ConfigError([f"{path}: not found; competitions: {known}"])
    config, context = s.validate_file(SCHEMA, path)
    if config is not None:
        _cross_checks(config, context)
    if context.problems:
        raise ConfigError(context.messages())
    assert config is not None
    resolve_ends(config)
    return Competition(name, folder, config, challenges()[config.challenge])
