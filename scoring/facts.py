"""The hidden facts of a reference: what the leak guard of ``bundler check`` looks for in every public file.

A challenge's ``hidden_facts`` gives an instance of a :class:`HiddenFacts` subclass, its own kind of fact
(item labels here; boxes, label maps and masks beside their challenges), which reads those facts out of
a public file of any form through the guard's views of it (:class:`PublicFile`). The guard itself knows
no kind: it compares counts with the chance level and names what it found with ``noun``.
"""

from __future__ import annotations

import abc
import dataclasses
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar, Dict, FrozenSet, Iterable, Iterator, List, Optional, Protocol, Set, Tuple

import numpy as np

Fact = Tuple[Any, ...]


class PublicFile(Protocol):
    """The leak guard's view of one public file; each view is computed once, when first asked for."""

    name: str
    data: bytes  # the content, a gzip file already opened

    def rows(self) -> List[List[str]]:
        """Tokens per text line, JSON node or HTML table row; whole numbers written as plain digits ("024" -> "24")."""

    def json(self) -> Any:
        """The parsed JSON document, or None if the file is not JSON."""

    def image(self) -> Optional[np.ndarray]:
        """The decoded image (any format Pillow reads, within the pixel limit), or None if the file is not one."""


@dataclass
class Found:
    """The hidden facts a file holds, and how many guesses about hidden items it makes (for the chance level)."""

    facts: Set[Fact] = field(default_factory=set)
    guesses: int = 0


@dataclass(frozen=True)
class HiddenFacts(abc.ABC):
    """What a labelled reference knows that its label-free view does not: the facts a leak would reveal.

    ``chance`` is the probability that one guess about a hidden item is a fact by luck (0 where a fact, a box or
    a whole label map, cannot be guessed).
    """

    facts: FrozenSet[Fact]
    chance: float = 0.0
    #: what the facts are, plural, for the guard's messages: "boxes", "label maps", ...
    noun: ClassVar[str]

    @abc.abstractmethod
    def found_in(self, file: PublicFile) -> Found:
        """The hidden facts ``file`` holds (a subset of ``facts``) and the guesses it makes about hidden items."""

    def narrowed(self, facts: Iterable[Fact]) -> HiddenFacts:
        """The same kind of facts, only ``facts``."""
        return dataclasses.replace(self, facts=frozenset(facts))

    def item_labels(self) -> Optional[Dict[str, str]]:
        """Item -> label where each item has one label (the guard checks that their names' order hides it); else None."""
        return None


@dataclass(frozen=True)
class ItemLabels(HiddenFacts):
    """(item id, label as text) pairs: a class per image or clip, an identity per person image.

    A pair is found when a row of the file holds the item id and, as the number nearest after it (or, with none
    after, before it), the label; each item id in a row with a number is a guess.
    """

    noun: ClassVar[str] = "(item, class) labels"

    @cached_property
    def labels(self) -> Dict[str, str]:
        """Item -> label, built once."""
        return dict(self.facts)

    def item_labels(self) -> Dict[str, str]:
        return self.labels

    def found_in(self, file: PublicFile) -> Found:
        found = Found()
        for row in file.rows():
            numbers = [i for i, token in enumerate(row) if token.isdigit()]
            for position, token in enumerate(row):
                label = self.labels.get(token)
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


def json_nodes(value: Any) -> Iterator[Any]:
    """Every object and list of a JSON document, at any depth."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, (dict, list)):
            yield node
            stack += [item for item in (node.values() if isinstance(node, dict) else node) if isinstance(item, (dict, list))]
