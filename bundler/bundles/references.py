"""Which reference folder each phase of a competition scores against: --reference, --data, the YAML, or demo data."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from bundler.config.competition import Competition, ConfigError
from bundler.data.engine import MARKER, read_marker
from scoring.challenge import has_labels, load_reference, read_reference_info
from scoring.errors import ReferenceDataError

DEMO_SEED = 2020


def reference_problem(folder: Path, competition: Competition) -> Optional[str]:
    """Why ``folder`` cannot be a reference of ``competition``, or None."""
    try:
        challenge, _ = load_reference(folder)
    except ReferenceDataError as exc:
        return str(exc)
    if challenge.task != competition.challenge.task:
        return f"a {challenge.task} reference, expected {competition.challenge.task}"
    return None


def _meant(folder: Path, split: str) -> str:
    """The labelled reference an organiser meant instead of ``folder``: reference/<split> of its ``bundler data`` folder."""
    if folder.parent.name == "references" and folder.parent.parent.name == "public":
        return str(folder.parents[2] / "reference" / split)
    if folder.parent.name == "reference":
        return str(folder.parent / split)
    return labelled(split)


def labelled(split: str) -> str:
    """The reference a phase of ``split`` should score, wherever it lives."""
    return f"the labelled reference/{split} of a 'bundler data' folder"


LABEL_FREE = 'a label-free reference (its reference.json says "labels": false): every submission would fail'
PUBLIC_INFO = 'its reference.json says "public": true'


def publicly_labelled(why: str) -> str:
    """Why a phase that ranks the competition cannot score a reference whose labels participants hold (``why``)."""
    return (f"labels participants hold ({why}), but the phase ranks the competition: rank on hidden test labels (val "
            f"may only be a development phase)")


def unfit(info: Dict[str, Any], ranks: bool) -> Optional[str]:
    """Why a phase cannot score a reference with this reference.json: it holds no labels, or the phase ranks the
    competition (``ranks``) and participants hold the labels; None if it can. ``build``, ``check`` and ``results`` say
    it each about what they hold: a folder, a bundle member."""
    if not has_labels(info):
        return LABEL_FREE
    if ranks and info.get("public") is True:
        return publicly_labelled(PUBLIC_INFO)
    return None


def scoring_problem(folder: Path, number: int, phase: Any, ranks: bool) -> Optional[str]:
    """Why phase ``number`` cannot score ``folder``, a reference of its task (see :func:`unfit`), with the folder
    that was meant; None if it can."""
    try:
        reason = unfit(read_reference_info(folder), ranks)
    except ReferenceDataError as exc:
        return str(exc)
    if reason is None:
        return None
    split = "test" if ranks else phase.split or "val"
    return f"phase {number} ({phase.name}) would score {reason}; meant: {_meant(folder, split)}"


def _overridden(competition: Competition, overrides: Dict[str, Path]) -> Tuple[Dict[int, Tuple[str, Path]], List[str]]:
    """Each --reference by phase number, with how it was given; and the problems (an unknown phase, a wrong folder)."""
    problems, explicit = [], {}
    for phase, folder in overrides.items():
        try:
            number = competition.phase_number(phase)
        except ConfigError as exc:
            problems.append(f"--reference {phase}=...: {exc}")
            continue
        given = f"--reference {phase}={folder}"
        problem = reference_problem(folder, competition)
        if problem:
            problems.append(f"{given}: {problem}")
            continue
        explicit[number] = (given, folder)
    return explicit, problems


def data_references(competition: Competition, data: Path) -> Dict[int, Path]:
    """Each phase's reference in a ``bundler data`` folder, DATA/reference/<split>, by phase number."""
    made_for = (read_marker(data) or {}).get("competition")
    if made_for is None:
        raise ConfigError([f"--data {data}: not a folder written by 'python -m bundler data' (no {MARKER})"])
    if made_for != competition.name:
        raise ConfigError([f"--data {data}: prepared for {made_for!r}, not {competition.name!r}"])
    problems, folders = [], {}
    for number, phase in enumerate(competition.config.phases, 1):
        if phase.split is None:
            problems.append(f"phases[{number}] ({phase.name}): no 'split:' in {competition.folder / 'competition.yaml'}; "
                            f"--data needs it to pick reference/val or reference/test")
            continue
        folder = data / "reference" / phase.split
        problem = reference_problem(folder, competition)
        if problem:
            problems.append(f"--data {data}: phase {number} ({phase.name}) scores {phase.split}, but {problem}")
        folders[number] = folder
    if problems:
        raise ConfigError(problems)
    return folders


def given_references(competition: Competition, overrides: Dict[str, Path], data: Optional[Path]
                     ) -> Dict[int, Optional[Path]]:
    """Each phase's reference folder: --reference (``overrides``), then --data, then the YAML; None: demo data.

    Raises ConfigError listing every problem: a wrong --reference or --data folder, and a phase that would score a
    label-free reference or, ranking the competition, labels participants hold.
    """
    explicit, problems = _overridden(competition, overrides)
    from_data: Dict[int, Path] = {}
    if data is not None:
        try:
            from_data = data_references(competition, data)
        except ConfigError as exc:
            problems += exc.problems
    phases = competition.config.phases
    folders: Dict[int, Optional[Path]] = {}
    for number, phase in enumerate(phases, 1):
        if number in explicit:
            given, folder = explicit[number]
        elif number in from_data:
            given, folder = f"--data {data}", from_data[number]
        else:
            given, folder = f"{competition.folder / 'competition.yaml'}: phases[{number}].reference", phase.reference
        folders[number] = folder
        problem = folder and scoring_problem(folder, number, phase, number == len(phases))
        if problem:
            problems.append(f"{given}: {problem}")
    if problems:
        raise ConfigError(problems)
    return folders


def with_demo(competition: Competition, given: Dict[int, Optional[Path]], scratch: Path) -> Dict[int, Path]:
    """``given``, with demo data generated in ``scratch`` for each phase that has no reference."""
    folders: Dict[int, Path] = {}
    for number, folder in given.items():
        if folder is None:
            folder = scratch / f"demo_{number}"
            competition.challenge.write_demo_reference(folder, DEMO_SEED + number)
        folders[number] = folder
    return folders
