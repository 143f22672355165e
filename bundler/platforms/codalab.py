"""Write the competition.yaml of a CodaLab Competitions (v1) bundle.

Only keys CodaLab's models know; leaderboard columns come from the scoring module's declarations
(primary first), tied to the leaderboard with a YAML anchor; the competition's ranking rule as CodaLab's
leaderboard switches; dates are the instants the config resolved, as quoted UTC timestamps (CodaLab has
no phase end: a phase ends when the next starts, the last at end_date). Strings are written as JSON
strings, which YAML reads back unchanged.
"""

from __future__ import annotations

from typing import Dict, List

from bundler.config.competition import Competition
from bundler.config.yaml_lines import yaml_text
from bundler.ground.facts import PHASE_GAP, RANKING_RULES, utc_timestamp
from bundler.ground.layout import LEADERBOARD_KEY, PUBLIC_DATA, SCORING_PROGRAM, STARTING_KIT, reference_zip_name
from scoring.challenge import Column


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


def unsupported(competition: Competition) -> List[str]:
    """What the config asks for that a CodaLab bundle cannot carry, one line each: CodaLab phases have no end, and a
    hidden last phase takes no chosen submission."""
    config, notes = competition.config, []
    phases = config.phases
    for phase, following in zip(phases, phases[1:]):
        if phase.end.when != following.start.when - PHASE_GAP:
            notes.append(f"{phase.name}: CodaLab phases have no end: it stays open until {following.name} starts "
                         f"({following.start.text}), not until {phase.end.text}")
    if config.hide_leaderboard and config.ranking == "choose":
        # apps/web/tasks.py at CODALAB_COMMIT: a blind (hide_results) phase without force_best puts every finished
        # submission on the leaderboard
        notes.append(f"ranking: choose with hide_leaderboard: CodaLab puts every finished submission of {phases[-1].name} "
                     f"on its hidden leaderboard, so each participant's last one counts, not the one they choose as the "
                     f"pages say; use ranking: last or best for a CodaLab bundle")
    return notes


def competition_yaml(competition: Competition, page_files: Dict[str, str], logo_name: str) -> str:
    """The whole competition.yaml text."""
    config = competition.config
    rule = RANKING_RULES[config.ranking]
    lines = [
        f"title: {yaml_text(config.title)}",
        f"description: {yaml_text(config.description)}",
        f"image: {yaml_text(logo_name)}",
        f"has_registration: {_flag(config.registration_required)}",
        f"allow_teams: {_flag(config.allow_teams)}",
        f"competition_docker_image: {yaml_text(config.docker_image)}",
        "enable_detailed_results: True",
    ]
    lines += [f"{key}: {_flag(value)}" for key, value in rule.competition.items()]
    if config.end_date is not None:
        lines.append(f"end_date: {utc_timestamp(config.end_date.when)}")
    lines.append("html:")
    lines += [f"  {yaml_text(name)}: {yaml_text(file)}" for name, file in page_files.items()]
    lines.append("phases:")
    for number, phase in enumerate(config.phases, 1):
        lines += [
            f"  {number}:",
            f"    phasenumber: {number}",
            f"    label: {yaml_text(phase.name)}",
            f"    description: {yaml_text(phase.description)}",
            f"    start_date: {utc_timestamp(phase.start.when)}",
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
        lines += [f"    {key}: {_flag(value)}" for key, value in rule.phase.items()]
        if config.hide_leaderboard and number == len(config.phases):
            lines.append("    leaderboard_management_mode: hide_results")
        if competition.public_data_file is not None:
            lines.append(f"    public_data: {PUBLIC_DATA}")
    lines += leaderboard_columns(list(competition.challenge.columns))
    return "\n".join(lines) + "\n"
