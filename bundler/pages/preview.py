"""``bundler preview``: the competition's pages as one static site, to look at before uploading."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional

from bundler.bundles.layout import logo_name
from bundler.bundles.zips import write_folder
from bundler.config.competition import Competition
from bundler.config.schema import Values
from bundler.pages.render import render_pages, templates
from bundler.platforms.facts import PHASE_COLOURS, page_title

OPEN_ENDED = dt.timedelta(days=30)  # how long an open-ended last phase is drawn


@dataclass
class Bar:
    """One phase on the timeline: dates as written, position and width in percent of the whole span."""

    name: str
    start: str
    end: str
    left: float
    width: float
    colour: str
    reference: Optional[Path]  # None: demo data
    phase: Values


def timeline(competition: Competition, references: Dict[int, Optional[Path]]) -> List[Bar]:
    """The phases laid out on one time axis, from the first start to the last end, with each one's reference."""
    config = competition.config
    phases = config.phases
    ends = competition.phase_ends()
    drawn_ends = [end or phase.start.when + OPEN_ENDED for phase, end in zip(phases, ends)]
    first, last = phases[0].start.when, max(drawn_ends)
    span = (last - first).total_seconds() or 1.0
    bars = []
    for number, (phase, end) in enumerate(zip(phases, drawn_ends)):
        if phase.end is not None:
            end_text = phase.end.text
        elif number + 1 < len(phases):
            end_text = f"when {phases[number + 1].name} opens ({phases[number + 1].start.text})"
        else:
            end_text = config.end_date.text if config.end_date is not None else "never"
        left = (phase.start.when - first).total_seconds() / span * 100
        width = max((end - phase.start.when).total_seconds() / span * 100, 1.0)
        bars.append(Bar(phase.name, phase.start.text, end_text, round(left, 2), round(min(width, 100 - left), 2),
                        PHASE_COLOURS[phase.color], references.get(number + 1), phase))
    return bars


def preview_context(competition: Competition, references: Dict[int, Optional[Path]],
                    data_counts: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """What the preview template sees; ``references`` gives each phase's reference folder (None: demo data)."""
    phases = competition.config.phases
    demo = [phases[number - 1].name for number, folder in references.items() if folder is None]
    pages = render_pages(competition, demo, data_counts)
    titles = {name: page_title(name) for name in pages}
    return {
        "config": competition.config, "challenge": competition.challenge, "columns": competition.challenge.columns,
        "pages": pages, "page_titles": titles, "timeline": timeline(competition, references),
        "docker_image": competition.docker_image,
        "logo": logo_name(competition.config.logo.suffix),
    }


def write_preview(competition: Competition, folder: Path, references: Optional[Dict[int, Optional[Path]]] = None,
                  data_counts: Optional[Dict[str, Any]] = None) -> List[Path]:
    """Render index.html and one HTML file per page into ``folder`` (replaced whole); return the files.

    ``references`` (phase number -> folder, None: demo data) defaults to the YAML's ``reference:`` of each phase.
    """
    if references is None:
        references = {number: phase.reference for number, phase in enumerate(competition.config.phases, 1)}
    values = preview_context(competition, references, data_counts)
    template = templates().get_template("preview.html")
    files = {"index.html": template.render(page=None, **values)}
    files.update({f"{name}.html": template.render(page=name, **values) for name in values["pages"]})
    pages = {name: text.encode() for name, text in files.items()}
    return write_folder(folder, {**pages, values["logo"]: competition.config.logo.read_bytes()})[: len(pages)]
