"""Helpers shared by the tests: run the scoring CLI in-process, write zips and reference folders."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Mapping, Optional, Union

from bundler.bundles.fingerprints import PublicView, chance_level
from scoring.cli import main
from scoring.facts import Found, HiddenFacts

#: a moment before the shipped competitions open, for pages that depend on the date
BEFORE = dt.datetime(2027, 1, 1, tzinfo=dt.timezone.utc)

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data" / "vipriors-2020"
#: competition folder -> its folder in the 2020 lists (as ../shared names it)
SHIPPED_2020 = {"classification": "classification", "segmentation": "segmentation", "action": "action-recognition"}


@dataclass
class Run:
    code: int
    out: str
    err: str


def score(*args: Union[str, Path]) -> Run:
    """Run score.py's main in-process and capture what it prints."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return Run(code, out.getvalue(), err.getvalue())


def scores_of(tmp_path: Path, reference: Path, submission: Path) -> Dict[str, float]:
    """Score in local mode, expect success, and return scores.json."""
    run = score("--reference", reference, submission, "--output", tmp_path / "out")
    assert run.code == 0, run.err
    return json.loads((tmp_path / "out" / "scores.json").read_text())


def write_zip(path: Path, files: Mapping[str, Union[str, bytes]]) -> Path:
    """A zip of ``files`` (name -> content)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return path


def write_reference(folder: Path, info: Dict[str, object], files: Mapping[str, Union[str, bytes]]) -> Path:
    """A reference folder: reference.json plus ``files``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "reference.json").write_text(json.dumps(info))
    for name, content in files.items():
        target = folder / name
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)
    return folder


def assert_rejected(run: Run, output: Optional[Path], *fragments: str) -> None:
    """Exit 1, one 'error:' line holding every fragment, no traceback, and no scores written."""
    assert run.code == 1, (run.code, run.err)
    lines = run.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), run.err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    assert "Traceback" not in run.err + run.out
    if output is not None:
        assert not (output / "scores.txt").exists()
        assert not (output / "scores.json").exists()


def found_in(data: bytes, hidden: HiddenFacts) -> Found:
    """The hidden facts a public file holding ``data`` reveals, as the leak guard reads it."""
    return hidden.found_in(PublicView("public.file", data))


def leaked(found: Found, hidden: HiddenFacts) -> bool:
    """Whether the leak guard calls ``found`` a leak: facts found, as many as chance explains or more."""
    return bool(found.facts) and len(found.facts) >= chance_level(found.guesses, hidden.chance)[1]
