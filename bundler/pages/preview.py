"""``bundler preview``: the competition's pages as one static site, to look at before uploading."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List

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
    demo: bool
    phase: Values


def timeline(competition: Competition) -> List[Bar]:
    """The phases laid out on one time axis, from the first start to the last end."""
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
                        PHASE_COLOURS[phase.color], phase.reference is None, phase))
    return bars


def preview_context(competition: Competition) -> Dict[str, Any]:
    """What the preview template sees."""
    demo = [phase.name for phase in competition.config.phases if phase.reference is None]
    pages = render_pages(competition, demo)
    titles = {name: page_title(name) for name in pages}
    return {
        "config": competition.config, "challenge": competition.challenge, "columns": competition.challenge.columns,
        "pages": pages, "page_titles": titles, "timeline": timeline(competition),
        "docker_image": competition.docker_image,
        "logo": logo_name(competition.config.logo.suffix),
    }


def write_preview(competition: Competition, folder: Path) -> List[Path]:
    """Render index.html and one HTML file per page into ``folder`` (replaced whole); return the files."""
    values = preview_context(competition)
    template = templates().get_template("preview.html")
    files = {"index.html": template.render(page=None, **values)}
    files.update({f"{name}.html": template.render(page=name, **values) for name in values["pages"]})
    pages = {name: text.encode() for name, text in files.items()}
    return write_folder(folder, {**pages, values["logo"]: competition.config.logo.read_bytes()})[: len(pages)]
