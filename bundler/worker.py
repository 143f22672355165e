"""Run a bundle's scoring program on a submission exactly as the CodaLab v1 worker does."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

import yaml

from bundler.check import program_command


@dataclass
class Trial:
    """The worker's view of one run: process output, the parsed scores and the leaderboard row."""

    returncode: int
    stdout: str
    stderr: str
    row: Dict[str, Optional[float]] = field(default_factory=dict)  # column label -> value (None: empty)
    dropped: List[str] = field(default_factory=list)  # keys in scores.txt matching no column
    failure: str = ""


def _extract(data: bytes, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        archive.extractall(target)


def _program_folder(folder: Path) -> None:
    """If the program zip holds a single folder containing metadata, move it up, as the worker does."""
    entries = list(folder.iterdir())
    if len(entries) == 1 and entries[0].is_dir() and (entries[0] / "metadata").exists():
        inner = entries[0]
        for item in inner.iterdir():
            shutil.move(str(item), folder / item.name)
        inner.rmdir()


def _extract_inner_zips(folder: Path) -> None:
    for path in sorted(folder.rglob("*.zip")):
        with zipfile.ZipFile(path) as archive:
            archive.extractall(path.with_suffix(""))


def read_scores(text: str) -> Dict[str, float]:
    """scores.txt read as CodaLab reads it: ``line.split(":")`` must give two parts, the value a float."""
    scores = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        key, value = line.split(":")  # CodaLab's own parsing: more or fewer colons fail the submission
        scores[key.strip()] = float(value)
    return scores


def run_phase(bundle: Path, submission: Path, phase: int = 1, timeout: Optional[float] = None) -> Trial:
    """Score ``submission`` with the bundle's program and reference of ``phase``; map scores to the leaderboard."""
    with zipfile.ZipFile(bundle) as archive:
        config = yaml.full_load(archive.read("competition.yaml"))
        phases = config["phases"]
        if phase not in phases:
            raise ValueError(f"phase {phase} is not in the bundle (phases: {', '.join(map(str, phases))})")
        program = archive.read(phases[phase]["scoring_program"])
        reference = archive.read(phases[phase]["reference_data"])
    columns = config["leaderboard"]["columns"]
    with tempfile.TemporaryDirectory(prefix="codalab-run-") as run:
        root = Path(run)
        for name in ("program", "input/ref", "input/res", "output", "tmp", "shared"):
            (root / name).mkdir(parents=True, exist_ok=True)
        _extract(program, root / "program")
        _program_folder(root / "program")
        _extract(reference, root / "input" / "ref")
        _extract(submission.read_bytes(), root / "input" / "res")
        _extract_inner_zips(root / "input" / "res")
        command = program_command(program)
        for placeholder in ("program", "input", "output", "tmp", "shared"):
            command = command.replace(f"${placeholder}", str(root / placeholder))
        environment = dict(os.environ)
        # the platform image's python3 has numpy and Pillow; here, the interpreter running us does
        environment["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{environment.get('PATH', '')}"
        done = subprocess.run(command.split(" "), cwd=root, capture_output=True, text=True, env=environment,
                              timeout=timeout)
        trial = Trial(done.returncode, done.stdout, done.stderr)
        scores_path = root / "output" / "scores.txt"
        if not scores_path.exists():
            trial.failure = "no scores.txt: the platform marks the submission as failed"
            return trial
        try:
            scores = read_scores(scores_path.read_text())
        except ValueError as exc:
            trial.failure = f"scores.txt cannot be read as CodaLab reads it ({exc})"
            return trial
    trial.row = {column.get("label", key): scores.get(key) for key, column in columns.items()}
    trial.dropped = sorted(set(scores) - set(columns))
    return trial
