"""COCO run-length encoded (RLE) masks, equal to ``pycocotools.mask``, with overlaps computed on the runs.

An H x W mask is read in column-major (Fortran) order, as COCO does. ``counts`` alternate background
and foreground run lengths, background first (a mask whose first pixel is set starts with a 0).
Uncompressed RLE holds them as a list; compressed RLE as a string of the characters '0' to 'o', each
carrying 5 bits of a number, LEB128-like: bit 0x20 says another character follows, bit 0x10 of a
number's last character is its sign; from the fourth number on, each is stored as its difference to
the number two places before.

Many masks are one `Runs`: the foreground runs of all of them, concatenated, as pixel intervals.
Decoding, areas and overlaps are numpy passes over all masks at once, and an overlap walks the runs
of the two masks (never a bitmap), only where their extents meet.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Iterator, List, Mapping, Sequence, Tuple

import numpy as np

from scoring.errors import quote

ALPHABET = "'0' to 'o'"
PIXEL_LIMIT = 1 << 59  # a mask has fewer pixels, so that its counts and their differences fit MAX_CHARACTERS
MAX_CHARACTERS = 12  # per number: 60 bits, a sign and 59 for the magnitude
INDEX_LIMIT = 1 << 62  # masks * (pixels + 1) of a batch stay below it: `Runs._span` keys fit int64
RUNS_PER_CHUNK = 1 << 20  # runs of the masks whose overlaps one numpy pass computes: bounds its memory
CHARACTERS_PER_CHUNK = 1 << 20  # decoded per numpy pass, which bounds the memory of decoding


class RleError(ValueError):
    """A malformed RLE; ``index`` is its position in the batch, the message says what is wrong."""

    def __init__(self, index: int, message: str) -> None:
        super().__init__(message)
        self.index = index


def _ranges(first: np.ndarray, count: np.ndarray) -> np.ndarray:
    """``first[i], first[i] + 1, ...`` (``count[i]`` numbers) for every i, concatenated."""
    before = np.cumsum(count, dtype=np.int64) - count
    return np.repeat(first - before, count) + np.arange(int(count.sum()), dtype=np.int64)


def chunks(cost: np.ndarray, limit: int) -> Iterator[slice]:
    """Consecutive slices of the items whose summed cost stays within ``limit`` (at least one item each)."""
    total = np.cumsum(cost)
    start = 0
    while start < len(cost):
        done = int(total[start - 1]) if start else 0
        end = max(int(np.searchsorted(total, done + limit, side="right")), start + 1)
        yield slice(start, end)
        start = end


@dataclass(frozen=True)
class Runs:
    """The foreground runs of many masks: mask i's runs are ``start[offset[i]:offset[i + 1]]`` to ``end[...]``.

    A run covers the column-major pixel indices ``start <= p < end``; a mask's runs are sorted and non-empty.
    """

    height: np.ndarray  # (n,) int64
    width: np.ndarray  # (n,) int64
    offset: np.ndarray  # (n + 1,) int64
    start: np.ndarray  # int32 (int64 for masks of 2**31 pixels or more)
    end: np.ndarray

    def __len__(self) -> int:
        return len(self.height)

    def __getitem__(self, index: np.ndarray) -> Runs:
        """The masks at ``index`` (an array of positions), in that order."""
        index = np.asarray(index, dtype=np.int64)
        count = self.offset[index + 1] - self.offset[index]
        runs = _ranges(self.offset[index], count)
        return Runs(self.height[index], self.width[index], np.concatenate([[0], np.cumsum(count)]),
                    self.start[runs], self.end[runs])

    @cached_property
    def area(self) -> np.ndarray:
        """Pixels set in each mask (int64)."""
        out = np.zeros(len(self), dtype=np.int64)
        filled = np.flatnonzero(np.diff(self.offset) > 0)
        if len(filled):
            out[filled] = np.add.reduceat(self.end - self.start, self.offset[filled], dtype=np.int64)
        return out

    @cached_property
    def extent(self) -> np.ndarray:
        """(n, 4) int64: first and last column, first and last row of each mask; an empty one gets (0, -1, 0, -1)."""
        out = np.tile(np.array([0, -1, 0, -1], dtype=np.int64), (len(self), 1))
        for chunk in chunks(np.diff(self.offset), RUNS_PER_CHUNK):  # a bounded number of runs at a time
            masks = np.arange(chunk.start, chunk.stop)
            filled = masks[self.offset[masks + 1] > self.offset[masks]]
            if not len(filled):
                continue
            low, high = self.offset[chunk.start], self.offset[chunk.stop]
            h = np.repeat(self.height[masks], np.diff(self.offset[chunk.start: chunk.stop + 1]))
            column, row = np.divmod(self.start[low:high], h)
            last_column, last_row = np.divmod(self.end[low:high] - 1, h)
            spans = last_column > column  # a run over a column boundary covers every row
            row[spans], last_row[spans] = 0, h[spans] - 1
            first = self.offset[filled] - low
            out[filled, 0] = column[first]
            out[filled, 1] = last_column[self.offset[filled + 1] - 1 - low]
            out[filled, 2] = np.minimum.reduceat(row, first)
            out[filled, 3] = np.maximum.reduceat(last_row, first)
        return out

    @cached_property
    def reach(self) -> np.ndarray:
        """(n, 2) int64: first pixel set and one past the last, per mask; (0, 0) for an empty one."""
        out = np.zeros((len(self), 2), dtype=np.int64)
        filled = np.flatnonzero(np.diff(self.offset) > 0)
        out[filled, 0] = self.start[self.offset[filled]]
        out[filled, 1] = self.end[self.offset[filled + 1] - 1]
        return out

    @cached_property
    def _span(self) -> int:
        """A key ``mask * span + pixel`` orders the runs of all masks in one sorted array (`read` keeps it within
        INDEX_LIMIT for its batch, and so for any subset of distinct masks)."""
        return int((self.height * self.width).max(initial=0)) + 1

    @cached_property
    def _keys(self) -> Tuple[np.ndarray, np.ndarray]:
        mask = np.repeat(np.arange(len(self), dtype=np.int64), np.diff(self.offset)) * self._span
        return mask + self.start, mask + self.end

    @cached_property
    def _coverage_table(self) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Run keys, pixels before each run (over all masks) and run lengths, after a sentinel run."""
        length = self.end - self.start
        return (np.concatenate([[-1], self._keys[0]]), np.concatenate([[0], np.cumsum(length, dtype=np.int64) - length]),
                np.concatenate([[0], length]))

    def _covered(self, key: np.ndarray) -> np.ndarray:
        """Pixels set before ``key = mask * span + pixel``, counted over all masks up to it."""
        keys, before, length = self._coverage_table
        run = np.searchsorted(keys, key, side="right") - 1
        return before[run] + np.minimum(key - keys[run], length[run])

    def _within(self, mask: np.ndarray, low: np.ndarray, high: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """First run of each mask that reaches into pixels ``[low, high)``, and how many do."""
        starts, ends = self._keys
        base = mask * self._span
        first = np.searchsorted(ends, base + low, side="right")
        return first, np.maximum(np.searchsorted(starts, base + high, side="left") - first, 0)


def intersections(a: Runs, i: np.ndarray, b: Runs, j: np.ndarray) -> np.ndarray:
    """Pixels set in both mask ``i[p]`` of ``a`` and mask ``j[p]`` of ``b``, for each pair p (masks of one size).

    Only runs inside the pixels both masks span are read, and of the two masks the one with fewer runs
    there: each of its runs looks up how much of it the other mask covers. The memory is a few arrays
    of the size of ``a`` and ``b``: callers pass subsets (see `pair_iou`).
    """
    i, j = np.asarray(i, dtype=np.int64), np.asarray(j, dtype=np.int64)
    out = np.zeros(len(i), dtype=np.int64)
    low = np.maximum(a.reach[i, 0], b.reach[j, 0])
    high = np.minimum(a.reach[i, 1], b.reach[j, 1])
    first_a, count_a = a._within(i, low, high)
    first_b, count_b = b._within(j, low, high)
    walk_a = count_a <= count_b
    for walked, query, first, count, target, t in ((walk_a, a, first_a, count_a, b, j),
                                                   (~walk_a, b, first_b, count_b, a, i)):
        p = np.flatnonzero(walked)
        n = count[p]
        run = _ranges(first[p], n)
        owner = np.repeat(np.arange(len(p)), n)
        start = np.maximum(query.start[run], low[p][owner])
        end = np.minimum(query.end[run], high[p][owner])
        base = t[p][owner] * target._span
        shared = target._covered(base + end) - target._covered(base + start)
        out[p] = np.bincount(owner, weights=shared, minlength=len(p)).astype(np.int64)
    return out


def pair_iou(dt: Runs, d: np.ndarray, gt: Runs, g: np.ndarray, crowd: np.ndarray, minimum: float = 0.0) -> np.ndarray:
    """IoU of mask ``d[p]`` of ``dt`` with mask ``g[p]`` of ``gt``, as pycocotools' ``rleIou`` computes it.

    Intersection over union, or over the detection's area where ``crowd[p]``; -1 for masks of different
    sizes. A pair whose IoU cannot reach ``minimum`` by its areas and extents alone gets 0 unread. The
    others are read a bounded number of runs at a time, each time on the subset of masks they involve.
    """
    d, g, crowd = np.asarray(d, dtype=np.int64), np.asarray(g, dtype=np.int64), np.asarray(crowd, dtype=bool)
    area_d, area_g = dt.area[d], gt.area[g]
    box_d, box_g = dt.extent[d], gt.extent[g]
    overlap = ((np.minimum(box_d[:, 1], box_g[:, 1]) - np.maximum(box_d[:, 0], box_g[:, 0]) + 1).clip(0)
               * (np.minimum(box_d[:, 3], box_g[:, 3]) - np.maximum(box_d[:, 2], box_g[:, 2]) + 1).clip(0))
    most = np.minimum(np.minimum(overlap, area_d), area_g)
    needed = np.where(crowd, area_d, area_d + area_g - most) * (minimum * (1 - 1e-9))
    same_size = (dt.height[d] == gt.height[g]) & (dt.width[d] == gt.width[g])
    read = np.flatnonzero(same_size & (most > 0) & (most >= needed))
    shared = np.zeros(len(d), dtype=np.int64)
    for chunk in chunks(np.diff(dt.offset)[d[read]] + np.diff(gt.offset)[g[read]], RUNS_PER_CHUNK):
        pairs = read[chunk]
        dts, d_at = np.unique(d[pairs], return_inverse=True)
        gts, g_at = np.unique(g[pairs], return_inverse=True)
        shared[pairs] = intersections(dt[dts], d_at.ravel(), gt[gts], g_at.ravel())
    union = np.where(crowd, area_d, area_d + area_g - shared)
    iou = np.where(shared > 0, shared / np.maximum(union, 1), 0.0)
    return np.where(same_size, iou, -1.0)


def _size_of(rle: Any) -> Any:
    return rle.get("size") if isinstance(rle, Mapping) else None


def _sizes(rles: Sequence[Any]) -> Tuple[np.ndarray, np.ndarray]:
    """Heights and widths of RLE objects; an RleError names the first whose size is not two integers below 2**31
    whose product is below PIXEL_LIMIT, or the largest mask when the batch holds too many of its size (INDEX_LIMIT)."""
    sizes = [_size_of(rle) for rle in rles]
    usual = set(map(type, sizes)) <= {list} and set(map(len, sizes)) <= {2}  # C-level passes for the usual case
    flat = [v for size in sizes for v in size] if usual else []
    if not (usual and set(map(type, flat)) <= {int} and all(0 <= v < 1 << 31 for v in flat)):
        for index, size in enumerate(sizes):
            if not (isinstance(size, (list, tuple)) and len(size) == 2
                    and all(type(v) is int and 0 <= v < 1 << 31 for v in size)):
                raise RleError(index, f"size must be [height, width], two integers from 0 to 2**31 - 1, not {quote(size)}")
        flat = [v for size in sizes for v in size]
    height, width = np.array(flat, dtype=np.int64).reshape(-1, 2).T
    pixels = height * width
    if len(pixels) and (pixels.max() >= PIXEL_LIMIT or (int(pixels.max()) + 1) * (len(pixels) + 1) >= INDEX_LIMIT):
        too_large = pixels >= PIXEL_LIMIT
        k = int(np.argmax(too_large)) if too_large.any() else int(np.argmax(pixels))  # the first too large, else the largest
        issue = ("a mask has fewer than 2**59" if pixels[k] >= PIXEL_LIMIT
                 else f"{len(pixels)} masks of this size are too many for one batch")
        raise RleError(k, f"size {height[k]} x {width[k]} is {pixels[k]} pixels; {issue}")
    return height, width


def _layout(number: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For numbers listed mask after mask (``number`` per mask): each one's mask, its place in the mask, mask starts."""
    first = np.cumsum(number) - number
    owner = np.repeat(np.arange(len(number)), number)
    return owner, np.arange(int(number.sum()), dtype=np.int64) - first[owner], first


def _runs(counts: np.ndarray, number: np.ndarray, height: np.ndarray, width: np.ndarray) -> Runs:
    """Runs from each mask's ``number`` counts, concatenated; an RleError for the first mask whose counts are wrong.

    A count must be non-negative and the counts must sum to H*W (so none exceeds it).
    """
    pixels = height * width
    owner, place, first = _layout(number)
    if len(counts) and (counts.min() < 0 or counts.max() > pixels.max()):
        at = int(np.argmax((counts < 0) | (counts > pixels[owner])))
        issue = "is negative" if counts[at] < 0 else f"exceeds the {pixels[owner[at]]} pixels of the mask"
        raise RleError(int(owner[at]), f"count {place[at]} ({counts[at]}) {issue}")
    total = np.concatenate([[0], np.cumsum(counts)])
    sums = total[first + number] - total[first]
    bad = np.flatnonzero(sums != pixels)
    if len(bad):
        k = int(bad[0])
        raise RleError(k, f"counts sum to {sums[k]}, not {height[k]} x {width[k]} = {pixels[k]} pixels")
    foreground = np.flatnonzero((place % 2 == 1) & (counts > 0))
    position = np.int32 if pixels.max(initial=0) < 1 << 31 else np.int64  # half the memory for the usual sizes
    start = (total[foreground] - total[first][owner[foreground]]).astype(position)
    runs = np.bincount(owner[foreground], minlength=len(number))
    return Runs(height, width, np.concatenate([[0], np.cumsum(runs)]), start, start + counts[foreground].astype(position))


def _compressed(strings: Sequence[Any], pixels: int) -> Tuple[np.ndarray, np.ndarray]:
    """The counts written in compressed strings, concatenated, and how many each holds.

    A number's characters carry 5 bits each, low bits first; from the fourth number of a string on, the
    count is the number plus the count two places before, so each parity of places is a running sum.
    """
    raw: List[bytes] = []
    for index, text in enumerate(strings):
        if isinstance(text, str):
            if not text.isascii():
                odd = next(c for c in text if not c.isascii())
                raise RleError(index, f"counts hold {odd!r}, not a character from {ALPHABET}")
            text = text.encode("ascii")
        raw.append(text)
    length = np.array([len(text) for text in raw], dtype=np.int64)
    begins = np.cumsum(length) - length
    data = np.frombuffer(b"".join(raw), dtype=np.uint8)

    def fail(at: int, message: str) -> RleError:
        index = int(np.searchsorted(begins, at, side="right")) - 1
        return RleError(index, message.format(at=at - begins[index]))

    bad = (data < 48) | (data > 111)
    if bad.any():
        at = int(np.argmax(bad))
        raise fail(at, f"counts hold {chr(data[at])!r} at character {{at}}, not a character from {ALPHABET}")
    code = data - np.uint8(48)
    last = code < 0x20  # a number's last character
    filled = np.flatnonzero(length)
    open_end = ~last[begins[filled] + length[filled] - 1]
    if open_end.any():
        raise RleError(int(filled[np.argmax(open_end)]), "counts end inside a number")
    ends = np.flatnonzero(last)
    first = np.concatenate([[0], ends + 1])[: len(ends)]
    size = ends - first + 1
    if len(size) and size.max() > MAX_CHARACTERS:
        raise fail(int(first[np.argmax(size > MAX_CHARACTERS)]), f"counts hold a number of more than {MAX_CHARACTERS} "
                                                                  "characters at character {at}")
    bits = code & np.uint8(0x1F)
    value = bits[first].astype(np.int64)
    for k in range(1, int(size.max(initial=1))):
        longer = np.flatnonzero(size > k)
        value[longer] |= bits[first[longer] + k].astype(np.int64) << (5 * k)
    negative = np.flatnonzero(code[ends] & np.uint8(0x10))
    value[negative] -= np.left_shift(1, 5 * size[negative])
    seen = np.concatenate([[0], np.cumsum(last, dtype=np.int64)])
    number = seen[begins + length] - seen[begins]
    if len(value) and np.abs(value).max() > pixels:  # no number of a valid mask is larger: sums cannot overflow
        at = int(ends[np.argmax(np.abs(value) > pixels)])
        raise fail(at, "counts hold a number larger than any mask's pixels at character {at}")
    owner, place, first_number = _layout(number)
    total = np.empty_like(value)  # running sums over every second number, across strings
    total[0::2], total[1::2] = np.cumsum(value[0::2]), np.cumsum(value[1::2])
    chain_start = first_number[owner] + np.minimum(place, 2 - place % 2)  # place 0; 1, 3, 5 ...; 2, 4, 6 ...
    return total - (total - value)[chain_start], number


def _uncompressed(lists: Sequence[Any], pixels: int) -> Tuple[np.ndarray, np.ndarray]:
    """The counts of uncompressed RLE (lists of integers), concatenated, and how many each holds."""
    for index, counts in enumerate(lists):
        if not isinstance(counts, (list, tuple)) or set(map(type, counts)) - {int}:
            raise RleError(index, "counts must be a string or a list of integers")
    number = np.array([len(counts) for counts in lists], dtype=np.int64)
    flat = [c for counts in lists for c in counts]
    if any(not -pixels <= c <= pixels for c in flat):  # such a count fails the checks; it need not fit an integer
        at = next(k for k, c in enumerate(flat) if not -pixels <= c <= pixels)
        index = int(np.searchsorted(np.cumsum(number), at, side="right"))
        raise RleError(index, f"count {at - int(np.sum(number[:index]))} ({quote(flat[at])}) is out of range "
                              "for the mask's size")
    return np.array(flat, dtype=np.int64), number


def _decoded(indices: List[int], counts: Sequence[Any], height: np.ndarray, width: np.ndarray, kind: Any) -> Runs:
    """Runs of the RLE objects at ``indices``, whose counts ``kind`` reads, a bounded number of characters at a time.

    The runs go straight into arrays sized for the most a string can hold (half its numbers, plus one), so the
    memory of all runs is held once. Errors name the position in the whole batch.
    """
    h, w = height[indices], width[indices]
    cost = np.array([len(counts[k]) if hasattr(counts[k], "__len__") else 0 for k in indices], dtype=np.int64)
    position = np.int32 if (h * w).max(initial=0) < 1 << 31 else np.int64
    most = int(cost.sum()) // 2 + len(indices)
    start, end = np.empty(most, dtype=position), np.empty(most, dtype=position)
    offset = np.zeros(len(indices) + 1, dtype=np.int64)
    for chunk in chunks(cost, CHARACTERS_PER_CHUNK):
        try:
            value, number = kind([counts[k] for k in indices[chunk]], int((h[chunk] * w[chunk]).max(initial=0)))
            part = _runs(value, number, h[chunk], w[chunk])
        except RleError as error:
            raise RleError(indices[chunk.start + error.index], str(error)) from None
        done = offset[chunk.start]
        start[done: done + len(part.start)], end[done: done + len(part.start)] = part.start, part.end
        offset[chunk.start + 1: chunk.stop + 1] = part.offset[1:] + done
    return Runs(h, w, offset, start[: offset[-1]], end[: offset[-1]])


def _concatenate(parts: Sequence[Runs]) -> Runs:
    shift = np.cumsum([0] + [len(part.start) for part in parts[:-1]])
    return Runs(np.concatenate([part.height for part in parts]), np.concatenate([part.width for part in parts]),
                np.concatenate([[0]] + [part.offset[1:] + s for part, s in zip(parts, shift)]).astype(np.int64),
                np.concatenate([part.start for part in parts]), np.concatenate([part.end for part in parts]))


def read(rles: Sequence[Any]) -> Runs:
    """Runs of COCO RLE objects ``{"size": [H, W], "counts": string or list}``; an RleError names the first bad one."""
    height, width = _sizes(rles)
    counts = [rle.get("counts") for rle in rles]
    packed = [k for k, c in enumerate(counts) if isinstance(c, (str, bytes))]
    if len(packed) == len(counts):
        return _decoded(packed, counts, height, width, _compressed)
    listed = sorted(set(range(len(counts))) - set(packed))
    parts = [_decoded(packed, counts, height, width, _compressed), _decoded(listed, counts, height, width, _uncompressed)]
    return _concatenate(parts)[np.argsort(np.array(packed + listed, dtype=np.int64))]


def string(counts: Sequence[int]) -> str:
    """The compressed string of one mask's counts, as pycocotools' ``rleToString`` writes it."""
    counts = np.asarray(counts, dtype=np.int64)
    value = counts.copy()
    value[3:] -= counts[1:-2]
    shift = 5 * np.arange(MAX_CHARACTERS)
    group = (value[:, None] >> shift) & 0x1F
    rest = value[:, None] >> (shift + 5)
    more = np.where(group & 0x10, rest != -1, rest != 0)
    used = np.argmin(more, axis=1) + 1  # characters per number: up to the first that says "no more"
    inside = np.arange(MAX_CHARACTERS) < used[:, None]
    code = group + 48 + np.where(np.arange(MAX_CHARACTERS) < used[:, None] - 1, 0x20, 0)
    return code[inside].astype(np.uint8).tobytes().decode("ascii")


def counts_of(mask: np.ndarray) -> np.ndarray:
    """The counts of a 2-D mask (nonzero pixels set), in column-major order."""
    flat = np.asarray(mask).ravel(order="F") != 0
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    bounds = np.concatenate([[0], change, [flat.size]])
    counts = np.diff(bounds)
    return np.concatenate([[0], counts]) if flat.size and flat[0] else counts


def encode(mask: np.ndarray) -> dict:
    """The compressed RLE of a 2-D mask, as ``pycocotools.mask.encode`` (counts as text, not bytes)."""
    height, width = np.shape(mask)
    return {"size": [int(height), int(width)], "counts": string(counts_of(mask))}


def compress(rle: Mapping[str, Any]) -> dict:
    """The compressed form of an RLE object, checked: uncompressed counts as ``pycocotools.mask.frPyObjects(rle, H, W)``
    writes them, compressed ones as they are (as text, not bytes)."""
    runs = read([rle])
    counts = rle["counts"]
    text = counts.decode("ascii") if isinstance(counts, bytes) else counts if isinstance(counts, str) else string(counts)
    return {"size": [int(runs.height[0]), int(runs.width[0])], "counts": text}


def decode(rle: Mapping[str, Any]) -> np.ndarray:
    """The (H, W) uint8 mask of an RLE object, as ``pycocotools.mask.decode``."""
    runs = read([rle])
    height, width = int(runs.height[0]), int(runs.width[0])
    flat = np.zeros(height * width, dtype=np.uint8)
    flat[_ranges(runs.start, runs.end - runs.start)] = 1
    return flat.reshape(width, height).T


def area(rles: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """Pixels set in each RLE object, as ``pycocotools.mask.area``."""
    return read(rles).area


def iou(dt: Sequence[Mapping[str, Any]], gt: Sequence[Mapping[str, Any]], crowd: Sequence[bool]) -> np.ndarray:
    """(detections, ground truths) IoU of RLE objects, as ``pycocotools.mask.iou``."""
    d, g = np.divmod(np.arange(len(dt) * len(gt)), len(gt))
    crowd = np.asarray(crowd, dtype=bool).reshape(len(gt))
    return pair_iou(read(dt), d, read(gt), g, crowd[g]).reshape(len(dt), len(gt))
