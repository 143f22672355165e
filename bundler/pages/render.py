"""Render the organiser's Jinja2 pages with the config and the scoring module's declarations.

A mistake in a page (a syntax error, an unknown variable or attribute) is a config error at the
template's ``file:line``, with a "did you mean" where a known name is close.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from types import TracebackType
from typing import Any, Dict, Iterable, List, Optional

import jinja2

from bundler.config import competition as competition_config
from bundler.config.competition import Competition, ConfigError
from bundler.config.schema import Values
from bundler.ground.editions import SHARED

TEMPLATES = Path(__file__).resolve().parent / "templates"
DEMO_BANNER = (
    '<div style="background:#fff4e5;border:2px solid #f0a020;padding:.8em;margin:0 0 1em 0">'
    "<strong>Demo data.</strong> This bundle was built without the hidden reference data: the scores it "
    "gives are meaningless. Rebuild it with <code>--data</code> (a <code>bundler data</code> folder) or "
    "<code>--reference</code> before opening the competition.</div>\n"
)


def templates() -> jinja2.Environment:
    """The bundler's own templates (preview, site, results, kit README); .html ones are HTML-escaped."""
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                              autoescape=jinja2.select_autoescape(["html"]),
                              undefined=jinja2.StrictUndefined, keep_trailing_newline=True)


def _names_of(value: Any) -> List[str]:
    """The attribute or key names a template could have meant on ``value``."""
    if isinstance(value, dict):
        return [str(key) for key in value]
    if isinstance(value, Values):
        return list(vars(value))
    return [name for name in dir(value) if not name.startswith("_")]


def _hinting_undefined(variables: Iterable[str]) -> type:
    """StrictUndefined whose error adds "did you mean" among the attributes, keys or ``variables`` known."""
    known = list(variables)

    class Hinting(jinja2.StrictUndefined):
        @property
        def _undefined_message(self) -> str:
            name, owner = self._undefined_name, self._undefined_obj
            if isinstance(owner, Values):
                message = f"the config has no {name!r}"
            else:
                message = jinja2.StrictUndefined._undefined_message.fget(self)  # type: ignore[attr-defined]
            candidates = known if owner is jinja2.utils.missing else _names_of(owner)
            close = difflib.get_close_matches(str(name), candidates, n=1) if name is not None else []
            return f"{message}; did you mean {close[0]!r}?" if close else message

    return Hinting


def _template_line(trace: Optional[TracebackType], files: Iterable[Path]) -> Optional[str]:
    """``file:line`` of the innermost frame of the traceback that is one of the template ``files``."""
    wanted = {str(path) for path in files}
    found = None
    while trace is not None:
        if trace.tb_frame.f_code.co_filename in wanted:
            found = f"{trace.tb_frame.f_code.co_filename}:{trace.tb_lineno}"
        trace = trace.tb_next
    return found


def render_pages(competition: Competition, demo_phases: List[str],
                 data_counts: Optional[Dict[str, Any]] = None) -> Dict[str, str]:
    """Page name -> rendered HTML; the overview carries a visible banner when any phase uses demo data.

    ``data_counts`` (split -> total and classes, from a ``bundler data`` manifest) lets the data page state the
    numbers of the data actually published; without it the pages state none.
    """
    shared = [competition.folder.parent.parent / SHARED, competition_config.EDITIONS_FOLDER / SHARED]
    folders = [competition.folder] + [folder for i, folder in enumerate(shared) if folder.is_dir() and folder not in shared[:i]]
    values: Dict[str, Any] = {
        "config": competition.config,
        "challenge": competition.challenge,
        "columns": competition.challenge.columns,
        "phases": competition.config.phases,
        "ranking": competition.ranking_sentence,
        "demo_phases": demo_phases,
        "data_counts": data_counts,
    }
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader([str(f) for f in folders]), autoescape=True,
                                     undefined=_hinting_undefined(values), keep_trailing_newline=True)
    sources = [path for folder in folders for path in folder.rglob("*.html")]
    rendered = {}
    for name, path in competition.config.pages.items():
        try:
            template = environment.from_string(path.read_text(encoding="utf-8"))
            template.filename = str(path)
            rendered[name] = template.render(**values)
        except jinja2.TemplateSyntaxError as exc:
            where = f"{exc.filename}:{exc.lineno}" if exc.filename else f"{path}:{exc.lineno}"
            raise ConfigError([f"{where}: template error: {exc.message}"]) from None
        except jinja2.TemplateError as exc:
            where = _template_line(exc.__traceback__, [path, *sources]) or str(path)
            raise ConfigError([f"{where}: template error: {exc}"]) from None
    if demo_phases:
        rendered["overview"] = DEMO_BANNER + rendered["overview"]
    return rendered
