"""The entries to rank: read from CodaLab's "download leaderboard results" zip or a folder of submission zips.

Hostile input: every name and text in it is the participants'. No member name is ever used as a
path (a submission is copied to ``work/<n>/<name>.zip``, numbered by position, its name reduced to
``[A-Za-z0-9_.-]``), every member read is capped, and the
names shown are stripped of control characters and shortened; pages escape them.

CodaLab's export holds, per leaderboard entry, ``<user> - <n> submission.zip`` (or ``Team <name> -
<n> submission.zip``), ``... output.zip`` (the platform's scores.txt), ``... profile.txt`` and
``... method.txt`` (``Key: value`` lines), and once ``team_names_and_members.txt``.
"""

from __future__ import annotations

import contextlib
import io
import re
import shutil
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Dict, List, Optional, Tuple

from bundler.platforms.facts import read_scores_txt
from scoring.limits import LIMITS, human_bytes
from scoring.submission import ZIP_ERRORS

MEMBER = re.compile(r"^(?P<who>.+) - (?P<number>\d{1,9}) (?P<kind>submission\.zip|output\.zip|profile\.txt|method\.txt)$",
                    re.DOTALL)
SAFE = re.compile(r"[^A-Za-z0-9_.-]")  # a participant's name in a file name of ours: nothing else kept
TEXT_LIMIT = 64 << 10  # bytes read of a profile, method or scores file
OUTPUT_LIMIT = 16 << 20  # bytes of a platform output zip (scores.txt and a results page)
NAME_LIMIT = 80  # characters shown of a participant's name or method
PROFILE_KEYS = ("Organization", "Team Name", "Team Members", "Method Name", "Method Description", "Contact Email",
                "Project URL", "Publication URL", "Bibtex")
METHOD_KEYS = ("method_name", "method_description", "project_url", "publication_url", "bibtex", "team_name",
               "organization_or_affiliation")


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
        match = re.match(r"^Team: (?P<name>.*); members: (?P<members>.*)$", line)
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


def from_codalab_export(export: Path, work: Path, max_bytes: int) -> List[Entry]:
    """The entries of CodaLab's leaderboard download; submissions are copied below ``work``."""
    try:
        archive = zipfile.ZipFile(export)
        infos = archive.infolist()
    except ZIP_ERRORS as exc:
        raise EntriesError(f"{export}: not a readable zip ({exc})") from None
    if len(infos) > LIMITS.max_files:
        raise EntriesError(f"{export}: {len(infos)} members, more than the limit of {LIMITS.max_files}")
    with archive:
        groups: Dict[Tuple[str, str], Dict[str, zipfile.ZipInfo]] = {}
        teams: Dict[str, str] = {}
        for info in infos:
            if info.is_dir():
                continue
            if info.filename == "team_names_and_members.txt":
                teams = _teams(_member_text(archive, info))
                continue
            match = MEMBER.match(info.filename)
            if match:
                groups.setdefault((match["who"], match["number"]), {})[match["kind"]] = info
        entries = []
        work.mkdir(parents=True, exist_ok=True)
        for position, ((who, number), files) in enumerate(sorted(groups.items())):
            target = work / str(position) / f"{SAFE.sub('_', who.strip())[:60].lstrip('.') or 'entry'}-{number}.zip"
            target.parent.mkdir(exist_ok=True)
            entries.append(_entry(archive, who, number, files, teams, target, max_bytes))
    return entries


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
    entry = Entry(shown(team or who.strip()), shown(f"{who.strip()} - {number}"), None, team=shown(team) if team else None)
    if "submission.zip" not in files:
        entry.error = "the export holds no submission.zip for this entry"
    else:
        info = files["submission.zip"]
        try:
            with archive.open(info) as stream:
                size = _copy_capped(stream, target, max_bytes)
            if size < 0:
                entry.error = f"submission larger than {human_bytes(max_bytes)}"
            else:
                entry.path = target
        except ZIP_ERRORS as exc:
            entry.error = f"the submission cannot be read from the export ({exc})"
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


def read_entries(path: Path, work: Path, max_bytes: int) -> List[Entry]:
    """The entries of ``path``: a folder of submission zips, or CodaLab's leaderboard download."""
    if path.is_dir():
        return from_folder(path)
    if path.is_file():
        return from_codalab_export(path, work, max_bytes)
    raise EntriesError(f"{path}: not found; give CodaLab's results zip or a folder of submission zips")


def remove_work(work: Path) -> None:
    """Remove the copies of the submissions."""
    shutil.rmtree(work, ignore_errors=True)
