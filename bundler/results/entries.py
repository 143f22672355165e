"""The entries to rank: read from CodaLab's "download leaderboard results" zip, Codabench's downloads, or a folder of
submission zips.

Hostile input: every name and text in it is the participants'. No member name is ever used as a
path (a submission is copied to ``work/<n>/<name>.zip``, numbered by position, its name reduced to
``[A-Za-z0-9_.-]``), every member read is capped, and the
names shown are stripped of control characters and shortened; pages escape them.

CodaLab's export holds, per leaderboard entry, the submission, the platform's output zip (its scores.txt), and the
participant's profile and method (``Key: value`` lines), and once the teams and their members.

Codabench gives two downloads, read as hostile as the other (their names: ``bundler.ground.facts``). The
organiser's submission manager downloads the submissions ticked as ``bulk_submissions.zip``: one member per
submission, and ``failed.txt`` listing those the browser could not fetch. The Results tab's download gives the
leaderboard: a CSV, or a zip of one CSV per phase, with the columns ``Username`` (``<owner>-<submission id>``),
``fact_sheet_answers`` and ``<task>(<task id>)-<column title>`` holding the stored scores.
"""

from __future__ import annotations

import contextlib
import csv
import io
import math
import re
import shutil
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Dict, List, Optional, Tuple

from bundler.ground.facts import (
    BULK_FAILED,
    BULK_MEMBER,
    EXPORT_MEMBER,
    EXPORT_TEAM,
    EXPORT_TEAMS,
    LEADERBOARD_CSV,
    METHOD_KEYS,
    PROFILE_KEYS,
    SERVERS,
    read_scores_txt,
)
from scoring.challenge import Column
from scoring.limits import LIMITS, human_bytes
from scoring.submission import ZIP_ERRORS

LEADERBOARD_LIMIT = 16 << 20  # bytes read of a leaderboard CSV
SAFE = re.compile(r"[^A-Za-z0-9_.-]")  # a participant's name in a file name of ours: nothing else kept
TEXT_LIMIT = 64 << 10  # bytes read of a profile, method or scores file
OUTPUT_LIMIT = 16 << 20  # bytes of a platform output zip (scores.txt and a results page)
NAME_LIMIT = 80  # characters shown of a participant's name or method
CODALAB, CODABENCH = SERVERS["codalab"].name, SERVERS["codabench"].name  # the platforms whose downloads are read


class EntriesError(Exception):
    """The submissions given cannot be read at all (not a folder, not a zip)."""


@dataclass
class Entry:
    """One submission to rescore and rank."""

    entrant: str  # the user or team, as shown
    submission: str  # the submission's name, as shown
    path: Optional[Path]  # the submission zip (None: it could not be read)
    platform_scores: Optional[Dict[str, float]] = None  # the platform's scores.txt, if the export had it
    method: Optional[str] = None
    team: Optional[str] = None
    members: Optional[str] = None
    error: Optional[str] = None  # why it cannot be scored, before scoring
    platform: Optional[str] = None  # the platform whose download it came from (None: a folder of zips)


def shown(text: str, limit: int = NAME_LIMIT) -> str:
    """A participant's text made safe to show in one line: no control characters, at most ``limit`` characters."""
    cleaned = "".join(" " if unicodedata.category(c)[0] == "C" else c for c in text)
    cleaned = " ".join(cleaned.split())
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def _copy_capped(source: IO[bytes], target: Path, limit: int) -> int:
    """Copy at most ``limit`` bytes; return the size, or -1 if the source holds more."""
    size = 0
    with target.open("wb") as out:
        while True:
            block = source.read(1 << 20)
            if not block:
                return size
            size += len(block)
            if size > limit:
                return -1
            out.write(block)


def _text(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> str:
    with archive.open(info) as stream:
        return stream.read(TEXT_LIMIT).decode("utf-8", errors="replace")


def key_values(text: str, keys: Tuple[str, ...]) -> Dict[str, str]:
    """``Key: value`` lines of the known ``keys`` (a value may run over several lines)."""
    found: Dict[str, str] = {}
    current = None
    for line in text.splitlines():
        key, sep, value = line.partition(": ")
        if sep and key in keys:
            current = key
            found[key] = value
        elif current is not None:
            found[current] += "\n" + line
    return {key: value.strip() for key, value in found.items() if value.strip() and value.strip() != "None"}


def platform_scores(data: bytes) -> Optional[Dict[str, float]]:
    """The scores.txt inside a platform output zip, read as CodaLab reads it (None if absent or unreadable)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = [n for n in archive.namelist() if n.rsplit("/", 1)[-1] == "scores.txt"]
            if not names:
                return None
            text = _text(archive, archive.getinfo(sorted(names, key=len)[0]))
    except ZIP_ERRORS:
        return None
    try:
        return read_scores_txt(text)
    except ValueError:  # CodaLab would have failed this submission: it has no platform scores
        return None


def _teams(text: str) -> Dict[str, str]:
    teams = {}
    for line in text.splitlines():
        match = EXPORT_TEAM.match(line)
        if match:
            teams[match["name"].strip()] = match["members"].strip()
    return teams


def from_folder(folder: Path) -> List[Entry]:
    """Every ``*.zip`` of a folder (not its subfolders), the file name being the entrant."""
    entries = []
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() == ".zip" and path.is_file() and not path.is_symlink():
            entries.append(Entry(shown(path.stem), shown(path.name), path))
    return entries


def _open_zip(path: Path) -> Tuple[zipfile.ZipFile, List[zipfile.ZipInfo]]:
    """A zip and its members, within the limit of members; EntriesError if unreadable."""
    try:
        archive = zipfile.ZipFile(path)
        infos = archive.infolist()
    except ZIP_ERRORS as exc:
        raise EntriesError(f"{path}: not a readable zip ({exc})") from None
    if len(infos) > LIMITS.max_files:
        archive.close()
        raise EntriesError(f"{path}: {len(infos)} members, more than the limit of {LIMITS.max_files}")
    return archive, infos


def _target(work: Path, position: int, who: str, number: str) -> Path:
    """Where the submission of one entry is copied: a numbered folder, a name of safe characters."""
    target = work / str(position) / f"{SAFE.sub('_', who.strip())[:60].lstrip('.') or 'entry'}-{number}.zip"
    target.parent.mkdir(parents=True, exist_ok=True)
    return target


def _copy_submission(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, max_bytes: int, entry: Entry) -> None:
    """Copy one submission out of an export (capped); set the entry's path, or its error."""
    try:
        with archive.open(info) as stream:
            size = _copy_capped(stream, target, max_bytes)
        if size < 0:
            entry.error = f"submission larger than {human_bytes(max_bytes)}"
        else:
            entry.path = target
    except ZIP_ERRORS as exc:
        entry.error = f"the submission cannot be read from the export ({exc})"


def from_codalab_export(archive: zipfile.ZipFile, infos: List[zipfile.ZipInfo], work: Path, max_bytes: int
                        ) -> List[Entry]:
    """The entries of CodaLab's leaderboard download; submissions are copied below ``work``."""
    groups: Dict[Tuple[str, str], Dict[str, zipfile.ZipInfo]] = {}
    teams: Dict[str, str] = {}
    for info in infos:
        if info.is_dir():
            continue
        if info.filename == EXPORT_TEAMS:
            teams = _teams(_member_text(archive, info))
            continue
        match = EXPORT_MEMBER.match(info.filename)
        if match:
            groups.setdefault((match["who"], match["number"]), {})[match["kind"]] = info
    return [_entry(archive, who, number, files, teams, _target(work, position, who, number), max_bytes)
            for position, ((who, number), files) in enumerate(sorted(groups.items()))]


def _member_text(archive: zipfile.ZipFile, info: Optional[zipfile.ZipInfo]) -> str:
    """A small text member, or "" if absent or damaged."""
    if info is None:
        return ""
    try:
        return _text(archive, info)
    except ZIP_ERRORS:
        return ""


def _entry(archive: zipfile.ZipFile, who: str, number: str, files: Dict[str, zipfile.ZipInfo], teams: Dict[str, str],
           target: Path, max_bytes: int) -> Entry:
    team = who[len("Team "):].strip() if who.startswith("Team ") else None
    entry = Entry(shown(team or who.strip()), shown(f"{who.strip()} - {number}"), None, team=shown(team) if team else None,
                  platform=CODALAB)
    if "submission.zip" not in files:
        entry.error = "the export holds no submission.zip for this entry"
    else:
        _copy_submission(archive, files["submission.zip"], target, max_bytes, entry)
    output = files.get("output.zip")
    if output is not None and output.file_size <= OUTPUT_LIMIT:
        with contextlib.suppress(*ZIP_ERRORS):  # unreadable: no platform score to compare
            entry.platform_scores = platform_scores(archive.read(output))
    profile = key_values(_member_text(archive, files.get("profile.txt")), PROFILE_KEYS)
    method = key_values(_member_text(archive, files.get("method.txt")), METHOD_KEYS)
    name = method.get("method_name") or profile.get("Method Name")
    entry.method = shown(name) if name else None
    team_name = team or method.get("team_name") or profile.get("Team Name")
    if team_name:
        entry.team = shown(team_name)
        members = teams.get(team_name) or profile.get("Team Members")
        entry.members = shown(members, 200) if members else None
    return entry


@dataclass
class Leaderboard:
    """A phase's leaderboard as Codabench exports it: submission id -> (owner, stored scores by column key)."""

    source: str
    phase_id: Optional[str]  # Codabench's number of the phase, when the file name gives it
    rows: Dict[str, Tuple[str, Dict[str, float]]]


def _leaderboard_csv(data: bytes, name: str, phase: str) -> Tuple[str, Optional[str]]:
    """The CSV text of the phase's leaderboard: ``data`` itself, or the member for ``phase`` of a zip of CSVs."""
    if not data.startswith(b"PK"):
        match = LEADERBOARD_CSV.match(name)
        if match and match["phase"] != phase:
            raise EntriesError(f"{name}: the leaderboard of phase {shown(match['phase'])!r}, not of phase {phase!r}")
        return data.decode("utf-8", errors="replace"), match["id"] if match else None
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            found = {m["phase"]: (info, m["id"]) for info in archive.infolist()[: LIMITS.max_files]
                     for m in [LEADERBOARD_CSV.match(info.filename)] if m}
            if phase not in found:
                listed = ", ".join(shown(key) for key in sorted(found)) or "none"
                raise EntriesError(f"{name}: no leaderboard of phase {phase!r} (it holds the phases {listed})")
            info, phase_id = found[phase]
            with archive.open(info) as stream:
                return stream.read(LEADERBOARD_LIMIT).decode("utf-8", errors="replace"), phase_id
    except ZIP_ERRORS as exc:
        raise EntriesError(f"{name}: not a readable zip ({exc})") from None


def read_leaderboard(path: Path, phase: str, columns: Tuple[Column, ...]) -> Leaderboard:
    """Codabench's leaderboard download for ``phase`` (a CSV, or the zip of every phase's CSV), its scores by key."""
    try:
        with path.open("rb") as stream:
            data = stream.read(LEADERBOARD_LIMIT + 1)
    except OSError as exc:
        raise EntriesError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if len(data) > LEADERBOARD_LIMIT:
        raise EntriesError(f"{path}: larger than {human_bytes(LEADERBOARD_LIMIT)}; not a leaderboard download")
    text, phase_id = _leaderboard_csv(data, path.name, phase)
    try:
        table = list(csv.reader(io.StringIO(text.lstrip("\ufeff").replace("\0", ""), newline="")))
    except csv.Error as exc:
        raise EntriesError(f"{path}: not a readable CSV ({exc})") from None
    header = table[0] if table else []
    if header[:1] != ["Username"]:
        raise EntriesError(f"{path}: not Codabench's leaderboard CSV (its first column is not 'Username')")
    keys = {i: column.key for i, title in enumerate(header) for column in columns
            if re.fullmatch(r".*\(\d+\)-" + re.escape(column.label), title, re.DOTALL)}
    rows: Dict[str, Tuple[str, Dict[str, float]]] = {}
    for position, row in enumerate(table[1:], 2):
        owner, _, number = (row[0] if row else "").rpartition("-")
        if owner and number.isdigit() and len(number) <= 12:
            if number in rows:
                raise EntriesError(f"{path}: row {position} ({shown(row[0])}) repeats submission {number}: not a leaderboard "
                                   f"Codabench wrote")
            rows[number] = (owner, {key: value for i, key in keys.items() if i < len(row)
                                    for value in [_decimal(row[i])] if value is not None})
    return Leaderboard(path.name, phase_id, rows)


def _decimal(text: str) -> Optional[float]:
    """A stored score as written in the CSV, None if it is not a finite number."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def from_codabench_export(archive: zipfile.ZipFile, infos: List[zipfile.ZipInfo], work: Path, max_bytes: int,
                          leaderboard: Optional[Leaderboard]) -> List[Entry]:
    """The entries of Codabench's ``bulk_submissions.zip``: with the phase's ``leaderboard``, the submissions on it
    (with their stored scores); without, every submission, which must be one per participant of one phase."""
    found: Dict[str, Tuple[str, str, Optional[zipfile.ZipInfo], Optional[str]]] = {}  # id -> owner, phase, member, error
    for info in infos:
        match = BULK_MEMBER.match(info.filename)
        if match and not info.is_dir():
            found.setdefault(match["id"], (match["owner"], match["phase"], info, None))
        elif info.filename == BULK_FAILED:
            for line in _member_text(archive, info).splitlines():
                failed = BULK_MEMBER.match(line)
                if failed:
                    why = failed.string.rsplit(" (", 1)[-1].rstrip(")") if " (" in line else "no reason given"
                    found.setdefault(failed["id"], (failed["owner"], failed["phase"], None,
                                                    f"Codabench could not download it ({shown(why)})"))
    if leaderboard is not None:
        chosen = {number: found.get(number, (owner, leaderboard.phase_id or "", None,
                                             f"on the leaderboard ({leaderboard.source}) but not in the download"))
                  for number, (owner, _) in leaderboard.rows.items()}
    else:
        chosen = found
        _one_per_participant(chosen)
    entries = []
    for position, (number, (owner, _, info, error)) in enumerate(sorted(chosen.items(), key=lambda item: int(item[0]))):
        entry = Entry(shown(owner), shown(f"{owner} - {number}"), None, error=error, platform=CODABENCH)
        if leaderboard is not None:
            entry.platform_scores = leaderboard.rows[number][1] or None
        if info is not None:
            _copy_submission(archive, info, _target(work, position, owner, number), max_bytes, entry)
        entries.append(entry)
    return entries


def _one_per_participant(found: Dict[str, Tuple[str, str, Optional[zipfile.ZipInfo], Optional[str]]]) -> None:
    """Without a leaderboard, the download must be the final submissions: one phase, one submission per participant."""
    phases = sorted({phase for _, phase, _, _ in found.values()}, key=int)
    if len(phases) > 1:
        raise EntriesError(f"the download holds submissions of {len(phases)} phases (PhaseId {', '.join(phases[:5])}): "
                           f"give the phase's leaderboard (--leaderboard) or download one phase's submissions")
    owners: Dict[str, List[str]] = {}
    for number, (owner, _, _, _) in found.items():
        owners.setdefault(owner, []).append(number)
    several = sorted((owner, numbers) for owner, numbers in owners.items() if len(numbers) > 1)
    if several:
        listed = "; ".join(f"{shown(owner)}: {', '.join(sorted(numbers, key=int))}" for owner, numbers in several[:3])
        raise EntriesError(f"the download holds several submissions of one participant ({listed}): give the phase's "
                           f"leaderboard (--leaderboard), which names the one that counts, or download one each")


def read_entries(path: Path, work: Path, max_bytes: int, leaderboard: Optional[Leaderboard] = None) -> List[Entry]:
    """The entries of ``path``: a folder of submission zips, CodaLab's leaderboard download, or Codabench's
    ``bulk_submissions.zip`` (with its ``leaderboard``, if given); submissions are copied below ``work``."""
    if path.is_dir():
        if leaderboard is not None:
            raise EntriesError(f"{path}: a folder of submissions has no submission ids; --leaderboard goes with "
                               f"Codabench's bulk_submissions.zip")
        return from_folder(path)
    if not path.is_file():
        raise EntriesError(f"{path}: not found; give the platform's download (CodaLab's results zip, Codabench's "
                           f"bulk_submissions.zip) or a folder of submission zips")
    archive, infos = _open_zip(path)
    with archive:
        names = [info.filename for info in infos]
        codabench = sum(1 for name in names if BULK_MEMBER.match(name)) + (BULK_FAILED in names)
        codalab = sum(1 for name in names if EXPORT_MEMBER.match(name))
        if codabench > codalab:
            return from_codabench_export(archive, infos, work, max_bytes, leaderboard)
        if leaderboard is not None:
            raise EntriesError(f"{path}: not Codabench's bulk_submissions.zip; --leaderboard goes with that download "
                               f"(CodaLab's export carries its own scores)")
        return from_codalab_export(archive, infos, work, max_bytes)


def remove_work(work: Path) -> None:
    """Remove the copies of the submissions."""
    shutil.rmtree(work, ignore_errors=True)
