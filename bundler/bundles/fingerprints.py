"""The leak guard's views of a public file, whatever its form, and the chance level of what it finds.

A gzip file is opened first. Text is read in any encoding and line ending (CSV, TXT, Markdown), JSON
in any layout, HTML as its text and table cells; each becomes rows of tokens. JSON is also given
parsed, and an image (any format Pillow reads) decoded to pixels. Each challenge's hidden facts
(``scoring.facts``) read themselves out of these views.
"""

from __future__ import annotations

import gzip
import io
import json
import math
import re
import zlib
from functools import cached_property
from html.parser import HTMLParser
from typing import Any, Iterator, List, Optional, Tuple

import numpy as np
from PIL import Image

from scoring.facts import json_nodes
from scoring.limits import LIMITS

TEXT_LIMIT = 256 << 20  # bytes of one public file read as text (a file past it is not parsed)
TOKEN = re.compile(r"[^\s,;|\"'`<>(){}\[\]=:]+")
INTEGER = re.compile(r"[+-]?\d+(\.0*)?")
HTML_START = re.compile(rb"^\s*(<!doctype html|<html|<table|<div|<p[ >]|<h\d)", re.IGNORECASE)
IMAGE_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF8", b"BM", b"II*\x00", b"MM\x00*")
SIGMAS = 4.0  # how far above chance a count of found facts must be to be a leak


def chance_level(guesses: int, chance: float) -> Tuple[float, float]:
    """(expected, threshold): facts that ``guesses`` random guesses hold on average, and the count that is a leak."""
    expected = guesses * chance
    return expected, expected + SIGMAS * math.sqrt(guesses * chance * (1 - chance)) + 1


def _canonical(token: str) -> str:
    """A whole number as plain digits (``024``, ``24.0`` -> ``24``); any other token as written."""
    return str(int(float(token))) if INTEGER.fullmatch(token) else token


def _text(data: bytes) -> Optional[str]:
    """``data`` as text in whichever encoding it is in, or None for a binary file."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return data.decode("utf-16", errors="replace")
    if b"\x00" in data[:4096]:
        return None
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


class _HtmlText(HTMLParser):
    """A page's text with a line per table row, paragraph or line break, and a separator per cell."""

    BREAKS = {"tr", "br", "p", "li", "div", "table", "h1", "h2", "h3", "h4", "pre", "section"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: List[str] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        self.parts.append("\n" if tag in self.BREAKS else " ")

    def handle_endtag(self, tag: str) -> None:
        self.parts.append(" | " if tag in ("td", "th") else "\n" if tag in self.BREAKS else " ")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def _json_value(text: str) -> Any:
    stripped = text.lstrip()
    if not stripped.startswith(("{", "[")):
        return None
    try:
        return json.loads(stripped)
    except (ValueError, RecursionError):
        return None


def _scalar(value: Any) -> Optional[str]:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value) if isinstance(value, (int, str)) else None


def _json_rows(value: Any) -> Iterator[List[str]]:
    """Rows of a JSON document in any layout: each object's key-value pairs and its scalar values, each list's scalars."""
    for node in json_nodes(value):
        pairs = [(str(key), _scalar(item)) for key, item in node.items()] if isinstance(node, dict) else \
            [("", _scalar(item)) for item in node]
        if isinstance(node, dict):
            yield from ([key, text] for key, text in pairs if text is not None)
        values = [text for _, text in pairs if text is not None]
        if len(values) > 1:
            yield values


def unpacked(data: bytes) -> bytes:
    """A gzip file's content (bounded); any other file as it is."""
    if not data.startswith(b"\x1f\x8b"):
        return data
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            return stream.read(TEXT_LIMIT)
    except (OSError, EOFError, zlib.error):
        return data


class PublicView:
    """One public file as the guard reads it (a :class:`scoring.facts.PublicFile`); each view is computed once, when
    first asked for."""

    def __init__(self, name: str, data: bytes) -> None:
        self.name = name
        self.data = unpacked(data)

    @cached_property
    def _decoded(self) -> Optional[str]:
        return _text(self.data) if len(self.data) <= TEXT_LIMIT else None

    @cached_property
    def _json(self) -> Any:
        return _json_value(self._decoded) if self._decoded is not None else None

    @cached_property
    def _rows(self) -> List[List[str]]:
        if self._decoded is None:
            return []
        if self._json is not None:
            return [[_canonical(token) for token in row] for row in _json_rows(self._json)]
        text = self._decoded
        if HTML_START.match(self.data[:512]):
            parser = _HtmlText()
            parser.feed(text)
            text = "".join(parser.parts)
        return [[_canonical(token) for token in TOKEN.findall(line)] for line in text.splitlines() if line.strip()]

    @cached_property
    def _image(self) -> Optional[np.ndarray]:
        if not self.data.startswith(IMAGE_SIGNATURES):
            return None
        try:
            with Image.open(io.BytesIO(self.data)) as image:
                if image.width * image.height > LIMITS.max_image_pixels:
                    return None
                return np.asarray(image)
        except (OSError, ValueError, SyntaxError, EOFError, TypeError, IndexError, KeyError, zlib.error,
                Image.DecompressionBombError):
            return None

    def rows(self) -> List[List[str]]:
        """Tokens per text line, JSON node or HTML table row, whole numbers as plain digits; none for a binary file."""
        return self._rows

    def json(self) -> Any:
        """The parsed JSON document, or None."""
        return self._json

    def image(self) -> Optional[np.ndarray]:
        """The decoded image (within the pixel limit), or None."""
        return self._image
