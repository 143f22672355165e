"""Write the competition.yaml of a Codabench bundle (``version: 2``).

Same source YAML as the CodaLab bundle: one task per phase (its reference data with our scoring
program), phases with ``start`` and ``end`` (a phase without an end closes one second before the
next opens, because Codabench wants the next start strictly after the end), and one leaderboard
whose columns come from the scoring module's declarations. Dates are written as naive UTC
timestamps, which Codabench reads as UTC.
"""

from __future__ import annotations

import datetime as dt
from typing import Dict, List, Optional

from bundler.codalab import LEADERBOARD_KEY, SCORING_PROGRAM, STARTING_KIT, reference_zip_name, yaml_text
from bundler.competition import Competition
from bundler.schema import Moment

PAGE_TITLES = {"overview": "Overview", "evaluation": "Evaluation", "terms": "Terms", "data": "Data"}
GAP = dt.timedelta(seconds=1)


def timestamp(when: dt.datetime) -> str:
    """A UTC moment as a YAML timestamp without zone (``2027-03-01 00:00:00``)."""
    return when.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def phase_ends(competition: Competition) -> List[Optional[dt.datetime]]:
    """Each phase's end: as written, else just before the next start; the last ends with the competition."""
    config = competition.config
    phases = config.phases
    ends: List[Optional[dt.datetime]] = []
    for number, phase in enumerate(phases):
        end: Optional[Moment] = phase.end
        if end is not None:
            ends.append(end.when)
        elif number + 1 < len(phases):
            ends.append(phases[number + 1].start.when - GAP)
        else:
            ends.append(config.end_date.when if config.end_date is not None else None)
    return ends


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
        lines += [f"  - title: {yaml_text(PAGE_TITLES.get(name, name.replace('_', ' ').capitalize()))}",
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
    for index, (phase, end) in enumerate(zip(config.phases, phase_ends(competition))):
        lines += [
            f"  - index: {index}",
            f"    name: {yaml_text(phase.name)}",
            f"    description: {yaml_text(phase.description)}",
            f"    start: {timestamp(phase.start.when)}",
        ]
        if end is not None:
            lines.append(f"    end: {timestamp(end)}")
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
