"""COCO detection evaluation in numpy, equal to pycocotools' ``COCOeval`` for boxes ("bbox") and masks ("segm").

Same rules, quirks included: the 100 best-scored detections per image *and category* (stable
order on ties), crowd ground truth matched any number of times with IoU over the detection's area,
greedy matching that prefers non-ignored ground truth and, among equal IoUs, the later one; area
ranges on the annotation ``area`` field (bounds inclusive); 101-point interpolated precision; -1
where a value is undefined. Instead of Python loops over detections, matching advances one
detection rank at a time across all (image, category) groups and all IoU thresholds at once, over
the sparse (detection, ground truth) pairs whose IoU reaches the lowest threshold. Boxes and masks
differ only in how a pair's IoU is computed (masks: on their runs, see ``rle.py``) and where areas
come from; everything after is one engine.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import ClassVar, List, Optional, Tuple, Union

import numpy as np

from scoring.metrics.rle import Runs, chunks, pair_iou
from scoring.resampling import Resampler

IOU_THRESHOLDS = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)
RECALL_THRESHOLDS = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1, endpoint=True)
MAX_DETECTIONS = (1, 10, 100)
AREA_RANGES = ((0**2, 1e5**2), (0**2, 32**2), (32**2, 96**2), (96**2, 1e5**2))
AREA_NAMES = ("all", "small", "medium", "large")
STAT_NAMES = ("AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl")
PAIRS_PER_CHUNK = 4_000_000


@dataclass
class Boxes:
    """Boxes of one side (ground truth or detections) as parallel arrays, in file order."""

    image: np.ndarray  # image index (position in the sorted image ids)
    category: np.ndarray  # category index (position in the sorted category ids)
    xywh: np.ndarray  # (n, 4) float64
    area: np.ndarray  # ground truth: the annotation's area field; detections: w * h
    crowd: np.ndarray  # bool; always False for detections
    score: np.ndarray  # detections' scores; unused for ground truth
    pairs_per_chunk: ClassVar[int] = PAIRS_PER_CHUNK

    def take(self, index: np.ndarray) -> Boxes:
        """The boxes at ``index`` (an array of positions), in that order."""
        return Boxes(*(getattr(self, field.name)[index] for field in fields(self)))

    def overlaps(self, d: np.ndarray, truth: Boxes, g: np.ndarray) -> np.ndarray:
        """IoU of detection ``d[p]`` with ground truth ``g[p]`` of ``truth``, as pycocotools' bbIou."""
        return box_iou(self.xywh[d], truth.xywh[g], truth.crowd[g])


@dataclass
class Masks:
    """Masks of one side, as `Boxes` but with their runs instead of boxes; a subset shares the runs."""

    image: np.ndarray
    category: np.ndarray
    runs: Runs  # mask i of the side is runs' mask ``which[i]`` (all of them, in order, without ``which``)
    area: np.ndarray  # ground truth: as the caller decides (pycocotools reads the area field); detections: runs.area
    crowd: np.ndarray
    score: np.ndarray
    which: Optional[np.ndarray] = None
    pairs_per_chunk: ClassVar[int] = PAIRS_PER_CHUNK // 16  # a pair costs more arrays than for boxes

    def take(self, index: np.ndarray) -> Masks:
        """The masks at ``index`` (an array of positions), in that order."""
        return Masks(self.image[index], self.category[index], self.runs, self.area[index], self.crowd[index],
                     self.score[index], index if self.which is None else self.which[index])

    def overlaps(self, d: np.ndarray, truth: Masks, g: np.ndarray) -> np.ndarray:
        """IoU of detection ``d[p]`` with ground truth ``g[p]``, as pycocotools' rleIou; 0 below the lowest threshold."""
        return pair_iou(self.runs, d if self.which is None else self.which[d], truth.runs,
                        g if truth.which is None else truth.which[g], truth.crowd[g], minimum=IOU_THRESHOLDS[0])


Instances = Union[Boxes, Masks]


Events = Tuple[np.ndarray, ...]  # (threshold, segment, offset in segment, image, category) per event


class PrimaryResampler(Resampler):
    """AP at IoU .50:.95 (all areas, 100 detections) on a resample of the images, from the matches of one evaluation.

    Matching is per image, so it is done once; a resample only re-runs pycocotools' accumulation, with each
    image's detections and ground truth counted as often as the image is drawn. A drawn image's copies follow
    it at once, as if it were repeated under consecutive ids: within a run of equal scores, the copies of one
    image's detections come one block after the other, as pycocotools orders them.

    The accumulation is computed sparsely: a precision-recall curve only rises at a true positive, so the
    interpolated precision at each recall threshold is read at the true positives alone, each with the count of
    non-ignored detections before it. A resample costs the number of segments plus the number of true positives
    and ignored detections, not thresholds times detections.
    """

    def __init__(self, true_pos: np.ndarray, false_pos: np.ndarray, category: np.ndarray, image: np.ndarray,
                 score: np.ndarray, positives: np.ndarray) -> None:
        self.items = positives.shape[1]
        self.positives = positives  # (K, images): non-ignored ground truth per category and image
        new = np.ones(len(score), dtype=bool)  # a segment: detections of one category, score and image, in a row
        new[1:] = (category[1:] != category[:-1]) | (score[1:] != score[:-1]) | (image[1:] != image[:-1])
        segment_start = np.flatnonzero(new)
        self.segment_length = np.diff(np.append(segment_start, len(score)))
        self.segment_image = image[segment_start]
        self.segment_category = category[segment_start]
        segment_of = np.cumsum(new) - 1
        offset = np.arange(len(score)) - segment_start[segment_of]

        def events(mask: np.ndarray) -> Events:
            threshold, detection = np.nonzero(mask)
            return threshold, segment_of[detection], offset[detection], image[detection], category[detection]

        self.hits = events(true_pos)  # (T, D) in accumulation order
        self.ignored = events(~(true_pos | false_pos))

    def _occurrences(self, events: Events, counts: np.ndarray, segment_at: np.ndarray, stride: int
                     ) -> Tuple[np.ndarray, ...]:
        """Every copy of every event in the resample: (threshold, position, category), by threshold then position."""
        threshold, segment, offset, image, category = events
        copies = counts[image]
        event = np.repeat(np.arange(len(threshold)), copies)
        copy = np.arange(len(event)) - np.repeat(np.cumsum(copies) - copies, copies)
        segment = segment[event]
        position = segment_at[segment] + copy * self.segment_length[segment] + offset[event]
        threshold, category = threshold[event], category[event]
        # nearly sorted already: only the copies of segments of several detections move
        order = np.argsort(threshold * stride + position, kind="stable")
        return threshold[order], position[order], category[order]

    def primary(self, counts: np.ndarray) -> float:
        T, R, K = len(IOU_THRESHOLDS), len(RECALL_THRESHOLDS), self.positives.shape[0]
        positives = self.positives @ counts
        lengths = self.segment_length * counts[self.segment_image]
        segment_at = np.cumsum(lengths) - lengths  # where each segment's copies start in the resample's order
        per_category = np.bincount(self.segment_category, weights=lengths, minlength=K).astype(np.int64)
        category_at = np.cumsum(per_category) - per_category
        stride = int(lengths.sum()) + 1
        precision = np.where(positives > 0, 0.0, -1.0)[None, None, :].repeat(T, axis=0).repeat(R, axis=1)
        hit_t, hit_at, hit_k = self._occurrences(self.hits, counts, segment_at, stride)
        if len(hit_t):
            ignored_t, ignored_at, _ = self._occurrences(self.ignored, counts, segment_at, stride)
            ignored_key = ignored_t * stride + ignored_at
            group = hit_t * K + hit_k  # (threshold, category), ascending
            starts = np.flatnonzero(np.concatenate([[True], group[1:] != group[:-1]]))
            ends = np.append(starts[1:], len(group))
            tp_sum = np.arange(len(group)) - np.repeat(starts, ends - starts) + 1
            ignored_before = (np.searchsorted(ignored_key, hit_t * stride + hit_at, side="right")
                              - np.searchsorted(ignored_key, hit_t * stride + category_at[hit_k]))
            fp_sum = hit_at - category_at[hit_k] + 1 - ignored_before - tp_sum
            tp_sum, fp_sum = tp_sum.astype(dtype=float), fp_sum.astype(dtype=float)
            pr = tp_sum / (fp_sum + tp_sum + np.spacing(1))
            present = group[starts]
            rank = _first_reaching(positives[present % K], ends - starts)  # 1-based, per group and threshold
            inside = rank <= (ends - starts)[:, None]
            found = starts[:, None] + np.minimum(rank, (ends - starts)[:, None]) - 1
            q = np.where(inside, _suffix_max_at(pr, found, ends), 0.0)
            precision[present // K, :, present % K] = q
        defined = precision[precision > -1]
        return -1.0 if len(defined) == 0 else float(np.mean(defined))


def _first_reaching(npig: np.ndarray, hits: np.ndarray) -> np.ndarray:
    """Per group and recall threshold r: the first i in 1.. with ``i / npig >= r``, as pycocotools' float division says.

    With i true positives the recall is i / npig, so the first position whose recall reaches r is the i-th hit.
    A rank above ``hits`` means the curve never reaches r.
    """
    npig = npig.astype(float)[:, None]
    rank = np.maximum(np.ceil(RECALL_THRESHOLDS[None, :] * npig), 1.0)
    for _ in range(2):  # the product may round across an integer: settle on the exact comparison
        rank = np.where((rank > 1) & ((rank - 1) / npig >= RECALL_THRESHOLDS), rank - 1, rank)
        rank = np.where(rank / npig < RECALL_THRESHOLDS, rank + 1, rank)
    return rank.astype(np.int64)


def _suffix_max_at(values: np.ndarray, found: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """``max(values[f:end])`` for every ``f`` of ``found`` (groups by row, non-decreasing, each row ending at ``ends``)."""
    bounds = np.concatenate([found, ends[:, None]], axis=1).ravel()
    pieces = np.maximum.reduceat(np.append(values, -1.0), bounds).reshape(found.shape[0], -1)[:, :-1]
    return np.maximum.accumulate(pieces[:, ::-1], axis=1)[:, ::-1]


@dataclass(frozen=True)
class Evaluation:
    """pycocotools' ``eval['precision']`` (T, R, K, A, M) and ``eval['recall']`` (T, K, A, M), and the stats."""

    precision: np.ndarray
    recall: np.ndarray
    stats: np.ndarray
    resampler: PrimaryResampler

    def category_ap(self) -> np.ndarray:
        """AP at IoU .50:.95 per category (all areas, 100 detections); -1 where undefined."""
        values = self.precision[:, :, :, 0, -1]
        out = np.full(values.shape[2], -1.0)
        for k in range(values.shape[2]):
            defined = values[:, :, k][values[:, :, k] > -1]
            if defined.size:
                out[k] = np.mean(defined)
        return out


def box_iou(dt: np.ndarray, gt: np.ndarray, crowd: np.ndarray) -> np.ndarray:
    """IoU of paired boxes (row i of ``dt`` with row i of ``gt``), as pycocotools' bbIou computes it."""
    w = np.minimum(dt[:, 2] + dt[:, 0], gt[:, 2] + gt[:, 0]) - np.maximum(dt[:, 0], gt[:, 0])
    h = np.minimum(dt[:, 3] + dt[:, 1], gt[:, 3] + gt[:, 1]) - np.maximum(dt[:, 1], gt[:, 1])
    overlap = (w > 0) & (h > 0)
    intersection = w * h
    dt_area = dt[:, 2] * dt[:, 3]
    union = np.where(crowd, dt_area, dt_area + gt[:, 2] * gt[:, 3] - intersection)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(overlap, intersection / np.where(overlap, union, 1.0), 0.0)


def _groups(image: np.ndarray, category: np.ndarray, num_images: int) -> np.ndarray:
    return category.astype(np.int64) * num_images + image


def _candidate_pairs(gt: Instances, dt: Instances, dt_group: np.ndarray, num_images: int, num_groups: int
                     ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(detection, ground truth, IoU) for every pair in the same group with IoU >= the lowest threshold."""
    gt_group = _groups(gt.image, gt.category, num_images)
    gt_order = np.argsort(gt_group, kind="stable")
    gt_count = np.bincount(gt_group, minlength=num_groups)
    gt_start = np.concatenate([[0], np.cumsum(gt_count)[:-1]])
    per_dt = gt_count[dt_group]
    found: List[Tuple[np.ndarray, np.ndarray, np.ndarray]] = [(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))]
    for chunk in chunks(per_dt, dt.pairs_per_chunk):  # a bounded number of pairs at a time bounds the memory
        counts = per_dt[chunk]
        d = np.repeat(np.arange(chunk.start, chunk.stop), counts)
        offset = np.arange(len(d)) - np.repeat(np.cumsum(counts) - counts, counts)
        g = gt_order[np.repeat(gt_start[dt_group[chunk]], counts) + offset]
        iou = dt.overlaps(d, gt, g)  # type: ignore[arg-type]
        keep = iou >= IOU_THRESHOLDS[0]
        found.append((d[keep], g[keep], iou[keep]))
    d, g, iou = (np.concatenate(parts) for parts in zip(*found))
    return d, g, iou


def _match(gt: Instances, dt: Instances, dt_group: np.ndarray, gt_ignored: np.ndarray, num_images: int, num_groups: int
           ) -> Tuple[np.ndarray, np.ndarray]:
    """Greedy matching for every IoU threshold and area range.

    Returns ``matched`` (T, A, D) and ``matched_ignored`` (T, A, D): whether each detection found a
    ground truth, and whether that ground truth is ignored in the area range.
    """
    T, A, D = len(IOU_THRESHOLDS), len(AREA_RANGES), len(dt.score)
    matched = np.zeros((T, A, D), dtype=bool)
    matched_ignored = np.zeros((T, A, D), dtype=bool)
    d, g, iou = _candidate_pairs(gt, dt, dt_group, num_images, num_groups)
    if not len(d):
        return matched, matched_ignored
    # Detections are in (group, score) order already, so a candidate's rank among its group's candidates
    # is its step: step s handles at most one detection per group, and groups share no ground truth.
    candidates = np.unique(d)
    cand_group = dt_group[candidates]
    new_group = np.concatenate([[True], cand_group[1:] != cand_group[:-1]])
    group_start = np.maximum.accumulate(np.where(new_group, np.arange(len(candidates)), 0))
    step_of_dt = np.zeros(D, dtype=np.int64)
    step_of_dt[candidates] = np.arange(len(candidates)) - group_start
    step = step_of_dt[d]
    available = np.ones((T, A, len(gt.crowd)), dtype=bool)
    thresholds = IOU_THRESHOLDS[:, None]
    for a in range(A):
        preferred = ~gt_ignored[a, g]
        # within a detection, the best pair is the last by (not ignored, IoU, ground-truth order)
        order = np.lexsort((g, iou, preferred, d, step))
        ds, gs, ious, steps = d[order], g[order], iou[order], step[order]
        step_bounds = np.searchsorted(steps, np.arange(steps[-1] + 2))
        for s in range(len(step_bounds) - 1):
            lo, hi = step_bounds[s], step_bounds[s + 1]
            if lo == hi:
                continue
            sd, sg = ds[lo:hi], gs[lo:hi]
            valid = (ious[lo:hi][None, :] >= thresholds) & available[:, a, sg]
            seg_start = np.flatnonzero(np.concatenate([[True], sd[1:] != sd[:-1]]))
            best = np.maximum.reduceat(np.where(valid, np.arange(hi - lo), -1), seg_start, axis=1)
            t_hit, seg_hit = np.nonzero(best >= 0)
            pair = best[t_hit, seg_hit]
            det, truth = sd[pair], sg[pair]
            matched[t_hit, a, det] = True
            matched_ignored[t_hit, a, det] = gt_ignored[a, truth]
            take = ~gt.crowd[truth]
            available[t_hit[take], a, truth[take]] = False
    return matched, matched_ignored


def evaluate(gt: Instances, dt: Instances, num_images: int, num_categories: int) -> Evaluation:
    """Evaluate detections against ground truth (both boxes or both masks); both use image and category indices."""
    T, R, K, A, M = len(IOU_THRESHOLDS), len(RECALL_THRESHOLDS), num_categories, len(AREA_RANGES), len(MAX_DETECTIONS)
    num_groups = num_images * num_categories
    # Detections in (category, image, score desc, file order); keep the best 100 of each group.
    order = np.lexsort((-dt.score, dt.image, dt.category))
    group = _groups(dt.image, dt.category, num_images)[order]
    starts = np.concatenate([[True], group[1:] != group[:-1]]) if len(group) else np.zeros(0, bool)
    rank = np.arange(len(group)) - np.maximum.accumulate(np.where(starts, np.arange(len(group)), 0))
    keep = order[rank < MAX_DETECTIONS[-1]]
    rank = rank[rank < MAX_DETECTIONS[-1]]
    kept = dt.take(keep)
    kept_group = _groups(kept.image, kept.category, num_images)

    low, high = np.array(AREA_RANGES).T
    gt_ignored = gt.crowd[None, :] | (gt.area[None, :] < low[:, None]) | (gt.area[None, :] > high[:, None])
    dt_outside = (kept.area[None, :] < low[:, None]) | (kept.area[None, :] > high[:, None])
    matched, matched_ignored = _match(gt, kept, kept_group, gt_ignored, num_images, num_groups)
    ignored = np.where(matched, matched_ignored, dt_outside[None, :, :])
    true_pos = matched & ~ignored
    false_pos = ~matched & ~ignored

    precision = -np.ones((T, R, K, A, M))
    recall = -np.ones((T, K, A, M))
    # pycocotools' accumulate order: per category, score desc, ties by image then rank in the image
    by_score = np.lexsort((rank, kept.image, -kept.score, kept.category))
    category_bounds = np.searchsorted(kept.category[by_score], np.arange(K + 1))
    positives = np.stack([np.bincount(gt.category[~gt_ignored[a]], minlength=K) for a in range(A)], axis=1)
    spacing = np.spacing(1)
    for k in range(K):
        in_category = by_score[category_bounds[k]: category_bounds[k + 1]]
        for a in range(A):
            npig = int(positives[k, a])
            if npig == 0:
                continue
            for m, max_det in enumerate(MAX_DETECTIONS):
                chosen = in_category[rank[in_category] < max_det]
                nd = len(chosen)
                tp_sum = np.cumsum(true_pos[:, a, chosen], axis=1).astype(dtype=float)
                fp_sum = np.cumsum(false_pos[:, a, chosen], axis=1).astype(dtype=float)
                if not nd:
                    recall[:, k, a, m] = 0
                    precision[:, :, k, a, m] = 0
                    continue
                rc = tp_sum / npig
                pr = tp_sum / (fp_sum + tp_sum + spacing)
                recall[:, k, a, m] = rc[:, -1]
                pr = np.maximum.accumulate(pr[:, ::-1], axis=1)[:, ::-1]
                for t in range(T):
                    inds = np.searchsorted(rc[t], RECALL_THRESHOLDS, side="left")
                    inside = inds < nd
                    q = np.zeros(R)
                    q[inside] = pr[t, inds[inside]]
                    precision[t, :, k, a, m] = q
    area_all = ~gt_ignored[0]
    positives_per_image = np.bincount(gt.category[area_all].astype(np.int64) * num_images + gt.image[area_all],
                                      minlength=K * num_images).reshape(K, num_images)
    resampler = PrimaryResampler(true_pos[:, 0, by_score], false_pos[:, 0, by_score], kept.category[by_score],
                                 kept.image[by_score], kept.score[by_score], positives_per_image)
    return Evaluation(precision, recall, _summarize(precision, recall), resampler)


def _summarize(precision: np.ndarray, recall: np.ndarray) -> np.ndarray:
    def one(ap: bool, iou: float = None, area: str = "all", max_det: int = 100) -> float:  # type: ignore[assignment]
        aind = [AREA_NAMES.index(area)]
        mind = [MAX_DETECTIONS.index(max_det)]
        s = precision if ap else recall
        if iou is not None:
            s = s[np.where(iou == IOU_THRESHOLDS)[0]]
        s = s[:, :, :, aind, mind] if ap else s[:, :, aind, mind]
        return -1.0 if len(s[s > -1]) == 0 else float(np.mean(s[s > -1]))

    return np.array([
        one(True), one(True, iou=0.5), one(True, iou=0.75),
        one(True, area="small"), one(True, area="medium"), one(True, area="large"),
        one(False, max_det=1), one(False, max_det=10), one(False),
        one(False, area="small"), one(False, area="medium"), one(False, area="large"),
    ])
