"""Action recognition (VIPriors, UCF-101 subset): mean per-class top-1/3/5 accuracy over every clip."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np

from scoring.challenge import Column, Result, noisy_labels
from scoring.ranked_lists import (
    RankedListChallenge,
    RankedListChecker,
    RankedReference,
    open_reference,
    per_class_section,
    read_reference,
    split_rows,
)
from scoring.submission import Submission

KS = (1, 3, 5)


class ActionRecognition(RankedListChallenge):
    task = "action"
    title = "Action recognition"
    reference_format = (
        "labels.txt with one line per test clip: its file name and class number 1..N "
        "(e.g. 'video_test_0000001.avi 17'); reference.json may set num_classes (default 101); optional "
        "classes.txt names the classes, one per line, in class-number order."
    )
    submission_format = (
        "A zip holding exactly one .txt file with one line per test clip: the clip's file name followed by "
        "up to five different class numbers (1..101), best first, separated by spaces. Only the first five "
        "count; a clip without a line counts as wrong."
    )
    submission_example = "video_test_0000001.avi 17 4 88 23 61\nvideo_test_0000002.avi 3 9 101 55 42\n"
    columns = (
        Column("mca_top1", "Mean class accuracy top-1", "Top-1 accuracy per class, averaged over classes."),
        Column("mca_top3", "Mean class accuracy top-3", "Top-3 accuracy per class, averaged over classes."),
        Column("mca_top5", "Mean class accuracy top-5", "Top-5 accuracy per class, averaged over classes."),
        Column("clip_top1", "Clip accuracy top-1", "Fraction of all clips whose best class is right."),
        Column("clip_top3", "Clip accuracy top-3", "Fraction of all clips with the right class in the first three."),
        Column("clip_top5", "Clip accuracy top-5", "Fraction of all clips with the right class in the first five."),
    )
    resampled = True

    items_file = "clips.txt"
    first_class = 1
    default_classes = 101

    def read_labels(self, folder: Path, num_classes: int) -> Tuple[List[str], np.ndarray]:
        path = folder / "labels.txt"
        with open_reference(path) as stream:
            return read_reference(path, split_rows(stream, str(path)), 1, num_classes)

    def score(self, reference: RankedReference, submission: Submission) -> Result:
        name = submission.single(".txt")
        checker = RankedListChecker(reference, name, "clip", ks=KS)
        with submission.open(name) as stream:
            for line, cells in split_rows(stream, name):
                checker.add(line, cells[0], cells[1:])
        scores = checker.compute()
        values = {f"mca_top{k}": scores.mean_class_accuracy[k] for k in KS}
        values.update({f"clip_top{k}": scores.item_accuracy[k] for k in KS})
        return Result(
            scores=values,
            coverage=checker.coverage(scores),
            resampler=checker.metric.resampler(1, per_class=True),
            counts=checker.counts(scores),
            warnings=checker.missing_warning(scores),
            sections=[per_class_section(reference, scores)],
            notes=[
                "Mean class accuracy averages the accuracy of each class; clip accuracy counts every clip once. "
                "A clip missing from the file counts as wrong."
            ],
        )

    def write_demo_reference(self, folder: Path, seed: int) -> None:
        rng = random.Random(seed)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "reference.json").write_text('{"task": "action", "num_classes": 101, "demo": true}\n', encoding="utf-8")
        lines = "".join(f"video_test_{i:07d}.avi {rng.randint(1, 101)}\n" for i in range(1, 203))
        (folder / "labels.txt").write_text(lines, encoding="utf-8")

    def sample_submission(self, reference: RankedReference, seed: int) -> Dict[str, bytes]:
        rng = random.Random(seed)
        numbers = range(reference.first_class, reference.first_class + reference.num_classes)
        lines = "".join(f"{item} {' '.join(map(str, rng.sample(numbers, min(5, len(numbers)))))}\n" for item in reference.ids)
        return {"predictions.txt": lines.encode()}

    def labelled_submission(self, reference: RankedReference, noise: float, seed: int) -> Dict[str, bytes]:
        labels = noisy_labels(reference.labels.tolist(), reference.num_classes, noise, seed)
        return {"predictions.txt": "".join(f"{item} {reference.class_number(label)}\n"
                                           for item, label in zip(reference.ids, labels)).encode()}


CHALLENGE = ActionRecognition()
