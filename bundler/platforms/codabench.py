"""Write the competition.yaml of a Codabench bundle (``version: 2``).

Same source YAML as the CodaLab bundle: one task per phase (its reference data with our scoring
program), phases with ``start`` and ``end`` (a phase without an end closes one second before the
next opens, because Codabench wants the next start strictly after the end), and one leaderboard
whose columns come from the scoring module's declarations. Dates are written as naive UTC
timestamps, which Codabench reads as UTC.
"""

from __future__ import annotations

from typing import Dict

from bundler.bundles.layout import LEADERBOARD_KEY, SCORING_PROGRAM, STARTING_KIT, reference_zip_name
from bundler.config.competition import Competition
from bundler.config.yaml_lines import yaml_text
from bundler.platforms.facts import page_title, utc_timestamp


def competition_yaml(competition: Competition, page_files: Dict[str, str], logo_name: str) -> str:
    """The whole v2 competition.yaml text."""
    config = competition.config
    lines = [
        "version: 2",
        f"title: {yaml_text(config.title)}",
        f"description: {yaml_text(config.description)}",
        f"image: {yaml_text(logo_name)}",
        f"docker_image: {yaml_text(competition.docker_image)}",
        "enable_detailed_results: true",
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
    for index, (phase, end) in enumerate(zip(config.phases, competition.phase_ends())):
        lines += [
            f"  - index: {index}",
            f"    name: {yaml_text(phase.name)}",
            f"    description: {yaml_text(phase.description)}",
            f"    start: {utc_timestamp(phase.start.when)}",
        ]
        if end is not None:
            lines.append(f"    end: {utc_timestamp(end)}")
        lines += [
            f"    tasks: [{index}]",
            f"    max_submissions: {phase.max_submissions}",
            f"    max_submissions_per_day: {phase.max_submissions_per_day}",
            f"    execution_time_limit: {phase.execution_time_limit}",
            f"    starting_kit: {STARTING_KIT}",
        ]
    lines += ["leaderboards:", "  - index: 0", '    title: "Results"', f"    key: {LEADERBOARD_KEY}", "    columns:"]
    for index, column in enumerate(competition.challenge.columns):
        lines += [
            f"      - title: {yaml_text(column.label)}",
            f"        key: {yaml_text(column.key)}",
            f"        index: {index}",
            f"        sorting: {column.sort}",
            f"        precision: {column.digits}",
        ]
    return "\n".join(lines) + "\n"
