"""Lint a bundle, ours or hand-made, against what the platform's code accepts.

``version: 2`` in competition.yaml selects Codabench's rules; otherwise CodaLab Competitions' (v1).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import zipfile
from pathlib import Path
from typing import Any, Dict, List, Optional, Set, Tuple

import yaml

from bundler.bundles.leaks import leak_problems, phase_reference_problems
from bundler.ground.facts import (
    BUNDLED_FILES,
    COLUMN_LIMIT,
    COMPETITION_KEYS,
    DOCKER_IMAGE_LIMIT,
    PHASE_KEYS,
    REQUIRED_PAGES,
    SUBMISSION_RULES,
    TITLE_LIMIT,
    V1_METADATA,
    V2_KEYS,
    V2_LIMITS,
    V2_METADATA,
    codabench_datetime,
    codalab_datetime,
    is_codabench,
    named_members,
    oversized,
    program_command,
    zip_members,
)


def _moment(value: Any) -> Optional[dt.datetime]:
    """A date of a CodaLab bundle as CodaLab stores it, or None if it reads none."""
    try:
        return codalab_datetime(value)
    except (TypeError, ValueError, OverflowError):
        return None


def _stored(value: Any, where: str) -> Tuple[Optional[dt.datetime], List[str]]:
    """A phase's start or end as Codabench stores it, and the problem if that is not the moment written."""
    try:
        stored = codabench_datetime(value)
    except (TypeError, ValueError, OverflowError):
        return None, [f"{where}: {value!r} is not a date or a date and time"]
    if stored is None:
        return None, []
    if isinstance(value, dt.datetime) and value.replace(tzinfo=None) != stored.replace(tzinfo=None):
        return stored, [f"{where}: the unquoted timestamp {value} loses its time: Codabench stores "
                        f"{stored:%Y-%m-%d %H:%M:%S} UTC; quote it (\"{value:%Y-%m-%d %H:%M:%S}\")"]
    written = value if isinstance(value, dt.datetime) else None
    if isinstance(value, str):
        written = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if written is not None and written.utcoffset() not in (None, dt.timedelta(0)):
        return stored, [f"{where}: Codabench replaces the offset of {value} by UTC instead of converting it and stores "
                        f"{stored:%Y-%m-%d %H:%M:%S} UTC; write the UTC time without an offset"]
    return stored, []


def _date_alone(value: Any, where: str) -> List[str]:
    """The problem of an end written as a date alone, quoted or not, which both platforms store as the start of that
    day."""
    written = str(value).strip() if isinstance(value, (str, dt.date)) and not isinstance(value, dt.datetime) else ""
    if not re.fullmatch(r"\d{4}-\d\d-\d\d", written):
        return []
    return [f'{where}: a date alone: the platform stores 00:00 UTC, the start of that day; write "{written} 23:59:59" '
            f'to include it']


def _too_long(value: Any, where: str, limit: str) -> List[str]:
    """A value longer than Codabench's model accepts for ``limit`` (a key of V2_LIMITS)."""
    if isinstance(value, str) and len(value) > V2_LIMITS[limit]:
        return [f"{where}: {len(value)} characters, Codabench accepts at most {V2_LIMITS[limit]}"]
    return []


def bundle_warnings(path: Path) -> List[str]:
    """What the platform accepts but is probably a mistake: reference data that is a build's generated demo data, a
    Codabench bundle too large for its unpacking to finish reliably."""
    warnings = []
    try:
        with zipfile.ZipFile(path) as archive:
            config = yaml.safe_load(archive.read("competition.yaml"))
            warnings += oversized(path.stat().st_size) if is_codabench(config) else []
            for member in sorted(named_members(config if isinstance(config, dict) else {}, "reference_data")):
                if member in archive.namelist():
                    info = zip_members(archive.read(member)).get("reference.json", b"{}")
                    if json.loads(info).get("demo") is True:
                        warnings.append(f"{member} holds DEMO data (the bundle was built without --data or --reference): "
                                        "its scores are meaningless; rebuild with --data DIR before uploading")
    except (OSError, KeyError, ValueError, AttributeError, zipfile.BadZipFile, yaml.YAMLError):
        return []  # check_bundle reports what is unreadable
    return warnings


def check_bundle(path: Path, leaks: bool = True) -> List[str]:
    """Every problem the platform would fail on, or that would leave a leaderboard column empty; with ``leaks``, also
    every public member that carries the hidden reference (the leak guard)."""
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        return [f"{path}: not a readable zip ({exc})"]
    with archive:
        names = set(archive.namelist())
        if "competition.yaml" not in names:
            return ["no competition.yaml at the root of the bundle"]
        try:
            config = yaml.safe_load(archive.read("competition.yaml"))
        except yaml.YAMLError as exc:
            return [f"competition.yaml: not valid YAML ({exc})"]
        if not isinstance(config, dict):
            return ["competition.yaml: expected a mapping"]
        if is_codabench(config):
            problems = _check_v2(config, names, archive)
        else:
            problems = _check_v1(config, names, archive)
        problems += phase_reference_problems(archive, config)
        problems += leak_problems(archive, config) if leaks else []
    return problems


def _check_v1(config: Dict[str, Any], names: set, archive: zipfile.ZipFile) -> List[str]:
    """CodaLab's rules: one YAML member, known keys, phases and their files, leaderboard columns."""
    problems: List[str] = []
    yamls = [n for n in archive.namelist() if ".yaml" in n]
    if yamls != ["competition.yaml"]:
        problems.append(f"the bundle must hold exactly one .yaml member, competition.yaml at its root; found {yamls}")
    problems += _check_competition(config, names)
    problems += _check_phases(config, names, archive)
    problems += _check_leaderboard(config)
    return problems


def _check_competition(config: Dict[str, Any], names: set) -> List[str]:
    problems = [f"unknown top-level key {k!r}: CodaLab would refuse the upload" for k in config if k not in COMPETITION_KEYS]
    title = config.get("title")
    if not isinstance(title, str) or not title or len(title) > TITLE_LIMIT:
        problems.append(f"title: required, at most {TITLE_LIMIT} characters")
    image = config.get("competition_docker_image")
    if image is not None and (not isinstance(image, str) or len(image) > DOCKER_IMAGE_LIMIT):
        problems.append(f"competition_docker_image: at most {DOCKER_IMAGE_LIMIT} characters")
    if config.get("image") is not None and config["image"] not in names:
        problems.append(f"image: {config['image']!r} is not in the bundle")
    html = config.get("html")
    if not isinstance(html, dict):
        return problems + ["html: required, with overview, evaluation, terms and data"]
    for page in REQUIRED_PAGES:
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
            problems += _check_program(archive, phase["scoring_program"], f"phases.{number}", V1_METADATA)
    starts.sort(key=lambda item: item[0])
    for (a, start_a), (b, start_b) in zip(starts, starts[1:]):
        if start_a is not None and start_b is not None and start_b <= start_a:
            problems.append(f"phases: phase {b} starts on or before phase {a}")
    problems += _date_alone(config.get("end_date"), "end_date")
    end = _moment(config.get("end_date"))
    if end is not None and starts and starts[-1][1] is not None and end <= starts[-1][1]:
        problems.append("end_date: must be after the last phase's start")
    return problems


def _check_program(archive: zipfile.ZipFile, member: str, where: str, metadata: Tuple[str, ...]) -> List[str]:
    try:
        command = program_command(zip_members(archive.read(member)), metadata)
    except (ValueError, zipfile.BadZipFile, yaml.YAMLError) as exc:
        return [f"{where}.scoring_program: {exc}"]
    if '"' in command or "'" in command or "&&" in command or "|" in command:
        return [f"{where}: the command is split on single spaces: no quotes, pipes or &&"]
    return []


def _check_leaderboard(config: Dict[str, Any]) -> List[str]:
    board = config.get("leaderboard")
    sections = board if isinstance(board, dict) else {}
    if not isinstance(sections.get("leaderboards"), dict) or not isinstance(sections.get("columns"), dict):
        return ["leaderboard: required, with leaderboards and columns"]
    problems = []
    boards = list(board["leaderboards"].values())
    for key, column in board["columns"].items():
        if len(str(key)) > COLUMN_LIMIT:
            problems.append(f"leaderboard.columns.{key}: keys are at most {COLUMN_LIMIT} characters")
        if not isinstance(column, dict):
            problems.append(f"leaderboard.columns.{key}: expected a mapping")
            continue
        if column.get("leaderboard") not in boards:
            problems.append(f"leaderboard.columns.{key}: its leaderboard is not one of leaderboard.leaderboards")
        if len(str(column.get("label", ""))) > COLUMN_LIMIT:
            problems.append(f"leaderboard.columns.{key}.label: at most {COLUMN_LIMIT} characters")
        if column.get("sort", "desc") not in ("asc", "desc"):
            problems.append(f"leaderboard.columns.{key}.sort: asc or desc")
    return problems


def _in_bundle(names: Set[str], member: Any) -> bool:
    """A file of the bundle, or a folder of it (Codabench accepts both)."""
    return isinstance(member, str) and bool(member) and (
        member in names or any(n.startswith(member.rstrip("/") + "/") for n in names))


def _non_empty_file(archive: zipfile.ZipFile, names: Set[str], member: Any, where: str) -> List[str]:
    if not isinstance(member, str) or member not in names:
        return [f"{where}: {member!r} is not a file in the bundle"]
    if not archive.read(member).strip():
        return [f"{where}: {member!r} is empty (Codabench refuses empty pages)"]
    return []


def _listed(config: Dict[str, Any], key: str) -> Tuple[List[Dict[str, Any]], List[str]]:
    items = config.get(key)
    if not isinstance(items, list) or not items:
        return [], [f"{key}: required, a non-empty list"]
    problems = [f"{key}[{i}]: expected a mapping" for i, item in enumerate(items) if not isinstance(item, dict)]
    return [item for item in items if isinstance(item, dict)], problems


def _check_v2(config: Dict[str, Any], names: Set[str], archive: zipfile.ZipFile) -> List[str]:
    """Codabench's v2 unpacker: required files, tasks, sequential phases, leaderboard columns."""
    problems = [f"unknown top-level key {k!r}: Codabench's v2 unpacker ignores it" for k in config if k not in V2_KEYS]
    if not isinstance(config.get("title"), str) or not config["title"].strip():
        problems.append("title: required")
    problems += _too_long(config.get("title"), "title", "title") + _too_long(config.get("docker_image"), "docker_image",
                                                                             "docker_image")
    if not _in_bundle(names, config.get("image")):
        problems.append(f"image: required, a logo file in the bundle; found {config.get('image')!r}")
    problems += _non_empty_file(archive, names, config.get("terms"), "terms")
    pages = config.get("pages", [])
    for i, page in enumerate(pages if isinstance(pages, list) else []):
        if not isinstance(page, dict) or not page.get("title"):
            problems.append(f"pages[{i}]: expected a mapping with title and file")
        else:
            problems += _non_empty_file(archive, names, page.get("file"), f"pages[{i}].file")
            problems += _too_long(page["title"], f"pages[{i}].title", "pages[].title")
    if not isinstance(pages, list):
        problems.append("pages: expected a list of {title, file}")
    tasks, found = _listed(config, "tasks")
    problems += found
    task_indexes: List[Any] = [task.get("index") for task in tasks]
    for i, task in enumerate(tasks):
        if task_indexes.count(task.get("index")) > 1 or not isinstance(task.get("index"), int):
            problems.append(f"tasks[{i}].index: required, a number unique among the tasks")
        problems += _too_long(task.get("name"), f"tasks[{i}].name", "tasks[].name")
        for key in ("scoring_program", "reference_data", "input_data", "ingestion_program"):
            if (key in task or key == "scoring_program") and not _in_bundle(names, task.get(key)):
                problems.append(f"tasks[{i}].{key}: {task.get(key)!r} is not in the bundle")
        if task.get("scoring_program") in names:
            problems += _check_program(archive, task["scoring_program"], f"tasks[{i}]", V2_METADATA)
    problems += _check_v2_phases(config, names, task_indexes)
    problems += _check_v2_leaderboards(config)
    return problems


def _check_v2_phases(config: Dict[str, Any], names: Set[str], task_indexes: List[Any]) -> List[str]:
    phases, problems = _listed(config, "phases")
    previous_end = None
    for i, phase in enumerate(phases):
        where = f"phases[{i}]"
        start, found = _stored(phase.get("start"), f"{where}.start")
        end, found_end = _stored(phase.get("end"), f"{where}.end")
        problems += found + found_end + _date_alone(phase.get("end"), f"{where}.end")
        problems += _too_long(phase.get("name"), f"{where}.name", "phases[].name")
        if start is None and not found:
            problems.append(f"{where}.start: required, a date or date and time")
        if end is None and not found_end and i + 1 < len(phases):
            problems.append(f"{where}.end: required on every phase but the last")
        if start is not None and end is not None and end <= start:
            problems.append(f"{where}.end: {end:%Y-%m-%d %H:%M:%S} is not after its start {start:%Y-%m-%d %H:%M:%S} "
                            f"(Codabench accepts such a phase, which can never take a submission)")
        if start is not None and previous_end is not None and start <= previous_end:
            problems.append(f"{where}.start: must be strictly after the previous phase's end")
        previous_end = end
        listed = phase.get("tasks")
        if not isinstance(listed, list) or not listed or any(t not in task_indexes for t in listed):
            problems.append(f"{where}.tasks: required, a list of task indexes ({task_indexes})")
        for key in ("starting_kit", "public_data"):
            if key in phase and not _in_bundle(names, phase[key]):
                problems.append(f"{where}.{key}: {phase[key]!r} is not in the bundle")
    return problems


def _check_v2_leaderboards(config: Dict[str, Any]) -> List[str]:
    boards, problems = _listed(config, "leaderboards")
    for i, board in enumerate(boards):
        where = f"leaderboards[{i}]"
        problems += [f"{where}.{key}: required" for key in ("index", "title", "key") if board.get(key) in (None, "")]
        problems += _too_long(board.get("title"), f"{where}.title", "leaderboards[].title")
        problems += _too_long(board.get("key"), f"{where}.key", "leaderboards[].key")
        if board.get("submission_rule", "Add") not in SUBMISSION_RULES:
            problems.append(f"{where}.submission_rule: {board.get('submission_rule')!r} is not one of "
                            f"{', '.join(SUBMISSION_RULES)}")
        columns = board.get("columns")
        if not isinstance(columns, list) or not columns:
            problems.append(f"{where}.columns: required, a non-empty list")
            continue
        keys = [column.get("key") if isinstance(column, dict) else None for column in columns]
        for j, column in enumerate(columns):
            if not isinstance(column, dict):
                problems.append(f"{where}.columns[{j}]: expected a mapping")
                continue
            missing = [key for key in ("title", "key", "index") if column.get(key) in (None, "")]
            problems += [f"{where}.columns[{j}].{key}: required" for key in missing]
            for key in ("title", "key"):
                problems += _too_long(column.get(key), f"{where}.columns[{j}].{key}", f"leaderboards[].columns[].{key}")
            if keys.count(column.get("key")) > 1:
                problems.append(f"{where}.columns[{j}].key: {column.get('key')!r} is used twice")
            if column.get("sorting", "desc") not in ("asc", "desc"):
                problems.append(f"{where}.columns[{j}].sorting: asc or desc")
            precision = column.get("precision")
            if precision is not None and (not isinstance(precision, int) or isinstance(precision, bool) or precision < 0):
                problems.append(f"{where}.columns[{j}].precision: a whole number of digits")
    return problems
