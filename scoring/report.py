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
.note{color:#57606a;font-size:.92rem}.scroll{max-height:30rem;overflow:auto}
"""


def esc(value: object) -> str:
    """Escape any value for HTML text or attributes."""
    return html.escape(str(value), quote=True)


def number(value: Optional[float], digits: int = 4) -> str:
    """A score as text: fixed digits, 'n/a' for undefined (NaN or None)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.{digits}f}"


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
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'


def line_chart(
    series: Sequence[Tuple[str, Sequence[float], Sequence[float]]],
    x_label: str,
    y_label: str,
    width: int = 520,
    height: int = 320,
) -> str:
    """An inline SVG line chart of (name, xs, ys) series on [0, 1] x [0, 1]."""
    colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"]
    left, bottom, pad = 50, 40, 12
    plot_w, plot_h = width - left - pad, height - bottom - pad

    def point(x: float, y: float) -> str:
        return f"{left + x * plot_w:.1f},{pad + (1 - y) * plot_h:.1f}"

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">']
    parts.append(f'<rect x="{left}" y="{pad}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#888"/>')
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        x, y = point(tick, 0).split(",")
        parts.append(f'<text x="{x}" y="{height - bottom + 16}" font-size="11" text-anchor="middle">{tick:g}</text>')
        x, y = point(0, tick).split(",")
        parts.append(f'<text x="{left - 6}" y="{float(y) + 4:.1f}" font-size="11" text-anchor="end">{tick:g}</text>')
    parts.append(f'<text x="{left + plot_w / 2}" y="{height - 6}" font-size="12" text-anchor="middle">{esc(x_label)}</text>')
    parts.append(
        f'<text x="14" y="{pad + plot_h / 2}" font-size="12" text-anchor="middle" '
        f'transform="rotate(-90 14 {pad + plot_h / 2})">{esc(y_label)}</text>'
    )
    for i, (name, xs, ys) in enumerate(series):
        colour = colours[i % len(colours)]
        points = " ".join(point(x, y) for x, y in zip(xs, ys) if not math.isnan(y))
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"/>')
        parts.append(f'<text x="{left + 8}" y="{pad + 16 + 15 * i}" font-size="12" fill="{colour}">{esc(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def heatmap(columns: Sequence[str], matrix: Sequence[Sequence[float]], rows: Sequence[str], cell: int = 16) -> str:
    """An inline SVG heat map of values in [0, 1] with row and column labels; hover shows each value."""
    margin = 110
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{margin + len(columns) * cell + 4}" '
        f'height="{margin + len(rows) * cell + 4}" role="img">'
    ]
    for i, name in enumerate(rows):
        y = margin + (i + 0.75) * cell
        parts.append(f'<text x="{margin - 4}" y="{y:.1f}" font-size="10" text-anchor="end">{esc(name)}</text>')
    for j, name in enumerate(columns):
        x = margin + (j + 0.75) * cell
        turn = f"rotate(-60 {x:.1f} {margin - 4})"
        parts.append(f'<text x="{x:.1f}" y="{margin - 4}" font-size="10" transform="{turn}">{esc(name)}</text>')
    for i, values in enumerate(matrix):
        for j, value in enumerate(values):
            shade = 255 - int(round(215 * max(0.0, min(1.0, value))))
            parts.append(
                f'<rect x="{margin + j * cell}" y="{margin + i * cell}" width="{cell}" height="{cell}" '
                f'fill="rgb({shade},{shade},255)"><title>{esc(rows[i])} as {esc(columns[j])}: {value:.3f}</title></rect>'
            )
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
