"""Does anything public in a bundle carry the hidden reference? The guard behind ``bundler check``.

Public is every member but the reference data, the scoring program and competition.yaml: the pages,
the logo, the starting kit, public data (nested zips opened). Two tests:

- a public file that is a copy of a reference file (other than reference.json and tiny files);
- a sample submission in the starting kit that scores clearly better, against a phase's reference,
  than random predictions for the same items do (the challenge's own sample, drawn from the
  reference's label-free view with other seeds): it was made from the labels.
"""

from __future__ import annotations

import hashlib
import io
import tempfile
import zipfile
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

from bundler.bundles.zips import write_folder, zip_bytes
from bundler.platforms.facts import named_members
from scoring.challenge import Challenge, has_labels, load_reference, read_reference_info
from scoring.cli import score_submission
from scoring.errors import ReferenceDataError, SubmissionError
from scoring.submission import ZIP_ERRORS

SMALL = 64  # bytes: a file this short (a header, an empty list) proves nothing
MARGIN = 0.05  # how far above the best random sample a kit sample may score before it is a leak
BASELINE_SEEDS = (101, 102, 103)
NESTED = 3  # zips inside zips opened at most this deep


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


def leak_problems(archive: zipfile.ZipFile, config: Dict[str, Any]) -> List[str]:
    """Every public member that carries reference content, named with the reference file it copies."""
    references = named_members(config, "reference_data")
    private = references | named_members(config, "scoring_program") | {"competition.yaml"}
    public: Dict[str, bytes] = {}
    secret: Dict[str, bytes] = {}
    for name in archive.namelist():
        if name.endswith("/"):
            continue
        if any(_under(name, member) for member in references):
            secret.update(_files(name, archive.read(name)))
        elif not any(_under(name, member) for member in private):
            public.update(_files(name, archive.read(name)))
    digests = {hashlib.sha256(data).digest(): name for name, data in secret.items()
               if len(data) >= SMALL and not name.endswith(("reference.json", ".zip"))}
    problems = [f"{name} is a copy of the hidden {digests[hashlib.sha256(data).digest()]}"
                for name, data in sorted(public.items()) if hashlib.sha256(data).digest() in digests]
    samples = {name: data for name, data in public.items() if name.endswith("sample_submission.zip")}
    for member in sorted(references):
        files = {name[len(member.rstrip("/")) + 1:]: data for name, data in secret.items()
                 if _under(name, member) and name != member}
        for sample, data in samples.items():
            problem = _sample_beats_chance(sample, data, member, files)
            if problem:
                problems.append(problem)
    return problems


def _sample_beats_chance(sample: str, data: bytes, member: str, files: Dict[str, bytes]) -> str:
    """A problem if ``sample`` scores clearly above random predictions against the reference ``files``."""
    with tempfile.TemporaryDirectory(prefix="leak-check-") as scratch:
        folder = Path(scratch) / "reference"
        for name, content in files.items():
            path = folder / name
            if folder.resolve() not in path.resolve().parents:
                continue  # a name escaping the folder: not a reference of ours
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        try:
            if not has_labels(read_reference_info(folder)):
                return ""
            challenge, reference = load_reference(folder)
            ours = _primary(challenge, folder, Path(scratch) / "sample.zip", data)
        except (ReferenceDataError, SubmissionError):
            return ""  # not our format, or a sample of another phase's items: nothing to compare
        write_folder(Path(scratch) / "label_free", challenge.label_free_files(reference))
        _, public = load_reference(Path(scratch) / "label_free")
        chance = max(_primary(challenge, folder, Path(scratch) / f"random_{seed}.zip",
                              zip_bytes(challenge.sample_submission(public, seed))) for seed in BASELINE_SEEDS)
    if ours > chance + MARGIN:
        column = challenge.primary
        return (f"{sample} scores {column.label} {ours:.4f} against {member}, far above random predictions for the same "
                f"items (at most {chance:.4f}): it was made from the hidden labels")
    return ""


def _primary(challenge: Challenge, folder: Path, path: Path, data: bytes) -> float:
    path.write_bytes(data)
    _, result = score_submission(folder, path)
    value = result.scores[challenge.primary.key]
    return value if challenge.primary.sort == "desc" else -value
