"""``bundler preview``: the competition's pages as one static site, to look at before uploading."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from bundler.config.competition import Competition
from bundler.config.schema import Values
from bundler.ground.facts import PHASE_COLOURS, page_title
from bundler.ground.layout import logo_name
from bundler.ground.zips import write_folder
from bundler.pages.render import render_pages, templates

OPEN_ENDED = dt.timedelta(days=30)  # how long an open-ended last phase is drawn
MAX_TICKS = 6  # dates on the timeline's axis, at most


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
    phases = competition.config.phases
    first, last = span_of(competition)
    span = (last - first).total_seconds() or 1.0
    bars = []
    for number, phase in enumerate(phases):
        end = _drawn_end(phase)
        left = (phase.start.when - first).total_seconds() / span * 100
        width = max((end - phase.start.when).total_seconds() / span * 100, 1.0)
        bars.append(Bar(phase.name, phase.start.text, phase.end.text if phase.end is not None else "never",
                        round(left, 2), round(min(width, 100 - left), 2), PHASE_COLOURS[phase.color],
                        references.get(number + 1), phase))
    return bars


def span_of(competition: Competition) -> Tuple[dt.datetime, dt.datetime]:
    """The first start and the last end of the timeline (an open-ended last phase drawn OPEN_ENDED long)."""
    phases = competition.config.phases
    return phases[0].start.when, max(_drawn_end(phase) for phase in phases)


def _drawn_end(phase: Any) -> dt.datetime:
    """Where a phase's bar ends: its end, or OPEN_ENDED after its start if it never closes."""
    return phase.end.when if phase.end is not None else phase.start.when + OPEN_ENDED


@dataclass
class Tick:
    """A date on the timeline's axis: its label, its position in percent, and which side of it the label sits."""

    label: str
    left: float
    anchor: str  # "start": the label begins at the tick; "end": it ends there (near the right edge)


def axis(first: dt.datetime, last: dt.datetime) -> List[Tick]:
    """Ticks at the first day of the months between ``first`` and ``last`` (every few months over a long span, at most
    MAX_TICKS); a span within one month gets its first and last day."""
    months = (last.year - first.year) * 12 + last.month - first.month
    step = max(1, -(-(months + 1) // MAX_TICKS))  # months + 1 month starts at most
    index = first.year * 12 + first.month - 1  # months since year 0: the first month start on or after ``first``
    index += dt.datetime(first.year, first.month, 1, tzinfo=dt.timezone.utc) < first
    moments = []
    while index // 12 <= last.year:
        moment = dt.datetime(index // 12, index % 12 + 1, 1, tzinfo=dt.timezone.utc)
        if moment > last:
            break
        moments.append(moment)
        index += step
    if len(moments) < 2:
        moments = [first, last]
    span = (last - first).total_seconds() or 1.0
    ticks = []
    for moment in moments:
        left = round((moment - first).total_seconds() / span * 100, 2)
        ticks.append(Tick(moment.strftime("%Y-%m-%d"), left, "end" if left > 85 else "start"))
    return ticks


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
        "axis": axis(*span_of(competition)),
        "docker_image": competition.config.docker_image,
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
