"""What a public file reveals of a reference's hidden facts, whatever its form.

Text is read in any encoding and line ending (CSV, TXT, Markdown), JSON in any layout, HTML as its
text and table cells; each becomes rows of tokens. A pair (item id, class) is found when a row
holds the id and, as the number nearest after it (or, with none after, before it), the class. Boxes
are read from every JSON object with ``image_id``, ``category_id`` and ``bbox``, compared after
rounding. Label maps are decoded from any image Pillow reads, compared as pixels, not bytes.
"""

from __future__ import annotations

import gzip
import io
import json
import math
import re
import zlib
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any, Dict, Iterator, List, Optional, Set, Tuple

import numpy as np
from PIL import Image

from scoring.challenge import BOX_DECIMALS, BOXES, MAPS, PAIRS, HiddenFacts
from scoring.challenges.segmentation import label_map_fact
from scoring.limits import LIMITS

TEXT_LIMIT = 256 << 20  # bytes of one public file read as text (a file past it is not parsed)
TOKEN = re.compile(r"[^\s,;|\"'`<>(){}\[\]=:]+")
INTEGER = re.compile(r"[+-]?\d+(\.0*)?")
HTML_START = re.compile(rb"^\s*(<!doctype html|<html|<table|<div|<p[ >]|<h\d)", re.IGNORECASE)
IMAGE_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF8", b"BM", b"II*\x00", b"MM\x00*")
SIGMAS = 4.0  # how far above chance a count of found facts must be to be a leak


@dataclass
class Found:
    """The hidden facts a file holds, and how many guesses about hidden items it makes (for the chance level)."""

    facts: Set[Tuple[Any, ...]] = field(default_factory=set)
    guesses: int = 0


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


def _json_nodes(value: Any) -> Iterator[Any]:
    """Every object and list of a JSON document, at any depth."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, (dict, list)):
            yield node
            stack += [item for item in (node.values() if isinstance(node, dict) else node) if isinstance(item, (dict, list))]


def _json_rows(value: Any) -> Iterator[List[str]]:
    """Rows of a JSON document in any layout: each object's key-value pairs and its scalar values, each list's scalars."""
    for node in _json_nodes(value):
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


def text_rows(data: bytes) -> List[List[str]]:
    """The rows of tokens of a text, JSON or HTML file (none for a binary one)."""
    data = unpacked(data)
    if len(data) > TEXT_LIMIT:
        return []
    text = _text(data)
    if text is None:
        return []
    value = _json_value(text)
    if value is not None:
        return [[_canonical(token) for token in row] for row in _json_rows(value)]
    if HTML_START.match(data[:512]):
        parser = _HtmlText()
        parser.feed(text)
        text = "".join(parser.parts)
    return [[_canonical(token) for token in TOKEN.findall(line)] for line in text.splitlines() if line.strip()]


def pairs_in(rows: List[List[str]], labels: Dict[str, str]) -> Found:
    """The (item id, class) pairs of ``labels`` that the rows state, and the guesses they make about those items."""
    found = Found()
    for row in rows:
        numbers = [i for i, token in enumerate(row) if token.isdigit()]
        for position, token in enumerate(row):
            label = labels.get(token)
            if label is None:
                continue
            after = [i for i in numbers if i > position]
            before = [i for i in numbers if i < position]
            if not after and not before:
                continue
            found.guesses += 1
            if row[after[0] if after else before[-1]] == label:
                found.facts.add((token, label))
    return found


def boxes_in(data: bytes) -> Found:
    """Every (image id, category id, rounded box) of a JSON file's objects with image_id, category_id and bbox."""
    found = Found()
    data = unpacked(data)
    text = _text(data) if len(data) <= TEXT_LIMIT else None
    for node in _json_nodes(_json_value(text)) if text else ():
        box = node.get("bbox") if isinstance(node, dict) else None
        if isinstance(box, list) and len(box) == 4 and all(isinstance(v, (int, float)) for v in box):
            try:
                found.facts.add((int(node["image_id"]), int(node["category_id"]),
                                 *(round(float(v), BOX_DECIMALS) for v in box)))
                found.guesses += 1
            except (KeyError, TypeError, ValueError, OverflowError):
                pass
    return found


def map_in(data: bytes) -> Found:
    """The label map of an image file, decoded (any format and mode Pillow reads), as a fact."""
    if not data.startswith(IMAGE_SIGNATURES):
        return Found()
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > LIMITS.max_image_pixels:
                return Found()
            fact = label_map_fact(np.asarray(image))
    except (OSError, ValueError, SyntaxError, EOFError, TypeError, IndexError, KeyError, zlib.error,
            Image.DecompressionBombError):
        return Found()
    return Found({fact} if fact is not None else set(), 1)


def found_in(data: bytes, hidden: HiddenFacts, labels: Optional[Dict[str, str]] = None) -> Found:
    """The hidden facts one public file holds; ``labels`` is item -> class of the pairs (built once by the caller)."""
    if hidden.kind == PAIRS:
        return pairs_in(text_rows(data), labels if labels is not None else dict(hidden.facts))
    if hidden.kind == BOXES:
        found = boxes_in(data)
    elif hidden.kind == MAPS:
        found = map_in(data)
    else:
        raise ValueError(f"unknown kind of hidden facts {hidden.kind!r}")
    found.facts &= hidden.facts
    return found
