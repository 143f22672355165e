"""Render the organiser's Jinja2 pages with the config and the scoring module's declarations."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List

import jinja2

from bundler.config.competition import COMPETITIONS, Competition, ConfigError

TEMPLATES = Path(__file__).resolve().parent / "templates"
DEMO_BANNER = (
    '<div style="background:#fff4e5;border:2px solid #f0a020;padding:.8em;margin:0 0 1em 0">'
    "<strong>Demo data.</strong> This bundle was built without the hidden reference data: the scores it "
    "gives are meaningless. Rebuild it with <code>--reference</code> before opening the competition.</div>\n"
)


def context(competition: Competition, demo_phases: List[str]) -> Dict[str, Any]:
    """What every template sees: the config, the challenge's declarations, phases and the demo flag."""
    return {
        "config": competition.config,
        "challenge": competition.challenge,
        "columns": competition.challenge.columns,
        "phases": competition.config.phases,
        "demo_phases": demo_phases,
    }


def templates() -> jinja2.Environment:
    """The bundler's own templates (preview, site); .html ones are HTML-escaped."""
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                              autoescape=jinja2.select_autoescape(["html"]),
                              undefined=jinja2.StrictUndefined, keep_trailing_newline=True)


def render_pages(competition: Competition, demo_phases: List[str]) -> Dict[str, str]:
    """Page name -> rendered HTML; the overview carries a visible banner when any phase uses demo data."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(competition.folder), str(COMPETITIONS / "_shared")]),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    values = context(competition, demo_phases)
    rendered = {}
    for name, path in competition.config.pages.items():
        try:
            template = environment.from_string(path.read_text(encoding="utf-8"))
            rendered[name] = template.render(**values)
        except jinja2.TemplateSyntaxError as exc:
            raise ConfigError([f"{path}:{exc.lineno}: template error: {exc.message}"]) from None
        except jinja2.TemplateError as exc:
            raise ConfigError([f"{path}: template error: {exc}"]) from None
    if demo_phases:
        rendered["overview"] = DEMO_BANNER + rendered["overview"]
    return rendered
