"""Turn a builder's plan into the output folder: checked sources, linked files, a manifest.

A plan lists every file of the output (``public/...``, ``reference/...``, ``private/...``), each
either a source file to hard-link (or copy, where the file system refuses links) or generated
bytes. Running a plan is idempotent: files already in place are verified, never rewritten, and a
file that differs from the plan stops the run instead of being overwritten. The output folder
carries a marker naming what built it, seed included; a non-empty folder without that marker is refused.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence

from bundler.ground.zips import sha256
from scoring.challenge import REFERENCE_INFO
from scoring.files import replaced_atomically, write_atomically
from scoring.progress import progress

MARKER = ".vipriors-data.json"
MANIFEST = "manifest.json"
SIDES = ("public", "reference", "private")
#: the scorer references a build writes, reference/<split>/, and who may see each
REFERENCES = {
    "val": {"path": "reference/val", "public": True,
            "note": "holds only the val labels, which participants already have; also in public/references/val/"},
    "test": {"path": "reference/test", "public": False,
             "note": "never publish it; participants check test submissions with public/references/test/ (no labels)"},
}
MAGIC = {".jpg": b"\xff\xd8\xff", ".jpeg": b"\xff\xd8\xff", ".png": b"\x89PNG\r\n\x1a\n", ".avi": b"RIFF"}


class DataError(Exception):
    """The build cannot go on; ``problems`` lists every reason at once."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = list(problems)


def _json_line(value: Any) -> bytes:
    return (json.dumps(value) + "\n").encode()


def _json_bytes(value: Any) -> bytes:
    return (json.dumps(value, indent=1, ensure_ascii=False) + "\n").encode()


@dataclass(frozen=True)
class Item:
    """One file of the output: ``dest`` relative to --out, from ``source`` or with ``data``."""

    dest: str
    source: Optional[Path] = None
    data: Optional[bytes] = None


@dataclass
class Plan:
    """Every output file, the counts per split (items) and per class the manifest reports, and notes for the organiser."""

    items: List[Item] = field(default_factory=list)
    totals: Counter = field(default_factory=Counter)
    counts: Dict[str, Counter] = field(default_factory=dict)
    notes: List[str] = field(default_factory=list)

    def link(self, dest: str, source: Path) -> None:
        self.items.append(Item(dest, source=source))

    def write(self, dest: str, data: bytes) -> None:
        self.items.append(Item(dest, data=data))

    def write_json(self, dest: str, value: Any) -> None:
        self.write(dest, _json_bytes(value))

    def scored(self, split: str, name: str, source: Optional[Path] = None, data: Optional[bytes] = None) -> None:
        """A file of the scorer reference of ``split`` (a public split's is also published: ``publish_references``).

        A public split's reference.json says so (``"public": true``): ``bundler check`` refuses a last phase scoring it.
        """
        if REFERENCES[split]["public"] and name == REFERENCE_INFO and data is not None:
            data = _json_line({**json.loads(data), "public": True})
        self.items.append(Item(f"reference/{split}/{name}", source=source, data=data))

    def publish_references(self, folder: Callable[[str], str]) -> None:
        """Put a copy of each public split's scorer reference in ``public/<folder(split)>/`` (the challenge's layout)."""
        for split, about in REFERENCES.items():
            prefix = f"{about['path']}/"
            if about["public"]:
                self.items += [replace(item, dest=f"public/{folder(split)}/{item.dest[len(prefix):]}")
                               for item in list(self.items) if item.dest.startswith(prefix)]

    def scored_json(self, split: str, name: str, value: Any) -> None:
        self.scored(split, name, data=_json_bytes(value))

    def count(self, split: str, label: Optional[str] = None, items: int = 1, per_class: int = 1) -> None:
        """Count ``items`` in ``split`` and, with a ``label``, ``per_class`` for that class."""
        self.totals[split] += items
        if label is not None:
            self.counts.setdefault(split, Counter())[label] += per_class


@dataclass
class Outcome:
    """What a run did: files created (linked or copied), files found already in place, warnings and notes."""

    linked: int = 0
    copied: int = 0
    written: int = 0
    verified: int = 0
    warnings: List[str] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)


def shipped_list(competition: str, splits: str, name: str, competitions: Path) -> bytes:
    """A split list shipped, gzip-compressed, in ``<competitions>/<competition>/splits/<splits>/``."""
    path = competitions / competition / "splits" / splits / f"{name}.gz"
    if not path.is_file():
        raise DataError([f"{path}: not found; --splits {splits} reads the lists shipped in the competitions folder "
                         f"(--competitions {competitions})"])
    return gzip.decompress(path.read_bytes())


def check_sources(paths: Iterable[Path], what: str = "source") -> None:
    """Every file must exist, be non-empty and start like its format; all failures are listed at once."""
    problems = []
    paths = list(paths)
    for path in progress(paths, len(paths), "checking source files"):
        try:
            with path.open("rb") as stream:
                head = stream.read(12)
        except FileNotFoundError:
            problems.append(f"missing {what} file: {path}")
            continue
        except OSError as exc:
            problems.append(f"unreadable {what} file: {path} ({exc.strerror})")
            continue
        magic = MAGIC.get(path.suffix.lower())
        if not head:
            problems.append(f"corrupt {what} file: {path} is empty")
        elif magic is not None and (not head.startswith(magic) or (path.suffix.lower() == ".avi" and head[8:12] != b"AVI ")):
            problems.append(f"corrupt {what} file: {path} is not a {path.suffix.lstrip('.').upper()} file")
    if problems:
        raise DataError(problems + [f"{len(problems)} source problem(s); nothing was written"])


def _same(dest: Path, item: Item) -> bool:
    if item.data is not None:
        return dest.read_bytes() == item.data
    assert item.source is not None
    if os.path.samefile(dest, item.source):
        return True
    return dest.stat().st_size == item.source.stat().st_size and sha256(dest) == sha256(item.source)


def _place(dest: Path, item: Item, outcome: Outcome) -> None:
    """Create ``dest`` through a temporary name and a rename, so a crash never leaves half a file."""
    with replaced_atomically(dest, mode=None) as temporary:  # a hard link keeps its source's permissions
        if item.data is not None:
            temporary.write_bytes(item.data)
            outcome.written += 1
        else:
            assert item.source is not None
            try:
                os.link(item.source, temporary)
                outcome.linked += 1
            except OSError:  # another file system, or links not allowed: copy
                shutil.copyfile(item.source, temporary)
                outcome.copied += 1


def manifest_counts(folder: Path) -> Dict[str, Dict[str, int]]:
    """Split -> {"total": items, "classes": classes} from a ``bundler data`` folder's manifest; {} without one."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        return {split: {"total": int(counts["total"]), "classes": len(counts["per_class"])}
                for split, counts in manifest["counts"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def read_marker(folder: Path) -> Optional[Dict[str, Any]]:
    """What made a ``bundler data`` folder (competition, source, selection), or None if it is not one."""
    try:
        recorded = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return recorded if isinstance(recorded, dict) else None


def recorded_seed(out: Path, identity: Mapping[str, Any]) -> Optional[int]:
    """The seed of the build ``out`` holds if it was made for ``identity`` (what it was built from, but the seed), else
    None."""
    recorded = read_marker(out) or {}
    seed = recorded.get("seed")
    same = all(recorded.get(key) == value for key, value in identity.items())
    return seed if same and isinstance(seed, int) else None


def _difference(key: str, recorded: Any, value: Any) -> str:
    """How a recorded identity differs at ``key``; never the seed itself, which is secret."""
    return "a different seed" if key == "seed" else f"{key}: {recorded!r} there, {value!r} now"


def prepare_output(out: Path, source: Path, identity: Mapping[str, Any]) -> None:
    """Refuse an --out inside --source (or the reverse), and a non-empty --out that another run made."""
    out, source = out.resolve(), source.resolve()
    if out == source or source in out.parents or out in source.parents:
        raise DataError([f"--out {out} overlaps --source {source}; the source is never written to, choose another folder"])
    marker = out / MARKER
    if out.exists() and any(out.iterdir()):
        if not marker.is_file():
            raise DataError([f"--out {out} is not empty and was not made by 'bundler data'; choose an empty or new folder"])
        recorded = read_marker(out) or {}
        if recorded != dict(identity):
            differences = ", ".join(_difference(key, recorded.get(key), value)
                                    for key, value in identity.items() if recorded.get(key) != value)
            raise DataError([f"--out {out} holds another build ({differences}); choose another folder"])
        return
    out.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps(dict(identity), indent=1, sort_keys=True) + "\n", encoding="utf-8")


def materialise(plan: Plan, out: Path, outcome: Outcome) -> None:
    """Place every planned file, verifying those already there; a file that differs stops the run and is kept."""
    conflicts = []
    for item in progress(plan.items, len(plan.items), "placing files"):
        dest = out / item.dest
        if dest.exists():
            if _same(dest, item):
                outcome.verified += 1
            else:
                conflicts.append(f"{dest} differs from what this build would write; it was left as it is")
            continue
        _place(dest, item, outcome)
    if conflicts:
        raise DataError(conflicts + ["remove those files (or use a new --out) to rebuild them"])


def finish(plan: Plan, out: Path, outcome: Outcome) -> None:
    """Warn of files in --out that the plan does not hold, and write the manifest of the plan's files."""
    planned = {item.dest for item in plan.items}
    extra = sorted(str(p.relative_to(out)) for side in SIDES if (out / side).is_dir()
                   for p in (out / side).rglob("*") if p.is_file() and p.relative_to(out).as_posix() not in planned)
    if extra:
        outcome.warnings.append(f"{len(extra)} file(s) in --out are not part of this build and were kept, e.g. {extra[0]}")
    _write_manifest(plan, out)


def _write_manifest(plan: Plan, out: Path) -> None:
    files = sorted(plan.items, key=lambda item: item.dest)
    hashes = {item.dest: sha256(out / item.dest) for item in progress(files, len(files), "hashing files")}
    manifest = {
        "counts": {split: {"total": total, "per_class": dict(sorted(plan.counts.get(split, Counter()).items()))}
                   for split, total in sorted(plan.totals.items())},
        "references": REFERENCES,
        "files": hashes,
    }
    text = (json.dumps(manifest, indent=1) + "\n").encode()
    if (out / MANIFEST).is_file() and (out / MANIFEST).read_bytes() == text:
        return  # verified: nothing to change
    write_atomically(out / MANIFEST, text, mode=None)
