"""Action recognition scorer: exact against scikit-learn, every error path, the real 2020 clip list."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score, top_k_accuracy_score

from scoring.challenges.action import CHALLENGE
from tests.helpers import assert_rejected, score, scores_of, write_reference, write_zip

CLASSES = 101


def reference(tmp_path, clips, labels):
    lines = "".join(f"{clip} {label}\n" for clip, label in zip(clips, labels))
    return write_reference(tmp_path / "ref", {"task": "action"}, {"labels.txt": lines})


def submit(tmp_path, rows):
    text = "".join(f"{clip} {' '.join(map(str, ranked))}\n" for clip, ranked in rows)
    return write_zip(tmp_path / "sub.zip", {"predictions.txt": text})


def clip_names(n):
    return [f"video_test_{i:07d}.avi" for i in range(1, n + 1)]


def sklearn_scores(labels, ranked):
    """Clip and mean-class top-k with scikit-learn, from five ranked guesses per clip."""
    labels = np.asarray(labels)
    decision = np.zeros((len(labels), CLASSES))
    for row, guesses in enumerate(ranked):
        for rank, number in enumerate(guesses):
            decision[row, number - 1] = 10 - rank
    every = np.arange(1, CLASSES + 1)
    expected = {}
    for k in (1, 3, 5):
        expected[f"clip_top{k}"] = top_k_accuracy_score(labels, decision, k=k, labels=every)
        per_class = [
            top_k_accuracy_score(labels[labels == c], decision[labels == c], k=k, labels=every)
            for c in np.unique(labels)
        ]
        expected[f"mca_top{k}"] = float(np.mean(per_class))
    return expected


@pytest.mark.parametrize("seed", range(4))
def test_scores_equal_scikit_learn_including_classes_absent_from_predictions(tmp_path, seed):
    rng = random.Random(seed)
    n = 700
    clips = clip_names(n)
    labels = [rng.randint(1, CLASSES) for _ in range(n)]
    ranked = []
    for label in labels:
        guesses = rng.sample(range(1, 60), 5)  # classes 60..101 are never predicted
        if rng.random() < 0.5 and label not in guesses:
            guesses[rng.randrange(5)] = label
        ranked.append(guesses)
    scores = scores_of(tmp_path, reference(tmp_path, clips, labels), submit(tmp_path, list(zip(clips, ranked))))
    for key, value in sklearn_scores(labels, ranked).items():
        assert scores[key] == pytest.approx(value, abs=1e-12), key
    top1 = [r[0] for r in ranked]
    assert scores["mca_top1"] == pytest.approx(balanced_accuracy_score(labels, top1), abs=1e-12)


def test_missing_clips_count_as_wrong_deterministically(tmp_path):
    clips = clip_names(10)
    ref = reference(tmp_path, clips, [1] * 5 + [2] * 5)
    sub = submit(tmp_path, [(clip, [1]) for clip in clips[:5]])
    first = scores_of(tmp_path, ref, sub)
    assert first["clip_top1"] == 0.5 and first["mca_top1"] == 0.5 and first["clips_missing"] == 5
    assert scores_of(tmp_path, ref, sub) == first


def test_fewer_than_five_classes_and_more_than_five_are_allowed(tmp_path):
    clips = clip_names(3)
    ref = reference(tmp_path, clips, [7, 8, 9])
    sub = submit(tmp_path, [(clips[0], [1, 7]), (clips[1], [1, 2, 3, 4, 5, 8]), (clips[2], [9])])
    scores = scores_of(tmp_path, ref, sub)
    assert scores["clip_top1"] == pytest.approx(1 / 3)
    assert scores["clip_top3"] == pytest.approx(2 / 3)  # class 8 is sixth: it does not count
    assert scores["clip_top5"] == pytest.approx(2 / 3)


@pytest.mark.parametrize(
    "line, fragments",
    [
        ("video_test_9999999.avi 1", ["predictions.txt, line 2", "unknown clip id 'video_test_9999999.avi'"]),
        ("video_test_0000001.avi 2", ["line 2", "clip id 'video_test_0000001.avi' appears again (first on line 1)"]),
        ("video_test_0000002.avi 0 1", ["line 2", "class 0 is outside 1..101"]),
        ("video_test_0000002.avi 102", ["line 2", "class 102 is outside 1..101"]),
        ("video_test_0000002.avi 3 x", ["line 2", "class 'x' is not an integer"]),
        ("video_test_0000002.avi 3 4 3", ["line 2", "class 3 is repeated for 'video_test_0000002.avi'"]),
        ("video_test_0000002.avi", ["line 2", "no class given for 'video_test_0000002.avi'"]),
    ],
)
def test_invalid_lines_are_rejected_with_file_line_and_value(tmp_path, line, fragments):
    clips = clip_names(3)
    ref = reference(tmp_path, clips, [5, 6, 7])
    sub = write_zip(tmp_path / "s.zip", {"predictions.txt": f"video_test_0000001.avi 1 2\n{line}\n"})
    assert_rejected(score("--reference", ref, sub, "--output", tmp_path / "o"), tmp_path / "o", *fragments)


def test_the_real_2020_test_clips_score_a_perfect_and_a_random_submission(lists_2020, tmp_path):
    """The 3 783 test clip names of 2020; their labels are hidden, so random labels stand in."""
    lines = (lists_2020 / "action-recognition" / "mod-ucf101-test.txt").read_text().split()
    clips = [name for name in lines if name.endswith(".avi")]
    assert len(clips) == 3783
    rng = random.Random(1)
    labels = [rng.randint(1, CLASSES) for _ in clips]
    ref = reference(tmp_path, clips, labels)
    perfect = scores_of(tmp_path, ref, submit(tmp_path, [(c, [label]) for c, label in zip(clips, labels)]))
    assert all(perfect[key] == 1.0 for key in ("mca_top1", "mca_top3", "mca_top5", "clip_top1", "clip_top3", "clip_top5"))
    ranked = [rng.sample(range(1, CLASSES + 1), 5) for _ in clips]
    scores = scores_of(tmp_path, ref, submit(tmp_path, list(zip(clips, ranked))))
    for key, value in sklearn_scores(labels, ranked).items():
        assert scores[key] == pytest.approx(value, abs=1e-12), key


def test_references_made_with_the_old_task_name_still_score(tmp_path):
    clips = clip_names(4)
    folder = write_reference(tmp_path / "old", {"task": "action-recognition"},
                             {"labels.txt": "".join(f"{clip} 3\n" for clip in clips)})
    scores = scores_of(tmp_path, folder, submit(tmp_path, [(clip, [3]) for clip in clips]))
    assert scores["clip_top1"] == 1.0 and scores["mca_top1"] == 1.0


def test_a_listed_clip_is_looked_for_under_its_name_then_with_each_video_suffix():
    assert CHALLENGE.layout.clip_files("val", "abcdefghij") == ("val/abcdefghij", "val/abcdefghij.mp4",
                                                                "val/abcdefghij.avi")


# ---------- for the shared tests (tests/challenge_fixtures.py) ----------

def hostile_reference(folder: Path, text: str) -> Path:
    """A one-clip reference whose clip and classes are named after ``text`` (the results page names them)."""
    classes = "".join(f"{text}{i}\n" for i in range(3))
    files = {"labels.txt": f"{text}.avi 2\n", "classes.txt": classes}
    return write_reference(folder, {"task": "action", "num_classes": 3}, files)
