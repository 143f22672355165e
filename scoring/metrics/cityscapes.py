"""The Cityscapes pixel-level semantic labelling benchmark, streamed one image at a time.

Numbers equal cityscapesScripts' ``evalPixelLevelSemanticLabeling``: one confusion matrix over all
images; IoU for the 19 evaluated classes, where ground truth of an ignored label is never a false
positive; iIoU re-weighting each instance's true positives and false negatives by
``average class size / instance size`` (instances are ground-truth ids strictly above 1000); the
same for the categories; means skip undefined (NaN) entries. One difference, on purpose: pixel
accuracy counts only pixels whose ground truth is an evaluated class.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, List, NamedTuple

import numpy as np

from scoring.resampling import Resampler


class Label(NamedTuple):
    name: str
    id: int
    category: str
    has_instances: bool
    ignore_in_eval: bool


LABELS = (
    Label("unlabeled", 0, "void", False, True),
    Label("ego vehicle", 1, "void", False, True),
    Label("rectification border", 2, "void", False, True),
    Label("out of roi", 3, "void", False, True),
    Label("static", 4, "void", False, True),
    Label("dynamic", 5, "void", False, True),
    Label("ground", 6, "void", False, True),
    Label("road", 7, "flat", False, False),
    Label("sidewalk", 8, "flat", False, False),
    Label("parking", 9, "flat", False, True),
    Label("rail track", 10, "flat", False, True),
    Label("building", 11, "construction", False, False),
    Label("wall", 12, "construction", False, False),
    Label("fence", 13, "construction", False, False),
    Label("guard rail", 14, "construction", False, True),
    Label("bridge", 15, "construction", False, True),
    Label("tunnel", 16, "construction", False, True),
    Label("pole", 17, "object", False, False),
    Label("polegroup", 18, "object", False, True),
    Label("traffic light", 19, "object", False, False),
    Label("traffic sign", 20, "object", False, False),
    Label("vegetation", 21, "nature", False, False),
    Label("terrain", 22, "nature", False, False),
    Label("sky", 23, "sky", False, False),
    Label("person", 24, "human", True, False),
    Label("rider", 25, "human", True, False),
    Label("car", 26, "vehicle", True, False),
    Label("truck", 27, "vehicle", True, False),
    Label("bus", 28, "vehicle", True, False),
    Label("caravan", 29, "vehicle", True, True),
    Label("trailer", 30, "vehicle", True, True),
    Label("train", 31, "vehicle", True, False),
    Label("motorcycle", 32, "vehicle", True, False),
    Label("bicycle", 33, "vehicle", True, False),
)
NUM_LABELS = len(LABELS)  # label ids 0..33; Cityscapes' "license plate" (-1) never appears in labelIds
CATEGORIES = ("void", "flat", "construction", "object", "nature", "sky", "human", "vehicle")
AVERAGE_CLASS_SIZE = {
    "bicycle": 4672.3249222261,
    "caravan": 36771.8241758242,
    "motorcycle": 6298.7200839748,
    "rider": 3930.4788056518,
    "bus": 35732.1511111111,
    "train": 67583.7075812274,
    "car": 12794.0202738185,
    "person": 3462.4756337644,
    "truck": 27855.1264367816,
    "trailer": 16926.9763313609,
}
EVALUATED = [label.id for label in LABELS if not label.ignore_in_eval]
# Categories whose labels all have instances ("license plate", id -1, is skipped as upstream does).
INSTANCE_CATEGORIES = {
    category: [label.id for label in LABELS if label.category == category]
    for category in CATEGORIES
    if all(label.has_instances for label in LABELS if label.category == category)
}
_INSTANCE_CATEGORY_OF = np.full(NUM_LABELS, -1, dtype=np.int8)
for _index, _ids in enumerate(INSTANCE_CATEGORIES.values()):
    _INSTANCE_CATEGORY_OF[_ids] = _index


class _Weighted:
    """Instance-weighted true positives and false negatives of one class or category."""

    __slots__ = ("tp", "fn")

    def __init__(self) -> None:
        self.tp = 0.0
        self.fn = 0.0


@dataclass(frozen=True)
class PixelLevelScores:
    """Per-class and per-category scores (NaN where undefined), their means, and the matrix."""

    class_iou: Dict[str, float]
    class_iiou: Dict[str, float]
    category_iou: Dict[str, float]
    category_iiou: Dict[str, float]
    pixel_accuracy: float
    confusion: np.ndarray

    @staticmethod
    def mean(scores: Dict[str, float]) -> float:
        """Mean of the defined entries, NaN if none is (as cityscapesScripts' getScoreAverage)."""
        valid = [value for value in scores.values() if not math.isnan(value)]
        return sum(valid) / len(valid) if valid else float("nan")


class PixelLevelEvaluation:
    """Accumulates one image at a time; ``compute()`` gives the benchmark's numbers."""

    def __init__(self) -> None:
        self.confusion = np.zeros((NUM_LABELS, NUM_LABELS), dtype=np.int64)
        self.instance_classes = {
            label.name: _Weighted() for label in LABELS if label.has_instances and not label.ignore_in_eval
        }
        self.instance_categories = {category: _Weighted() for category in INSTANCE_CATEGORIES}
        self.per_image: List[np.ndarray] = []  # per image, for each evaluated class: (tp, ground truth, predicted)

    def resampler(self) -> ClassIouResampler:
        """The mean class IoU (the primary score) on resamples of the images."""
        return ClassIouResampler(np.stack(self.per_image) if self.per_image else np.zeros((0, 3, len(EVALUATED)), np.int64))

    def update(self, prediction: np.ndarray, labels: np.ndarray, instances: np.ndarray) -> None:
        """Add one image: predicted labelIds, ground-truth labelIds and instanceIds (values checked by the caller)."""
        encoded = labels.astype(np.uint16, copy=False) * NUM_LABELS + prediction
        image = np.bincount(encoded.ravel(), minlength=NUM_LABELS * NUM_LABELS).reshape(NUM_LABELS, NUM_LABELS)
        self.confusion += image
        evaluated = image[EVALUATED]
        true_pos = evaluated[:, EVALUATED].diagonal()
        self.per_image.append(np.stack([true_pos, evaluated.sum(axis=1), evaluated[:, EVALUATED].sum(axis=0)]))
        if instances.max() > 1000:
            self._add_instances(prediction, instances)

    def _add_instances(self, prediction: np.ndarray, instances: np.ndarray) -> None:
        mask = instances > 1000
        ids = instances[mask].astype(np.intp)
        predicted = prediction[mask]
        own_label = ids // 1000
        size = np.bincount(ids)
        class_tp = np.bincount(ids[predicted == own_label], minlength=len(size))
        category_hit = _INSTANCE_CATEGORY_OF[predicted] == _INSTANCE_CATEGORY_OF[own_label]
        category_tp = np.bincount(ids[category_hit], minlength=len(size))
        for instance in np.flatnonzero(size):
            label = LABELS[instance // 1000]
            if label.ignore_in_eval:
                continue
            instance_size = int(size[instance])
            weight = AVERAGE_CLASS_SIZE[label.name] / float(instance_size)
            tp = int(class_tp[instance])
            stats = self.instance_classes[label.name]
            stats.tp += float(tp) * weight
            stats.fn += float(instance_size - tp) * weight
            if label.category in self.instance_categories:
                tp = int(category_tp[instance])
                stats = self.instance_categories[label.category]
                stats.tp += float(tp) * weight
                stats.fn += float(instance_size - tp) * weight

    def compute(self) -> PixelLevelScores:
        """Every score of the benchmark."""
        matrix = self.confusion
        class_iou, class_iiou = {}, {}
        for label in LABELS:
            if label.ignore_in_eval:
                class_iou[label.name] = class_iiou[label.name] = float("nan")
                continue
            others = [i for i in EVALUATED if i != label.id]
            tp = int(matrix[label.id, label.id])
            fn = int(matrix[label.id, :].sum()) - tp
            fp = int(matrix[others, label.id].sum())
            class_iou[label.name] = _ratio(tp, tp + fp + fn)
            weighted = self.instance_classes.get(label.name)
            class_iiou[label.name] = (
                _ratio(weighted.tp, weighted.tp + fp + weighted.fn) if weighted is not None else float("nan")
            )
        category_iou, category_iiou = {}, {}
        for category in CATEGORIES:
            ids = [label.id for label in LABELS if label.category == category and not label.ignore_in_eval]
            outside = [i for i in EVALUATED if LABELS[i].category != category]
            if ids:
                tp = int(matrix[np.ix_(ids, ids)].sum())
                fn = int(matrix[ids, :].sum()) - tp
                fp = int(matrix[np.ix_(outside, ids)].sum())
                category_iou[category] = _ratio(tp, tp + fp + fn)
            else:
                category_iou[category] = float("nan")
            if category in self.instance_categories:
                weighted = self.instance_categories[category]
                fp = int(matrix[np.ix_(outside, INSTANCE_CATEGORIES[category])].sum())
                category_iiou[category] = _ratio(weighted.tp, weighted.tp + fp + weighted.fn)
            else:
                category_iiou[category] = float("nan")
        evaluated_pixels = int(matrix[EVALUATED, :].sum())
        correct = int(matrix[EVALUATED, EVALUATED].sum())
        accuracy = correct / evaluated_pixels if evaluated_pixels else float("nan")
        return PixelLevelScores(class_iou, class_iiou, category_iou, category_iiou, accuracy, matrix.copy())


class ClassIouResampler(Resampler):
    """Mean class IoU on a resample, from per-image counts: exactly the confusion matrix of the resampled images."""

    def __init__(self, per_image: np.ndarray) -> None:
        self.items = len(per_image)
        self.per_image = per_image.reshape(len(per_image), -1)

    def primary(self, counts: np.ndarray) -> float:
        true_pos, truth, predicted = (counts @ self.per_image).reshape(3, len(EVALUATED))
        union = truth + predicted - true_pos  # tp + fn + fp, with fp over predictions on evaluated ground truth
        valid = [float(tp) / float(u) for tp, u in zip(true_pos.tolist(), union.tolist()) if u]
        return sum(valid) / len(valid) if valid else float("nan")


def _ratio(numerator: float, denominator: float) -> float:
    return float(numerator) / denominator if denominator else float("nan")
