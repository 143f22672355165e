"""Does anything public in a bundle carry the hidden reference? The guard behind ``bundler check``.

Public is every member but the reference data, the scoring program and competition.yaml: the pages,
the logo, the starting kit, public data, with nested zips opened. A phase's reference is itself
public when its reference.json says so (``"public": true``: the val labels ``bundler data`` hands
to participants) or when a labelled reference published in the bundle holds all of its facts; the
last phase, which ranks the competition, must not score such a reference. Against every other
(hidden) reference the guard looks at content, not bytes:

- every public file and zip, and every folder of PNGs, that the challenge's own reader accepts as a
  submission is scored; one that scores clearly above random predictions for the same items (the
  challenge's sample, drawn from the reference's label-free view) was made from the labels;
- every public file is searched for the reference's hidden facts, the challenge's own kind (item and
  class, image and box, label map, ...; ``scoring.facts``), read through the views of ``fingerprints``:
  more of them than chance and the public references explain is a leak, named with the numbers;
- a public file that is a byte copy of a reference file is named as such;
- the items' public names, sorted, must not group their hidden labels beyond chance (``order``: 2020's action
  test clips were named class by class), for challenges with a label per item.

A phase whose reference holds no labels (``"labels": false``, what participants check submissions with)
could score nothing: it is named with the folder that was meant.
"""

from __future__ import annotations

import hashlib
import io
import json
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Dict, Iterator, List, Optional, Set, Tuple

from bundler.bundles.fingerprints import PublicView, chance_level
from bundler.bundles.order import ALPHA, order_leak
from bundler.bundles.references import PUBLIC_INFO, labelled, publicly_labelled, unfit
from bundler.ground.facts import is_codabench, named_members
from bundler.ground.zips import write_folder
from scoring.challenge import REFERENCE_INFO, Challenge, has_labels, load_reference, read_reference_info
from scoring.errors import ReferenceDataError, SubmissionError
from scoring.facts import HiddenFacts
from scoring.submission import ZIP_ERRORS, Submission

SMALL = 64  # bytes: a file this short (a header, an empty list) proves nothing as a copy
MARGIN = 0.05  # how far above the best random sample a public submission may score before it is a leak
BASELINE_SEEDS = (101, 102, 103)
NESTED = 3  # zips inside zips opened at most this deep
SUBMISSION_SUFFIXES = (".csv", ".tsv", ".txt", ".json", ".gz", ".npz")  # a public file scored alone as a submission


def _files(name: str, data: bytes, depth: int = 0) -> Iterator[Tuple[str, bytes]]:
    """``name`` and, for a zip, every file inside it (``outer.zip/inner``), nested zips opened."""
    yield name, data
    if depth >= NESTED or not name.lower().endswith(".zip"):
        return
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            inner = [(info.filename, archive.read(info)) for info in archive.infolist() if not info.is_dir()]
    except ZIP_ERRORS:
        return
    for member, content in inner:
        yield from _files(f"{name}/{member}", content, depth + 1)


def _under(name: str, member: str) -> bool:
    return name == member or name.startswith(member.rstrip("/") + "/")


def _inside(files: Dict[str, bytes], prefix: str) -> Dict[str, bytes]:
    """The files below ``prefix/``, named relative to it."""
    start = prefix.rstrip("/") + "/"
    return {name[len(start):]: data for name, data in files.items() if name.startswith(start)}


@dataclass
class Reference:
    """A phase's reference, loaded from the bundle: its challenge, its data, what it hides, and whether it is public."""

    member: str
    files: Dict[str, bytes]
    challenge: Challenge
    loaded: Any
    hidden: HiddenFacts
    public: str = ""  # why participants hold its labels ("" if they do not)
    info_public: bool = False  # its reference.json says so (phase_reference_problems reports it on the last phase)


def _load(folder: Path, files: Dict[str, bytes]) -> Optional[Tuple[Challenge, Any, Dict[str, Any]]]:
    """A reference folder written to ``folder`` and loaded, or None if it is not a labelled reference of ours."""
    safe = {name: data for name, data in files.items()
            if not PurePosixPath(name).is_absolute() and ".." not in PurePosixPath(name).parts}
    try:
        write_folder(folder, safe)
        info = read_reference_info(folder)
        if not has_labels(info):
            return None
        challenge, loaded = load_reference(folder)
    except (ReferenceDataError, OSError, ValueError):
        return None
    return challenge, loaded, info


def _references(secret: Dict[str, bytes], members: List[str], scratch: Path) -> List[Reference]:
    found = []
    for number, member in enumerate(members):
        files = _inside(secret, member)
        loaded = _load(scratch / f"hidden_{number}", files)
        if loaded is not None:
            challenge, data, info = loaded
            public = info.get("public") is True
            found.append(Reference(member, files, challenge, data, challenge.hidden_facts(data),
                                   PUBLIC_INFO if public else "", public))
    return found


def _public_references(public: Dict[str, bytes], scratch: Path) -> List[Tuple[str, HiddenFacts]]:
    """Every labelled reference folder published in the bundle (a reference.json with labels), with its facts."""
    found = []
    for number, name in enumerate(sorted(n for n in public if PurePosixPath(n).name == REFERENCE_INFO and "/" in n)):
        folder = str(PurePosixPath(name).parent)
        loaded = _load(scratch / f"public_{number}", _inside(public, folder))
        if loaded is not None:
            challenge, data, _ = loaded
            found.append((folder, challenge.hidden_facts(data)))
    return found


def _phase_references(config: Dict[str, Any]) -> List[Tuple[str, Optional[str]]]:
    """(name, reference member) of every phase, in order; the last phase ranks the competition."""
    if is_codabench(config):
        phases, tasks = config.get("phases"), config.get("tasks")
        if not isinstance(phases, list) or not isinstance(tasks, list):
            return []
        by_index = {task["index"]: task for task in tasks if isinstance(task, dict) and isinstance(task.get("index"), (int, str))}
        found = []
        for number, phase in enumerate(phases, 1):
            phase = phase if isinstance(phase, dict) else {}
            listed = phase.get("tasks")
            first = listed[0] if isinstance(listed, list) and listed and isinstance(listed[0], (int, str)) else None
            task = by_index.get(first) or {}
            found.append((str(phase.get("name", number)), _member(task)))
        return found
    phases = config.get("phases")
    if not isinstance(phases, dict):
        return []
    ordered = sorted(phases.items(), key=lambda item: int(item[0]) if str(item[0]).isdigit() else -1)
    return [(str(phase.get("label", number)) if isinstance(phase, dict) else str(number),
             _member(phase) if isinstance(phase, dict) else None) for number, phase in ordered]


def _member(entry: Dict[str, Any]) -> Optional[str]:
    return str(entry["reference_data"]) if entry.get("reference_data") else None


def _secret_files(archive: zipfile.ZipFile, members: Set[str]) -> Dict[str, bytes]:
    """The files of the reference members, nested zips opened."""
    secret: Dict[str, bytes] = {}
    for name in archive.namelist():
        if not name.endswith("/") and any(_under(name, member) for member in members):
            secret.update(_files(name, archive.read(name)))
    return secret


def _reference_info(archive: zipfile.ZipFile, member: str) -> Dict[str, Any]:
    """The reference.json of a reference member (a zip or a folder of the bundle); {} where it is missing or unreadable
    (the platform's own checks and the leak guard report those)."""
    try:
        if member in archive.namelist() and not member.endswith("/"):
            with zipfile.ZipFile(io.BytesIO(archive.read(member))) as inner:
                data = inner.read(REFERENCE_INFO)
        else:
            data = archive.read(f"{member.rstrip('/')}/{REFERENCE_INFO}")
        info = json.loads(data)
    except (KeyError, ValueError, *ZIP_ERRORS):
        return {}
    return info if isinstance(info, dict) else {}


def phase_reference_problems(archive: zipfile.ZipFile, config: Dict[str, Any]) -> List[str]:
    """Phases that cannot score their reference as meant (:func:`unfit`), read from each reference.json alone: ``check``
    runs it with or without the leak guard."""
    phases = _phase_references(config)
    problems = []
    for number, (name, member) in enumerate(phases, 1):
        reason = unfit(_reference_info(archive, member), number == len(phases)) if member else None
        if reason:
            split = "test" if number == len(phases) else "val"
            problems.append(f"phase {number} ({name}) scores {member}, {reason}; build the bundle with {labelled(split)}")
    return problems


def leak_problems(archive: zipfile.ZipFile, config: Dict[str, Any]) -> List[str]:
    """Every public member that carries hidden reference content, and a ranking phase that scores public labels."""
    members = named_members(config, "reference_data")
    private = members | named_members(config, "scoring_program") | {"competition.yaml"}
    secret = _secret_files(archive, members)
    public: Dict[str, bytes] = {}
    for name in archive.namelist():
        if not name.endswith("/") and not any(_under(name, member) for member in private):
            public.update(_files(name, archive.read(name)))
    problems: List[str] = []
    with tempfile.TemporaryDirectory(prefix="leak-check-") as folder:
        scratch = Path(folder)
        references = _references(secret, sorted(members), scratch)
        published = _public_references(public, scratch)
        for reference in references:
            for where, facts in published:
                if not reference.public and type(facts) is type(reference.hidden) and reference.hidden.facts <= facts.facts:
                    reference.public = f"{where} in the bundle holds all its labels"
        phases = _phase_references(config)
        for reference in references:  # public by its reference.json: phase_reference_problems says so
            if reference.public and not reference.info_public and phases and reference.member == phases[-1][1]:
                problems.append(f"phase {len(phases)} ({phases[-1][0]}) scores {reference.member}, "
                                f"{publicly_labelled(reference.public)}")
        hidden = [reference for reference in references if not reference.public]
        explained = [facts for _, facts in published]
        problems += _copies(public, hidden)
        for reference in hidden:
            problems += _order_found(reference)
            problems += _facts_found(public, reference, explained)
            problems += _submissions_above_chance(public, reference, scratch)
    return problems


def _order_found(reference: Reference) -> List[str]:
    """The reference's items, sorted by their public names, grouping their hidden labels beyond chance."""
    labels = reference.hidden.item_labels()
    if labels is None:
        return []  # facts that are not one label per item: no order of items to give them away
    leak = order_leak(labels)
    if leak is None:
        return []
    return [f"{reference.member}: sorted by their public names, {leak.same} of its {leak.pairs} neighbouring items share "
            f"their class ({leak.same / leak.pairs:.0%}); random order would give about {leak.expected:.1f} "
            f"({leak.expected / leak.pairs:.1%}), and {leak.threshold} or more with probability below {ALPHA:g}: the "
            f"names' order gives the hidden labels away; name the items in a random order"]


def _copies(public: Dict[str, bytes], hidden: List[Reference]) -> List[str]:
    """Public files that are byte copies of a hidden reference's files that carry its labels (not its class list)."""
    digests = {hashlib.sha256(data).digest(): f"{reference.member}/{name}" for reference in hidden
               for name, data in reference.files.items()
               if len(data) >= SMALL and name != REFERENCE_INFO and reference.hidden.found_in(PublicView(name, data)).facts}
    return [f"{name} is a copy of the hidden {digests[hashlib.sha256(data).digest()]}"
            for name, data in sorted(public.items()) if hashlib.sha256(data).digest() in digests]


def _facts_found(public: Dict[str, bytes], reference: Reference, explained: List[HiddenFacts]) -> List[str]:
    """Public files (a zip's files one by one) holding more of the reference's hidden facts than chance and the public
    references explain. A file's views live while it is searched: decoded images of a whole bundle need not fit in
    memory."""
    hidden = reference.hidden
    known = set().union(*(facts.facts for facts in explained if type(facts) is type(hidden))) if explained else set()
    secret = hidden.facts - known
    if not secret:
        return []
    narrowed = hidden.narrowed(secret)
    problems = []
    for view in (PublicView(name, data) for name, data in sorted(public.items()) if not name.lower().endswith(".zip")):
        found = narrowed.found_in(view)
        expected, threshold = chance_level(found.guesses, hidden.chance)
        if found.facts and len(found.facts) >= threshold:
            problems.append(
                f"{view.name} holds {len(found.facts)} of the {len(hidden.facts)} hidden {hidden.noun} of "
                f"{reference.member} ({len(found.facts) / len(hidden.facts):.0%}); chance would give about {expected:.1f} "
                f"of the {found.guesses} it states: it carries the hidden reference")
    return problems


def _candidates(public: Dict[str, bytes]) -> Iterator[Tuple[str, Dict[str, bytes]]]:
    """Every public zip (its files), text file (alone) and folder of PNGs (its PNGs), as a submission's files."""
    for name, data in sorted(public.items()):
        if name.lower().endswith(".zip"):
            yield name, _inside(public, name)
        elif name.lower().endswith(SUBMISSION_SUFFIXES):
            yield name, {PurePosixPath(name).name: data}
    folders = sorted({str(PurePosixPath(name).parent) for name in public if name.lower().endswith(".png")})
    for folder in folders:
        pngs = {name: data for name, data in _inside(public, folder).items() if "/" not in name and name.endswith(".png")}
        yield f"{folder}/", pngs


def _primary(challenge: Challenge, reference: Any, files: Dict[str, bytes], folder: Path) -> Optional[float]:
    """The primary score of ``files`` as a submission (higher is better), or None if the reader refuses them."""
    try:
        write_folder(folder, files)
        with Submission(folder, challenge.max_submission_bytes) as submission:
            value = challenge.score(reference, submission).scores[challenge.primary.key]
    except (SubmissionError, ReferenceDataError, OSError, ValueError):
        return None
    return value if challenge.primary.sort == "desc" else -value


def _submissions_above_chance(public: Dict[str, bytes], reference: Reference, scratch: Path) -> List[str]:
    """Public files or zips that score clearly above random predictions against the reference."""
    challenge = reference.challenge
    with tempfile.TemporaryDirectory(dir=scratch) as work:
        write_folder(Path(work) / "label_free", challenge.label_free_files(reference.loaded))
        _, label_free = load_reference(Path(work) / "label_free")
        chance = max(_primary(challenge, reference.loaded, challenge.sample_submission(label_free, seed), Path(work) / "s")
                     or 0.0 for seed in BASELINE_SEEDS)
        problems = []
        for name, files in _candidates(public):
            if not files:
                continue
            ours = _primary(challenge, reference.loaded, files, Path(work) / "candidate")
            if ours is not None and ours > chance + MARGIN:
                column = challenge.primary
                problems.append(f"{name} scores {column.label} {ours:.4f} against {reference.member}, far above random "
                                f"predictions for the same items (at most {chance:.4f}): it was made from the hidden labels")
    return problems
