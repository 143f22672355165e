"""Image classification (VIPriors, ImageNet subset): top-1 accuracy over every test image."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Tuple

import numpy as np

from scoring.challenge import REFERENCE_INFO, Column, PublicLayout, Result, noisy_labels
from scoring.errors import ReferenceDataError, SubmissionError
from scoring.ranked_lists import (
    RankedListChallenge,
    RankedListChecker,
    RankedReference,
    csv_rows,
    open_reference,
    per_class_section,
    read_reference,
)
from scoring.submission import Submission

HEADER = ("Image IDs", "Predictions")


@dataclass(frozen=True)
class ClassificationLayout(PublicLayout):
    """train/<wnid>/<image> and val/<wnid>/<image> (the class folders), test/<image>, and the class list."""

    classes: str = "classes.txt"  # the wnids, one per line, in class-index order


class Classification(RankedListChallenge):
    """Predictions (``write_submission``): a mapping of test image name to predicted class index."""

    task = "classification"
    title = "Image classification"
    reference_format = (
        "labels.csv with header 'image,label' and one row per test image (e.g. img_0.JPEG,412), the label "
        "a class index 0..N-1; reference.json may set num_classes (default 1000); optional classes.txt "
        "names the classes, one per line, in index order."
    )
    submission_format = (
        "A zip holding exactly one CSV file with the header 'Image IDs,Predictions' and one row per test "
        "image: its file name and the predicted class index (0..999, classes in sorted wnid order). "
        "Every test image counts: an image without a row counts as wrong."
    )
    submission_example = "Image IDs,Predictions\nimg_0.JPEG,24\nimg_1.JPEG,871\n"
    columns = (
        Column("top1_accuracy", "Top-1 accuracy", "Fraction of all test images whose prediction is right."),
        Column("mean_class_accuracy", "Mean class accuracy", "Top-1 accuracy per class, averaged over classes."),
    )
    resampled = True
    layout = ClassificationLayout()

    items_file = "images.txt"
    first_class = 0
    default_classes = 1000

    def read_labels(self, folder: Path, num_classes: int) -> Tuple[List[str], np.ndarray]:
        path = folder / "labels.csv"
        with open_reference(path) as stream:
            rows = csv_rows(stream, str(path))
            try:
                first = next(rows, None)
            except SubmissionError as exc:
                raise ReferenceDataError(str(exc)) from None
            if first is None or [c.lower() for c in first[1]] != ["image", "label"]:
                raise ReferenceDataError(f"{path}: the first line must be the header 'image,label'")
            return read_reference(path, rows, 0, num_classes)

    def score(self, reference: RankedReference, submission: Submission) -> Result:
        name = submission.single(".csv")
        checker = RankedListChecker(reference, name, "image", ks=(1,))
        with submission.open(name) as stream:
            rows = csv_rows(stream, name)
            header = next(rows, None)
            if header is None:
                raise SubmissionError(
                    f"{name}: the file is empty; expected the header 'Image IDs,Predictions' and one row per image"
                )
            line, cells = header
            if [c.lower() for c in cells] != [h.lower() for h in HEADER]:
                raise SubmissionError(
                    f"{name}, line {line}: missing header; expected 'Image IDs,Predictions', found {','.join(cells)!r}"
                )
            for line, cells in rows:
                if len(cells) != 2:
                    raise SubmissionError(f"{name}, line {line}: expected 2 cells (image id, class index), found {len(cells)}")
                checker.add(line, cells[0], cells[1:])
        scores = checker.compute()
        return Result(
            scores={"top1_accuracy": scores.item_accuracy[1], "mean_class_accuracy": scores.mean_class_accuracy[1]},
            coverage=checker.coverage(scores),
            resampler=checker.metric.resampler(1, per_class=False),
            counts=checker.counts(scores),
            warnings=checker.missing_warning(scores),
            sections=[per_class_section(reference, scores)],
            notes=["Every test image counts: an image missing from the file counts as a wrong prediction."],
        )

    def write_demo_reference(self, folder: Path, seed: int) -> None:
        rng = random.Random(seed)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / REFERENCE_INFO).write_bytes(self.reference_info(num_classes=self.default_classes, demo=True))
        rows = "".join(f"img_{i}.JPEG,{rng.randrange(self.default_classes)}\n" for i in range(200))
        (folder / "labels.csv").write_text("image,label\n" + rows)

    def write_submission(self, predictions: Mapping[str, int]) -> Dict[str, bytes]:
        rows = "".join(f"{name},{int(label)}\n" for name, label in sorted(predictions.items()))
        return {"predictions.csv": f"{','.join(HEADER)}\n{rows}".encode()}

    def sample_submission(self, reference: RankedReference, seed: int) -> Dict[str, bytes]:
        rng = random.Random(seed)
        return self.write_submission({item: rng.randrange(reference.num_classes) for item in reference.ids})

    def labelled_submission(self, reference: RankedReference, noise: float, seed: int) -> Dict[str, bytes]:
        labels = noisy_labels(reference.labels.tolist(), reference.num_classes, noise, seed)
        return self.write_submission({item: reference.class_number(label) for item, label in zip(reference.ids, labels)})


CHALLENGE = Classification()
