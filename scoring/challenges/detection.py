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
from typing import Any, ClassVar, Dict, List, Mapping, Sequence, Tuple, Type

import numpy as np

from scoring import report
from scoring.challenge import (
    REFERENCE_INFO,
    Challenge,
    Column,
    PublicLayout,
    Result,
    Section,
    has_labels,
    replaced,
)
from scoring.errors import ReferenceDataError, SubmissionError, quote
from scoring.facts import Found, HiddenFacts, PublicFile, json_nodes
from scoring.json_text import parse_json
from scoring.limits import human_bytes
from scoring.metrics import cocoeval
from scoring.metrics.cocoeval import STAT_NAMES, Evaluation, evaluate
from scoring.submission import Submission

KEYS = ("image_id", "category_id", "bbox", "score")
DEMO_CATEGORIES = [(1, "person"), (2, "bicycle"), (3, "car"), (18, "dog"), (44, "bottle")]


PUBLIC_IMAGE_KEYS = ("id", "file_name", "width", "height")  # what a participant may know of a test image
PUBLIC_CATEGORY_KEYS = ("id", "name", "supercategory")
DEFAULT_SIZE = (640, 480)  # for a sample when the reference gives no image size


BOX_DECIMALS = 1  # boxes are compared after rounding, so that a file written by another tool still matches


@dataclass(frozen=True)
class Boxes(HiddenFacts):
    """(image id, category id, x, y, w, h) of the boxes that are not crowd regions, rounded to ``BOX_DECIMALS``; found
    in every JSON object with ``image_id``, ``category_id`` and ``bbox``, each such object a guess."""

    noun: ClassVar[str] = "boxes"

    def found_in(self, file: PublicFile) -> Found:
        found = Found()
        for node in json_nodes(file.json()):
            box = node.get("bbox") if isinstance(node, dict) else None
            if isinstance(box, list) and len(box) == 4 and all(isinstance(v, (int, float)) for v in box):
                try:
                    found.facts.add((int(node["image_id"]), int(node["category_id"]),
                                     *(round(float(v), BOX_DECIMALS) for v in box)))
                    found.guesses += 1
                except (KeyError, TypeError, ValueError, OverflowError):
                    pass
        found.facts &= self.facts
        return found


@dataclass(frozen=True)
class DetectionLayout(PublicLayout):
    """<split>/<file_name> images; COCO files for train and val, and the test images' ids and sizes only."""

    annotations: str = "annotations/instances_{split}.json"
    test_images: str = "annotations/test_images.json"

    def annotation_file(self, split: str) -> str:
        """The COCO file of ``split``: its annotations, or for test the images (ids, names, sizes) alone."""
        return self.test_images if split == "test" else self.annotations.format(split=split)


@dataclass
class DetectionReference:
    image_ids: np.ndarray  # sorted
    category_ids: np.ndarray  # sorted
    category_names: List[str]
    truth: cocoeval.Boxes
    images: List[Dict[str, Any]]  # in image_ids order, public keys only
    categories: List[Dict[str, Any]]  # in category_ids order, public keys only


def _public(entry: Dict[str, Any], keys: Tuple[str, ...]) -> Dict[str, Any]:
    return {key: entry[key] for key in keys if key in entry}


INT64 = 1 << 63
FLOAT_MAX = 1.7976931348623157e308


def is_integer(value: Any) -> bool:
    """An integer that fits the arrays (64-bit)."""
    return isinstance(value, int) and not isinstance(value, bool) and -INT64 <= value < INT64


def is_number(value: Any) -> bool:
    """A number that converts to a float (an integer of 400 digits does not)."""
    return isinstance(value, float) or (isinstance(value, int) and not isinstance(value, bool) and abs(value) <= FLOAT_MAX)


def index_of(ids: np.ndarray, values: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Positions of ``values`` in the sorted ``ids``, and which values are in ``ids`` at all."""
    position = np.minimum(np.searchsorted(ids, values), len(ids) - 1)
    return position, ids[position] == values


def reference_error(path: Path, message: str) -> ReferenceDataError:
    """A malformed reference file, named."""
    return ReferenceDataError(f"{path}: {message}")


NOT_COCO = (ValueError, KeyError, TypeError, AttributeError, OverflowError, IndexError)


def read_coco(path: Path) -> Tuple[List[Dict[str, Any]], List[Dict[str, Any]], List[Any]]:
    """The images and categories of a COCO file (public keys only, by id) and its annotations."""
    try:
        data = parse_json(path.read_bytes(), str(path), ReferenceDataError)
        image_info = sorted((_public(image, PUBLIC_IMAGE_KEYS) for image in data["images"]), key=lambda i: int(i["id"]))
        category_info = sorted((_public(c, PUBLIC_CATEGORY_KEYS) for c in data["categories"]), key=lambda c: int(c["id"]))
        return image_info, category_info, list(data["annotations"])
    except OSError as exc:
        raise reference_error(path, f"cannot be read ({exc.strerror})") from None
    except NOT_COCO as exc:
        raise reference_error(path, f"not COCO annotations ({type(exc).__name__}: {exc})") from None


def _read_reference(path: Path, labelled: bool = True) -> DetectionReference:
    image_info, category_info, annotations = read_coco(path)
    images = [int(image["id"]) for image in image_info]  # the sorting read every id as an integer
    categories = [(int(c["id"]), str(c.get("name", c["id"]))) for c in category_info]
    image_ids = np.array(images, dtype=np.int64)
    category_ids = np.array([c for c, _ in categories], dtype=np.int64)
    if len(set(images)) != len(images) or len(set(category_ids.tolist())) != len(category_ids) or not len(image_ids):
        raise reference_error(path, "image and category ids must be unique, with at least one image")
    if annotations and not labelled:
        raise reference_error(path, "a label-free reference (\"labels\": false) must hold no annotations")
    try:
        ids = [a["id"] for a in annotations]
        columns = np.array([(a["image_id"], a["category_id"], a["area"], int(bool(a["iscrowd"]))) for a in annotations],
                           dtype=float).reshape(-1, 4)
        xywh = np.array([a["bbox"] for a in annotations], dtype=float).reshape(-1, 4)
    except NOT_COCO as exc:
        raise reference_error(path, f"every annotation needs id, image_id, category_id, bbox, area, iscrowd ({exc})") from None
    if not (np.isfinite(columns).all() and np.isfinite(xywh).all()):
        raise reference_error(path, "an annotation has a non-finite number")
    if any(not is_integer(i) or i <= 0 for i in ids) or len(set(ids)) != len(ids):
        raise reference_error(path, "annotation ids must be unique positive integers")
    image, image_known = index_of(image_ids, columns[:, 0].astype(np.int64))
    category, category_known = index_of(category_ids, columns[:, 1].astype(np.int64))
    if not (image_known.all() and category_known.all()):
        raise reference_error(path, "an annotation refers to an image or category that is not listed")
    truth = cocoeval.Boxes(image, category, xywh, columns[:, 2], columns[:, 3].astype(bool), np.zeros(len(ids)))
    return DetectionReference(image_ids, category_ids, [name for _, name in categories], truth, image_info, category_info)


class Entries:
    """Checks the detections of a submission and turns them into arrays; errors name the first bad entry.

    An entry is an object with ``image_id``, ``category_id``, ``score`` and a payload (here ``bbox``); a subclass
    for another payload overrides ``keys``, ``noun`` and the ``_payload...`` hooks."""

    keys: ClassVar[Tuple[str, ...]] = KEYS  # the payload is keys[2]
    noun: ClassVar[str] = "detections"

    def __init__(self, name: str, reference: DetectionReference) -> None:
        self.name = name
        self.reference = reference

    def fail(self, index: int, message: str) -> SubmissionError:
        return SubmissionError(f"{self.name}: entry {index}: {message}")

    def check_one(self, index: int, entry: Any) -> None:
        if not isinstance(entry, dict):
            raise self.fail(index, f"expected an object with {', '.join(self.keys)}, found {type(entry).__name__}")
        for key in self.keys:
            if key not in entry:
                raise self.fail(index, f"missing key {key!r}")
        for key in ("image_id", "category_id"):
            if not is_integer(entry[key]):
                raise self.fail(index, f"{key} must be an integer, not {quote(entry[key])}")
        self._check_payload(index, entry[self.keys[2]])
        if not is_number(entry["score"]):
            raise self.fail(index, f"score must be a number, not {quote(entry['score'])}")

    def _check_payload(self, index: int, box: Any) -> None:
        if not isinstance(box, list) or len(box) != 4 or not all(is_number(v) for v in box):
            raise self.fail(index, f"bbox must be a list of 4 numbers [x, y, width, height], not {quote(box)}")

    @staticmethod
    def _payloads_hold(boxes: List[Any]) -> bool:
        """Fast check of the payloads' types, without a Python loop per entry."""
        return (set(map(type, boxes)) <= {list} and set(map(len, boxes)) <= {4}
                and set(map(type, [v for box in boxes for v in box])) <= {int, float})

    def _types_hold(self, entries: List[Any]) -> bool:
        """Fast check that every entry has the right keys and types (C-level passes, no Python loop per entry)."""
        try:
            if set(map(type, entries)) - {dict}:
                return False
            ids = [e["image_id"] for e in entries] + [e["category_id"] for e in entries]
            payloads = [e[self.keys[2]] for e in entries]
            scores = [e["score"] for e in entries]
        except KeyError:
            return False
        return set(map(type, ids)) <= {int} and set(map(type, scores)) <= {int, float} and self._payloads_hold(payloads)

    def _find_bad_entry(self, entries: List[Any]) -> None:
        for index, entry in enumerate(entries):
            self.check_one(index, entry)

    def _payload_array(self, entries: List[Any], score: np.ndarray) -> Any:
        """The boxes (x, y, w, h), checked finite (scores too) and of no negative size."""
        xywh = np.array([e["bbox"] for e in entries], dtype=float).reshape(-1, 4)
        finite = np.isfinite(xywh).all(axis=1) & np.isfinite(score)
        if not finite.all():
            index = int(np.argmin(finite))
            raise self.fail(index, f"non-finite number in bbox {xywh[index].tolist()} or score {score[index]}")
        negative = (xywh[:, 2] < 0) | (xywh[:, 3] < 0)
        if negative.any():
            index = int(np.argmax(negative))
            raise self.fail(index, f"negative width or height in bbox {xywh[index].tolist()}")
        return xywh

    def _unknown_category(self, category_id: int) -> str:
        return f"unknown category_id {category_id}; use the COCO category ids"

    def _instances(self, entries: List[Any], image: np.ndarray, category: np.ndarray, xywh: Any,
                   score: np.ndarray) -> cocoeval.Instances:
        """The arrays of the checked entries: ``image`` and ``category`` indices, the payload's array, scores."""
        return cocoeval.Boxes(image, category, xywh, xywh[:, 2] * xywh[:, 3], np.zeros(len(score), dtype=bool), score)

    def arrays(self, entries: Any) -> cocoeval.Instances:
        """The entries as arrays of image and category indices, payloads (here boxes and their areas) and scores."""
        if not isinstance(entries, list):
            raise SubmissionError(f"{self.name}: expected a JSON list of {self.noun}, found {type(entries).__name__}")
        if not self._types_hold(entries):
            self._find_bad_entry(entries)
        count = len(entries)
        try:
            image_ids = np.fromiter((e["image_id"] for e in entries), dtype=np.int64, count=count)
            category_ids = np.fromiter((e["category_id"] for e in entries), dtype=np.int64, count=count)
            score = np.fromiter((e["score"] for e in entries), dtype=float, count=count)
            payload = self._payload_array(entries, score)
        except OverflowError:  # an integer too large for the arrays: name the entry
            self._find_bad_entry(entries)
            raise
        if not np.isfinite(score).all():
            index = int(np.argmin(np.isfinite(score)))
            raise self.fail(index, f"non-finite score {score[index]}")
        image, known = index_of(self.reference.image_ids, image_ids)
        if not known.all():
            index = int(np.argmin(known))
            raise self.fail(index, f"unknown image_id {image_ids[index]}; use the ids of the reference's annotations.json images")
        category, known = index_of(self.reference.category_ids, category_ids)
        if not known.all():
            index = int(np.argmin(known))
            raise self.fail(index, self._unknown_category(category_ids[index]))
        return self._instances(entries, image, category, payload, score)


class Detection(Challenge):
    """Predictions (``write_submission``): a sequence of detections ``{image_id, category_id, bbox: [x, y, w, h],
    score}``."""

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
    layout = DetectionLayout()
    entries: ClassVar[Type[Entries]] = Entries  # reads a submission's entries
    score_note = ("Numbers follow pycocotools' COCOeval for boxes: at most the 100 best-scored detections per image and "
                  "category count; -1 marks a value that is undefined (no ground truth in that range).")

    # parsed JSON takes about ten times its size in memory: 256 MiB is 2.5 million detections, 5x a full submission
    max_submission_bytes = 256 << 20

    def load_reference(self, folder: Path, info: Dict[str, Any]) -> DetectionReference:
        return _read_reference(folder / "annotations.json", has_labels(info))

    def hidden_facts(self, reference: DetectionReference) -> Boxes:
        truth = reference.truth
        boxes = np.round(truth.xywh, BOX_DECIMALS).tolist()
        return Boxes(frozenset((int(reference.image_ids[i]), int(reference.category_ids[c]), *box)
                               for i, c, box, crowd in zip(truth.image.tolist(), truth.category.tolist(), boxes,
                                                           truth.crowd.tolist())
                               if not crowd))

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
        detections = self.entries(name, reference).arrays(self._read_json(submission, name))
        evaluation = evaluate(reference.truth, detections, len(reference.image_ids), len(reference.category_ids))
        scores = dict(zip(STAT_NAMES, evaluation.stats.tolist()))
        undefined = [key for key, value in scores.items() if value == -1]
        warnings = [f"{', '.join(undefined)}: undefined for this reference (no ground truth in that range), shown as -1"]
        with_detections = int(len(np.unique(detections.image)))
        noun = self.entries.noun
        return Result(
            scores=scores,
            coverage=(with_detections, len(reference.image_ids)),
            resampler=evaluation.resampler,
            counts={noun: len(detections.score), "images": len(reference.image_ids), f"images_with_{noun}": with_detections},
            score_warnings=warnings if undefined else [],
            sections=self._sections(reference, evaluation),
            notes=[self.score_note],
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
        (folder / REFERENCE_INFO).write_bytes(self.reference_info(demo=True))
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

    def write_submission(self, predictions: Sequence[Mapping[str, Any]]) -> Dict[str, bytes]:
        """detections.json: the detections by image, best first, boxes to 0.01 pixel and scores to 5 decimals."""
        detections = [{"image_id": int(d["image_id"]), "category_id": int(d["category_id"]),
                       "bbox": [round(float(v), 2) for v in d["bbox"]], "score": round(float(d["score"]), 5)}
                      for d in predictions]
        detections.sort(key=lambda d: (d["image_id"], -d["score"], d["category_id"], d["bbox"]))
        return {"detections.json": json.dumps(detections).encode()}

    def sample_submission(self, reference: DetectionReference, seed: int) -> Dict[str, bytes]:
        rng = random.Random(seed)
        categories = reference.category_ids.tolist()
        return self.write_submission([
            {"image_id": image_id, "category_id": rng.choice(categories), **self._random_object(reference, k, rng),
             "score": rng.random()}
            for k, image_id in enumerate(reference.image_ids.tolist()) for _ in range(5)])

    def labelled_submission(self, reference: DetectionReference, noise: float, seed: int) -> Dict[str, bytes]:
        """Every object that is not a crowd region, a share ``noise`` of them replaced by a random one (place and
        category)."""
        rng = random.Random(seed)
        truth = reference.truth
        kept = [i for i, crowd in enumerate(truth.crowd.tolist()) if not crowd]
        wrong = {kept[i] for i in replaced(len(kept), noise, rng)}
        predictions = []
        for i in kept:
            image, category = int(truth.image[i]), int(truth.category[i])
            found = self._true_object(reference, i)
            if i in wrong:
                found, category = self._random_object(reference, image, rng), rng.randrange(len(reference.category_ids))
            predictions.append({"image_id": int(reference.image_ids[image]), "category_id": int(reference.category_ids[category]),
                                **found, "score": rng.uniform(0.5, 1)})
        return self.write_submission(predictions)

    def _true_object(self, reference: DetectionReference, index: int) -> Dict[str, Any]:
        """Object ``index`` of the reference as ``write_submission`` takes it (without ids and score)."""
        return {"bbox": reference.truth.xywh[index].tolist()}

    def _random_object(self, reference: DetectionReference, image: int, rng: random.Random) -> Dict[str, Any]:
        """A random object of reference image ``image`` (an index) as ``write_submission`` takes it."""
        return {"bbox": _random_box(reference.images[image], rng)}


def _random_box(image: Dict[str, Any], rng: random.Random) -> List[float]:
    """A box [x, y, w, h] at a random place within ``image`` (of DEFAULT_SIZE when it gives no size)."""
    width, height = (float(image.get(key, default)) for key, default in zip(("width", "height"), DEFAULT_SIZE))
    w, h = rng.uniform(1, width / 2), rng.uniform(1, height / 2)
    return [rng.uniform(0, width - w), rng.uniform(0, height - h), w, h]


CHALLENGE = Detection()
