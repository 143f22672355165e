"""Write the competition.yaml of a Codabench bundle (``version: 2``).

Same source YAML as the CodaLab bundle: one task per phase (its reference data with our scoring
program), phases with the start and end the config resolved (quoted UTC timestamps, which Codabench
stores as written), and one leaderboard, which Codabench gives every phase, with the competition's
ranking rule as its ``submission_rule`` and columns from the scoring module's declarations.
"""

from __future__ import annotations

from typing import Dict, List

from bundler.config.competition import Competition
from bundler.config.yaml_lines import yaml_text
from bundler.ground.facts import RANKING_RULES, page_title, utc_timestamp
from bundler.ground.layout import LEADERBOARD_KEY, PUBLIC_DATA, SCORING_PROGRAM, STARTING_KIT, reference_zip_name


def _flag(value: bool) -> str:
    return "true" if value else "false"


def unsupported(competition: Competition) -> List[str]:
    """What the config asks for that a Codabench bundle cannot carry, or carries differently, one line each."""
    config, notes = competition.config, []
    if config.allow_teams:
        notes.append("allow_teams: Codabench bundles have no team setting; participants who want to enter as a team "
                     "join as one Codabench organisation")
    if config.hide_leaderboard:
        notes.append("hide_leaderboard: Codabench hides the one leaderboard of every phase until you untick 'hidden' "
                     "in its editor after the close")
    return notes


def competition_yaml(competition: Competition, page_files: Dict[str, str], logo_name: str) -> str:
    """The whole v2 competition.yaml text."""
    config = competition.config
    lines = [
        "version: 2",
        f"title: {yaml_text(config.title)}",
        f"description: {yaml_text(config.description)}",
        f"image: {yaml_text(logo_name)}",
        f"docker_image: {yaml_text(config.docker_image)}",
        f"registration_auto_approve: {_flag(not config.registration_required)}",
        "enable_detailed_results: true",
        "show_detailed_results_in_submission_panel: true",
        "show_detailed_results_in_leaderboard: true",
        f"terms: {yaml_text(page_files['terms'])}",
        "pages:",
    ]
    for name, file in page_files.items():
        lines += [f"  - title: {yaml_text(page_title(name))}",
                  f"    file: {yaml_text(file)}"]
    lines.append("tasks:")
    for index, phase in enumerate(config.phases):
        lines += [
            f"  - index: {index}",
            f"    name: {yaml_text(f'{config.title}: {phase.name}')}",
            f"    description: {yaml_text(f'Scores the {phase.name} phase against its hidden reference data.')}",
            f"    scoring_program: {SCORING_PROGRAM}",
            f"    reference_data: {reference_zip_name(index + 1)}",
        ]
    lines.append("phases:")
    for index, phase in enumerate(config.phases):
        lines += [
            f"  - index: {index}",
            f"    name: {yaml_text(phase.name)}",
            f"    description: {yaml_text(phase.description)}",
            f"    start: {utc_timestamp(phase.start.when)}",
        ]
        if phase.end is not None:
            lines.append(f"    end: {utc_timestamp(phase.end.when)}")
        lines += [
            f"    tasks: [{index}]",
            f"    max_submissions: {phase.max_submissions}",
            f"    max_submissions_per_day: {phase.max_submissions_per_day}",
            f"    execution_time_limit: {phase.execution_time_limit}",
            f"    starting_kit: {STARTING_KIT}",
        ]
        if competition.public_data_file is not None:
            lines.append(f"    public_data: {PUBLIC_DATA}")
    lines += ["leaderboards:", "  - index: 0", '    title: "Results"', f"    key: {LEADERBOARD_KEY}",
              f"    submission_rule: {RANKING_RULES[config.ranking].submission_rule}",
              f"    hidden: {_flag(config.hide_leaderboard)}", "    columns:"]
    for index, column in enumerate(competition.challenge.columns):
        lines += [
            f"      - title: {yaml_text(column.label)}",
            f"        key: {yaml_text(column.key)}",
            f"        index: {index}",
            f"        sorting: {column.sort}",
            f"        precision: {column.digits}",
        ]
    return "\n".join(lines) + "\n"
