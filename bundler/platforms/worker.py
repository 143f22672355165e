"""Run a bundle's scoring program on a submission as the CodaLab v1 or the Codabench worker does."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

import yaml

from bundler.config.competition import choose_phase
from bundler.ground.facts import (
    DEFAULT_DECIMALS,
    SERVERS,
    V1_METADATA,
    V2_METADATA,
    is_codabench,
    program_command,
    read_scores_txt,
)
from scoring.submission import ZIP_ERRORS


@dataclass
class Trial:
    """The worker's view of one run: process output, the parsed scores and the leaderboard row."""

    returncode: int
    stdout: str
    stderr: str
    row: Dict[str, Optional[float]] = field(default_factory=dict)  # column label -> value (None: empty)
    digits: Dict[str, int] = field(default_factory=dict)  # column label -> decimals the leaderboard shows
    dropped: List[str] = field(default_factory=list)  # keys in scores.txt matching no column
    failure: str = ""
    platform: str = ""  # the platform's name (SERVERS); every Trial is given one


def _extract(data: bytes, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        archive.extractall(target)


def _program_folder(folder: Path, metadata: Tuple[str, ...]) -> str:
    """Move a single folder holding the metadata up, as the worker does; return the metadata's command."""
    entries = list(folder.iterdir())
    if len(entries) == 1 and entries[0].is_dir() and any((entries[0] / name).exists() for name in metadata):
        inner = entries[0]
        for item in inner.iterdir():
            shutil.move(str(item), folder / item.name)
        inner.rmdir()
    return program_command({name: (folder / name).read_bytes() for name in metadata if (folder / name).is_file()},
                           metadata)


def _extract_inner_zips(folder: Path) -> None:
    for path in sorted(folder.rglob("*.zip")):
        with zipfile.ZipFile(path) as archive:
            archive.extractall(path.with_suffix(""))


def read_scores_v2(output: Path) -> Dict[str, float]:
    """What Codabench reads: scores.json (an object of numbers), else scores.txt as YAML."""
    path = output / "scores.json"
    if path.exists():
        data = json.loads(path.read_text(encoding="utf-8"))
    elif (output / "scores.txt").exists():
        data = yaml.safe_load((output / "scores.txt").read_text(encoding="utf-8"))
    else:
        raise FileNotFoundError("no scores.json or scores.txt")
    if not isinstance(data, dict):
        raise ValueError("expected an object of key -> number")
    bad = [key for key, value in data.items() if isinstance(value, bool) or not isinstance(value, (int, float))]
    if bad:
        raise ValueError(f"{bad[0]!r} is not a number")
    return {str(key): float(value) for key, value in data.items()}


@dataclass(frozen=True)
class Platform:
    """How one platform's worker lays out a run and reads its scores."""

    name: str
    folders: Dict[str, str]  # placeholder in the command -> folder of the run
    metadata: Tuple[str, ...]

    def output(self, root: Path) -> Path:
        return root / self.folders["output"]


CODALAB = Platform(SERVERS["codalab"].name, {name: name for name in ("program", "input", "output", "tmp", "shared")},
                   V1_METADATA)
CODABENCH = Platform(SERVERS["codabench"].name, {"program": "app/program", "input": "app/input", "output": "app/output",
                                                  "tmp": "app/tmp", "shared": "app/shared"}, V2_METADATA)


def _bundle_member(archive: zipfile.ZipFile, member: str, target: Path) -> None:
    """Extract a zip member of the bundle, or a folder of it, into ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    if member in archive.namelist():
        _extract(archive.read(member), target)
        return
    prefix = member.rstrip("/") + "/"
    for name in archive.namelist():
        if name.startswith(prefix) and not name.endswith("/"):
            path = target / name[len(prefix):]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(archive.read(name))


def _decimals(value: Any) -> int:
    """The decimals a leaderboard column shows (numeric_format, precision), the platforms' default if not given."""
    return int(value) if str(value).isdigit() else DEFAULT_DECIMALS


def _phase_v1(config: Dict[str, Any], wanted: str) -> Tuple[str, str, Dict[str, Tuple[str, int]]]:
    phases = config["phases"]
    number = choose_phase(wanted, [(int(n), str(phase.get("label", n))) for n, phase in sorted(phases.items())])
    columns = {key: (column.get("label", key), _decimals(column.get("numeric_format")))
               for key, column in config["leaderboard"]["columns"].items()}
    return phases[number]["scoring_program"], phases[number]["reference_data"], columns


def _phase_v2(config: Dict[str, Any], wanted: str) -> Tuple[str, str, Dict[str, Tuple[str, int]]]:
    phases = config["phases"]
    number = choose_phase(wanted, [(i, str(phase.get("name", i))) for i, phase in enumerate(phases, 1)])
    tasks = {task["index"]: task for task in config["tasks"]}
    task = tasks[phases[number - 1]["tasks"][0]]
    columns = {c["key"]: (c.get("title", c["key"]), _decimals(c.get("precision")))
               for board in config["leaderboards"] for c in board["columns"]}
    return task["scoring_program"], task["reference_data"], columns


def run_phase(bundle: Path, submission: Path, phase: Union[int, str] = 1, timeout: Optional[float] = None) -> Trial:
    """Score ``submission`` with the bundle's program and reference of ``phase`` (its number or name), as the worker would.

    An unknown phase raises UnknownPhase.

    A ``version: 2`` bundle runs in Codabench's layout (``/app/program``, ``/app/input/ref``,
    ``/app/input/res``, ``/app/output``, scores.json); any other in CodaLab's (scores.txt).
    """
    with zipfile.ZipFile(bundle) as archive, tempfile.TemporaryDirectory(prefix="worker-run-") as run:
        config = yaml.safe_load(archive.read("competition.yaml"))
        platform = CODABENCH if is_codabench(config) else CODALAB
        program, reference, columns = (_phase_v2 if platform is CODABENCH else _phase_v1)(config, str(phase))
        root = Path(run)
        folders = {name: root / folder for name, folder in platform.folders.items()}
        for folder in folders.values():
            folder.mkdir(parents=True, exist_ok=True)
        _bundle_member(archive, program, folders["program"])
        command = _program_folder(folders["program"], platform.metadata)
        _bundle_member(archive, reference, folders["input"] / "ref")
        try:
            _extract(submission.read_bytes(), folders["input"] / "res")
            _extract_inner_zips(folders["input"] / "res")
        except ZIP_ERRORS as exc:
            return Trial(1, "", "", failure=f"the platform cannot unpack {submission.name} ({exc}); upload a zip",
                         platform=platform.name)
        for placeholder, folder in folders.items():
            command = command.replace(f"${placeholder}", str(folder))
        environment = dict(os.environ)
        # the platform image's python3 has numpy and Pillow; here, the interpreter running us does
        environment["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{environment.get('PATH', '')}"
        done = subprocess.run(command.split(" "), cwd=root, capture_output=True, text=True, env=environment,
                              timeout=timeout)
        trial = Trial(done.returncode, done.stdout, done.stderr, platform=platform.name)
        try:
            if platform is CODABENCH:
                scores = read_scores_v2(folders["output"])
            else:
                scores = read_scores_txt((folders["output"] / "scores.txt").read_text(encoding="utf-8"))
        except FileNotFoundError:
            trial.failure = "no scores file: the platform marks the submission as failed"
            return trial
        except ValueError as exc:
            trial.failure = f"the scores file cannot be read as {platform.name} reads it ({exc})"
            return trial
    trial.row = {label: scores.get(key) for key, (label, _) in columns.items()}
    trial.digits = {label: digits for label, digits in columns.values()}
    trial.dropped = sorted(set(scores) - set(columns)) if platform is CODALAB else []
    return trial
