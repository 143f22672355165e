"""Build a competition bundle: validate, render, zip, and write it atomically."""

from __future__ import annotations

import json
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional

from bundler import codabench, codalab
from bundler.competition import REPO, Competition, ConfigError
from bundler.data.engine import MARKER
from bundler.pages import render_pages
from bundler.zips import folder_files, write_atomically, write_folder, zip_bytes
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


def _kit_readme(competition: Competition) -> str:
    challenge = competition.challenge
    phases = competition.config.phases
    columns = "\n".join(f"- `{c.key}`: {c.label}. {c.description}" for c in challenge.columns)
    checks = "\n".join(f"python3 scoring/score.py --reference {kit_folder(phase, number)} your_submission.zip"
                       f"   # {phase.name} phase" for number, phase in enumerate(phases, 1))
    val = ""
    if any(phase.split == "val" for phase in phases):
        val = """
## Score the validation set locally
The validation labels are public: the data you downloaded holds the full validation reference in
`public/references/val/`. With it the same command gives the scores the server would give:

```
python3 scoring/score.py --reference public/references/val your_val_submission.zip
```
"""
    return f"""# {competition.config.title}: starting kit

## What to submit
{challenge.submission_format}

Example:

```
{challenge.submission_example.rstrip()}
```

`sample_submission.zip` is a valid submission with random predictions for the items of
`{kit_folder(phases[0], 1)}/` ({phases[0].name} phase): upload it to see the whole pipeline work, or use
it as a template. It is made from that folder alone, which holds the items' ids, names and sizes
and no label.

## Check a submission before uploading
The scoring program the server runs is in `scoring/` (Python 3.9+, numpy and Pillow). Each phase
has a folder in `references/` listing its items without their labels; checking against it runs
every check the server runs:

```
{checks}
```

It prints `valid: N of N items; this reference holds no labels, so no score`, with a warning for
any item your file does not cover, or exits 1 with exactly the `error:` line the server would give
(file, line and value).
{val}
## Scores
{columns}
"""


def _starting_kit(competition: Competition, references: Dict[int, Path], scratch: Path) -> bytes:
    """README, scoring program, label-free references and a sample made from the first phase's label-free reference."""
    files = folder_files(SCORING, prefix="scoring/", suffixes=(".py",))
    label_free = _kit_references(competition, references)
    files.update(label_free)
    first = kit_folder(competition.config.phases[0], 1) + "/"
    folder = scratch / "kit_reference"
    write_folder(folder, {name[len(first):]: data for name, data in label_free.items() if name.startswith(first)})
    _, public = load_reference(folder)
    files["sample_submission.zip"] = zip_bytes(competition.challenge.sample_submission(public, SAMPLE_SEED))
    files["README.md"] = _kit_readme(competition).encode()
    return zip_bytes(files)


def _references(competition: Competition, explicit: Dict[int, Path], data: Dict[int, Path], scratch: Path
                ) -> Dict[int, Path]:
    """Each phase's reference folder: --reference, then --data, then the YAML, then generated demo data."""
    challenge: Challenge = competition.challenge
    folders: Dict[int, Path] = {}
    for number, phase in enumerate(competition.config.phases, 1):
        folder = explicit.get(number) or data.get(number) or phase.reference
        if folder is None:
            folder = scratch / f"demo_{number}"
            challenge.write_demo_reference(folder, DEMO_SEED + number)
        folders[number] = folder
    return folders


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
    phases = competition.config.phases
    numbers = {str(i): i for i in range(1, len(phases) + 1)}
    numbers.update({p.name: i for i, p in enumerate(phases, 1)})
    problems, explicit = [], {}
    for phase, folder in overrides.items():
        if phase not in numbers:
            problems.append(f"--reference {phase}=...: no such phase; use a number 1..{len(phases)} or a phase name")
            continue
        problem = reference_problem(folder, competition)
        if problem:
            problems.append(f"--reference {phase}={folder}: {problem}")
        explicit[numbers[phase]] = folder
    if problems:
        raise ConfigError(problems)
    return explicit


def data_references(competition: Competition, data: Path) -> Dict[int, Path]:
    """Each phase's reference in a ``bundler data`` folder, DATA/reference/<split>, by phase number."""
    try:
        made_for = json.loads((data / MARKER).read_text(encoding="utf-8")).get("competition")
    except (OSError, ValueError, AttributeError):
        raise ConfigError([f"--data {data}: not a folder written by 'python -m bundler data' (no {MARKER})"]) from None
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


def default_output(name: str, platform: str) -> Path:
    """``build/NAME_bundle.zip`` for CodaLab, ``build/NAME_codabench_bundle.zip`` for Codabench."""
    return REPO / "build" / (f"{name}_bundle.zip" if platform == "codalab" else f"{name}_{platform}_bundle.zip")


def build(competition: Competition, output: Path, overrides: Optional[Dict[str, Path]] = None,
          platform: str = "codalab", data: Optional[Path] = None) -> Built:
    """Write the bundle of ``competition`` for ``platform`` to ``output``; nothing is written if anything fails.

    Each phase's reference comes from ``overrides`` (--reference), else ``data`` (a ``bundler data`` folder),
    else the YAML's ``reference:``, else generated demo data.
    """
    explicit = check_overrides(competition, overrides or {})
    from_data = data_references(competition, data) if data is not None else {}
    with tempfile.TemporaryDirectory(prefix="vipriors-bundle-") as scratch:
        references = _references(competition, explicit, from_data, Path(scratch))
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
            codalab.STARTING_KIT: _starting_kit(competition, references, Path(scratch)),
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
