"""Lint a CodaLab Competitions (v1) bundle, ours or hand-made, against what the platform's code accepts."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path
from typing import Any, Dict, List

import yaml

COMPETITION_KEYS = {
    "title", "description", "image", "has_registration", "start_date", "end_date", "force_submission_to_leaderboard",
    "disallow_leaderboard_modifying", "enable_detailed_results", "show_datasets_from_yaml", "allow_teams",
    "enable_forum", "anonymous_leaderboard", "allow_public_submissions", "competition_docker_image",
    "html", "phases", "leaderboard", "admin_names",
}
PHASE_KEYS = {
    "phasenumber", "label", "description", "start_date", "max_submissions", "max_submissions_per_day",
    "execution_time_limit", "color", "is_scoring_only", "auto_migration", "scoring_program", "reference_data",
    "input_data", "starting_kit", "public_data", "leaderboard_management_mode", "phase_never_ends",
    "force_best_submission_to_leaderboard",
}
BUNDLED_FILES = ("scoring_program", "reference_data", "input_data", "starting_kit", "public_data")
REQUIRED_HTML = ("overview", "evaluation", "terms", "data")


def _moment(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None) if value.tzinfo is None else value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    return None


def program_command(program: bytes) -> str:
    """The ``command:`` of a scoring-program zip's metadata, found as the worker finds it."""
    with zipfile.ZipFile(io.BytesIO(program)) as archive:
        names = archive.namelist()
        candidates = ["metadata"] + sorted(n for n in names if n.count("/") == 1 and n.endswith("/metadata"))
        for name in candidates:
            if name in names:
                metadata = yaml.safe_load(archive.read(name))
                if isinstance(metadata, dict) and isinstance(metadata.get("command"), str):
                    return metadata["command"]
                raise ValueError(f"{name} has no 'command:'")
    raise ValueError("no metadata file at the root or in its single folder")


def check_bundle(path: Path) -> List[str]:
    """Every problem CodaLab would fail on, or that would leave a leaderboard column empty."""
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        return [f"{path}: not a readable zip ({exc})"]
    with archive:
        names = set(archive.namelist())
        problems: List[str] = []
        yamls = [n for n in archive.namelist() if ".yaml" in n]
        if yamls != ["competition.yaml"]:
            problems.append(f"the bundle must hold exactly one .yaml member, competition.yaml at its root; found {yamls}")
            if "competition.yaml" not in names:
                return problems
        try:
            config = yaml.full_load(archive.read("competition.yaml"))
        except yaml.YAMLError as exc:
            return problems + [f"competition.yaml: not valid YAML ({exc})"]
        if not isinstance(config, dict):
            return problems + ["competition.yaml: expected a mapping"]
        problems += _check_competition(config, names)
        problems += _check_phases(config, names, archive)
        problems += _check_leaderboard(config)
    return problems


def _check_competition(config: Dict[str, Any], names: set) -> List[str]:
    problems = [f"unknown top-level key {k!r}: CodaLab would refuse the upload" for k in config if k not in COMPETITION_KEYS]
    title = config.get("title")
    if not isinstance(title, str) or not title or len(title) > 100:
        problems.append("title: required, at most 100 characters")
    image = config.get("competition_docker_image")
    if image is not None and (not isinstance(image, str) or len(image) > 128):
        problems.append("competition_docker_image: at most 128 characters")
    if config.get("image") is not None and config["image"] not in names:
        problems.append(f"image: {config['image']!r} is not in the bundle")
    html = config.get("html")
    if not isinstance(html, dict):
        return problems + ["html: required, with overview, evaluation, terms and data"]
    for page in REQUIRED_HTML:
        if page not in html:
            problems.append(f"html.{page}: required")
    for page, file in html.items():
        if file not in names:
            problems.append(f"html.{page}: {file!r} is not in the bundle")
    return problems


def _check_phases(config: Dict[str, Any], names: set, archive: zipfile.ZipFile) -> List[str]:
    phases = config.get("phases")
    if not isinstance(phases, dict) or not phases:
        return ["phases: required, a mapping of numbers to phases"]
    problems: List[str] = []
    starts = []
    for number, phase in sorted(phases.items(), key=lambda item: str(item[0])):
        if not isinstance(phase, dict):
            problems.append(f"phases.{number}: expected a mapping")
            continue
        problems += [f"phases.{number}: unknown key {k!r}: CodaLab would refuse the upload" for k in phase if k not in PHASE_KEYS]
        if "reference_data" not in phase:
            problems.append(f"phases.{number}: reference_data is required (its absence aborts the upload)")
        for key in BUNDLED_FILES:
            if key in phase and phase[key] not in names:
                problems.append(f"phases.{number}.{key}: {phase[key]!r} is not in the bundle")
        start = _moment(phase.get("start_date"))
        if start is None:
            problems.append(f"phases.{number}.start_date: expected a date or date and time")
        starts.append((phase.get("phasenumber", number), start))
        if phase.get("scoring_program") in names:
            try:
                command = program_command(archive.read(phase["scoring_program"]))
                if '"' in command or "'" in command or "&&" in command or "|" in command:
                    problems.append(f"phases.{number}: the command is split on single spaces: no quotes, pipes or &&")
            except (ValueError, zipfile.BadZipFile, yaml.YAMLError) as exc:
                problems.append(f"phases.{number}.scoring_program: {exc}")
    starts.sort(key=lambda item: item[0])
    for (a, start_a), (b, start_b) in zip(starts, starts[1:]):
        if start_a is not None and start_b is not None and start_b <= start_a:
            problems.append(f"phases: phase {b} starts on or before phase {a}")
    end = _moment(config.get("end_date"))
    if end is not None and starts and starts[-1][1] is not None and end <= starts[-1][1]:
        problems.append("end_date: must be after the last phase's start")
    return problems


def _check_leaderboard(config: Dict[str, Any]) -> List[str]:
    board = config.get("leaderboard")
    sections = board if isinstance(board, dict) else {}
    if not isinstance(sections.get("leaderboards"), dict) or not isinstance(sections.get("columns"), dict):
        return ["leaderboard: required, with leaderboards and columns"]
    problems = []
    boards = list(board["leaderboards"].values())
    for key, column in board["columns"].items():
        if len(str(key)) > 50:
            problems.append(f"leaderboard.columns.{key}: keys are at most 50 characters")
        if not isinstance(column, dict):
            problems.append(f"leaderboard.columns.{key}: expected a mapping")
            continue
        if column.get("leaderboard") not in boards:
            problems.append(f"leaderboard.columns.{key}: its leaderboard is not one of leaderboard.leaderboards")
        if len(str(column.get("label", ""))) > 50:
            problems.append(f"leaderboard.columns.{key}.label: at most 50 characters")
        if column.get("sort", "desc") not in ("asc", "desc"):
            problems.append(f"leaderboard.columns.{key}.sort: asc or desc")
    return problems
