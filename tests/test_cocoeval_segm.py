"""COCO mask AP: the box engine fed mask IoU equals pycocotools' COCOeval(iouType="segm") on generated cases."""

from __future__ import annotations

import numpy as np
import pytest

from scoring.metrics import cocoeval, rle
from scoring.metrics.cocoeval import Masks
from tests.coco_mask_cases import generate, ours, pycocotools_segm

CASES = {
    "default": {},
    "crowded, many crowds": {"per_image": 15, "detections": 40, "crowd_rate": 0.35},
    "all scores tied, tiny masks": {"tie_rate": 1.0, "size": (30, 40)},
    "over 100 results per image": {"images": 4, "categories": 2, "per_image": 20, "detections": 120},
    "many empty images": {"empty_rate": 0.5},
    "1x1 images": {"images": 20, "size": (1, 1)},
}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("seed", range(3))
def test_all_twelve_stats_precision_and_recall_equal_pycocotools_segm(case, seed):
    truth, results = generate(seed, **CASES[case])
    expected, oracle = pycocotools_segm(truth, results)
    got = ours(truth, results)
    assert np.abs(got.stats - expected).max() <= 1e-12
    assert np.abs(got.precision - oracle.eval["precision"]).max() <= 1e-12
    assert np.abs(got.recall - oracle.eval["recall"]).max() <= 1e-12


def test_a_perfect_match_counts_as_the_hundredth_result_of_its_image_and_category_and_not_as_the_101st():
    truth, results = generate(0, images=3, categories=2, per_image=4, detections=60)
    target = next(a for a in truth["annotations"] if not a["iscrowd"])
    group = (target["image_id"], target["category_id"])
    others = [r for r in results if (r["image_id"], r["category_id"]) != group]
    height, width = target["segmentation"]["size"]
    empty = rle.compress({"size": [height, width], "counts": [height * width]})
    perfect = {"image_id": group[0], "category_id": group[1], "segmentation": target["segmentation"], "score": 0.5}
    stats = []
    for junk in (99, 100):
        batch = [{**perfect, "segmentation": empty, "score": 0.6 + k / 1000} for k in range(junk)] + [perfect]
        expected, _ = pycocotools_segm(truth, others + batch)
        stats.append(ours(truth, others + batch).stats)
        assert np.abs(stats[-1] - expected).max() <= 1e-12
    assert stats[0][0] > stats[1][0]


def test_pairs_that_cannot_reach_the_lowest_threshold_are_never_read(monkeypatch):
    truth, results = generate(1)
    read = []
    original = rle.intersections
    monkeypatch.setattr(rle, "intersections", lambda a, i, b, j: read.append(len(i)) or original(a, i, b, j))
    ours(truth, results)
    same_group = sum(1 for r in results for a in truth["annotations"]
                     if (a["image_id"], a["category_id"]) == (r["image_id"], r["category_id"]))
    assert 0 < sum(read) < same_group / 2


def test_pairs_compared_a_few_at_a_time_give_the_same_evaluation(monkeypatch):
    truth, results = generate(2, per_image=8, detections=30)
    whole = ours(truth, results)
    slices = []
    monkeypatch.setattr(Masks, "pairs_per_chunk", 7)

    def spy(cost, limit):
        found = list(rle.chunks(cost, limit))
        slices.extend(found)
        return found

    monkeypatch.setattr(cocoeval, "chunks", spy)
    pieces = ours(truth, results)
    assert len(slices) > 10
    for field in ("stats", "precision", "recall"):
        assert np.array_equal(getattr(pieces, field), getattr(whole, field))
