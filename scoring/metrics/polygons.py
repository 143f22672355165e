"""COCO polygons to masks, pixel for pixel as ``pycocotools.mask.frPyObjects`` and ``merge`` rasterise them.

pycocotools (``rleFrPoly`` in maskApi.c) scales a polygon's vertices by 5, rounds them (C casts: towards
zero), walks every edge one step at a time along its longer axis, keeps the points where the walk
crosses a pixel column's centre, and takes each as the first pixel of a run or of a gap in that
column. The steps below are the same arithmetic on arrays. An object of several polygons is their
union (``merge``).
"""

from __future__ import annotations

from typing import List, Sequence

import numpy as np

SCALE = 5.0
COORDINATE_LIMIT = 1 << 27  # |x|, |y| below it: scaled by 5 they fit the C int pycocotools rounds them to


def _c_int(values: np.ndarray) -> np.ndarray:
    """C's ``(int)`` of doubles: towards zero."""
    return np.trunc(values).astype(np.int64)


def polygon_counts(xy: Sequence[float], height: int, width: int) -> np.ndarray:
    """The uncompressed RLE counts of one polygon ``[x1, y1, x2, y2, ...]`` on an H x W image, as ``rleFrPoly``."""
    points = np.asarray(xy, dtype=float)[: len(xy) // 2 * 2].reshape(-1, 2)
    x, y = _c_int(SCALE * points[:, 0] + 0.5), _c_int(SCALE * points[:, 1] + 0.5)
    xs, ys, xe, ye = x, y, np.roll(x, -1), np.roll(y, -1)
    dx, dy = np.abs(xe - xs), np.abs(ys - ye)
    along_x = dx >= dy
    flip = (along_x & (xs > xe)) | (~along_x & (ys > ye))
    xs, xe = np.where(flip, xe, xs), np.where(flip, xs, xe)
    ys, ye = np.where(flip, ye, ys), np.where(flip, ys, ye)
    steps = np.where(along_x, dx, dy)
    with np.errstate(invalid="ignore", divide="ignore"):  # a zero-length edge: its one point is never used
        slope = np.where(along_x, (ye - ys) / np.maximum(dx, 1), (xe - xs) / np.maximum(dy, 1))
    length = steps + 1
    edge = np.repeat(np.arange(len(steps)), length)
    d = np.arange(int(length.sum())) - np.repeat(np.cumsum(length) - length, length)
    t = np.where(flip[edge], steps[edge] - d, d)
    along = along_x[edge]
    u = np.where(along, t + xs[edge], _c_int(xs[edge] + slope[edge] * t + 0.5))
    v = np.where(along, _c_int(ys[edge] + slope[edge] * t + 0.5), t + ys[edge])
    # points where the walk crosses a column: the column's first pixel of a run or a gap
    moved = np.flatnonzero(u[1:] != u[:-1]) + 1
    column = np.where(u[moved] < u[moved - 1], u[moved], u[moved] - 1)
    xd = (column + 0.5) / SCALE - 0.5
    keep = (np.floor(xd) == xd) & (xd >= 0) & (xd <= width - 1)
    yd = (np.minimum(v[moved], v[moved - 1]) + 0.5) / SCALE - 0.5
    yd = np.ceil(np.clip(yd, 0, height))
    toggles = np.sort(np.append(xd[keep].astype(np.int64) * height + yd[keep].astype(np.int64), height * width))
    counts = np.diff(np.concatenate([[0], toggles]))
    return _merged_zeros(counts)


def _merged_zeros(a: np.ndarray) -> np.ndarray:
    """``rleFrPoly``'s last pass: after the first count, a zero (a point met twice) is dropped and the count after it
    added to the one before; the zero's successor is consumed even when it is a zero itself."""
    index = np.arange(len(a))
    boundary = (a != 0) | (index == 0)
    last_boundary = np.maximum.accumulate(np.where(boundary, index, -1))
    zeros_before = np.concatenate([[0], index[:-1] - last_boundary[:-1]])  # zeros right before each position
    starts = (index == 0) | ((a != 0) & (zeros_before % 2 == 0))
    return np.add.reduceat(a, np.flatnonzero(starts))


def union_counts(polygons: Sequence[Sequence[float]], height: int, width: int) -> List[int]:
    """The uncompressed counts of the union of ``polygons``, as ``merge(frPyObjects(polygons, H, W))``'s pixels."""
    starts, ends = [], []
    for polygon in polygons:
        counts = polygon_counts(polygon, height, width)
        bounds = np.cumsum(counts)
        starts.append(bounds[0::2][: len(bounds) // 2])
        ends.append(bounds[1::2])
    start, end = np.concatenate(starts), np.concatenate(ends)
    order = np.argsort(start, kind="stable")
    start, end = start[order], end[order]
    keep = end > start
    start, end = start[keep], end[keep]
    if not len(start):
        return [height * width]
    reach = np.maximum.accumulate(end)
    new = np.concatenate([[True], start[1:] > reach[:-1]])  # a run that starts past every earlier one's end
    first = np.flatnonzero(new)
    merged_start, merged_end = start[first], np.maximum.reduceat(end, first)
    bounds = np.concatenate([[0], np.column_stack([merged_start, merged_end]).ravel(), [height * width]])
    return np.diff(bounds).tolist()
