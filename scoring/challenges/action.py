"""Action recognition (VIPriors: UCF-101 and Kinetics-400 subsets): mean per-class top-1/3/5 accuracy over every clip."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Sequence, Tuple

import numpy as np

from scoring.challenge import REFERENCE_INFO, Column, PublicLayout, Result, noisy_labels
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


@dataclass(frozen=True)
class ActionLayout(PublicLayout):
    """<split>/<clip file>, a list per split (train and val: '<clip> <class number>'; test: '<clip>'), the classes.

    A list names a clip as submissions name it: its file name (UCF-101's ``*.avi``) or its id, the file being the id
    with a video suffix (Kinetics' ``<videoid>.mp4``).
    """

    lists: str = "{split}.txt"
    classes: str = "classInd.txt"  # '<class number> <class name>' per line, numbered 1..N
    video_suffixes: Tuple[str, ...] = (".mp4", ".avi")

    def list_file(self, split: str) -> str:
        """The list of ``split``'s clips."""
        return self.lists.format(split=split)

    def clip_files(self, split: str, clip: str) -> Tuple[str, ...]:
        """Where the video of a listed clip may be, in order: the name itself, then the name with a video suffix."""
        return tuple(f"{self.input_folder(split)}/{clip}{suffix}" for suffix in ("", *self.video_suffixes))


class ActionRecognition(RankedListChallenge):
    """Predictions (``write_submission``): a mapping of test clip name to its class numbers, best first."""

    task = "action"
    title = "Action recognition"
    reference_format = (
        "labels.txt with one line per test clip: its name (UCF-101's file name, Kinetics' id) and class number "
        "1..N (e.g. 'video_test_0000001.avi 17'); reference.json sets N as num_classes (default 101; 400 for "
        "Kinetics400ViPriors); optional "
        "classes.txt names the classes, one per line, in class-number order."
    )
    submission_format = (
        "A zip holding exactly one .txt file with one line per test clip: the clip as the test list names it "
        "followed by up to five different class numbers (1..N, N the competition's classes: 101 for UCF-101, 400 "
        "for Kinetics400ViPriors), best first, separated by spaces. Only the first five "
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
    layout = ActionLayout()

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
        (folder / REFERENCE_INFO).write_bytes(self.reference_info(num_classes=self.default_classes, demo=True))
        lines = "".join(f"video_test_{i:07d}.avi {rng.randint(1, self.default_classes)}\n" for i in range(1, 203))
        (folder / "labels.txt").write_text(lines, encoding="utf-8")

    def write_submission(self, predictions: Mapping[str, Sequence[int]]) -> Dict[str, bytes]:
        lines = "".join(f"{clip} {' '.join(str(int(number)) for number in ranked)}\n"
                        for clip, ranked in sorted(predictions.items()))
        return {"predictions.txt": lines.encode()}

    def sample_submission(self, reference: RankedReference, seed: int) -> Dict[str, bytes]:
        rng = random.Random(seed)
        numbers = range(reference.first_class, reference.first_class + reference.num_classes)
        return self.write_submission({item: rng.sample(numbers, min(max(KS), len(numbers))) for item in reference.ids})

    def labelled_submission(self, reference: RankedReference, noise: float, seed: int) -> Dict[str, bytes]:
        labels = noisy_labels(reference.labels.tolist(), reference.num_classes, noise, seed)
        return self.write_submission({item: [reference.class_number(label)] for item, label in zip(reference.ids, labels)})


CHALLENGE = ActionRecognition()
