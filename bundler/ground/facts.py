"""What CodaLab Competitions (v1 bundles) and Codabench (v2 bundles) accept, read from their own code.

The one home of these facts: the writers, ``check``, the worker simulation, the schema of
competition.yaml and the pages all read them from here. Sources: codalab-competitions
(``CompetitionDefBundle.unpack``, ``tasks.py``), its compute worker, and Codabench's unpackers and
compute worker (see the project's platform notes).
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from typing import Any, Dict, List, Mapping, NamedTuple, Optional, Set, Tuple

import yaml

# CodaLab Competitions, bundle format v1: read from codalab/codalab-competitions at CODALAB_COMMIT
CODALAB_COMMIT = "c7ef5e281af201c62896d9e5c8ccc1011caff979"  # 2024-03-07
COMPETITION_KEYS = frozenset({
    "title", "description", "image", "has_registration", "start_date", "end_date", "force_submission_to_leaderboard",
    "disallow_leaderboard_modifying", "enable_detailed_results", "show_datasets_from_yaml", "allow_teams",
    "enable_forum", "anonymous_leaderboard", "allow_public_submissions", "competition_docker_image",
    "html", "phases", "leaderboard", "admin_names",
})
PHASE_KEYS = frozenset({
    "phasenumber", "label", "description", "start_date", "max_submissions", "max_submissions_per_day",
    "execution_time_limit", "color", "is_scoring_only", "auto_migration", "scoring_program", "reference_data",
    "input_data", "starting_kit", "public_data", "leaderboard_management_mode", "phase_never_ends",
    "force_best_submission_to_leaderboard",
})
BUNDLED_FILES = ("scoring_program", "reference_data", "input_data", "starting_kit", "public_data")
REQUIRED_PAGES = ("overview", "evaluation", "terms", "data")  # html: keys CodaLab needs
TITLE_LIMIT = 100  # characters of Competition.title
DOCKER_IMAGE_LIMIT = 128  # characters of competition_docker_image
COLUMN_LIMIT = 50  # characters of a leaderboard column's key and of its label
PHASE_LABEL_LIMIT = 50  # characters of a phase's label
#: the colours CodaLab offers a phase, and how the preview draws each
PHASE_COLOURS = {"white": "#8c959f", "orange": "#d4731c", "yellow": "#b08800", "green": "#2d8a4e",
                 "blue": "#3d7cc9", "purple": "#7b4fb8"}
V1_METADATA = ("metadata",)  # the scoring program's metadata file, as CodaLab's worker looks for it

# Codabench, bundle format version 2: read from codalab/codabench at CODABENCH_COMMIT
CODABENCH_COMMIT = "c7dbc756b07b133f8e552ae626fab54817ed93f3"  # 2026-03-13
#: the top-level keys its V2Unpacker reads (src/apps/competitions/unpackers/v2.py, base_unpacker.py)
V2_KEYS = frozenset({
    "version", "title", "image", "docker_image", "description", "enable_detailed_results",
    "show_detailed_results_in_submission_panel", "show_detailed_results_in_leaderboard", "pages", "terms", "tasks",
    "solutions", "phases", "leaderboards", "registration_auto_approve", "queue", "forum_enabled",
    "make_programs_available", "make_input_data_available", "competition_type", "fact_sheet", "reward", "contact_email",
    "auto_run_submissions", "can_participants_make_submissions_public",
})
#: (where, characters): CharField max_length of the models its serializers save (competitions/models.py,
#: leaderboards/models.py, tasks/models.py); a longer value fails the upload
V2_LIMITS = {
    "title": 256,  # Competition.title
    "docker_image": 128,  # Competition.docker_image
    "phases[].name": 256,  # Phase.name
    "tasks[].name": 256,  # Task.name
    "pages[].title": 255,  # Page.title
    "leaderboards[].title": 64,  # Leaderboard.title
    "leaderboards[].key": 36,  # Leaderboard.key
    "leaderboards[].columns[].title": 36,  # Column.title
    "leaderboards[].columns[].key": 36,  # Column.key
}
#: Leaderboard.SUBMISSION_RULES (leaderboards/models.py); the unpacker gives every phase the first leaderboard
#: (base_unpacker.py _save_competition), so one rule holds for the whole competition
SUBMISSION_RULES = ("Add", "Add_And_Delete", "Add_And_Delete_Multiple", "Force_Last", "Force_Latest_Multiple",
                    "Force_Best")


class Ranking(NamedTuple):
    """A competition's ranking rule as each platform stores it, and as the pages state it."""

    submission_rule: str  # Codabench: the leaderboard's
    competition: Dict[str, bool]  # CodaLab: the competition's switches
    phase: Dict[str, bool]  # CodaLab: every phase's switch
    sentence: str  # the pages and the starting kit's README


#: ``ranking:`` -> the rule. CodaLab (apps/web/tasks.py at CODALAB_COMMIT): force_submission_to_leaderboard puts each finished
#: submission on the leaderboard unless the phase has force_best_submission_to_leaderboard, which keeps the best;
#: disallow_leaderboard_modifying stops participants from changing it
RANKING_RULES = {
    "last": Ranking("Force_Last", {"force_submission_to_leaderboard": True, "disallow_leaderboard_modifying": True},
                    {"force_best_submission_to_leaderboard": False},
                    "Your last successful submission counts: each new score replaces your previous one on the leaderboard."),
    "best": Ranking("Force_Best", {"force_submission_to_leaderboard": False, "disallow_leaderboard_modifying": True},
                    {"force_best_submission_to_leaderboard": True},
                    "Your best submission counts: a new score replaces yours on the leaderboard only if it is better."),
    "choose": Ranking("Add", {"force_submission_to_leaderboard": False, "disallow_leaderboard_modifying": False},
                      {"force_best_submission_to_leaderboard": False},
                      "You choose which of your successful submissions counts: put it on the leaderboard yourself."),
}
#: the worker image: Python 3.12, numpy 1.26.4 and Pillow (through matplotlib) per codalab/codalab-dockers; the
#: py39 image has Python 3.9 and numpy but does not promise Pillow, which segmentation needs, and Codabench's own
#: default (codalab/codalab-legacy:py37) is older than the Python 3.9 the scoring program needs
DOCKER_IMAGE = "codalab/codalab-legacy:py312"
#: a bundle above this size risks never finishing Codabench's unpacking: bundles of about 100 and 120 MB stalled
#: (codalab/codabench issues 2011, 2304); larger public data belongs behind a link (``public_data: https://...``)
BUNDLE_SIZE_CAP = 50 * 2 ** 20


def oversized(size: int) -> List[str]:
    """The warning for a Codabench bundle of ``size`` bytes above BUNDLE_SIZE_CAP, if it is."""
    if size <= BUNDLE_SIZE_CAP:
        return []
    return [f"the bundle is {size / 2 ** 20:.0f} MiB: Codabench's unpacking of bundles above "
            f"{BUNDLE_SIZE_CAP // 2 ** 20} MiB has been seen to stall; give public_data as an https:// address the pages "
            f"link to instead of attaching it"]


class Server(NamedTuple):
    """Where a platform shows a competition: its page, its leaderboard, and an embeddable leaderboard if it serves one.

    Each address is a pattern of the server's address and the competition's ``platform_id``.
    """

    name: str
    default: Optional[str]  # the public server, or None where there is none
    page: str
    leaderboard: str
    widget: Optional[str]


#: Read from the platforms' code. Codabench (codalab/codabench c7dbc756, 2026-03-13): src/apps/competitions/urls.py
#: serves /competitions/<pk>/, whose Results tab is addressed by jQuery Address as #/results-tab (_tabs.tag); it serves
#: no leaderboard widget, sends every page with X-Frame-Options: DENY (XFrameOptionsMiddleware, no X_FRAME_OPTIONS
#: setting) and no CORS header (corsheaders disabled), so nothing of it can be embedded. CodaLab (codalab-competitions,
#: apps/web/urls/competitions.py): /competitions/<pk>, #results, and /competitions/leaderboard_widget/<pk>/, an
#: iframe it offers organisers itself (widgets.html). The public CodaLab servers accept no submission since
#: 2025-12-31: CodaLab means a self-hosted server, whose address the event file gives.
SERVERS = {
    "codabench": Server("Codabench", "https://www.codabench.org", "{server}/competitions/{id}/",
                        "{server}/competitions/{id}/#/results-tab", None),
    "codalab": Server("CodaLab", None, "{server}/competitions/{id}", "{server}/competitions/{id}#results",
                      "{server}/competitions/leaderboard_widget/{id}/"),
}
DEFAULT_PLATFORM = "codabench"  # a key of SERVERS: what build and the event file target unless told otherwise
#: the decimals a leaderboard column shows when its numeric_format (CodaLab, models.py CompetitionDefBundle.unpack)
#: or precision (Codabench, leaderboards/models.py Column) is not given
DEFAULT_DECIMALS = 2

#: Codabench's downloads of submissions and results (codalab/codabench at CODABENCH_COMMIT). The submission manager's
#: bulk_submissions.zip (SubmissionViewSet.download_many, submission_manager.tag) holds one member per submission,
#: ``<id>_<owner>_PhaseId<phase>_<YYYY-MM-DD_MM-SS>_<file name>`` (``:``, ``/`` and ``\\`` made ``_``); the owner is
#: matched up to the first ``_PhaseId<n>_<date>_``, since the file name after it is the participant's
BULK_MEMBER = re.compile(r"^(?P<id>\d{1,12})_(?P<owner>.+?)_PhaseId(?P<phase>\d{1,12})_\d{4}-\d\d-\d\d[_:]\d\d-\d\d_.+$",
                         re.DOTALL)
BULK_FAILED = "failed.txt"  # in bulk_submissions.zip: the submissions the page could not fetch, ``<name> (<why>)`` a line
#: the Results tab's download (CompetitionViewSet.results): ``<leaderboard> - <phase>(<phase id>).csv``, alone or one
#: per phase in a zip; the title is matched up to the first `` - `` (a phase name may hold one)
LEADERBOARD_CSV = re.compile(r"^(?:.*/)?(?P<title>.*?) - (?P<phase>.*?)\((?P<id>\d{1,12})\)(?: \(\d{1,6}\))?\.csv$", re.DOTALL)
#: CodaLab's "download leaderboard results" zip (apps/web/views.py download_leaderboard_results at CODALAB_COMMIT):
#: per entry ``<user> - <n> submission.zip`` (``Team <name> - <n> ...`` for a team), ``... output.zip`` (the
#: platform's scores.txt), ``... profile.txt`` and ``... method.txt`` (``Key: value`` lines of PROFILE_KEYS and
#: METHOD_KEYS), and once EXPORT_TEAMS, one EXPORT_TEAM line per team
EXPORT_MEMBER = re.compile(r"^(?P<who>.+) - (?P<number>\d{1,9}) (?P<kind>submission\.zip|output\.zip|profile\.txt|method\.txt)$",
                           re.DOTALL)
EXPORT_TEAMS = "team_names_and_members.txt"
EXPORT_TEAM = re.compile(r"^Team: (?P<name>.*); members: (?P<members>.*)$")
PROFILE_KEYS = ("Organization", "Team Name", "Team Members", "Method Name", "Method Description", "Contact Email",
                "Project URL", "Publication URL", "Bibtex")
METHOD_KEYS = ("method_name", "method_description", "project_url", "publication_url", "bibtex", "team_name",
               "organization_or_affiliation")


V2_METADATA = ("metadata.yaml", "metadata")  # Codabench's worker reads either
PHASE_GAP = dt.timedelta(seconds=1)  # a phase's default end before the next start, which must be strictly after
PAGE_TITLES = {"overview": "Overview", "evaluation": "Evaluation", "terms": "Terms", "data": "Data"}


def page_title(name: str) -> str:
    """The title a page of ``name`` gets on Codabench and in the preview."""
    return PAGE_TITLES.get(name, name.replace("_", " ").capitalize())


def utc_timestamp(when: dt.datetime) -> str:
    """A moment as both platforms store it: a quoted UTC timestamp without zone (``"2027-05-14 23:59:59"``).

    Quoted, because Codabench's get_datetime drops the time of a YAML timestamp (PyYAML loads it as a datetime, a
    subclass of date) but parses a string with dateutil; without zone, because it then replaces the zone with UTC
    rather than converting. CodaLab's CompetitionDefBundle.localize_datetime parses the string with Django's
    parse_datetime and makes a naive one UTC: the same instant.
    """
    return when.astimezone(dt.timezone.utc).strftime('"%Y-%m-%d %H:%M:%S"')


def codabench_datetime(value: Any) -> Optional[dt.datetime]:
    """A phase's start or end as Codabench stores it (unpackers/utils.py get_datetime at CODABENCH_COMMIT): a YAML
    date or timestamp becomes midnight of its day, text keeps its time, and any zone is replaced by UTC."""
    if not value:
        return None
    if isinstance(value, dt.date):
        value = dt.datetime.combine(value, dt.time())
    else:
        value = dt.datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))  # dateutil, for ISO text
    return value.replace(tzinfo=dt.timezone.utc)


def codalab_datetime(value: Any) -> dt.datetime:
    """A start_date or end_date as CodaLab stores it (models.py CompetitionDefBundle.localize_datetime at
    CODALAB_COMMIT): text parsed, a date at midnight, a naive moment taken as UTC, an aware one kept."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))  # Django's parse_datetime, for ISO text
    if type(value) is dt.date:
        value = dt.datetime.combine(value, dt.time())
    if not isinstance(value, dt.datetime):
        raise ValueError(f"expected a date or a date and time, found {value!r}")
    return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value.astimezone(dt.timezone.utc)


def is_codabench(config: Dict[str, Any]) -> bool:
    """``version: 2`` selects Codabench's v2 unpacker."""
    return str(config.get("version", "")).strip() == "2"


def named_members(config: Dict[str, Any], key: str) -> Set[str]:
    """The bundle members a v1 phase or a v2 task names under ``key`` (reference_data, scoring_program, ...)."""
    phases, tasks = config.get("phases"), config.get("tasks")
    entries = (list(phases.values()) if isinstance(phases, dict) else []) + (tasks if isinstance(tasks, list) else [])
    return {str(entry[key]) for entry in entries if isinstance(entry, dict) and entry.get(key)}


def program_command(members: Mapping[str, bytes], metadata: Tuple[str, ...]) -> str:
    """The ``command:`` of a scoring program, found as the worker finds it: ``metadata`` at the root or in its single folder.

    ``members`` maps the program's file names (relative, ``/``-separated) to their content.
    """
    names = set(members)
    tops = {name.split("/")[0] for name in names}
    candidates = list(metadata)
    if len(tops) == 1:
        candidates += [f"{next(iter(tops))}/{name}" for name in metadata]
    for name in candidates:
        if name in names:
            content = yaml.safe_load(members[name])
            if isinstance(content, dict) and isinstance(content.get("command"), str):
                return content["command"]
            raise ValueError(f"the scoring program's {name} has no 'command:'")
    raise ValueError(f"the scoring program has no {' or '.join(metadata)} file at its root or in its single folder")


def zip_members(data: bytes) -> Dict[str, bytes]:
    """Every file of a zip (name -> content); raises zipfile.BadZipFile for a damaged one."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist() if not info.is_dir()}


def read_scores_txt(text: str) -> Dict[str, float]:
    """scores.txt as CodaLab reads it: each non-empty line split on ``:`` into exactly two parts, the value a float.

    Raises ValueError where CodaLab would fail the submission.
    """
    scores = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        parts = line.split(":")
        if len(parts) != 2:
            raise ValueError(f"{line!r} does not split on ':' into a key and a value")
        scores[parts[0].strip()] = float(parts[1])
    return scores
