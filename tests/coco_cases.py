"""Generated COCO ground truth and detections for the detection tests and benchmark."""

from __future__ import annotations

import contextlib
import io
from typing import Any, Dict, List, Tuple

import numpy as np


def generate(seed: int, images: int = 30, categories: int = 6, per_image: int = 8, detections: int = 40,
             crowd_rate: float = 0.08, tie_rate: float = 0.2, empty_rate: float = 0.1, size: float = 400.0,
             ) -> Tuple[Dict[str, Any], List[Dict[str, Any]]]:
    """Ground truth (COCO dict) and detections (results list) with crowds, empty images, ties, junk boxes."""
    rng = np.random.default_rng(seed)
    category_ids = sorted(rng.choice(np.arange(1, 91), categories, replace=False).tolist())
    image_ids = sorted(rng.choice(np.arange(1, 10 * images + 1), images, replace=False).tolist())
    annotations: List[Dict[str, Any]] = []
    results: List[Dict[str, Any]] = []
    for image_id in image_ids:
        count = 0 if rng.random() < empty_rate else int(rng.integers(1, per_image * 2))
        boxes = []
        for _ in range(count):
            w, h = float(rng.uniform(2, size / 2)) * rng.choice([0.1, 0.5, 1.0]), float(rng.uniform(2, size / 2))
            x, y = float(rng.uniform(0, size - w)), float(rng.uniform(0, size - h))
            category = int(rng.choice(category_ids[:-1]))  # the last category never has ground truth
            area = w * h * float(rng.uniform(0.5, 1.0))
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": category,
                                "bbox": [x, y, w, h], "area": area, "iscrowd": int(rng.random() < crowd_rate)})
            boxes.append((category, [x, y, w, h]))
        if rng.random() < empty_rate:
            continue  # an image with no detections
        wanted = int(rng.integers(0, detections * 2)) if rng.random() > 0.1 else 130  # sometimes > 100
        for _ in range(wanted):
            if boxes and rng.random() < 0.6:
                category, (x, y, w, h) = boxes[int(rng.integers(len(boxes)))]
                jitter = rng.normal(0, 0.12, 4) * [w, h, w, h]
                box = [x + jitter[0], y + jitter[1], max(0.5, w + jitter[2]), max(0.5, h + jitter[3])]
                if rng.random() < 0.1:
                    category = int(rng.choice(category_ids))
            else:
                category = int(rng.choice(category_ids))
                w, h = float(rng.uniform(1, size / 2)), float(rng.uniform(1, size / 2))
                box = [float(rng.uniform(0, size - w)), float(rng.uniform(0, size - h)), w, h]
            score = round(float(rng.random()), 1) if rng.random() < tie_rate else float(rng.random())
            results.append({"image_id": image_id, "category_id": category, "bbox": [float(v) for v in box], "score": score})
    truth = {
        "images": [{"id": i, "width": int(size), "height": int(size)} for i in image_ids],
        "annotations": annotations,
        "categories": [{"id": c, "name": f"class{c}"} for c in category_ids],
    }
    return truth, results


def pycocotools_stats(truth: Dict[str, Any], results: List[Dict[str, Any]], iou_type: str = "bbox") -> Tuple[np.ndarray, Any]:
    """The 12 stats of pycocotools' COCOeval(iouType=iou_type) and the evaluation, printing silenced."""
    import copy

    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        ground = COCO()
        ground.dataset = copy.deepcopy(truth)
        ground.createIndex()
        detected = ground.loadRes(copy.deepcopy(results))
        evaluation = COCOeval(ground, detected, iouType=iou_type)
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    return np.asarray(evaluation.stats), evaluation
