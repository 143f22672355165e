"""Semantic segmentation (VIPriors MiniCity, Cityscapes subset): the Cityscapes pixel-level benchmark."""

from __future__ import annotations

import hashlib
import io
import json
import struct
import zlib
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ClassVar, Deque, Dict, Iterator, List, Mapping, Optional, Tuple

import numpy as np
from PIL import Image

from scoring import report
from scoring.challenge import (
    REFERENCE_INFO,
    Challenge,
    Column,
    PublicLayout,
    Result,
    Section,
    check_share,
    has_labels,
)
from scoring.errors import ReferenceDataError, SubmissionError
from scoring.facts import Found, HiddenFacts, PublicFile
from scoring.json_text import parse_json
from scoring.limits import LIMITS
from scoring.metrics.cityscapes import (
    CATEGORIES,
    EVALUATED,
    LABELS,
    NUM_LABELS,
    PixelLevelEvaluation,
    PixelLevelScores,
)
from scoring.progress import progress
from scoring.submission import Submission

LABEL_SUFFIX = "_gtFine_labelIds.png"
INSTANCE_SUFFIX = "_gtFine_instanceIds.png"
SINGLE_CHANNEL_MODES = ("L", "P", "I;16", "I;16L", "I;16B", "I")
PREFETCH = 4  # images decoded ahead of the one being counted: bounds memory whatever the test set size
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SIGNATURE = b"\xff\xd8\xff"
#: what Pillow's PNG reader raises on damaged data (a parser of untrusted bytes; SyntaxError is its "broken PNG")
PILLOW_ERRORS = (OSError, ValueError, SyntaxError, EOFError, TypeError, IndexError, KeyError, struct.error, zlib.error,
                 Image.DecompressionBombError)


SIZES_FILE = "images.json"  # a label-free reference: {"<name>": [width, height]}


@dataclass(frozen=True)
class SegmentationLayout(PublicLayout):
    """Cityscapes' folders: leftImg8bit/<split>/<city>/<name>_leftImg8bit.png for train and val with their
    gtFine/<split>/<city>/<name>_gtFine_*.png; leftImg8bit/test/<name>.png."""

    inputs: str = "leftImg8bit/{split}"
    image_suffix: str = "_leftImg8bit.png"
    labels: str = "gtFine/{split}"
    label_suffix: str = LABEL_SUFFIX
    instance_suffix: str = INSTANCE_SUFFIX

    def truth_file(self, split: str, image: str, suffix: str = LABEL_SUFFIX) -> str:
        """The ground truth (``suffix``: labelIds or instanceIds) of ``image``, ``<city>/<name><image_suffix>``
        within the split's input folder."""
        if not image.endswith(self.image_suffix):
            raise ValueError(f"{image}: not a {self.image_suffix} image")
        return f"{self.labels.format(split=split)}/{image[: -len(self.image_suffix)]}{suffix}"


@dataclass
class SegmentationReference:
    folder: Path
    names: List[str]  # sorted test image names, without ".png"
    sizes: Optional[Dict[str, Tuple[int, int]]] = None  # a label-free reference's image sizes (no ground truth)

    def size(self, name: str) -> Tuple[int, int]:
        """The (width, height) of an image, from the sizes or the ground truth's PNG header (no decoding)."""
        if self.sizes is not None:
            return self.sizes[name]
        path = self.folder / f"{name}{LABEL_SUFFIX}"
        try:
            with Image.open(path) as truth:
                return truth.size
        except PILLOW_ERRORS as exc:
            raise ReferenceDataError(f"{path}: not a readable PNG ({exc})") from None


def label_map_fact(labels: np.ndarray) -> Optional[Tuple[int, int, str]]:
    """(height, width, SHA-256 of the label values as bytes) of a 2-D map of labelIds; None for anything else.

    A map of instanceIds (``labelId * 1000 + k`` for instances) gives the fact of its labelIds: it reveals as much.
    """
    if labels.ndim == 3 and labels.shape[2] >= 3 and (labels[..., :3] == labels[..., :1]).all():
        labels = labels[..., 0]  # grey written as RGB(A)
    if labels.ndim != 2 or labels.size == 0 or labels.min() < 0:
        return None
    if labels.max() > 255:
        labels = np.where(labels >= 1000, labels // 1000, labels)
        if labels.max() > 255:
            return None
    return labels.shape[0], labels.shape[1], hashlib.sha256(np.ascontiguousarray(labels, dtype=np.uint8).tobytes()).hexdigest()


@dataclass(frozen=True)
class LabelMaps(HiddenFacts):
    """(height, width, SHA-256 of the labelIds) of each test image's map (:func:`label_map_fact`); found in any image
    a public file decodes to, compared as pixels, not bytes; each decoded image is a guess."""

    noun: ClassVar[str] = "label maps"

    def found_in(self, file: PublicFile) -> Found:
        image = file.image()
        if image is None:
            return Found()
        fact = label_map_fact(image)
        return Found({fact} & self.facts if fact is not None else set(), 1)


def _decode_reference(path: Path) -> np.ndarray:
    try:
        with Image.open(path) as image:
            return np.asarray(image)
    except PILLOW_ERRORS as exc:
        raise ReferenceDataError(f"{path}: not a readable PNG ({exc})") from None


def _png_size(name: str, data: bytes) -> Tuple[int, int]:
    """Width and height from a PNG's header, read before Pillow sees the file (so a huge one is never decoded)."""
    if data.startswith(JPEG_SIGNATURE):
        raise SubmissionError(f"{name}: a JPEG image; submit PNG files (JPEG is lossy and changes the labels)")
    if not data.startswith(PNG_SIGNATURE) or len(data) < 24 or data[12:16] != b"IHDR":
        raise SubmissionError(f"{name}: not a readable PNG (no PNG signature and header); submit PNG files")
    width, height = struct.unpack(">II", data[16:24])
    if width * height > LIMITS.max_image_pixels:
        raise SubmissionError(f"{name}: {width}x{height} pixels, more than the limit of {LIMITS.max_image_pixels}")
    return width, height


def _decode_prediction(name: str, data: bytes, size: Tuple[int, int]) -> np.ndarray:
    """A participant's PNG as an array of labelIds, after checking its format, size and values."""
    found = _png_size(name, data)
    if found != size:
        raise SubmissionError(f"{name}: size {found[0]}x{found[1]}, expected {size[0]}x{size[1]} (the test image's size)")
    try:
        with Image.open(io.BytesIO(data), formats=["PNG"]) as image:
            if image.mode in ("RGB", "RGBA", "LA", "CMYK", "YCbCr", "RGBX"):
                raise SubmissionError(
                    f"{name}: a {image.mode} image; expected single-channel Cityscapes labelIds (0..33) "
                    "as 8- or 16-bit grey or palette indices, not colours"
                )
            if image.mode not in SINGLE_CHANNEL_MODES:
                raise SubmissionError(f"{name}: image mode {image.mode} is not supported; save 8-bit grey ('L') labelIds")
            array = np.asarray(image)
    except PILLOW_ERRORS as exc:
        raise SubmissionError(f"{name}: not a readable PNG ({type(exc).__name__}: {exc})") from None
    if array.shape != (size[1], size[0]):
        raise SubmissionError(f"{name}: not a readable PNG (decoded to shape {array.shape}); save it again")
    if array.max() >= NUM_LABELS or array.min() < 0:
        bad = np.argwhere((array >= NUM_LABELS) | (array < 0))[0]
        raise SubmissionError(
            f"{name}: value {array[tuple(bad)]} at row {bad[0]}, column {bad[1]} is not a Cityscapes labelId (0..33)"
        )
    return array.astype(np.uint8, copy=False)


def _load_pair(reference: SegmentationReference, name: str, file_name: str, data: bytes
               ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    if reference.sizes is not None:  # label-free: every check on the prediction, against void ground truth
        width, height = reference.sizes[name]
        void = np.zeros((height, width), dtype=np.uint8)
        return _decode_prediction(file_name, data, (width, height)), void, void.astype(np.uint16)
    labels = _decode_reference(reference.folder / f"{name}{LABEL_SUFFIX}")
    instances = _decode_reference(reference.folder / f"{name}{INSTANCE_SUFFIX}")
    if labels.ndim != 2 or labels.max() >= NUM_LABELS or labels.shape != instances.shape:
        raise ReferenceDataError(f"{name}: ground truth must be labelIds 0..33 with instanceIds of the same size")
    if instances.max() > 1000 and (instances[instances > 1000] // 1000).min() < 24:
        raise ReferenceDataError(f"{name}{INSTANCE_SUFFIX}: instance ids above 1000 must be of classes 24..33")
    size = (labels.shape[1], labels.shape[0])
    return _decode_prediction(file_name, data, size), labels, instances


def _decoded(reference: SegmentationReference, submission: Submission, files: Dict[str, str]
             ) -> Iterator[Tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(prediction, labels, instances) in reference order, decoded on two threads a few images ahead."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        pending: Deque[Future] = deque()
        for name in reference.names:
            pending.append(pool.submit(_load_pair, reference, name, files[name], submission.read(files[name])))
            if len(pending) > PREFETCH:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


class Segmentation(Challenge):
    """Predictions (``write_submission``): a mapping of test image name (without ".png") to its labelIds map, a 2-D
    integer array of the image's size."""

    task = "segmentation"
    title = "Semantic segmentation"
    reference_format = (
        "For every test image <name>: <name>_gtFine_labelIds.png (8-bit labelIds) and "
        "<name>_gtFine_instanceIds.png (16-bit; value >= 1000 is instance labelId*1000+k), as in Cityscapes gtFine."
    )
    submission_format = (
        "A zip of single-channel PNG files, one per test image, named like the test image (<name>.png), of the "
        "same size (2048x1024), whose pixel values are Cityscapes labelIds 0..33 (8- or 16-bit grey, or palette "
        "indices). Colour (RGB) images are refused: labelIds are expected, not colours."
    )
    submission_example = "4242424242424242.png\n5839201938475610.png\n..."
    columns = (
        Column("iou_class", "IoU class", "Intersection over union, averaged over the 19 evaluated classes."),
        Column("iiou_class", "iIoU class", "Instance-weighted IoU, averaged over the 8 classes with instances."),
        Column("iou_category", "IoU category", "IoU of the 7 categories (flat, construction, ...), averaged."),
        Column("iiou_category", "iIoU category", "Instance-weighted IoU of the categories human and vehicle, averaged."),
        Column("pixel_accuracy", "Pixel accuracy", "Correct pixels among those whose ground truth is an evaluated class."),
    )
    resampled = True
    layout = SegmentationLayout()

    def load_reference(self, folder: Path, info: Dict[str, Any]) -> SegmentationReference:
        if not has_labels(info):
            return SegmentationReference(folder, *_read_sizes(folder / SIZES_FILE))
        names = sorted(path.name[: -len(LABEL_SUFFIX)] for path in folder.glob(f"*{LABEL_SUFFIX}"))
        if not names:
            raise ReferenceDataError(f"{folder}: no *{LABEL_SUFFIX} files")
        missing = [name for name in names if not (folder / f"{name}{INSTANCE_SUFFIX}").is_file()]
        if missing:
            raise ReferenceDataError(f"{folder}: {missing[0]}{INSTANCE_SUFFIX} is missing")
        return SegmentationReference(folder, names)

    def hidden_facts(self, reference: SegmentationReference) -> LabelMaps:
        maps = frozenset(label_map_fact(_decode_reference(reference.folder / f"{name}{LABEL_SUFFIX}"))
                         for name in reference.names)
        return LabelMaps(frozenset(fact for fact in maps if fact is not None))

    def label_free_files(self, reference: SegmentationReference) -> Dict[str, bytes]:
        sizes = {name: list(reference.size(name)) for name in reference.names}
        return {"reference.json": self.reference_info(labels=False),
                SIZES_FILE: (json.dumps(sizes, indent=1) + "\n").encode()}

    def _match_files(self, reference: SegmentationReference, submission: Submission) -> Dict[str, str]:
        """Map each test image to its file in the submission, refusing unknown, doubled and missing ones."""
        files: Dict[str, str] = {}
        known = set(reference.names)
        for path in submission.with_suffix(".png"):
            stem = path.rsplit("/", 1)[-1][:-4]
            if stem not in known:
                raise SubmissionError(f"{path}: unknown image; file names must be the test images' names (<name>.png)")
            if stem in files:
                raise SubmissionError(f"{path}: image {stem}.png appears twice ({files[stem]} and {path})")
            files[stem] = path
        missing = [name for name in reference.names if name not in files]
        if missing:
            more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
            raise SubmissionError(
                f"{submission.name}: missing image {missing[0]}.png{more}; submit one PNG per test image "
                f"({len(reference.names)} in all)"
            )
        return files

    def score(self, reference: SegmentationReference, submission: Submission) -> Result:
        files = self._match_files(reference, submission)
        evaluation = PixelLevelEvaluation()
        for arrays in progress(_decoded(reference, submission, files), len(reference.names), "scoring images"):
            evaluation.update(*arrays)
        result = self._result(evaluation.compute(), len(reference.names))
        result.resampler = evaluation.resampler()
        return result

    def _result(self, scores: PixelLevelScores, images: int) -> Result:
        means = {
            "iou_class": PixelLevelScores.mean(scores.class_iou),
            "iiou_class": PixelLevelScores.mean(scores.class_iiou),
            "iou_category": PixelLevelScores.mean(scores.category_iou),
            "iiou_category": PixelLevelScores.mean(scores.category_iiou),
            "pixel_accuracy": scores.pixel_accuracy,
        }
        undefined = [key for key, value in means.items() if np.isnan(value)]
        for key in undefined:
            means[key] = -1.0
        warnings = [
            f"{key} is undefined for this reference (no ground truth for it) and is reported as -1" for key in undefined
        ]
        return Result(
            scores=means,
            coverage=(images, images),
            counts={"images": images, "pixels": int(scores.confusion.sum())},
            score_warnings=warnings,
            sections=self._sections(scores),
            notes=[
                "Numbers follow the Cityscapes pixel-level benchmark (cityscapesScripts). Pixel accuracy counts only "
                "pixels whose ground truth is one of the 19 evaluated classes (the 2020 leaderboard's 'Accuracy' also "
                "counted void pixels)."
            ],
        )

    def _sections(self, scores: PixelLevelScores) -> List[Section]:
        evaluated = [LABELS[i] for i in EVALUATED]
        classes = report.table(
            ["Class", "IoU", "iIoU"],
            [(label.name, report.number(scores.class_iou[label.name]), report.number(scores.class_iiou[label.name]))
             for label in evaluated],
        )
        categories = report.table(
            ["Category", "IoU", "iIoU"],
            [(c, report.number(scores.category_iou[c]), report.number(scores.category_iiou[c]))
             for c in CATEGORIES if c != "void"],
        )
        rows = scores.confusion[EVALUATED].astype(float)
        to_evaluated = rows[:, EVALUATED]
        to_ignored = rows.sum(axis=1, keepdims=True) - to_evaluated.sum(axis=1, keepdims=True)
        shown = np.concatenate([to_evaluated, to_ignored], axis=1)
        totals = shown.sum(axis=1, keepdims=True)
        normalised = np.divide(shown, totals, out=np.zeros_like(shown), where=totals > 0)
        names = [label.name for label in evaluated]
        matrix = report.heatmap(names + ["ignored labels"], normalised.tolist(), rows=names)
        return [
            Section("IoU per class", classes),
            Section("IoU per category", categories),
            Section(
                "Confusion matrix",
                '<p class="note">Rows: ground truth; columns: prediction; each row sums to 1. Hover a cell for its value.</p>'
                + matrix,
            ),
        ]

    def write_demo_reference(self, folder: Path, seed: int) -> None:
        rng = np.random.default_rng(seed)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / REFERENCE_INFO).write_bytes(self.reference_info(demo=True))
        for index in range(3):
            labels, instances = demo_scene(rng, 256, 128)
            name = f"{seed * 1000 + index:016d}"
            _save_png(labels, folder / f"{name}{LABEL_SUFFIX}")
            _save_png(instances, folder / f"{name}{INSTANCE_SUFFIX}")

    def write_submission(self, predictions: Mapping[str, np.ndarray]) -> Dict[str, bytes]:
        """<name>.png per image: its labelIds as 8-bit grey (maps read one at a time: ``predictions`` may make them
        on demand)."""
        files = {}
        for name in sorted(predictions):
            labels = predictions[name]
            if labels.ndim != 2 or labels.min() < 0 or labels.max() >= NUM_LABELS:
                raise ValueError(f"{name}: expected a 2-D map of labelIds 0..{NUM_LABELS - 1}")
            buffer = io.BytesIO()
            Image.fromarray(labels.astype(np.uint8)).save(buffer, format="PNG")
            files[f"{name}.png"] = buffer.getvalue()
        return files

    def sample_submission(self, reference: SegmentationReference, seed: int) -> Dict[str, bytes]:
        evaluated = np.array(EVALUATED, dtype=np.uint8)

        def noise(index: int, name: str) -> np.ndarray:
            return np.random.default_rng([seed, index]).choice(evaluated, size=reference.size(name)[::-1])

        return self.write_submission(LazyMaps(reference.names, noise))

    def labelled_submission(self, reference: SegmentationReference, noise: float, seed: int) -> Dict[str, bytes]:
        """Each test image's labelIds, a share ``noise`` of its pixels replaced by an evaluated class at random."""
        check_share(noise)

        def noisy(index: int, name: str) -> np.ndarray:
            rng = np.random.default_rng([seed, index])
            labels = _decode_reference(reference.folder / f"{name}{LABEL_SUFFIX}").astype(np.uint8)
            wrong = rng.random(labels.shape) < noise
            labels[wrong] = rng.choice(np.array(EVALUATED, dtype=np.uint8), size=int(wrong.sum()))
            return labels

        return self.write_submission(LazyMaps(reference.names, noisy))


class LazyMaps(Mapping[str, np.ndarray]):
    """Label maps of named images, each made when it is read (a whole test set of full-size maps need not fit in
    memory); ``make(index, name)`` must give the same map whenever it is called."""

    def __init__(self, names: List[str], make: Callable[[int, str], np.ndarray]) -> None:
        self.index = {name: i for i, name in enumerate(names)}
        self.make = make

    def __getitem__(self, name: str) -> np.ndarray:
        return self.make(self.index[name], name)

    def __iter__(self) -> Iterator[str]:
        return iter(self.index)

    def __len__(self) -> int:
        return len(self.index)


def _read_sizes(path: Path) -> Tuple[List[str], Dict[str, Tuple[int, int]]]:
    """A label-free reference's image names (sorted) and sizes."""
    try:
        sizes = parse_json(path.read_bytes(), str(path), ReferenceDataError)
    except OSError as exc:
        raise ReferenceDataError(f"{path}: cannot be read ({exc.strerror})") from None
    valid = isinstance(sizes, dict) and sizes and all(
        isinstance(size, list) and len(size) == 2 and all(type(v) is int and 0 < v <= 1 << 16 for v in size)
        for size in sizes.values())
    if not valid:
        raise ReferenceDataError(f"{path}: expected {{\"<name>\": [width, height], ...}} for at least one image")
    return sorted(sizes), {name: (size[0], size[1]) for name, size in sizes.items()}


def demo_scene(rng: np.random.Generator, width: int, height: int) -> Tuple[np.ndarray, np.ndarray]:
    """A street-like scene: labelIds (uint8) and Cityscapes-style instanceIds (uint16)."""
    labels = np.full((height, width), 23, dtype=np.uint8)  # sky
    labels[height // 3:] = rng.choice([11, 21, 12])  # building, vegetation or wall
    labels[2 * height // 3:] = 7  # road
    labels[2 * height // 3:, : width // 6] = 8  # sidewalk
    labels[height - max(2, height // 16):] = 1  # ego vehicle (ignored)
    for _ in range(int(rng.integers(2, 6))):  # stuff patches, some of them ignored labels
        y, x = int(rng.integers(0, height - 8)), int(rng.integers(0, width - 8))
        labels[y: y + int(rng.integers(4, 20)), x: x + int(rng.integers(4, 30))] = rng.choice([4, 13, 17, 19, 20, 22, 9, 0])
    instances = labels.astype(np.uint16)
    for k in range(int(rng.integers(3, 9))):
        label = int(rng.choice([24, 25, 26, 27, 28, 29, 31, 32, 33]))
        h, w = int(rng.integers(4, height // 3)), int(rng.integers(4, width // 4))
        y, x = int(rng.integers(height // 3, height - h)), int(rng.integers(0, width - w))
        labels[y: y + h, x: x + w] = label
        instances[y: y + h, x: x + w] = label * 1000 + k if rng.random() < 0.85 else label  # else a crowd region
    return labels, instances


def _save_png(array: np.ndarray, path: Path) -> None:
    Image.fromarray(array).save(path, format="PNG")  # uint8 -> "L", uint16 -> "I;16"


CHALLENGE = Segmentation()
