"""Instance segmentation (VIPriors 2021-2023, Synergy basketball): COCO mask AP, equal to pycocotools'
COCOeval(iouType="segm").

The reference is a COCO file whose annotations hold RLE masks (compressed or uncompressed) or polygons,
rasterised as pycocotools does (``scoring/metrics/polygons.py``). A submission is one JSON list of masks
in compressed or uncompressed RLE of the image's size; every reference image counts, and a mask's area
is its pixels (the 2021-2023 script scored only images with a prediction and, for results with a
``bbox``, took areas from the boxes). The COCO machinery (reference images and categories, the JSON
reader, the checks of the entries, the scores and per-category sections, the sample submissions) is detection's,
with hooks for masks in place of boxes.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from scoring import report
from scoring.challenge import REFERENCE_INFO, Column, Section, has_labels
from scoring.challenges.detection import (
    NOT_COCO,
    Detection,
    DetectionLayout,
    DetectionReference,
    Entries,
    index_of,
    is_integer,
    is_number,
    read_coco,
    reference_error,
)
from scoring.errors import quote
from scoring.facts import Fact, Found, HiddenFacts, PublicFile, json_nodes
from scoring.metrics import cocoeval, rle
from scoring.metrics.cocoeval import Evaluation
from scoring.metrics.polygons import COORDINATE_LIMIT, union_counts

KEYS = ("image_id", "category_id", "segmentation", "score")
CATEGORIES = ((1, "human"), (2, "ball"))  # the Synergy basketball classes (the toolkit's baseline.py)
LEAK_IOU = 0.9  # a public mask this close to a hidden one of the same image is a copy of it
WORST_IMAGES = 10
RLE_HINT = "submit compressed RLE {\"size\": [height, width], \"counts\": \"...\"} (pycocotools.mask.encode)"


@dataclass
class InstanceReference(DetectionReference):
    truth: cocoeval.Masks  # type: ignore[assignment]
    sizes: np.ndarray  # (images, 2): height and width, in image_ids order


def _positive_int(value: Any) -> bool:
    return is_integer(value) and value > 0


def rle_of(annotation: Dict[str, Any], height: int, width: int) -> Dict[str, Any]:
    """An annotation's mask as an RLE object; polygons rasterised as pycocotools does."""
    segmentation = annotation["segmentation"]
    if isinstance(segmentation, dict):
        if segmentation.get("size") != [height, width]:
            raise ValueError(f"segmentation size {quote(segmentation.get('size'))} is not the image's [{height}, {width}]")
        return segmentation
    if not (isinstance(segmentation, list) and segmentation and all(
            isinstance(p, list) and len(p) >= 6 and len(p) % 2 == 0
            and all(is_number(v) and abs(v) < COORDINATE_LIMIT for v in p) for p in segmentation)):
        raise ValueError("segmentation must be an RLE object {size, counts} or a list of polygons [x1, y1, x2, y2, "
                         "x3, y3, ...] (at least 3 points each, coordinates below 2**27)")
    return {"size": [height, width], "counts": union_counts(segmentation, height, width)}


def _read_reference(path: Path, labelled: bool = True) -> InstanceReference:
    image_info, category_info, annotations = read_coco(path)
    bad = next((image for image in image_info if not all(_positive_int(image.get(k)) for k in ("id", "height", "width"))),
               None)
    if bad is not None:
        raise reference_error(path, f"image {quote(bad)}: id, height and width must be positive integers")
    image_ids = np.array([image["id"] for image in image_info], dtype=np.int64)
    sizes = np.array([[image["height"], image["width"]] for image in image_info], dtype=np.int64).reshape(-1, 2)
    category_ids = np.array([int(c["id"]) for c in category_info], dtype=np.int64)
    if len(np.unique(image_ids)) != len(image_ids) or len(np.unique(category_ids)) != len(category_ids) or not len(image_ids):
        raise reference_error(path, "image and category ids must be unique, with at least one image")
    if annotations and not labelled:
        raise reference_error(path, "a label-free reference (\"labels\": false) must hold no annotations")
    masks, columns = [], []
    for annotation in annotations:
        where = f"annotation {quote(annotation.get('id') if isinstance(annotation, dict) else annotation)}"
        try:
            if not (_positive_int(annotation["id"]) and is_integer(annotation["image_id"])
                    and is_integer(annotation["category_id"])):
                raise ValueError("id, image_id and category_id must be integers (id positive)")
            image, known = index_of(image_ids, np.array([annotation["image_id"]]))
            category, category_known = index_of(category_ids, np.array([annotation["category_id"]]))
            if not (known[0] and category_known[0]):
                raise ValueError("refers to an image or category that is not listed")
            height, width = sizes[image[0]].tolist()
            masks.append(rle_of(annotation, height, width))
            area = annotation.get("area")
            if area is not None and not (is_number(area) and np.isfinite(area)):
                raise ValueError(f"area must be a number, not {quote(area)}")
            columns.append((annotation["id"], image[0], category[0], np.nan if area is None else area,
                            bool(annotation["iscrowd"])))
        except NOT_COCO as exc:
            message = f"missing {exc}" if isinstance(exc, KeyError) else str(exc)
            raise reference_error(path, f"{where}: {message} (needs id, image_id, category_id, segmentation, iscrowd; "
                                         "area optional, the mask's pixels by default)") from None
    try:
        runs = rle.read(masks)
    except rle.RleError as error:
        raise reference_error(path, f"annotation {annotations[error.index].get('id')}: segmentation: {error}") from None
    ids = [c[0] for c in columns]
    if len(set(ids)) != len(ids):
        raise reference_error(path, "annotation ids must be unique")
    area = np.array([c[3] for c in columns], dtype=float)
    area = np.where(np.isnan(area), runs.area, area)  # pycocotools reads the area field; without one, the pixels
    truth = cocoeval.Masks(np.array([c[1] for c in columns], dtype=np.int64), np.array([c[2] for c in columns], dtype=np.int64),
                           runs, area, np.array([c[4] for c in columns], dtype=bool), np.zeros(len(columns)))
    names = [str(c.get("name", c["id"])) for c in category_info]
    return InstanceReference(image_ids, category_ids, names, truth, image_info, category_info, sizes)


class _MaskEntries(Entries):
    """Checks the masks of a submission and turns them into arrays; errors name the first bad entry."""

    keys = KEYS
    noun = "masks"
    reference: InstanceReference

    def _check_payload(self, index: int, segmentation: Any) -> None:
        if isinstance(segmentation, list):
            rows = all(isinstance(row, list) for row in segmentation) and len({len(row) for row in segmentation}) == 1
            bitmap = rows and len(segmentation) > 1 and all(v in (0, 1) for row in segmentation for v in row)
            raise self.fail(index, f"segmentation is {'a bitmap' if bitmap else 'a list (polygons)'}; {RLE_HINT}")
        if not isinstance(segmentation, dict) or "size" not in segmentation or "counts" not in segmentation:
            raise self.fail(index, f"segmentation must be an RLE object, not {quote(segmentation)}; {RLE_HINT}")

    @staticmethod
    def _payloads_hold(segmentations: List[Any]) -> bool:
        return set(map(type, segmentations)) <= {dict} and all("size" in s and "counts" in s for s in segmentations)

    def _payload_array(self, entries: List[Any], score: np.ndarray) -> None:
        """Nothing yet: the masks are read once their images are known (``_instances``)."""

    def _unknown_category(self, category_id: int) -> str:
        known = ", ".join(map(str, self.reference.category_ids.tolist()))
        return f"unknown category_id {category_id}; the categories are {known}"

    def _instances(self, entries: List[Any], image: np.ndarray, category: np.ndarray, payload: None,
                   score: np.ndarray) -> cocoeval.Masks:
        """The masks' runs, checked of their images' sizes, with their pixels as areas."""
        try:
            runs = rle.read([e["segmentation"] for e in entries])
        except rle.RleError as error:
            raise self.fail(error.index, f"segmentation: {error}") from None
        expected = self.reference.sizes[image]
        wrong = (runs.height != expected[:, 0]) | (runs.width != expected[:, 1])
        if wrong.any():
            index = int(np.argmax(wrong))
            raise self.fail(index, f"segmentation size [{runs.height[index]}, {runs.width[index]}] is not the size of image "
                                   f"{self.reference.image_ids[image[index]]}, [{expected[index, 0]}, {expected[index, 1]}] "
                                   "(height, width)")
        return cocoeval.Masks(image, category, runs, runs.area.astype(float), np.zeros(len(score), dtype=bool), score)


def runs_rle(runs: rle.Runs, index: int) -> Dict[str, Any]:
    """The compressed RLE object of mask ``index`` of ``runs``."""
    height, width = int(runs.height[index]), int(runs.width[index])
    low, high = runs.offset[index], runs.offset[index + 1]
    bounds = np.concatenate([[0], np.column_stack([runs.start[low:high], runs.end[low:high]]).ravel(), [height * width]])
    return {"size": [height, width], "counts": rle.string(np.diff(bounds.astype(np.int64)))}


def rectangle(height: int, width: int, box: Sequence[int]) -> Dict[str, Any]:
    """The compressed RLE object of the rectangle ``[x, y, w, h]`` (whole pixels, inside the image), without a bitmap."""
    x, y, w, h = box
    counts = [x * height + y] + [h, height - h] * w
    counts[-1] = height * width - (x * height + y) - (w - 1) * height - h
    return {"size": [height, width], "counts": rle.string(counts)}


def _random_box(rng: random.Random, height: int, width: int) -> List[int]:
    w, h = rng.randint(1, max(1, width // 3)), rng.randint(1, max(1, height // 3))
    return [rng.randint(0, width - w), rng.randint(0, height - h), w, h]


@dataclass(frozen=True)
class Masks(HiddenFacts):
    """(image id, category id, height, width, compressed counts) of each mask that is not a crowd region.

    A public JSON file holds a mask when an object of it with an ``image_id`` has a ``segmentation`` (compressed
    or uncompressed RLE, or polygons, rasterised at the image's size) whose IoU with a hidden mask of that image
    reaches LEAK_IOU: re-encoded, re-ordered, re-numbered or polygon copies are found, whatever the category
    says. A bare RLE object (no image id) is found when its pixels are a hidden mask's.
    """

    noun: ClassVar[str] = "masks"

    @cached_property
    def _hidden(self) -> Tuple[List[Fact], rle.Runs, Dict[int, np.ndarray], Dict[Tuple[int, int, str], Fact]]:
        facts = sorted(self.facts)
        runs = rle.read([{"size": [h, w], "counts": counts} for _, _, h, w, counts in facts])
        by_image: Dict[int, List[int]] = {}
        for k, fact in enumerate(facts):
            by_image.setdefault(fact[0], []).append(k)
        exact = {fact[2:]: fact for fact in facts}
        return facts, runs, {image: np.array(ks) for image, ks in by_image.items()}, exact

    def _size_of(self, image_id: Any) -> Optional[Tuple[int, int]]:
        facts, runs, by_image, _ = self._hidden
        ks = by_image.get(image_id) if is_integer(image_id) else None
        return None if ks is None else (int(runs.height[ks[0]]), int(runs.width[ks[0]]))

    def _candidates(self, document: Any) -> Tuple[List[Optional[int]], List[Dict[str, Any]]]:
        """(hidden image id or None, RLE object) of every mask the document states: an object's ``segmentation``
        beside an ``image_id`` (polygons rasterised at a hidden image's size), or a bare RLE object."""
        images: List[Optional[int]] = []
        masks: List[Dict[str, Any]] = []
        stated = set()  # the segmentations of objects with an image id, not read again as bare RLE objects
        for node in json_nodes(document):  # an object comes before the objects inside it
            if not isinstance(node, dict) or id(node) in stated:
                continue
            segmentation, size = node, None
            if "image_id" in node:
                segmentation, size = node.get("segmentation"), self._size_of(node["image_id"])
                stated.add(id(segmentation))
            if isinstance(segmentation, list) and size is not None:
                try:
                    segmentation = rle_of({"segmentation": segmentation}, *size)
                except (ValueError, TypeError):
                    continue
            if isinstance(segmentation, dict) and "counts" in segmentation:
                images.append(node["image_id"] if size is not None else None)
                masks.append(segmentation)
        return images, masks

    @staticmethod
    def _readable(masks: List[Dict[str, Any]]) -> Tuple[List[int], Optional[rle.Runs]]:
        """The positions of the masks that are valid RLE (a public file may hold anything), and their runs."""
        try:
            return list(range(len(masks))), rle.read(masks) if masks else None
        except (rle.RleError, TypeError, AttributeError):
            pass
        readable = []
        for k, mask in enumerate(masks):
            try:
                rle.read([mask])
                readable.append(k)
            except (rle.RleError, TypeError, AttributeError):
                continue
        return readable, rle.read([masks[k] for k in readable]) if readable else None

    def found_in(self, file: PublicFile) -> Found:
        document = file.json()
        if document is None or not self.facts:
            return Found()
        images, masks = self._candidates(document)
        readable, runs = self._readable(masks)
        found = Found(guesses=len(readable))
        if runs is None:
            return found
        facts, hidden, by_image, exact = self._hidden
        pairs_d, pairs_g = [], []
        for position, k in enumerate(readable):
            image = images[k]
            if image is None:
                mask = runs_rle(runs, position)
                fact = exact.get((*mask["size"], mask["counts"]))
                if fact is not None:
                    found.facts.add(fact)
            else:
                pairs_d.append(np.full(len(by_image[image]), position))
                pairs_g.append(by_image[image])
        if pairs_d:
            d, g = np.concatenate(pairs_d), np.concatenate(pairs_g)
            iou = rle.pair_iou(runs, d, hidden, g, np.zeros(len(d), dtype=bool), minimum=LEAK_IOU)
            found.facts.update(facts[k] for k in np.unique(g[iou >= LEAK_IOU]).tolist())
        return found


def worst_images(reference: InstanceReference, evaluation: Evaluation) -> List[Tuple[int, int, int, int]]:
    """(image id, ground truth, found at IoU .50, false masks at IoU .50) of the images with the lowest recall at
    IoU .50 (100 masks per image and category, all areas), then the most false masks; only images with ground truth."""
    resampler = evaluation.resampler
    count = len(reference.image_ids)
    truth = resampler.positives.sum(axis=0)
    threshold, _, _, hit_image, _ = resampler.hits
    found = np.bincount(hit_image[threshold == 0], minlength=count)
    threshold, _, _, ignored_image, _ = resampler.ignored
    ignored = np.bincount(ignored_image[threshold == 0], minlength=count)
    masks = np.bincount(resampler.segment_image, weights=resampler.segment_length, minlength=count).astype(np.int64)
    false = masks - found - ignored
    with_truth = np.flatnonzero(truth > 0)
    order = with_truth[np.lexsort((-false[with_truth], found[with_truth] / truth[with_truth]))]
    return [(int(reference.image_ids[i]), int(truth[i]), int(found[i]), int(false[i])) for i in order[:WORST_IMAGES]]


class InstanceSegmentation(Detection):
    """Predictions (``write_submission``): a sequence of ``{image_id, category_id, mask, score}``, ``mask`` a boolean
    H x W array (encoded to compressed RLE with ``scoring/metrics/rle.py``) or an RLE object already."""

    task = "instance-segmentation"
    title = "Instance segmentation"
    reference_format = (
        "annotations.json in COCO format: images (id, file_name, height, width), categories, and annotations with "
        "segmentation (RLE, compressed or not, of the image's size, or polygons, rasterised as pycocotools does), "
        "iscrowd, category_id and optionally area (the mask's pixels by default)."
    )
    submission_format = (
        "A zip holding exactly one JSON file (or the same gzipped, .json.gz): a list of masks "
        '{"image_id": int, "category_id": int, "segmentation": {"size": [height, width], "counts": "..."}, '
        '"score": float}, counts in compressed RLE (pycocotools.mask.encode; uncompressed counts lists are read too), '
        "size equal to the image's. No polygons or bitmaps. Image ids and sizes are in references/<split>/"
        "annotations.json (starting kit; also the public data: test_nolabels.json for the test images, val.json "
        "for val); categories: 1 human, 2 ball. An empty list is valid; images without masks are fine."
    )
    submission_example = ('[{"image_id": 1, "category_id": 1, "segmentation": {"size": [1080, 1920], '
                          '"counts": "Y]h07^Q1..."}, "score": 0.94}]')
    columns = tuple(Column(c.key, c.label, c.description.replace("detection", "mask")) for c in Detection.columns)
    layout = DetectionLayout(annotations="{split}.json", test_images="test_nolabels.json")

    # scoring takes about 10 bytes of memory per submission byte (measured: 1.2 GB, 90 s for 120 MB, 400 000 masks);
    # 100 masks per image on 2 000 full-HD images (people and a ball, a few hundred characters a mask) fit in 128 MiB
    max_submission_bytes = 128 << 20
    entries = _MaskEntries
    score_note = ("Numbers follow pycocotools' COCOeval for masks (segm): at most the 100 best-scored masks per image and "
                  "category count, a mask's area is its pixels, every reference image counts; -1 marks a value that is "
                  "undefined (no ground truth in that range).")

    def load_reference(self, folder: Path, info: Dict[str, Any]) -> InstanceReference:  # type: ignore[override]
        return _read_reference(folder / "annotations.json", has_labels(info))

    def hidden_facts(self, reference: InstanceReference) -> Masks:  # type: ignore[override]
        truth = reference.truth
        return Masks(frozenset(
            (int(reference.image_ids[i]), int(reference.category_ids[c]), *mask["size"], mask["counts"])
            for k, i, c in zip(np.flatnonzero(~truth.crowd).tolist(), truth.image[~truth.crowd].tolist(),
                               truth.category[~truth.crowd].tolist())
            for mask in [runs_rle(truth.runs, k)]))

    def _sections(self, reference: InstanceReference, evaluation: Evaluation) -> List[Section]:  # type: ignore[override]
        rows = [(str(image), str(truth), str(found), str(false))
                for image, truth, found, false in worst_images(reference, evaluation)]
        worst = Section("Images with the lowest recall", report.table(
            ["Image id", "Objects", "Found (IoU .50)", "False masks (IoU .50)"], rows))
        return super()._sections(reference, evaluation) + [worst]

    def write_submission(self, predictions: Sequence[Mapping[str, Any]]) -> Dict[str, bytes]:
        """masks.json: the masks by image, best first, as compressed RLE, scores to 5 decimals."""
        entries = []
        for p in predictions:
            mask = p["mask"]
            segmentation = rle.compress(mask) if isinstance(mask, Mapping) else rle.encode(np.asarray(mask, dtype=bool))
            entries.append({"image_id": int(p["image_id"]), "category_id": int(p["category_id"]),
                            "segmentation": segmentation, "score": round(float(p["score"]), 5)})
        entries.sort(key=lambda e: (e["image_id"], -e["score"], e["category_id"], e["segmentation"]["counts"]))
        return {"masks.json": json.dumps(entries).encode()}

    def write_demo_reference(self, folder: Path, seed: int) -> None:
        rng = random.Random(seed)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / REFERENCE_INFO).write_bytes(self.reference_info(demo=True))
        height, width = 360, 640
        images = [{"id": 1 + i, "width": width, "height": height, "file_name": f"{1 + i:06d}.png"} for i in range(12)]
        annotations = []
        for image in images:
            for _ in range(rng.randint(0, 6)):
                category = 2 if rng.random() < 0.2 else 1
                box = _random_box(rng, height // (4 if category == 2 else 1), width // (4 if category == 2 else 1))
                crowd = rng.random() < 0.05
                segmentation = rectangle(height, width, box)
                if crowd:
                    segmentation = {"size": [height, width], "counts": rle.counts_of(rle.decode(segmentation)).tolist()}
                annotations.append({"id": len(annotations) + 1, "image_id": image["id"], "category_id": category,
                                    "segmentation": segmentation, "area": box[2] * box[3], "iscrowd": int(crowd)})
        categories = [{"id": i, "name": name, "supercategory": name} for i, name in CATEGORIES]
        data = {"images": images, "annotations": annotations, "categories": categories}
        (folder / "annotations.json").write_text(json.dumps(data, indent=1) + "\n")

    def _true_object(self, reference: InstanceReference, index: int) -> Dict[str, Any]:  # type: ignore[override]
        return {"mask": runs_rle(reference.truth.runs, index)}

    def _random_object(self, reference: InstanceReference, image: int,  # type: ignore[override]
                       rng: random.Random) -> Dict[str, Any]:
        """A random rectangle within reference image ``image`` (an index)."""
        height, width = reference.sizes[image].tolist()
        return {"mask": rectangle(height, width, _random_box(rng, height, width))}


CHALLENGE = InstanceSegmentation()
