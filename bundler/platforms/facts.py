"""What CodaLab Competitions (v1 bundles) and Codabench (v2 bundles) accept, read from their own code.

The one home of these facts: the writers, ``check``, the worker simulation, the schema of
competition.yaml and the pages all read them from here. Sources: codalab-competitions
(``CompetitionDefBundle.unpack``, ``tasks.py``), its compute worker, and Codabench's unpackers and
compute worker (see the project's platform notes).
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from typing import Any, Dict, Mapping, Set, Tuple

import yaml

# CodaLab Competitions, bundle format v1
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

# Codabench, bundle format version 2
V2_KEYS = frozenset({
    "version", "title", "image", "docker_image", "description", "enable_detailed_results", "pages", "terms", "tasks",
    "solutions", "phases", "leaderboards", "registration_auto_approve", "queue", "enable_forum", "make_programs_available",
    "make_input_data_available", "competition_type", "fact_sheet", "reward", "contact_email", "auto_run_submissions",
    "can_participants_make_submissions_public",
})
V2_METADATA = ("metadata.yaml", "metadata")  # Codabench's worker reads either
PHASE_GAP = dt.timedelta(seconds=1)  # a phase's default end before the next start, which must be strictly after
PAGE_TITLES = {"overview": "Overview", "evaluation": "Evaluation", "terms": "Terms", "data": "Data"}


def page_title(name: str) -> str:
    """The title a page of ``name`` gets on Codabench and in the preview."""
    return PAGE_TITLES.get(name, name.replace("_", " ").capitalize())


def utc_timestamp(when: dt.datetime) -> str:
    """A moment as a YAML timestamp without zone (``2027-03-01 00:00:00``), which both platforms read as UTC."""
    return when.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


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
