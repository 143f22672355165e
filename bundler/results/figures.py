"""The figures of the final results as SVG, drawn from results.json alone: the intervals on one shared axis,
the blob plot of the rank distributions, and the pairwise significance map.

Each is a standalone SVG document (written beside results.html) that the page also shows inline.
"""

from __future__ import annotations

import math
from html import escape
from typing import Any, Callable, Dict, List, Sequence, Tuple

FONT = 'font-family="system-ui,-apple-system,Segoe UI,Roboto,sans-serif"'
INK, FAINT, BLUE, GREEN, GREY = "#1d232a", "#d0d7de", "#3d7cc9", "#2d8a4e", "#eef1f4"
LABEL_CHARS = 24  # characters of an entrant's name shown in a figure
CHAR = 6.6  # width of a character at font size 11, generously


def _text(x: float, y: float, text: str, size: int = 11, anchor: str = "start", extra: str = "") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" fill="{INK}"{extra}>'
            f"{escape(text)}</text>")


TITLE_CHAR = 7.6  # width of a character of a title (font size 13), generously


def _svg(width: float, height: float, title: str, body: List[str], heading: bool = True) -> str:
    """An SVG document; with ``heading`` its title is also drawn at its top, the drawing widened to hold it."""
    if heading:
        width = max(width, 16 + TITLE_CHAR * len(title))
        body = [_text(8, 18, title, 13, extra=' font-weight="600"'), *body]
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
            f'viewBox="0 0 {width:.0f} {height:.0f}" role="img" {FONT}><title>{escape(title)}</title>'
            + "".join(body) + "</svg>")


def short(name: str) -> str:
    """An entrant's name as a figure shows it."""
    return name if len(name) <= LABEL_CHARS else name[: LABEL_CHARS - 1] + "…"


def nice_axis(low: float, high: float, ticks: int = 5) -> Tuple[float, float, List[float]]:
    """An axis from below ``low`` to above ``high`` with round tick values."""
    if not high > low:
        pad = max(abs(low) * 0.01, 0.001)
        low, high = low - pad, high + pad
    raw = (high - low) / (ticks - 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    start, stop = math.floor(low / step) * step, math.ceil(high / step) * step
    count = int(round((stop - start) / step))
    return start, stop, [round(start + i * step, 10) for i in range(count + 1)]


def ranked_entries(document: Dict[str, Any]) -> List[Dict[str, Any]]:
    """The entries with a rank, in rank order."""
    return [entry for entry in document["entries"] if entry.get("rank") is not None]


def interval_axis(document: Dict[str, Any]) -> Tuple[float, float, List[float]]:
    """One axis for every entrant's interval (and point score)."""
    primary = document["primary"]
    values = [v for e in ranked_entries(document) for v in (e["ci"] or []) + [e["scores"][primary]]]
    return nice_axis(min(values), max(values)) if values else nice_axis(0.0, 1.0)


def _label(entry: Dict[str, Any]) -> str:
    return f"{entry['rank']}{'=' if entry['tied_with'] else ''}  {short(entry['entrant'])}"


def intervals(document: Dict[str, Any]) -> str:
    """Each entrant's point score and interval on one shared, labelled axis."""
    entries = ranked_entries(document)
    primary = document["primary"]
    label = next(c["label"] for c in document["columns"] if c["key"] == primary)
    left = 24 + CHAR * max([len(_label(e)) for e in entries] + [8])
    width, row, top = left + 460, 22, 44
    plot = width - left - 24
    low, high, ticks = interval_axis(document)
    height = top + row * max(1, len(entries)) + 44

    def x(value: float) -> float:
        return left + (value - low) / (high - low) * plot

    title = f"{document['title']}: {label}, {round(document['level'] * 100)}% bootstrap intervals"
    body: List[str] = []
    bottom = top + row * max(1, len(entries))
    for tick in ticks:
        body.append(f'<line x1="{x(tick):.1f}" y1="{top - 6}" x2="{x(tick):.1f}" y2="{bottom}" stroke="{FAINT}"/>')
        body.append(_text(x(tick), bottom + 16, f"{tick:g}", anchor="middle"))
    body.append(_text(left + plot / 2, bottom + 34, label, 12, anchor="middle"))
    for i, entry in enumerate(entries):
        y = top + row * i + row / 2
        body.append(_text(left - 8, y + 4, _label(entry), anchor="end"))
        if entry["ci"]:
            a, b = entry["ci"]
            body.append(f'<rect x="{x(a):.1f}" y="{y - 5:.1f}" width="{max(x(b) - x(a), 1.5):.1f}" height="10" rx="2" '
                        f'fill="{BLUE}"/>')
        point = x(entry["scores"][primary])
        body.append(f'<line x1="{point:.1f}" y1="{y - 8:.1f}" x2="{point:.1f}" y2="{y + 8:.1f}" stroke="{INK}" '
                    'stroke-width="2"/>')
    return _svg(width, height, title, body)


def _cell_axis(document: Dict[str, Any], width: int) -> Tuple[Callable[[float], float], List[float]]:
    """The position of a value in a table cell's drawing ``width`` wide, on the shared axis, and the axis's ticks."""
    low, high, ticks = interval_axis(document)
    return (lambda value: 4 + (value - low) / (high - low) * (width - 8)), ticks


def interval_cell(entry: Dict[str, Any], document: Dict[str, Any], width: int = 200) -> str:
    """The interval of one entry as a table cell's drawing, on the shared axis (faint lines at its ticks)."""
    x, ticks = _cell_axis(document, width)
    body = [f'<line x1="{x(t):.1f}" y1="0" x2="{x(t):.1f}" y2="18" stroke="{FAINT}"/>' for t in ticks]
    if entry["ci"]:
        a, b = entry["ci"]
        body.append(f'<rect x="{x(a):.1f}" y="4" width="{max(x(b) - x(a), 1.5):.1f}" height="10" rx="2" fill="{BLUE}"/>')
    point = x(entry["scores"][document["primary"]])
    body.append(f'<line x1="{point:.1f}" y1="1" x2="{point:.1f}" y2="17" stroke="{INK}" stroke-width="2"/>')
    return _svg(width, 18, "interval", body, heading=False)


def axis_cell(document: Dict[str, Any], width: int = 200) -> str:
    """The shared axis of the interval column, with its tick labels, for the column's header."""
    x, ticks = _cell_axis(document, width)
    body = [f'<line x1="4" y1="16" x2="{width - 4}" y2="16" stroke="{INK}"/>']
    for i, tick in enumerate(ticks):
        anchor = "start" if i == 0 else "end" if i == len(ticks) - 1 else "middle"
        body += [f'<line x1="{x(tick):.1f}" y1="13" x2="{x(tick):.1f}" y2="19" stroke="{INK}"/>',
                 _text(x(tick), 10, f"{tick:g}", 10, anchor)]
    return _svg(width, 20, "axis", body, heading=False)


def _vertical(x: float, y: float, text: str, size: int = 11, anchor: str = "start") -> str:
    """Text read bottom to top, starting (or centred) at (x, y)."""
    return _text(x, y, text, size, anchor, f' transform="rotate(-90 {x:.1f} {y:.1f})"')


def _column_labels(names: Sequence[str], left: float, top: float, cell: float) -> List[str]:
    return [_vertical(left + (j + 0.5) * cell + 4, top - 6, short(name)) for j, name in enumerate(names)]


def blob_plot(document: Dict[str, Any]) -> str:
    """For each entrant (rank order), how often it takes each rank: a circle per rank, its area the share of
    resamples; the median rank marked, the 95% rank interval drawn as a line."""
    entries = ranked_entries(document)
    n = len(entries)
    names = [e["entrant"] for e in entries]
    cell = 30
    left = 56
    top = 40 + CHAR * max([len(short(name)) for name in names] + [4])
    width, height = max(left + cell * n + 200, left + 250), max(top + cell * n + 40, top + 200)
    title = f"{document['title']}: rank of each entrant over {document['stability']['resamples']} bootstrap resamples"
    body = _column_labels(names, left, top, cell)
    for r in range(n):
        y = top + (r + 0.5) * cell
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + cell * n}" y2="{y:.1f}" stroke="{GREY}"/>')
        body.append(_text(left - 8, y + 4, str(r + 1), anchor="end"))
    body.append(_vertical(14, top + cell * n / 2, "rank", 12, "middle"))
    body.append(_text(left + cell * n / 2, top + cell * n + 20, "entrants, in the order of the ranking", 12, "middle"))
    biggest = cell * 0.48
    total = max(1, document["stability"]["resamples"])
    for j, entry in enumerate(entries):
        x = left + (j + 0.5) * cell
        low, high = entry["rank_interval"]
        body.append(f'<line x1="{x:.1f}" y1="{top + (low - 0.5) * cell:.1f}" x2="{x:.1f}" y2="{top + (high - 0.5) * cell:.1f}" '
                    f'stroke="{INK}" stroke-width="1.5"/>')
        for r, count in enumerate(entry["rank_distribution"]):
            if count:
                radius = biggest * math.sqrt(count / total)
                body.append(f'<circle cx="{x:.1f}" cy="{top + (r + 0.5) * cell:.1f}" r="{radius:.2f}" fill="{BLUE}" '
                            f'fill-opacity="0.75"><title>{escape(entry["entrant"])}: rank {r + 1} in {count} of {total}'
                            f"</title></circle>")
        median = top + (entry["median_rank"] - 0.5) * cell
        body.append(f'<circle cx="{x:.1f}" cy="{median:.1f}" r="3" fill="{INK}"/>')
    key_x = left + cell * n + 24
    body.append(_text(key_x, top + 6, "share of resamples", 11))
    for k, share in enumerate((0.1, 0.5, 1.0)):
        y = top + 30 + k * 34
        radius = biggest * math.sqrt(share)
        body.append(f'<circle cx="{key_x + 14}" cy="{y}" r="{radius:.2f}" fill="{BLUE}" fill-opacity="0.75"/>')
        body.append(_text(key_x + 36, y + 4, f"{share:.0%}"))
    y = top + 30 + 3 * 34
    body += [f'<circle cx="{key_x + 14}" cy="{y}" r="3" fill="{INK}"/>', _text(key_x + 36, y + 4, "median rank"),
             f'<line x1="{key_x + 14}" y1="{y + 16}" x2="{key_x + 14}" y2="{y + 40}" stroke="{INK}" stroke-width="1.5"/>',
             _text(key_x + 36, y + 32, "95% rank interval")]
    return _svg(width, height, title, body)


def significance_map(document: Dict[str, Any]) -> str:
    """A cell for each pair of entrants (rank order), coloured where the row's entrant beats the column's."""
    entries = ranked_entries(document)
    n = len(entries)
    names = [e["entrant"] for e in entries]
    stability = document["stability"]
    cell = 24
    left = 34 + CHAR * max([len(short(name)) for name in names] + [4])
    top = 40 + CHAR * max([len(short(name)) for name in names] + [4])
    width, height = left + cell * n + 24, top + cell * n + 90
    alpha = stability["alpha"]
    title = f"{document['title']}: row better than column (one-sided paired bootstrap, Holm-adjusted, {alpha:g})"
    body = _column_labels(names, left, top, cell)
    for i, name in enumerate(names):
        body.append(_text(left - 8, top + (i + 0.5) * cell + 4, short(name), anchor="end"))
        for j in range(n):
            better = stability["significant"][i][j]
            p = stability["p_values_holm"][i][j]
            fill = INK if i == j else GREEN if better else GREY
            tip = "" if p is None else f"<title>{escape(names[i])} beats {escape(names[j])}: Holm p = {p:.4f}</title>"
            body.append(f'<rect x="{left + j * cell}" y="{top + i * cell}" width="{cell - 1}" height="{cell - 1}" '
                        f'fill="{fill}">{tip}</rect>')
    body.append(_text(left + cell * n / 2, top + cell * n + 18, "beaten (column)", 12, "middle"))
    body.append(_vertical(14, top + cell * n / 2, "better (row)", 12, "middle"))
    key = top + cell * n + 34
    body += [f'<rect x="{left}" y="{key}" width="14" height="14" fill="{GREEN}"/>',
             _text(left + 20, key + 11, f"significantly better (adjusted p < {alpha:g})"),
             f'<rect x="{left}" y="{key + 22}" width="14" height="14" fill="{GREY}"/>',
             _text(left + 20, key + 33, "not shown better")]
    return _svg(max(width, left + 280), height, title, body)
