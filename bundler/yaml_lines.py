"""Load YAML keeping the line of every value, so validation can say ``file:line``."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Tuple

import yaml

Where = Tuple[Any, ...]  # path of keys and list indexes from the document root


class LoadError(Exception):
    """The file is not readable YAML; the message holds file:line."""


def load(path: Path) -> Tuple[Any, Dict[Where, int], Dict[Where, str]]:
    """The document, the 1-based line of every path, and the source text of every scalar."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LoadError(f"{path}: cannot be read ({exc})") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise LoadError(f"{path}{line}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    lines: Dict[Where, int] = {}
    raw: Dict[Where, str] = {}
    constructor = yaml.SafeLoader(text)
    if node is None:
        return {}, {(): 1}, raw

    def build(current: yaml.Node, where: Where) -> Any:
        lines[where] = current.start_mark.line + 1
        if isinstance(current, yaml.MappingNode):
            out = {}
            for key_node, value_node in current.value:
                key = constructor.construct_object(key_node, deep=True)
                out[key] = build(value_node, where + (key,))
                lines.setdefault(where + (key,), key_node.start_mark.line + 1)
            return out
        if isinstance(current, yaml.SequenceNode):
            return [build(item, where + (i,)) for i, item in enumerate(current.value)]
        raw[where] = current.value
        return constructor.construct_object(current, deep=True)

    return build(node, ()), lines, raw
