"""The starting kit: a README, the scoring program, a label-free reference per phase and a sample submission.

Everything in it is public, so it is made from label-free references alone: the sample reads only the
items' ids, names and sizes, and cannot carry a hidden label.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict

from bundler.config.competition import Competition
from bundler.ground.layout import SCORING_FOLDER
from bundler.ground.zips import folder_files, write_folder, zip_bytes
from bundler.pages.render import templates
from scoring.challenge import load_reference

SAMPLE_SEED = 7


def scoring_files() -> Dict[str, bytes]:
    """Our scoring/ package, as the members ``scoring/...`` of a zip."""
    return folder_files(SCORING_FOLDER, prefix="scoring/", suffixes=(".py",))


def kit_folder(phase: Any, number: int) -> str:
    """The starting kit's label-free reference folder of a phase: references/<split> (or phase<N> without a split)."""
    return f"references/{phase.split or f'phase{number}'}"


def _kit_references(competition: Competition, references: Dict[int, Path]) -> Dict[str, bytes]:
    """A label-free reference per phase (ids, names, sizes; never a label), as kit members."""
    files: Dict[str, bytes] = {}
    for number, phase in enumerate(competition.config.phases, 1):
        _, loaded = load_reference(references[number])
        for name, data in competition.challenge.label_free_files(loaded).items():
            files[f"{kit_folder(phase, number)}/{name}"] = data
    return files


def kit_readme(competition: Competition) -> str:
    """The kit's README.md: the phases' dates and the ranking rule, what to submit, each phase's check, the scores."""
    phases = competition.config.phases
    checks = [{"folder": kit_folder(phase, number), "phase": phase.name} for number, phase in enumerate(phases, 1)]
    return templates().get_template("kit_readme.md").render(
        title=competition.config.title, challenge=competition.challenge, checks=checks, phases=phases,
        ranking=competition.ranking_sentence, public_val=any(phase.split == "val" for phase in phases))


def starting_kit(competition: Competition, references: Dict[int, Path], scratch: Path) -> bytes:
    """The kit's zip; the sample is made from the first phase's label-free reference, written in ``scratch``."""
    files = scoring_files()
    label_free = _kit_references(competition, references)
    files.update(label_free)
    first = kit_folder(competition.config.phases[0], 1) + "/"
    folder = scratch / "kit_reference"
    write_folder(folder, {name[len(first):]: data for name, data in label_free.items() if name.startswith(first)})
    _, public = load_reference(folder)
    files["sample_submission.zip"] = zip_bytes(competition.challenge.sample_submission(public, SAMPLE_SEED))
    files["README.md"] = kit_readme(competition).encode()
    return zip_bytes(files)
