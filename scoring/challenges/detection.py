"""Object detection (VIPriors, COCO subset): COCO box AP and AR, equal to pycocotools' COCOeval."""

from __future__ import annotations

import gzip
import io
import json
import math
import random
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Tuple

import numpy as np

from scoring import report
from scoring.challenge import (
    BOX_DECIMALS,
    BOXES,
    Challenge,
    Column,
    HiddenFacts,
    Result,
    Section,
    has_labels,
    replaced,
)
from scoring.errors import ReferenceDataError, SubmissionError, quote
from scoring.json_text import parse_json
from scoring.limits import human_bytes
from scoring.metrics.cocoeval import STAT_NAMES, Boxes, Evaluation, evaluate
from scoring.submission import Submission

KEYS = ("image_id", "category_id", "bbox", "score")
DEMO_CATEGORIES = [(1, "person"), (2, "bicycle"), (3, "car"), (18, "dog"), (44, "bottle")]


PUBLIC_IMAGE_KEYS = ("id", "file_name", "width", "height")  # what a participant may know of a test image
PUBLIC_CATEGORY_KEYS = ("id", "name", "supercategory")
DEFAULT_SIZE = (640, 480)  # for a sample when the reference gives no image size


@dataclass
class DetectionReference:
    image_ids: np.ndarray  # sorted
    category_ids: np.ndarray  # sorted
    category_names: List[str]
    truth: Boxes
    images: List[Dict[str, Any]]  # in image_ids order, public keys only
    categories: List[Dict[str, Any]]  # in category_ids order, public keys only


def _public(entry: Dict[str, Any], keys: Tuple[str, ...]) -> Dict[str, Any]:
    return {key: entry[key] for key in keys if key in entry}


INT64 = 1 << 63
FLOAT_MAX = 1.7976931348623157e308


def _int(value: Any) -> bool:
    """An integer that fits the arrays (64-bit)."""
    return isinstance(value, int) and not isinstance(value, bool) and -INT64 <= value < INT64


def _number(value: Any) -> bool:
    """A number that converts to a float (an integer of 400 digits does not)."""
    return isinstance(value, float) or (isinstance(value, int) and not isinstance(value, bool) and abs(value) <= FLOAT_MAX)


def _index_of(ids: np.ndarray, values: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Positions of ``values`` in the sorted ``ids``, and which values are in ``ids`` at all."""
    position = np.minimum(np.searchsorted(ids, values), len(ids) - 1)
    return position, ids[position] == values


def _reference_error(path: Path, message: str) -> ReferenceDataError:
    return ReferenceDataError(f"{path}: {message}")


NOT_COCO = (ValueError, KeyError, TypeError, AttributeError, OverflowError, IndexError)


def _read_reference(path: Path, labelled: bool = True) -> DetectionReference:
    try:
        data = parse_json(path.read_bytes(), str(path), ReferenceDataError)
        image_info = sorted((_public(image, PUBLIC_IMAGE_KEYS) for image in data["images"]), key=lambda i: int(i["id"]))
        images = [int(image["id"]) for image in image_info]
        category_info = sorted((_public(c, PUBLIC_CATEGORY_KEYS) for c in data["categories"]), key=lambda c: int(c["id"]))
        categories = [(int(c["id"]), str(c.get("name", c["id"]))) for c in category_info]
        annotations = list(data["annotations"])
    except OSError as exc:
        raise _reference_error(path, f"cannot be read ({exc.strerror})") from None
    except NOT_COCO as exc:
        raise _reference_error(path, f"not COCO annotations ({type(exc).__name__}: {exc})") from None
    image_ids = np.array(images, dtype=np.int64)
    category_ids = np.array([c for c, _ in categories], dtype=np.int64)
    if len(set(images)) != len(images) or len(set(category_ids.tolist())) != len(category_ids) or not len(image_ids):
        raise _reference_error(path, "image and category ids must be unique, with at least one image")
    if annotations and not labelled:
        raise _reference_error(path, "a label-free reference (\"labels\": false) must hold no annotations")
    try:
        ids = [a["id"] for a in annotations]
        columns = np.array([(a["image_id"], a["category_id"], a["area"], int(bool(a["iscrowd"]))) for a in annotations],
                           dtype=float).reshape(-1, 4)
        xywh = np.array([a["bbox"] for a in annotations], dtype=float).reshape(-1, 4)
    except NOT_COCO as exc:
        raise _reference_error(path, f"every annotation needs id, image_id, category_id, bbox, area, iscrowd ({exc})") from None
    if not (np.isfinite(columns).all() and np.isfinite(xywh).all()):
        raise _reference_error(path, "an annotation has a non-finite number")
    if any(not _int(i) or i <= 0 for i in ids) or len(set(ids)) != len(ids):
        raise _reference_error(path, "annotation ids must be unique positive integers")
    image, image_known = _index_of(image_ids, columns[:, 0].astype(np.int64))
    category, category_known = _index_of(category_ids, columns[:, 1].astype(np.int64))
    if not (image_known.all() and category_known.all()):
        raise _reference_error(path, "an annotation refers to an image or category that is not listed")
    truth = Boxes(image, category, xywh, columns[:, 2], columns[:, 3].astype(bool), np.zeros(len(ids)))
    return DetectionReference(image_ids, category_ids, [name for _, name in categories], truth, image_info, category_info)


class _Entries:
    """Checks the detections of a submission and turns them into arrays; errors name the first bad entry."""

    def __init__(self, name: str, reference: DetectionReference) -> None:
        self.name = name
        self.reference = reference

    def fail(self, index: int, message: str) -> SubmissionError:
        return SubmissionError(f"{self.name}: entry {index}: {message}")

    def check_one(self, index: int, entry: Any) -> None:
        if not isinstance(entry, dict):
            raise self.fail(index, f"expected an object with {', '.join(KEYS)}, found {type(entry).__name__}")
        for key in KEYS:
            if key not in entry:
                raise self.fail(index, f"missing key {key!r}")
        for key in ("image_id", "category_id"):
            if not _int(entry[key]):
                raise self.fail(index, f"{key} must be an integer, not {quote(entry[key])}")
        box = entry["bbox"]
        if not isinstance(box, list) or len(box) != 4 or not all(_number(v) for v in box):
            raise self.fail(index, f"bbox must be a list of 4 numbers [x, y, width, height], not {quote(box)}")
        if not _number(entry["score"]):
            raise self.fail(index, f"score must be a number, not {quote(entry['score'])}")

    def _types_hold(self, entries: List[Any]) -> bool:
        """Fast check that every entry has the right keys and types (C-level passes, no Python loop per entry)."""
        try:
            if set(map(type, entries)) - {dict}:
                return False
            ids = [e["image_id"] for e in entries] + [e["category_id"] for e in entries]
            boxes = [e["bbox"] for e in entries]
            scores = [e["score"] for e in entries]
        except KeyError:
            return False
        return (
            set(map(type, ids)) <= {int}
            and set(map(type, boxes)) <= {list}
            and set(map(len, boxes)) <= {4}
            and set(map(type, [v for box in boxes for v in box])) <= {int, float}
            and set(map(type, scores)) <= {int, float}
        )

    def _find_bad_entry(self, entries: List[Any]) -> None:
        for index, entry in enumerate(entries):
            self.check_one(index, entry)

    def arrays(self, entries: Any) -> Boxes:
        """The detections as arrays of image and category indices, boxes, areas and scores."""
        if not isinstance(entries, list):
            raise SubmissionError(f"{self.name}: expected a JSON list of detections, found {type(entries).__name__}")
        if not self._types_hold(entries):
            self._find_bad_entry(entries)
        count = len(entries)
        try:
            image_ids = np.fromiter((e["image_id"] for e in entries), dtype=np.int64, count=count)
            category_ids = np.fromiter((e["category_id"] for e in entries), dtype=np.int64, count=count)
            xywh = np.array([e["bbox"] for e in entries], dtype=float).reshape(-1, 4)
            score = np.fromiter((e["score"] for e in entries), dtype=float, count=count)
        except OverflowError:  # an integer too large for the arrays: name the entry
            self._find_bad_entry(entries)
            raise
        finite = np.isfinite(xywh).all(axis=1) & np.isfinite(score)
        if not finite.all():
            index = int(np.argmin(finite))
            raise self.fail(index, f"non-finite number in bbox {xywh[index].tolist()} or score {score[index]}")
        negative = (xywh[:, 2] < 0) | (xywh[:, 3] < 0)
        if negative.any():
            index = int(np.argmax(negative))
            raise self.fail(index, f"negative width or height in bbox {xywh[index].tolist()}")
        image, known = _index_of(self.reference.image_ids, image_ids)
        if not known.all():
            index = int(np.argmin(known))
            raise self.fail(index, f"unknown image_id {image_ids[index]}; use the ids of the reference's annotations.json images")
        category, known = _index_of(self.reference.category_ids, category_ids)
        if not known.all():
            index = int(np.argmin(known))
            raise self.fail(index, f"unknown category_id {category_ids[index]}; use the COCO category ids")
        return Boxes(image, category, xywh, xywh[:, 2] * xywh[:, 3], np.zeros(count, dtype=bool), score)


class Detection(Challenge):
    task = "detection"
    title = "Object detection"
    reference_format = (
        "annotations.json in COCO format (images, annotations with bbox, area, iscrowd and category_id, categories), "
        "with the test images' ids."
    )
    submission_format = (
        "A zip holding exactly one JSON file (or the same gzipped, .json.gz): a list of detections "
        '{"image_id": int, "category_id": int, "bbox": [x, y, width, height], "score": float}. The image ids and '
        "sizes are in references/<split>/annotations.json (starting kit; also public/references/ of the data: "
        "test_images.json for the test images, instances_val.json for val), the category ids are COCO's. An empty list "
        "is valid; images without detections are fine."
    )
    submission_example = '[{"image_id": 1, "category_id": 18, "bbox": [258.2, 41.3, 348.3, 243.6], "score": 0.94}]'
    columns = (
        Column("AP", "AP", "Average precision over IoU 0.50:0.95, all areas, 100 detections (the primary score)."),
        Column("AP50", "AP50", "Average precision at IoU 0.50."),
        Column("AP75", "AP75", "Average precision at IoU 0.75."),
        Column("APs", "AP small", "Average precision of small objects (area < 32^2)."),
        Column("APm", "AP medium", "Average precision of medium objects (32^2 to 96^2)."),
        Column("APl", "AP large", "Average precision of large objects (area > 96^2)."),
        Column("AR1", "AR1", "Average recall with 1 detection per image and category."),
        Column("AR10", "AR10", "Average recall with 10 detections per image and category."),
        Column("AR100", "AR100", "Average recall with 100 detections per image and category."),
        Column("ARs", "AR small", "Average recall of small objects."),
        Column("ARm", "AR medium", "Average recall of medium objects."),
        Column("ARl", "AR large", "Average recall of large objects."),
    )
    resampled = True

    # parsed JSON takes about ten times its size in memory: 256 MiB is 2.5 million detections, 5x a full submission
    max_submission_bytes = 256 << 20

    def load_reference(self, folder: Path, info: Dict[str, Any]) -> DetectionReference:
        return _read_reference(folder / "annotations.json", has_labels(info))

    def hidden_facts(self, reference: DetectionReference) -> HiddenFacts:
        truth = reference.truth
        boxes = np.round(truth.xywh, BOX_DECIMALS).tolist()
        facts = frozenset((int(reference.image_ids[i]), int(reference.category_ids[c]), *box)
                          for i, c, box, crowd in zip(truth.image.tolist(), truth.category.tolist(), boxes, truth.crowd.tolist())
                          if not crowd)
        return HiddenFacts(BOXES, facts)

    def label_free_files(self, reference: DetectionReference) -> Dict[str, bytes]:
        document = {"images": reference.images, "categories": reference.categories, "annotations": []}
        return {"reference.json": self.reference_info(labels=False),
                "annotations.json": (json.dumps(document, indent=1) + "\n").encode()}

    def _read_json(self, submission: Submission, name: str) -> Any:
        data = submission.read(name)
        if name.lower().endswith(".gz"):
            try:
                with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
                    data = stream.read(self.max_submission_bytes + 1)
            except (OSError, EOFError, zlib.error) as exc:
                raise SubmissionError(f"{name}: not a readable gzip file ({exc})") from None
            if len(data) > self.max_submission_bytes:
                raise SubmissionError(f"{name}: more than the limit of {human_bytes(self.max_submission_bytes)} once "
                                      "uncompressed")
        return parse_json(data, name)

    def score(self, reference: DetectionReference, submission: Submission) -> Result:
        name = submission.single(".json", ".json.gz")
        detections = _Entries(name, reference).arrays(self._read_json(submission, name))
        evaluation = evaluate(reference.truth, detections, len(reference.image_ids), len(reference.category_ids))
        scores = dict(zip(STAT_NAMES, evaluation.stats.tolist()))
        undefined = [key for key, value in scores.items() if value == -1]
        warnings = [f"{', '.join(undefined)}: undefined for this reference (no ground truth in that range), shown as -1"]
        with_detections = int(len(np.unique(detections.image))) if len(detections.image) else 0
        return Result(
            scores=scores,
            coverage=(with_detections, len(reference.image_ids)),
            resampler=evaluation.resampler,
            counts={
                "detections": len(detections.score),
                "images": len(reference.image_ids),
                "images_with_detections": with_detections,
            },
            score_warnings=warnings if undefined else [],
            sections=self._sections(reference, evaluation),
            notes=[
                "Numbers follow pycocotools' COCOeval for boxes: at most the 100 best-scored detections per image and "
                "category count; -1 marks a value that is undefined (no ground truth in that range)."
            ],
        )

    def _sections(self, reference: DetectionReference, evaluation: Evaluation) -> List[Section]:
        ap = evaluation.category_ap()
        rows = [(name, report.number(value) if value > -1 else "-1 (no ground truth)")
                for name, value in zip(reference.category_names, ap)]
        curves = []
        for label, t in (("IoU 0.50", 0), ("IoU 0.75", 5)):
            precision = evaluation.precision[t, :, :, 0, -1]
            defined = precision > -1
            counts = defined.sum(axis=1)
            mean = np.where(counts > 0, np.where(defined, precision, 0).sum(axis=1) / np.maximum(counts, 1), math.nan)
            curves.append((label, np.linspace(0, 1, len(mean)).tolist(), mean.tolist()))
        return [
            Section("AP per category", report.table(["Category", "AP (IoU .50:.95)"], rows)),
            Section("Precision and recall", report.line_chart(curves, "recall", "precision (mean over categories)")),
        ]

    def write_demo_reference(self, folder: Path, seed: int) -> None:
        rng = random.Random(seed)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "reference.json").write_text(json.dumps({"task": self.task, "demo": True}) + "\n")
        images = [{"id": 1000 + i, "width": 640, "height": 480, "file_name": f"{1000 + i:012d}.jpg"} for i in range(12)]
        annotations = []
        for image in images:
            for _ in range(rng.randint(0, 6)):
                w, h = rng.uniform(8, 300), rng.uniform(8, 250)
                box = [round(rng.uniform(0, 640 - w), 2), round(rng.uniform(0, 480 - h), 2), round(w, 2), round(h, 2)]
                annotations.append({
                    "id": len(annotations) + 1, "image_id": image["id"], "category_id": rng.choice(DEMO_CATEGORIES)[0],
                    "bbox": box, "area": round(box[2] * box[3] * 0.8, 2), "iscrowd": int(rng.random() < 0.05),
                })
        categories = [{"id": i, "name": name, "supercategory": name} for i, name in DEMO_CATEGORIES]
        data = {"images": images, "annotations": annotations, "categories": categories}
        (folder / "annotations.json").write_text(json.dumps(data, indent=1) + "\n")

    def sample_submission(self, reference: DetectionReference, seed: int) -> Dict[str, bytes]:
        rng = random.Random(seed)
        categories = reference.category_ids.tolist()
        detections = []
        for image in reference.images:
            width, height = (float(image.get(key, default)) for key, default in zip(("width", "height"), DEFAULT_SIZE))
            for _ in range(5):
                w, h = rng.uniform(1, width / 2), rng.uniform(1, height / 2)
                box = [rng.uniform(0, width - w), rng.uniform(0, height - h), w, h]
                detections.append({"image_id": int(image["id"]), "category_id": rng.choice(categories),
                                   "bbox": [round(v, 2) for v in box], "score": round(rng.random(), 4)})
        return {"detections.json": json.dumps(detections).encode()}

    def labelled_submission(self, reference: DetectionReference, noise: float, seed: int) -> Dict[str, bytes]:
        """Every box that is not a crowd region, a share ``noise`` of them moved to a random place and category."""
        rng = random.Random(seed)
        truth = reference.truth
        kept = [i for i, crowd in enumerate(truth.crowd.tolist()) if not crowd]
        wrong = {kept[i] for i in replaced(len(kept), noise, rng)}
        detections = []
        for i in kept:
            image, box, category = reference.images[int(truth.image[i])], truth.xywh[i].tolist(), int(truth.category[i])
            if i in wrong:
                width, height = (float(image.get(key, default)) for key, default in zip(("width", "height"), DEFAULT_SIZE))
                w, h = rng.uniform(1, width / 2), rng.uniform(1, height / 2)
                box = [rng.uniform(0, width - w), rng.uniform(0, height - h), w, h]
                category = rng.randrange(len(reference.category_ids))
            detections.append({"image_id": int(image["id"]), "category_id": int(reference.category_ids[category]),
                               "bbox": [round(v, 2) for v in box], "score": round(rng.uniform(0.5, 1), 4)})
        return {"detections.json": json.dumps(detections).encode()}


CHALLENGE = Detection()
