"""Write the competition.yaml of a CodaLab Competitions (v1) bundle.

Only keys CodaLab's models know; leaderboard columns come from the scoring module's declarations
(primary first), tied to the leaderboard with a YAML anchor; dates are UTC instants (a date alone as
written, which CodaLab reads as 00:00 UTC). Strings are written as JSON strings, which YAML reads back unchanged.
"""

from __future__ import annotations

from typing import Dict, List

from bundler.bundles.layout import LEADERBOARD_KEY, SCORING_PROGRAM, STARTING_KIT, reference_zip_name
from bundler.config.competition import Competition
from bundler.config.schema import Moment
from bundler.config.yaml_lines import yaml_text
from bundler.platforms.facts import utc_timestamp
from scoring.challenge import Column


def _moment(moment: Moment) -> str:
    """A date alone as written (CodaLab reads it as 00:00 UTC); a date and time as its UTC timestamp."""
    return moment.text if moment.date_only else utc_timestamp(moment.when)


def _flag(value: bool) -> str:
    return "True" if value else "False"


def leaderboard_columns(columns: List[Column]) -> List[str]:
    """The ``leaderboard:`` section: one leaderboard, one column per declared metric, primary ranked first."""
    lines = ["leaderboard:", "  leaderboards:", f"    {LEADERBOARD_KEY}: &{LEADERBOARD_KEY}",
             '      label: "Results"', "      rank: 1", "  columns:"]
    for rank, column in enumerate(columns, 1):
        lines += [
            f"    {column.key}:",
            f"      leaderboard: *{LEADERBOARD_KEY}",
            f"      label: {yaml_text(column.label)}",
            f"      rank: {rank}",
            f"      sort: {column.sort}",
            f"      numeric_format: {column.digits}",
        ]
    return lines


def competition_yaml(competition: Competition, page_files: Dict[str, str], logo_name: str) -> str:
    """The whole competition.yaml text."""
    config = competition.config
    lines = [
        f"title: {yaml_text(config.title)}",
        f"description: {yaml_text(config.description)}",
        f"image: {yaml_text(logo_name)}",
        f"has_registration: {_flag(config.registration_required)}",
        f"allow_teams: {_flag(config.allow_teams)}",
        f"competition_docker_image: {yaml_text(competition.docker_image)}",
        "enable_detailed_results: True",
        "force_submission_to_leaderboard: True",
    ]
    if config.end_date is not None:
        lines.append(f"end_date: {_moment(config.end_date)}")
    lines.append("html:")
    lines += [f"  {yaml_text(name)}: {yaml_text(file)}" for name, file in page_files.items()]
    lines.append("phases:")
    for number, phase in enumerate(config.phases, 1):
        lines += [
            f"  {number}:",
            f"    phasenumber: {number}",
            f"    label: {yaml_text(phase.name)}",
            f"    description: {yaml_text(phase.description)}",
            f"    start_date: {_moment(phase.start)}",
            f"    color: {phase.color}",
            f"    max_submissions: {phase.max_submissions}",
            f"    max_submissions_per_day: {phase.max_submissions_per_day}",
            f"    execution_time_limit: {phase.execution_time_limit}",
            "    is_scoring_only: True",
            "    auto_migration: False",  # a new phase has new reference data: old submissions would not fit
            f"    scoring_program: {SCORING_PROGRAM}",
            f"    reference_data: {reference_zip_name(number)}",
            f"    starting_kit: {STARTING_KIT}",
        ]
    lines += leaderboard_columns(list(competition.challenge.columns))
    return "\n".join(lines) + "\n"
