"""Build a competition bundle: validate, render, zip, and write it atomically."""

from __future__ import annotations

import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

from bundler import codabench, codalab
from bundler.competition import REPO, Competition, ConfigError
from bundler.pages import render_pages
from bundler.zips import folder_files, write_atomically, zip_bytes
from scoring.challenge import Challenge, load_reference
from scoring.errors import ReferenceDataError

SCORING = REPO / "scoring"
DEMO_SEED = 2020
SAMPLE_SEED = 7
PLATFORMS = {"codalab": codalab.competition_yaml, "codabench": codabench.competition_yaml}
METADATA = "command: python3 $program/scoring/score.py $input $output\ndescription: vipriors-bench scoring program\n"


@dataclass
class Built:
    """What a build wrote and which phases fell back to demo data."""

    path: Path
    demo_phases: List[str]
    size: int


def scoring_program_zip() -> bytes:
    """Our scoring/ package and the metadata whose command works when split on single spaces."""
    files = folder_files(SCORING, prefix="scoring/", suffixes=(".py",))
    files["metadata"] = METADATA.encode()
    return zip_bytes(files)


def _starting_kit(competition: Competition, reference: Path) -> bytes:
    challenge = competition.challenge
    _, loaded = load_reference(reference)
    sample = zip_bytes(challenge.sample_submission(loaded, SAMPLE_SEED))
    columns = "\n".join(f"- `{c.key}`: {c.label}. {c.description}" for c in challenge.columns)
    readme = f"""# {competition.config.title}: starting kit

## What to submit
{challenge.submission_format}

Example:

```
{challenge.submission_example.rstrip()}
```

`sample_submission.zip` is a valid submission with random predictions for the first phase's test
items: upload it to see the whole pipeline work, or use it as a template.

## Check a submission before uploading
The scoring program the server runs is in `scoring/`. It needs Python 3.9+, numpy and Pillow:

```
python3 scoring/score.py --reference REFERENCE_FOLDER your_submission.zip
```

Without the hidden reference you cannot get a score, but with any reference folder of the same
format (see below) it checks your file exactly as the server will, and prints one `error:` line
naming the file, line and value if anything is wrong.

Reference folder format (organisers): {challenge.reference_format}

## Scores
{columns}
"""
    files = folder_files(SCORING, prefix="scoring/", suffixes=(".py",))
    files["README.md"] = readme.encode()
    files["sample_submission.zip"] = sample
    return zip_bytes(files)


def _references(competition: Competition, overrides: Dict[str, Path], scratch: Path) -> Dict[int, Path]:
    """Each phase's reference folder: --reference, then the YAML, then generated demo data."""
    challenge: Challenge = competition.challenge
    folders: Dict[int, Path] = {}
    for number, phase in enumerate(competition.config.phases, 1):
        folder = overrides.get(str(number)) or overrides.get(phase.name) or phase.reference
        if folder is None:
            folder = scratch / f"demo_{number}"
            challenge.write_demo_reference(folder, DEMO_SEED + number)
        folders[number] = folder
    return folders


def check_overrides(competition: Competition, overrides: Dict[str, Path]) -> None:
    """Every --reference names a phase (by number or name) and a reference folder of the right task."""
    phases = competition.config.phases
    known = {str(i) for i in range(1, len(phases) + 1)} | {p.name for p in phases}
    problems = []
    for phase, folder in overrides.items():
        if phase not in known:
            problems.append(f"--reference {phase}=...: no such phase; use a number 1..{len(phases)} or a phase name")
            continue
        try:
            challenge, _ = load_reference(folder)
        except ReferenceDataError as exc:
            problems.append(f"--reference {phase}={folder}: {exc}")
            continue
        if challenge.task != competition.challenge.task:
            problems.append(f"--reference {phase}={folder}: a {challenge.task} reference, expected {competition.challenge.task}")
    if problems:
        raise ConfigError(problems)


def default_output(name: str, platform: str) -> Path:
    """``build/NAME_bundle.zip`` for CodaLab, ``build/NAME_codabench_bundle.zip`` for Codabench."""
    return REPO / "build" / (f"{name}_bundle.zip" if platform == "codalab" else f"{name}_{platform}_bundle.zip")


def build(competition: Competition, output: Path, overrides: Optional[Dict[str, Path]] = None,
          platform: str = "codalab") -> Built:
    """Write the bundle of ``competition`` for ``platform`` to ``output``; nothing is written if anything fails."""
    overrides = overrides or {}
    check_overrides(competition, overrides)
    with tempfile.TemporaryDirectory(prefix="vipriors-bundle-") as scratch:
        references = _references(competition, overrides, Path(scratch))
        phases = competition.config.phases
        demo_phases = [phases[n - 1].name for n, folder in references.items() if folder.is_relative_to(Path(scratch))]
        pages = render_pages(competition, demo_phases)
        logo = competition.config.logo
        logo_name = f"logo{logo.suffix.lower()}"
        page_files = {name: f"{name}.html" for name in pages}
        files: Dict[str, bytes] = {
            "competition.yaml": PLATFORMS[platform](competition, page_files, logo_name).encode(),
            logo_name: logo.read_bytes(),
            codalab.SCORING_PROGRAM: scoring_program_zip(),
            codalab.STARTING_KIT: _starting_kit(competition, references[1]),
        }
        files.update({page_files[name]: html.encode() for name, html in pages.items()})
        for number, folder in references.items():
            files[codalab.reference_zip_name(number)] = zip_bytes(folder_files(folder))
        data = zip_bytes(files)
    write_atomically(output, data)
    if demo_phases:
        print(
            f"WARNING: {', '.join(demo_phases)}: no reference data given, the bundle holds DEMO data and its "
            f"scores are meaningless. Pass --reference PHASE=DIR (or set 'reference:' in the YAML) for a real "
            f"competition.",
            file=sys.stderr,
        )
    return Built(output, demo_phases, len(data))
