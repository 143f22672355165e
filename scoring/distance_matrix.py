"""Read a re-identification submission: the distance from every query (rows) to every gallery item (columns).

The file name's suffix (any case) says the form; any other name is refused. Each form carries the ids, so rows
and columns may come in any order; ids are whole numbers, matched by value (``007`` is 7) against the
reference's, and lower distances mean closer:

- ``.csv``, as the 2021 toolkit's ``write_mat_csv`` writes it: a header row ``0,g1,...,gn`` (its first cell is
  ignored), then one row ``q,d1,...,dn`` per query, distances as decimal numbers (``%10.5f``, spaces around a
  value allowed); blank lines are skipped;
- ``.csv.gz``: the same, gzipped;
- ``.npz`` (``numpy.savez``, compressed or not): arrays ``query_ids`` and ``gallery_ids`` (integers, or strings
  of digits) and ``distances`` (queries x gallery, any float or integer type); read without pickles.

The result is a float64 matrix in the reference's query and gallery order. Every reference id must appear once
and no other id may; every distance must be a finite number. The first problem found is one SubmissionError
naming its line and column (or array and index). Memory stays bounded: a CSV is read a line at a time (each line
within ``LIMITS.max_line_chars``), a gzip within the challenge's byte limit once uncompressed, and an .npz array
is read only once its header's shape matches the reference.
"""

from __future__ import annotations

import gzip
import io
import math
import zipfile
import zlib
from typing import IO, Callable, Dict, Iterator, List, Sequence, Tuple

import numpy as np

from scoring.errors import SubmissionError, quote
from scoring.limits import LIMITS, human_bytes
from scoring.ranked_lists import whole_number
from scoring.submission import ZIP_ERRORS

SUFFIXES = (".csv", ".csv.gz", ".npz")
NPZ_ARRAYS = ("query_ids", "gallery_ids", "distances")
NUMBER_BYTES = b"0123456789.eE+-, \t\r\n"  # with only these, float() reads exactly [+-]d[.d][e[+-]d] among blanks
BOM = b"\xef\xbb\xbf"
MISSING_SHOWN = 5
Where = Callable[[int], str]  # the place of the i-th id or value, for a message


class IdChecker:
    """Maps a submission's ids to the reference's positions: each reference id once, no other."""

    def __init__(self, kind: str, ids: Sequence[int]) -> None:
        self.kind = kind
        self.ids = [int(i) for i in ids]
        self.index: Dict[int, int] = {value: position for position, value in enumerate(self.ids)}
        self.first_seen: Dict[int, str] = {}

    def __len__(self) -> int:
        return len(self.ids)

    def add(self, value: int, where: str) -> int:
        """The reference position of ``value``, given at ``where``; an unknown or repeated id is an error."""
        position = self.index.get(value)
        if position is None:
            raise SubmissionError(f"{where}: {self.kind} id {value} is not in the reference")
        if position in self.first_seen:
            raise SubmissionError(f"{where}: {self.kind} id {value} appears again (first at {self.first_seen[position]})")
        self.first_seen[position] = where
        return position

    def check_complete(self, where: str, holder: str) -> None:
        """An error naming the first reference ids that were never given (``holder``: 'row', 'column', ...)."""
        missing = [value for position, value in enumerate(self.ids) if position not in self.first_seen]
        if missing:
            shown = ", ".join(map(str, missing[:MISSING_SHOWN]))
            more = f" (and {len(missing) - MISSING_SHOWN} more)" if len(missing) > MISSING_SHOWN else ""
            raise SubmissionError(f"{where}: no {holder} for {self.kind} id {shown}{more}; every {self.kind} needs one")


def read_distance_matrix(stream: IO[bytes], name: str, query_ids: Sequence[int], gallery_ids: Sequence[int],
                         max_bytes: int = LIMITS.max_bytes) -> np.ndarray:
    """The distances of the file ``name`` (a ``.csv``, ``.csv.gz`` or ``.npz``), rows and columns in reference order."""
    queries, gallery = IdChecker("query", query_ids), IdChecker("gallery", gallery_ids)
    lower = name.lower()
    if not lower.endswith(SUFFIXES):
        raise SubmissionError(f"{name}: not a distance matrix; name it with one of {', '.join(SUFFIXES)}")
    if lower.endswith(".npz"):
        return _read_npz(stream, name, queries, gallery, max_bytes)
    if lower.endswith(".csv"):
        return _read_csv(_lines(stream, name, max_bytes), name, queries, gallery)
    try:
        with gzip.GzipFile(fileobj=stream) as unpacked:
            return _read_csv(_lines(unpacked, name, max_bytes), name, queries, gallery)
    except (OSError, EOFError, zlib.error) as exc:
        raise SubmissionError(f"{name}: not a readable gzip file ({exc}); compress it again with gzip") from None


def _lines(stream: IO[bytes], name: str, max_bytes: int) -> Iterator[Tuple[int, bytes]]:
    """Numbered non-blank lines, each within the line limit, all together within ``max_bytes``."""
    total, number = 0, 0
    while True:
        line = stream.readline(LIMITS.max_line_chars + 1)
        if not line:
            return
        number += 1
        total += len(line)
        if total > max_bytes:
            raise SubmissionError(f"{name}: more than the limit of {human_bytes(max_bytes)} once uncompressed")
        if len(line) > LIMITS.max_line_chars and not line.endswith(b"\n"):
            raise SubmissionError(f"{name}, line {number}: longer than the limit of {LIMITS.max_line_chars} characters")
        if number == 1 and line.startswith(BOM):
            line = line[len(BOM):]
        if line.strip():
            yield number, line


def _read_csv(lines: Iterator[Tuple[int, bytes]], name: str, queries: IdChecker, gallery: IdChecker) -> np.ndarray:
    first = next(lines, None)
    if first is None:
        raise SubmissionError(f"{name}: empty; expected a header row '0,g1,...,gn' and one row 'q,d1,...,dn' per query")
    number, header = first
    cells = header.split(b",")
    where = f"{name}, line {number}"
    columns = np.array([gallery.add(_whole(_text(cell), f"{where}, column {column}", "gallery id"), f"{where}, column {column}")
                        for column, cell in enumerate(cells[1:], 2)], dtype=np.intp)
    gallery.check_complete(where, "column")
    distances = np.empty((len(queries), len(gallery)))
    for number, line in lines:
        where = f"{name}, line {number}"
        cells = line.split(b",")
        if len(cells) != len(columns) + 1:
            raise SubmissionError(f"{where}: {len(cells)} cells, expected {len(columns) + 1} as in the header "
                                  f"(a query id, then {len(columns)} distances)")
        row = queries.add(_whole(_text(cells[0]), f"{where}, column 1", "query id"), f"{where}, column 1")
        distances[row, columns] = _distances(line[len(cells[0]) + 1:], cells[1:], where)
    queries.check_complete(name, "row")
    return distances


def _whole(cell: str, where: str, what: str) -> int:
    text = cell.strip()
    value = whole_number(text)
    if value is None:
        raise SubmissionError(f"{where}: {what} {quote(text)} is not a whole number")
    return value


def _text(cell: bytes) -> str:
    return cell.decode("utf-8", "replace").strip()


def _cell(cell: bytes) -> str:
    """A distance cell as written, less the blanks allowed around a value, for a message."""
    return cell.decode("utf-8", "replace").strip(" \t\r\n")


def _distances(text: bytes, cells: List[bytes], line_where: str) -> np.ndarray:
    """The distances of one row: ``cells``, the cells of ``text`` (the row after its query id), each a finite
    decimal number."""

    def where(i: int) -> str:
        return f"{line_where}, column {i + 2}"

    if not text.translate(None, NUMBER_BYTES):
        try:
            values = np.fromiter(map(float, cells), dtype=np.float64, count=len(cells))
        except ValueError:
            pass
        else:
            _check_finite(values, lambda i: f"{where(i)}: distance {quote(_cell(cells[i]))}")
            return values
    for i, cell in enumerate(cells):  # the slow path finds and names the first bad cell
        try:
            if cell.translate(None, NUMBER_BYTES) or not math.isfinite(float(cell)):
                _bad_number(cell, where(i))
        except ValueError:
            _bad_number(cell, where(i))
    raise SubmissionError(f"{line_where}: the distances cannot be read")  # not reached: the fast path refused a cell


def _bad_number(cell: bytes, where: str) -> None:
    text = _cell(cell)
    try:
        value = float(text)
    except ValueError:
        raise SubmissionError(f"{where}: distance {quote(text)} is not a number") from None
    _check_finite(np.array([value]), lambda _: f"{where}: distance {quote(text)}")
    raise SubmissionError(f"{where}: distance {quote(text)} is not a decimal number (write digits, '.' and 'e')")


def _check_finite(values: np.ndarray, where: Where) -> None:
    """An error at the first NaN or infinite value of ``values`` (flat index)."""
    flat = values.reshape(-1)
    bad = np.flatnonzero(~np.isfinite(flat))
    if len(bad):
        kind = "NaN" if math.isnan(flat[bad[0]]) else "infinite"
        raise SubmissionError(f"{where(int(bad[0]))} is {kind}; every distance must be a finite number")


def _read_npz(stream: IO[bytes], name: str, queries: IdChecker, gallery: IdChecker, max_bytes: int) -> np.ndarray:
    try:
        archive = zipfile.ZipFile(io.BytesIO(stream.read()))
        members = {member[: -len(".npy")]: member for member in archive.namelist() if member.endswith(".npy")}
    except ZIP_ERRORS as exc:
        raise SubmissionError(f"{name}: not a readable .npz file ({exc}); write it with numpy.savez") from None
    absent = [key for key in NPZ_ARRAYS if key not in members]
    if absent:
        held = ", ".join(quote(key) for key in sorted(members)[:5]) or "no array"
        raise SubmissionError(f"{name}: no array {', '.join(map(repr, absent))} (it holds {held}); save "
                              f"{', '.join(NPZ_ARRAYS)} with numpy.savez")
    npz = _Npz(archive, members, name, max_bytes)
    rows = [queries.add(value, where) for value, where in npz.ids("query_ids")]
    queries.check_complete(name, "entry of query_ids")
    columns = [gallery.add(value, where) for value, where in npz.ids("gallery_ids")]
    gallery.check_complete(name, "entry of gallery_ids")
    values = npz.array("distances", "fiu", (len(rows), len(columns)),
                       "numbers, one row per entry of query_ids and one column per entry of gallery_ids")
    _check_finite(values, lambda i: f"{name}: distances[{i // len(columns)}, {i % len(columns)}]")
    distances = np.empty((len(queries), len(gallery)))
    distances[np.ix_(rows, columns)] = values
    return distances


class _Npz:
    """The arrays of an .npz, each checked by its header (type and shape) before its data is read."""

    def __init__(self, archive: zipfile.ZipFile, members: Dict[str, str], name: str, max_bytes: int) -> None:
        self.archive, self.members, self.name, self.max_bytes = archive, members, name, max_bytes

    def _header(self, key: str) -> Tuple[Tuple[int, ...], np.dtype]:
        with self.archive.open(self.members[key]) as member:
            version = np.lib.format.read_magic(member)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(member)
            elif version == (2, 0):
                shape, _, dtype = np.lib.format.read_array_header_2_0(member)
            else:
                raise ValueError(f"unsupported .npy format version {version}")
        return shape, dtype

    def array(self, key: str, kinds: str, shape: Tuple[int, ...], expected: str) -> np.ndarray:
        """The array ``key`` if its dtype kind is one of ``kinds`` and its shape ``shape`` (-1: any length).

        ``expected`` says what it should hold, for the message.
        """
        where = f"{self.name}: {key}"
        try:
            found, dtype = self._header(key)
            if dtype.kind not in kinds or dtype.hasobject:
                raise SubmissionError(f"{where} holds {dtype} values; save it as {expected}")
            if len(found) != len(shape) or any(want not in (-1, have) for want, have in zip(shape, found)):
                wanted = " x ".join("n" if n == -1 else str(n) for n in shape)
                raise SubmissionError(f"{where} has shape {found}; expected {wanted} ({expected})")
            if math.prod(found) * dtype.itemsize > self.max_bytes:
                raise SubmissionError(f"{where}: more than the limit of {human_bytes(self.max_bytes)}")
            with self.archive.open(self.members[key]) as member:
                return np.lib.format.read_array(member, allow_pickle=False)
        except ZIP_ERRORS as exc:
            raise SubmissionError(f"{where}: cannot be read ({exc}); write the file with numpy.savez") from None

    def ids(self, key: str) -> Iterator[Tuple[int, str]]:
        """The whole numbers of a one-dimensional id array, each with its place."""
        values = self.array(key, "iuUS", (-1,), "one-dimensional integers or strings of digits")
        for index, value in enumerate(values.tolist()):
            where = f"{self.name}: {key}[{index}]"
            if isinstance(value, (str, bytes)):
                value = _whole(_text(value) if isinstance(value, bytes) else value, where, "id")
            yield int(value), where
