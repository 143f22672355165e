"""What our bundles hold: the member names that the assembly and both platforms' competition.yaml writers share."""

from __future__ import annotations

from pathlib import Path

import scoring

SCORING_FOLDER = Path(scoring.__file__).resolve().parent  # the scoring program our bundles and kits ship
SCORING_PROGRAM = "scoring_program.zip"
STARTING_KIT = "starting_kit.zip"
PUBLIC_DATA = "public_data.zip"  # the participants' data, when the config attaches it to the phases
LEADERBOARD_KEY = "RESULTS"  # our one leaderboard
#: the scoring program's metadata: its command works when the worker splits it on single spaces
METADATA = "command: python3 $program/scoring/score.py $input $output\ndescription: vipriors-bench scoring program\n"


def reference_zip_name(phase_number: int) -> str:
    """The bundle member holding a phase's reference data."""
    return f"reference_data_{phase_number}.zip"


def page_file(name: str) -> str:
    """The bundle member holding a rendered page."""
    return f"{name}.html"


def logo_name(suffix: str) -> str:
    """The bundle member holding the logo, from the organiser's file's suffix."""
    return f"logo{suffix.lower()}"
