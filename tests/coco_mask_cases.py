"""Generated COCO instance masks (ground truth and results) for the mask AP tests and benchmark.

Shapes are ellipses and rings (two runs in a column), some taller than the image (runs across column
boundaries), some empty; the counts are written by pycocotools, so our decoder reads its strings.
"""

from __future__ import annotations

from typing import Any, Dict, List, Tuple

import numpy as np

from scoring.metrics.cocoeval import Evaluation, Masks, evaluate
from scoring.metrics.rle import read
from tests.coco_cases import pycocotools_stats


def shape_counts(height: int, width: int, cx: float, cy: float, rx: float, ry: float, hole: float) -> List[int]:
    """Counts of an ellipse (a ring if ``0 < hole < 1``: the inner part of each column left out)."""
    x = np.arange(max(0, int(np.ceil(cx - rx))), min(width, int(np.floor(cx + rx)) + 1))
    half = ry * np.sqrt(np.clip(1 - ((x - cx) / max(rx, 1e-9)) ** 2, 0, None))
    top, bottom = np.ceil(cy - half), np.floor(cy + half) + 1
    inner_top, inner_bottom = np.ceil(cy - hole * half), np.floor(cy + hole * half) + 1
    pieces = [(top, inner_top), (inner_bottom, bottom)] if hole > 0 else [(top, bottom)]
    column = np.concatenate([x for _ in pieces])
    low = np.concatenate([a for a, _ in pieces]).clip(0, height).astype(np.int64)
    high = np.concatenate([b for _, b in pieces]).clip(0, height).astype(np.int64)
    order = np.lexsort((low, column))
    start, end = (column * height + low)[order], (column * height + high)[order]
    keep = end > start
    start, end = start[keep], end[keep]
    touching = np.flatnonzero(start[1:] == end[:-1])  # join runs that meet across a column boundary
    end = np.delete(end, touching)
    start = np.delete(start, touching + 1)
    bounds = np.concatenate([[0], np.column_stack([start, end]).ravel(), [height * width]])
    return np.diff(bounds).tolist()


def random_shape(rng: np.random.Generator, height: int, width: int, scale: float) -> Tuple[float, ...]:
    """(cx, cy, rx, ry, hole): small to large, sometimes taller than the image, sometimes a ring."""
    rx = float(rng.uniform(0.5, scale * width / 2)) * float(rng.choice([0.1, 0.4, 1.0]))
    ry = float(rng.uniform(0.5, scale * height / 2)) * (3.0 if rng.random() < 0.1 else 1.0)
    if rng.random() < 0.15:  # a large one
        rx, ry = scale * width * float(rng.uniform(0.3, 0.6)), scale * height * float(rng.uniform(0.4, 0.7))
    hole = float(rng.uniform(0.2, 0.8)) if rng.random() < 0.2 else 0.0
    return float(rng.uniform(0, width)), float(rng.uniform(0, height)), rx, ry, hole


def compressed(counts: List[int], height: int, width: int) -> Dict[str, Any]:
    """The compressed RLE object pycocotools writes for these counts, counts as text."""
    from pycocotools import mask

    rle = mask.frPyObjects({"size": [height, width], "counts": counts}, height, width)
    return {"size": [height, width], "counts": rle["counts"].decode("ascii")}


def generate(seed: int, images: int = 12, categories: int = 3, per_image: int = 6, detections: int = 25,
             crowd_rate: float = 0.1, tie_rate: float = 0.3, empty_rate: float = 0.1, size: Tuple[int, int] = (120, 160),
             scale: float = 1.0) -> Tuple[Dict[str, Any], List[Dict[str, Any]]]:
    """Ground truth (COCO dict, crowds as uncompressed RLE) and mask results, with the quirks of `coco_cases`."""
    rng = np.random.default_rng(seed)
    category_ids = sorted(rng.choice(np.arange(1, 91), categories, replace=False).tolist())
    image_ids = sorted(rng.choice(np.arange(1, 10 * images + 1), images, replace=False).tolist())
    sizes = {i: (int(size[0] * rng.choice([1, 0.5])) or 1, int(size[1] * rng.choice([1, 0.7])) or 1) for i in image_ids}
    annotations: List[Dict[str, Any]] = []
    results: List[Dict[str, Any]] = []
    for image_id in image_ids:
        height, width = sizes[image_id]
        objects = []
        for _ in range(0 if rng.random() < empty_rate else int(rng.integers(1, per_image * 2))):
            shape = random_shape(rng, height, width, scale)
            counts = shape_counts(height, width, *shape)
            category = int(rng.choice(category_ids[:-1]))  # the last category never has ground truth
            crowd = bool(rng.random() < crowd_rate)
            segmentation = {"size": [height, width], "counts": counts} if crowd else compressed(counts, height, width)
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": category,
                                "segmentation": segmentation, "area": float(sum(counts[1::2])), "iscrowd": int(crowd)})
            objects.append((category, shape))
        if rng.random() < empty_rate:
            continue  # an image with no results
        for _ in range(int(rng.integers(0, detections * 2)) if rng.random() > 0.1 else 130):  # sometimes > 100
            if objects and rng.random() < 0.6:
                category, (cx, cy, rx, ry, hole) = objects[int(rng.integers(len(objects)))]
                cx, cy = cx + rng.normal(0, 0.1) * rx, cy + rng.normal(0, 0.1) * ry
                shape = (cx, cy, rx * rng.uniform(0.8, 1.2), ry * rng.uniform(0.8, 1.2), hole)
                if rng.random() < 0.1:
                    category = int(rng.choice(category_ids))
            else:
                category, shape = int(rng.choice(category_ids)), random_shape(rng, height, width, scale)
            counts = [height * width] if rng.random() < 0.03 else shape_counts(height, width, *shape)  # a few empty
            score = round(float(rng.random()), 1) if rng.random() < tie_rate else float(rng.random())
            results.append({"image_id": image_id, "category_id": category,
                            "segmentation": compressed(counts, height, width), "score": score})
    truth = {
        "images": [{"id": i, "height": sizes[i][0], "width": sizes[i][1]} for i in image_ids],
        "annotations": annotations,
        "categories": [{"id": c, "name": f"class{c}"} for c in category_ids],
    }
    return truth, results


def pycocotools_segm(truth: Dict[str, Any], results: List[Dict[str, Any]]) -> Tuple[np.ndarray, Any]:
    """The 12 stats of pycocotools' COCOeval(iouType="segm") and the evaluation."""
    return pycocotools_stats(truth, results, "segm")


def ours(truth: Dict[str, Any], results: List[Dict[str, Any]]) -> Evaluation:
    """Our engine on the same data: ground-truth areas from the area field, results' areas from their masks."""
    image_ids = np.array(sorted(image["id"] for image in truth["images"]))
    category_ids = np.array(sorted(category["id"] for category in truth["categories"]))

    def side(entries: List[Dict[str, Any]], labelled: bool) -> Masks:
        runs = read([entry["segmentation"] for entry in entries])
        image = np.searchsorted(image_ids, np.array([e["image_id"] for e in entries], dtype=np.int64))
        category = np.searchsorted(category_ids, np.array([e["category_id"] for e in entries], dtype=np.int64))
        area = np.array([e["area"] for e in entries], dtype=float) if labelled else runs.area.astype(float)
        crowd = np.array([bool(e["iscrowd"]) for e in entries] if labelled else [False] * len(entries), dtype=bool)
        score = np.zeros(len(entries)) if labelled else np.array([e["score"] for e in entries], dtype=float)
        return Masks(image, category, runs, area, crowd, score)

    return evaluate(side(truth["annotations"], True), side(results, False), len(image_ids), len(category_ids))


def basketball(seed: int, images: int = 1000, height: int = 1080, width: int = 1920, players: int = 14,
               results: int = 100) -> Tuple[Dict[str, Any], List[Dict[str, Any]]]:
    """A realistic scale: full-HD images of ``players`` people (tall ellipses) and a ball, ``results`` masks each.

    Most results are jittered copies of an object (a few of another class), the rest people-sized shapes elsewhere.
    """
    rng = np.random.default_rng(seed)
    annotations: List[Dict[str, Any]] = []
    found: List[Dict[str, Any]] = []
    for image_id in range(1, images + 1):
        objects = []
        for k in range(players + 1):
            category = 2 if k == players else 1
            if category == 2:
                rx = ry = float(rng.uniform(6, 15))
            else:
                rx, ry = float(rng.uniform(15, 75)), float(rng.uniform(50, 200))
            shape = (float(rng.uniform(0, width)), float(rng.uniform(0, height)), rx, ry, 0.0)
            counts = shape_counts(height, width, *shape)
            crowd = category == 1 and rng.random() < 0.02
            segmentation = {"size": [height, width], "counts": counts} if crowd else compressed(counts, height, width)
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": category,
                                "segmentation": segmentation, "area": float(sum(counts[1::2])), "iscrowd": int(crowd)})
            objects.append((category, shape))
        for _ in range(results):
            if rng.random() < 0.7:
                category, (cx, cy, rx, ry, _) = objects[int(rng.integers(len(objects)))]
                shape = (cx + rng.normal(0, 0.15) * rx, cy + rng.normal(0, 0.15) * ry, rx * rng.uniform(0.8, 1.2),
                         ry * rng.uniform(0.8, 1.2), 0.0)
                category = 3 - category if rng.random() < 0.05 else category
            else:
                category = 1 + int(rng.random() < 0.1)
                shape = (rng.uniform(0, width), rng.uniform(0, height), rng.uniform(10, 75), rng.uniform(10, 200), 0.0)
            found.append({"image_id": image_id, "category_id": category, "score": float(rng.random()),
                          "segmentation": compressed(shape_counts(height, width, *shape), height, width)})
    truth = {
        "images": [{"id": i, "height": height, "width": width, "file_name": f"{i:06d}.png"} for i in range(1, images + 1)],
        "annotations": annotations,
        "categories": [{"id": 1, "name": "human"}, {"id": 2, "name": "ball"}],
    }
    return truth, found


def with_polygons(truth: Dict[str, Any], seed: int, share: float = 0.5) -> Dict[str, Any]:
    """``truth`` with a share of its non-crowd masks replaced by one to three random polygons (vertices inside and
    outside the image, some repeated, some on half pixels), as organisers' COCO files may hold them."""
    rng = np.random.default_rng(seed)
    for annotation in truth["annotations"]:
        if annotation["iscrowd"] or rng.random() >= share:
            continue
        height, width = annotation["segmentation"]["size"]
        polygons = []
        for _ in range(int(rng.integers(1, 4))):
            centre = rng.uniform(0, [width, height])
            points = centre + rng.normal(0, [width / 4, height / 4], (int(rng.integers(3, 10)), 2))
            if rng.random() < 0.3:
                points = np.round(points * 2) / 2
            if rng.random() < 0.2:
                points[1] = points[0]
            polygons.append(points.ravel().tolist())
        annotation["segmentation"] = polygons
    return truth
