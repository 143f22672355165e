"""Build a competition bundle: validate, resolve the references, render, zip, and write it atomically."""

from __future__ import annotations

import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

from bundler.bundles.kit import scoring_files, starting_kit
from bundler.bundles.references import given_references, with_demo
from bundler.config.competition import COMPETITIONS, Competition
from bundler.data.engine import manifest_counts
from bundler.ground.editions import build_folder
from bundler.ground.facts import DEFAULT_PLATFORM, oversized
from bundler.ground.layout import (
    METADATA,
    PUBLIC_DATA,
    SCORING_PROGRAM,
    STARTING_KIT,
    logo_name,
    page_file,
    reference_zip_name,
)
from bundler.ground.zips import folder_files, zip_bytes
from bundler.pages.render import render_pages
from bundler.platforms import codabench, codalab
from scoring.files import write_atomically

DEMO_WARNING = ("no reference data given, the bundle holds DEMO data and its scores are meaningless. Build it with "
                "--data DIR (a 'bundler data' folder), or --reference PHASE=DIR, for a real competition.")
PLATFORMS = {"codabench": codabench, "codalab": codalab}  # the bundle writers, by the keys of SERVERS


@dataclass
class Built:
    """What a build wrote and which phases fell back to demo data."""

    path: Path
    demo_phases: List[str]
    size: int


def scoring_program_zip() -> bytes:
    """Our scoring/ package and the metadata whose command works when split on single spaces."""
    files = scoring_files()
    files["metadata"] = METADATA.encode()
    return zip_bytes(files)


def default_output(name: str, platform: str, competitions: Path = COMPETITIONS) -> Path:
    """``build/EDITION/NAME_codabench.zip`` or ``build/EDITION/NAME_codalab.zip`` for the edition's folder
    ``competitions``."""
    return build_folder(competitions) / f"{name}_{platform}.zip"


def build(competition: Competition, output: Path, overrides: Optional[Dict[str, Path]] = None,
          platform: str = DEFAULT_PLATFORM, data: Optional[Path] = None) -> Built:
    """Write the bundle of ``competition`` for ``platform`` to ``output``; nothing is written if anything fails.

    Each phase's reference comes from ``overrides`` (--reference), else ``data`` (a ``bundler data`` folder),
    else the YAML's ``reference:``, else generated demo data.
    """
    given = given_references(competition, overrides or {}, data)
    phases = competition.config.phases
    demo_phases = [phases[number - 1].name for number, folder in given.items() if folder is None]
    with tempfile.TemporaryDirectory(prefix="vipriors-bundle-") as scratch:
        references = with_demo(competition, given, Path(scratch))
        pages = render_pages(competition, demo_phases, manifest_counts(data) if data is not None else None)
        logo = competition.config.logo
        logo_member = logo_name(logo.suffix)
        page_files = {name: page_file(name) for name in pages}
        files: Dict[str, bytes] = {
            "competition.yaml": PLATFORMS[platform].competition_yaml(competition, page_files, logo_member).encode(),
            logo_member: logo.read_bytes(),
            SCORING_PROGRAM: scoring_program_zip(),
            STARTING_KIT: starting_kit(competition, references, Path(scratch)),
        }
        files.update({page_files[name]: html.encode() for name, html in pages.items()})
        if competition.public_data_file is not None:
            files[PUBLIC_DATA] = competition.public_data_file.read_bytes()
        for number, folder in references.items():
            files[reference_zip_name(number)] = zip_bytes(folder_files(folder))
        data = zip_bytes(files)
    write_atomically(output, data)
    warnings = [f"{', '.join(demo_phases)}: {DEMO_WARNING}"] if demo_phases else []
    warnings += PLATFORMS[platform].unsupported(competition)
    warnings += oversized(len(data)) if platform == "codabench" else []
    for warning in warnings:
        print(f"WARNING: {warning}", file=sys.stderr)
    return Built(output, demo_phases, len(data))
