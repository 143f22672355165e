"""Which reference folder each phase of a competition scores against: --reference, --data, the YAML, or demo data."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Optional

from bundler.config.competition import Competition, ConfigError
from bundler.data.engine import MARKER, read_marker
from scoring.challenge import load_reference
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


def check_overrides(competition: Competition, overrides: Dict[str, Path]) -> Dict[int, Path]:
    """Every --reference names a phase (by number or name) and a reference folder of the right task; by phase number."""
    problems, explicit = [], {}
    for phase, folder in overrides.items():
        try:
            number = competition.phase_number(phase)
        except ConfigError as exc:
            problems.append(f"--reference {phase}=...: {exc}")
            continue
        problem = reference_problem(folder, competition)
        if problem:
            problems.append(f"--reference {phase}={folder}: {problem}")
        explicit[number] = folder
    if problems:
        raise ConfigError(problems)
    return explicit


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

    Raises ConfigError listing every override or --data problem.
    """
    explicit = check_overrides(competition, overrides)
    from_data = data_references(competition, data) if data is not None else {}
    return {number: explicit.get(number) or from_data.get(number) or phase.reference
            for number, phase in enumerate(competition.config.phases, 1)}


def with_demo(competition: Competition, given: Dict[int, Optional[Path]], scratch: Path) -> Dict[int, Path]:
    """``given``, with demo data generated in ``scratch`` for each phase that has no reference."""
    folders: Dict[int, Path] = {}
    for number, folder in given.items():
        if folder is None:
            folder = scratch / f"demo_{number}"
            competition.challenge.write_demo_reference(folder, DEMO_SEED + number)
        folders[number] = folder
    return folders
