"""Self-contained HTML for detailed_results.html: escaped tables and small inline SVG charts."""

from __future__ import annotations

import html
import math
from typing import Iterable, List, Optional, Sequence, Tuple

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:60rem;
padding:0 1rem;color:#1d232a;line-height:1.45}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #d0d7de}
table{border-collapse:collapse;margin:.5rem 0}th,td{padding:.2rem .6rem;border:1px solid #d0d7de}
th{background:#f3f5f7;text-align:left}td.num{text-align:right;font-variant-numeric:tabular-nums}
.warn{background:#fff4e5;border-left:4px solid #f0a020;padding:.4rem .8rem}
.note{color:#57606a;font-size:.92rem}
"""


def esc(value: object) -> str:
    """Escape any value for HTML text or attributes."""
    return html.escape(str(value), quote=True)


UNDEFINED = "n/a"  # an undefined score, as every page and view shows it
WHY_UNDEFINED = ("n/a: undefined on this test set, an average over no ground truth (no object in that size range, say); "
                 "the platform's leaderboard shows -1")


def number(value: Optional[float], digits: int = 4) -> str:
    """A score as text: fixed digits, 'n/a' for undefined (NaN or None)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return UNDEFINED
    return f"{value:.{digits}f}"


def undefined(value: Optional[float]) -> bool:
    """A score that has no value: NaN, or -1, which the scoring programs write (COCO's convention) for an average over
    nothing, since the leaderboard needs a number."""
    return value is not None and (value != value or value == -1)


def score_text(value: Optional[float], digits: int) -> str:
    """A published score as every view of the results shows it: ``number``, -1 too read as undefined; nothing if absent."""
    if value is None:
        return ""
    return UNDEFINED if undefined(value) else number(value, digits)


def table(header: Sequence[str], rows: Iterable[Sequence[object]], numeric_from: int = 1) -> str:
    """An HTML table; cells from column ``numeric_from`` on are right-aligned."""
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="num">{esc(c)}</td>' if i >= numeric_from else f"<td>{esc(c)}</td>"
            for i, c in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    return f'<table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def line_chart(
    series: Sequence[Tuple[str, Sequence[float], Sequence[float]]],
    x_label: str,
    y_label: str,
    width: int = 640,
    height: int = 320,
) -> str:
    """An inline SVG line chart of (name, xs, ys) series on [0, 1] x [0, 1], its legend beside the plot."""
    colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"]
    left, bottom, pad, legend = 50, 40, 12, 130
    plot_w, plot_h = width - left - pad - legend, height - bottom - pad

    def point(x: float, y: float) -> Tuple[float, float]:
        return left + x * plot_w, pad + (1 - y) * plot_h

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">']
    parts.append(f'<rect class="plot" x="{left}" y="{pad}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#888"/>')
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        x, _ = point(tick, 0)
        parts.append(f'<text x="{x:.1f}" y="{height - bottom + 16}" font-size="11" text-anchor="middle">{tick:g}</text>')
        _, y = point(0, tick)
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end">{tick:g}</text>')
    parts.append(f'<text x="{left + plot_w / 2}" y="{height - 6}" font-size="12" text-anchor="middle">{esc(x_label)}</text>')
    parts.append(
        f'<text x="14" y="{pad + plot_h / 2}" font-size="12" text-anchor="middle" '
        f'transform="rotate(-90 14 {pad + plot_h / 2})">{esc(y_label)}</text>'
    )
    for i, (name, xs, ys) in enumerate(series):
        colour = colours[i % len(colours)]
        points = " ".join("{:.1f},{:.1f}".format(*point(x, y)) for x, y in zip(xs, ys) if not math.isnan(y))
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"/>')
        key_x, key_y = left + plot_w + 16, pad + 12 + 20 * i
        parts.append(f'<line x1="{key_x}" y1="{key_y - 4}" x2="{key_x + 18}" y2="{key_y - 4}" stroke="{colour}" '
                     'stroke-width="2"/>')
        parts.append(f'<text class="legend" x="{key_x + 24}" y="{key_y}" font-size="12" fill="{colour}">{esc(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _blue(value: float) -> str:
    """A colour of a white-to-dark-blue scale for ``value`` in [0, 1]."""
    low, high = (247, 251, 255), (8, 48, 107)
    share = max(0.0, min(1.0, value))
    return "rgb({},{},{})".format(*(round(a + (b - a) * share) for a, b in zip(low, high)))


def heatmap(columns: Sequence[str], matrix: Sequence[Sequence[float]], rows: Sequence[str], cell: int = 26) -> str:
    """An inline SVG heat map of values in [0, 1]: whole row and column labels, a colour scale, each value on hover."""
    char = 7.2  # width of a character at font size 12, generously
    left = 12 + char * max((len(name) for name in rows), default=1)
    top = 12 + char * max((len(name) for name in columns), default=1)
    grid_w, grid_h = len(columns) * cell, len(rows) * cell
    scale_x = left + grid_w + 24
    width, height = scale_x + 60, top + grid_h + 8
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" role="img">']
    for i, name in enumerate(rows):
        y = top + (i + 0.5) * cell + 4
        parts.append(f'<text x="{left - 6:.1f}" y="{y:.1f}" font-size="12" text-anchor="end">{esc(name)}</text>')
    for j, name in enumerate(columns):
        x = left + (j + 0.5) * cell + 4
        parts.append(f'<text x="{x:.1f}" y="{top - 6:.1f}" font-size="12" transform="rotate(-90 {x:.1f} {top - 6:.1f})">'
                     f'{esc(name)}</text>')
    for i, values in enumerate(matrix):
        for j, value in enumerate(values):
            parts.append(
                f'<rect x="{left + j * cell:.1f}" y="{top + i * cell:.1f}" width="{cell}" height="{cell}" '
                f'fill="{_blue(value)}" stroke="#fff" stroke-width="0.5">'
                f'<title>{esc(rows[i])} as {esc(columns[j])}: {value:.3f}</title></rect>'
            )
    steps = 20
    for k in range(steps):
        share = 1 - k / steps
        parts.append(f'<rect x="{scale_x:.1f}" y="{top + k * grid_h / steps:.1f}" width="14" '
                     f'height="{grid_h / steps + 0.5:.1f}" fill="{_blue(share - 0.5 / steps)}"/>')
    for share in (1.0, 0.5, 0.0):
        y = top + (1 - share) * grid_h + 4
        parts.append(f'<text x="{scale_x + 20:.1f}" y="{min(max(y, top + 10), top + grid_h):.1f}" font-size="11">'
                     f'{share:g}</text>')
    parts.append("</svg>")
    return "".join(parts)


def page(title: str, score_rows: List[Tuple[str, str, str]], counts: List[Tuple[str, int]],
         warnings: List[str], notes: List[str], sections: List[Tuple[str, str]]) -> str:
    """The whole detailed results page."""
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{esc(title)}</h1>",
        "<h2>Scores</h2>",
        table(["Score", "Key", "Value"], score_rows, numeric_from=2),
    ]
    if counts:
        out += ["<h2>Counts</h2>", table(["What", "Number"], counts)]
    if warnings:
        out.append("<h2>Warnings</h2>")
        out += [f'<p class="warn">{esc(w)}</p>' for w in warnings]
    out += [f'<p class="note">{esc(n)}</p>' for n in notes]
    for heading, body in sections:
        out += [f"<h2>{esc(heading)}</h2>", body]
    out.append("</body></html>")
    return "\n".join(out) + "\n"
