"""Shared reading of the classification and action formats.

Both are a reference list of ``item -> class`` and a submission with one item per line followed by
its predicted classes, best first. This module holds what they share: reading the reference,
checking ids and classes line by line into a :class:`TopKAccuracy`, and the results page.
"""

from __future__ import annotations

import abc
import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from scoring import report
from scoring.challenge import REFERENCE_INFO, Challenge, Section, has_labels, optional_int
from scoring.errors import ReferenceDataError, SubmissionError, quote
from scoring.facts import ItemLabels
from scoring.limits import LIMITS
from scoring.metrics.topk import TopKAccuracy, TopKScores

MISSING_SHOWN = 10
WHOLE_NUMBER = re.compile(r"[+-]?[0-9]{1,18}")  # ASCII digits only: int() would also take '٣' or '1_0'
Row = Tuple[int, List[str]]


@dataclass
class RankedReference:
    """Reference items in file order, their class index (0-based) and the class numbering."""

    ids: List[str]
    labels: np.ndarray
    first_class: int  # the number participants write for class index 0 (0 or 1)
    num_classes: int
    class_names: List[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.index: Dict[str, int] = {item: i for i, item in enumerate(self.ids)}

    def class_number(self, index: int) -> int:
        """The number participants use for class ``index``."""
        return index + self.first_class


def _utf8(stream: IO[bytes]) -> io.TextIOWrapper:
    return io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")


def _not_utf8(name: str) -> SubmissionError:
    return SubmissionError(f"{name}: not UTF-8 text; save the file as UTF-8")


def _bounded_lines(stream: IO[bytes], name: str) -> Iterator[str]:
    """The lines of a UTF-8 text, each at most ``LIMITS.max_line_chars`` long (a longer one is an error)."""
    text = _utf8(stream)
    number = 0
    while True:
        line = text.readline(LIMITS.max_line_chars + 1)
        if not line:
            return
        number += 1
        if len(line) > LIMITS.max_line_chars:
            raise SubmissionError(f"{name}, line {number}: longer than the limit of {LIMITS.max_line_chars} characters; "
                                  "write one prediction per line")
        yield line


def text_lines(stream: IO[bytes], name: str) -> Iterator[Tuple[int, str]]:
    """Numbered lines of a UTF-8 text (BOM and CRLF tolerated), blank lines skipped."""
    try:
        for number, line in enumerate(_bounded_lines(stream, name), 1):
            if line.strip():
                yield number, line
    except UnicodeDecodeError:
        raise _not_utf8(name) from None


def csv_rows(stream: IO[bytes], name: str) -> Iterator[Row]:
    """Numbered CSV rows with every cell stripped of surrounding spaces, blank rows skipped."""
    reader = csv.reader(_bounded_lines(stream, name), strict=True)
    try:
        for row in reader:
            cells = [cell.strip() for cell in row]
            if any(cells):
                yield reader.line_num, cells
    except csv.Error as exc:
        raise SubmissionError(f"{name}, line {reader.line_num}: not valid CSV ({exc})") from None
    except UnicodeDecodeError:
        raise _not_utf8(name) from None


def split_rows(stream: IO[bytes], name: str) -> Iterator[Row]:
    """Numbered rows of a whitespace-separated text."""
    for number, line in text_lines(stream, name):
        yield number, line.split()


def read_reference(path: Path, rows: Iterable[Row], first_class: int, num_classes: int) -> Tuple[List[str], np.ndarray]:
    """Check ``(item, class number)`` rows of a reference file; classes come back 0-based."""
    ids: List[str] = []
    labels: List[int] = []
    try:
        for line, row in rows:
            ids.append(_reference_row(path, line, row, first_class, num_classes))
            labels.append(int(row[1]) - first_class)
    except SubmissionError as exc:
        raise ReferenceDataError(f"{path}: {exc}") from None
    if not ids:
        raise ReferenceDataError(f"{path}: no items")
    if len(set(ids)) != len(ids):
        raise ReferenceDataError(f"{path}: an item is listed twice")
    return ids, np.asarray(labels, dtype=np.int64)


def whole_number(text: str) -> Optional[int]:
    """``text`` as a whole number if it is one written in ASCII digits (``12``, ``-3``), else None."""
    return int(text) if WHOLE_NUMBER.fullmatch(text) else None


def _reference_row(path: Path, line: int, row: List[str], first_class: int, num_classes: int) -> str:
    if len(row) != 2 or whole_number(row[1]) is None:
        raise ReferenceDataError(f"{path}, line {line}: expected an item and a class number")
    if not first_class <= int(row[1]) < first_class + num_classes:
        raise ReferenceDataError(f"{path}, line {line}: class outside {first_class}..{first_class + num_classes - 1}")
    return row[0]


def read_class_names(folder: Path, num_classes: int) -> List[str]:
    """Optional ``classes.txt``: one class name per line, in class order (empty list if absent)."""
    path = folder / "classes.txt"
    if not path.exists():
        return []
    try:
        names = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, UnicodeDecodeError) as exc:
        raise ReferenceDataError(f"{path}: cannot be read as UTF-8 text ({exc})") from None
    if len(names) != num_classes:
        raise ReferenceDataError(f"{path}: {len(names)} names for {num_classes} classes")
    return names


def read_item_list(path: Path) -> List[str]:
    """The items of a label-free reference: one id per line."""
    with open_reference(path) as stream:
        try:
            ids = [line.strip() for _, line in text_lines(stream, str(path))]
        except SubmissionError as exc:
            raise ReferenceDataError(str(exc)) from None
    if not ids:
        raise ReferenceDataError(f"{path}: no items")
    if len(set(ids)) != len(ids):
        raise ReferenceDataError(f"{path}: an item is listed twice")
    return ids


class RankedListChallenge(Challenge):
    """A challenge whose reference maps items to classes: reading it, with or without labels."""

    #: the file of a label-free reference: one item id per line
    items_file: str
    #: the number participants write for the first class (0 or 1)
    first_class: int
    #: num_classes when reference.json does not say
    default_classes: int

    @abc.abstractmethod
    def read_labels(self, folder: Path, num_classes: int) -> Tuple[List[str], np.ndarray]:
        """The items of a labelled reference, in file order, and their 0-based classes."""

    def load_reference(self, folder: Path, info: Dict[str, Any]) -> RankedReference:
        num_classes = optional_int(info, "num_classes", self.default_classes)
        if has_labels(info):
            ids, labels = self.read_labels(folder, num_classes)
        else:
            ids = read_item_list(folder / self.items_file)
            labels = np.zeros(len(ids), dtype=np.int64)  # stand-ins: every check runs, no score is kept
        return RankedReference(ids, labels, self.first_class, num_classes, read_class_names(folder, num_classes))

    def hidden_facts(self, reference: RankedReference) -> ItemLabels:
        pairs = frozenset((item, str(reference.class_number(int(label)))) for item, label in zip(reference.ids, reference.labels))
        return ItemLabels(pairs, chance=1 / reference.num_classes)

    def label_free_files(self, reference: RankedReference) -> Dict[str, bytes]:
        return {REFERENCE_INFO: self.reference_info(labels=False, num_classes=reference.num_classes),
                self.items_file: "".join(f"{item}\n" for item in reference.ids).encode()}


def open_reference(path: Path) -> IO[bytes]:
    """Open a reference file, turning a missing file into a ReferenceDataError."""
    try:
        return path.open("rb")
    except OSError as exc:
        raise ReferenceDataError(f"{path}: cannot be read ({exc.strerror})") from None


class RankedListChecker:
    """Checks submission rows one at a time and feeds them to a :class:`TopKAccuracy`."""

    def __init__(self, reference: RankedReference, file_name: str, item_kind: str, ks: Sequence[int]) -> None:
        self.reference = reference
        self.file_name = file_name
        self.item_kind = item_kind
        self.metric = TopKAccuracy(reference.labels, reference.num_classes, ks)
        self.first_line: Dict[int, int] = {}

    def _fail(self, line: int, message: str) -> SubmissionError:
        return SubmissionError(f"{self.file_name}, line {line}: {message}")

    def add(self, line: int, item: str, classes: Sequence[str]) -> None:
        """Check one row (an item id and its predicted class numbers, best first) and record it."""
        index = self.reference.index.get(item)
        if index is None:
            raise self._fail(line, f"unknown {self.item_kind} id {quote(item)}")
        if index in self.first_line:
            raise self._fail(line, f"{self.item_kind} id {quote(item)} appears again (first on line {self.first_line[index]})")
        if not classes:
            raise self._fail(line, f"no class given for {quote(item)}")
        low, high = self.reference.first_class, self.reference.first_class + self.reference.num_classes - 1
        ranked: List[int] = []
        for cell in classes:
            number = whole_number(cell)
            if number is None:
                raise self._fail(line, f"class {quote(cell)} is not an integer")
            if not low <= number <= high:
                raise self._fail(line, f"class {number} is outside {low}..{high}")
            if number - low in ranked:
                raise self._fail(line, f"class {number} is repeated for {quote(item)}")
            ranked.append(number - low)
        self.first_line[index] = line
        self.metric.update(index, ranked)

    def compute(self) -> TopKScores:
        """The metric's scores."""
        return self.metric.compute()

    def missing_warning(self, scores: TopKScores) -> List[str]:
        """A warning naming the first missing items, if any (they count as wrong)."""
        if not scores.missing:
            return []
        missing = np.flatnonzero(~self.metric.seen)[:MISSING_SHOWN]
        shown = ", ".join(self.reference.ids[i] for i in missing)
        more = " ..." if scores.missing > MISSING_SHOWN else ""
        return [
            f"{scores.missing} of {len(self.reference.ids)} {self.item_kind}s have no prediction and count "
            f"as wrong (first: {shown}{more})"
        ]

    def coverage(self, scores: TopKScores) -> Tuple[int, int]:
        """Items with a prediction, and items in the reference."""
        return len(self.reference.ids) - scores.missing, len(self.reference.ids)

    def counts(self, scores: TopKScores) -> Dict[str, int]:
        """Items in the reference, predicted and missing."""
        total = len(self.reference.ids)
        return {
            f"{self.item_kind}s_total": total,
            f"{self.item_kind}s_predicted": total - scores.missing,
            f"{self.item_kind}s_missing": scores.missing,
        }


def per_class_section(reference: RankedReference, scores: TopKScores) -> Section:
    """A table of per-class accuracy for each k (classes absent from the reference left out)."""
    ks = sorted(scores.per_class)
    header = ["Class", "Name"] + [f"top-{k} accuracy" for k in ks]
    rows = []
    for index in range(reference.num_classes):
        values = [scores.per_class[k][index] for k in ks]
        if np.isnan(values[0]):
            continue
        name = reference.class_names[index] if reference.class_names else ""
        rows.append([reference.class_number(index), name] + [report.number(v) for v in values])
    return Section("Accuracy per class", report.table(header, rows, numeric_from=2))
