"""Load YAML keeping the line of every value, so validation can say ``file:line``; write strings YAML reads back.

Stricter than a plain YAML load where a plain load would surprise an organiser: a key written twice
in one mapping is a problem naming both lines (not silently the last one), a date that does not
exist (2027-02-30) stays text so the schema can say why, and aliases cannot expand without bound.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Set, Tuple

import yaml

Where = Tuple[Any, ...]  # path of keys and list indexes from the document root
TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
MAX_VALUES = 100_000  # values built from one file, aliases expanded: bounds a "billion laughs" file


class LoadError(Exception):
    """The file is not readable YAML; the message holds file:line."""


@dataclass
class Problem:
    """One error in a file: where it is and what was expected."""

    file: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


@dataclass
class Document:
    """A loaded file: the data, the 1-based line of every path, the source text of every scalar, and its problems.

    Loading records what a plain load would hide; validation (``bundler.config.schema``) adds its own problems.
    """

    file: Path
    data: Any = None
    lines: Dict[Where, int] = field(default_factory=dict)
    raw: Dict[Where, str] = field(default_factory=dict)
    problems: List[Problem] = field(default_factory=list)

    def line(self, where: Where) -> int:
        """The line of ``where``, or of its nearest parent that has one."""
        while where not in self.lines and where:
            where = where[:-1]
        return self.lines.get(where, 1)

    def report(self, where: Where, message: str) -> None:
        self.problems.append(Problem(self.file, self.line(where), message))

    def messages(self) -> List[str]:
        """Every problem as ``file:line: message``, in line order."""
        return [str(p) for p in sorted(self.problems, key=lambda p: p.line)]


class _Builder:
    """Turns composed nodes into Python values, recording lines and what a plain load would hide."""

    def __init__(self, text: str, path: Path) -> None:
        self.constructor = yaml.SafeLoader(text)
        self.loaded = Document(path)
        self.built = 0
        self.open: Set[int] = set()  # ids of the nodes being built: an alias to one of them is a cycle

    def problem(self, node: yaml.Node, message: str) -> None:
        self.loaded.problems.append(Problem(self.loaded.file, node.start_mark.line + 1, message))

    def scalar(self, node: yaml.Node) -> Any:
        try:
            return self.constructor.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, OverflowError, TypeError) as exc:
            if node.tag == TIMESTAMP_TAG:
                return node.value  # an impossible date stays text: the Date option explains it
            self.problem(node, f"cannot read the value {node.value!r} ({_first_line(exc)})")
            return None

    def build(self, node: yaml.Node, where: Where) -> Any:
        self.built += 1
        if self.built > MAX_VALUES:
            raise LoadError(f"more than {MAX_VALUES} values (aliases expanded); a configuration is far smaller")
        if id(node) in self.open:
            self.problem(node, "an alias refers to the mapping or list that contains it")
            return None
        self.loaded.lines[where] = node.start_mark.line + 1
        if isinstance(node, yaml.ScalarNode):
            self.loaded.raw[where] = node.value
            return self.scalar(node)
        self.open.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                return [self.build(item, where + (i,)) for i, item in enumerate(node.value)]
            return self.mapping(node, where)
        finally:
            self.open.discard(id(node))

    def mapping(self, node: yaml.MappingNode, where: Where) -> Dict[Any, Any]:
        out: Dict[Any, Any] = {}
        first_line: Dict[Any, int] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                self.problem(key_node, "a key must be plain text, not a list or a mapping")
                continue
            key = self.scalar(key_node)
            if key in first_line:
                self.problem(key_node, f"key {key!r} is written twice (lines {first_line[key]} and {line}); keep one")
                continue
            first_line[key] = line
            out[key] = self.build(value_node, where + (key,))
            self.loaded.lines.setdefault(where + (key,), line)
        return out


def _error_line(exc: yaml.YAMLError, text: str) -> int:
    """The 1-based line a YAML error points at (a reader error gives a character position instead)."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if mark is not None:
        return mark.line + 1
    position = getattr(exc, "position", None)
    return text[:position].count("\n") + 1 if isinstance(position, int) else 1


def _first_line(exc: Exception) -> str:
    return ((getattr(exc, "problem", None) or str(exc)).splitlines() or [type(exc).__name__])[0]


def load(path: Path) -> Document:
    """Read ``path``: the document with the line of every value; LoadError if it is not YAML at all."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LoadError(f"{path}: cannot be read ({exc})") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise LoadError(f"{path}:{_error_line(exc, text)}: not valid YAML ({_first_line(exc)})") from None
    if node is None:
        return Document(path, {}, {(): 1})
    builder = _Builder(text, path)
    try:
        builder.loaded.data = builder.build(node, ())
    except LoadError as exc:
        raise LoadError(f"{path}:{node.start_mark.line + 1}: {exc}") from None
    return builder.loaded


def yaml_text(value: str) -> str:
    """A string as YAML reads it back unchanged (a JSON string), for the files we write."""
    return json.dumps(value, ensure_ascii=False)
