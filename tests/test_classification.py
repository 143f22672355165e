"""Classification scorer: exact against scikit-learn, every error path, the real 2020 test list."""

from __future__ import annotations

import json
import random
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, balanced_accuracy_score

from tests.helpers import assert_rejected, score, scores_of, write_reference, write_zip


def reference(tmp_path, labels, num_classes=1000):
    rows = "".join(f"img_{i}.JPEG,{label}\n" for i, label in enumerate(labels))
    info = {"task": "classification", "num_classes": num_classes}
    return write_reference(tmp_path / "ref", info, {"labels.csv": "image,label\n" + rows})


def submit(tmp_path, rows, header="Image IDs,Predictions"):
    text = header + "\n" + "".join(f"{item},{label}\n" for item, label in rows)
    return write_zip(tmp_path / "sub.zip", {"predictions.csv": text})


@pytest.mark.parametrize("seed", range(5))
def test_scores_equal_scikit_learn_with_missing_rows_and_classes_never_predicted(tmp_path, seed):
    rng = np.random.default_rng(seed)
    n, classes = 600, 40
    labels = rng.integers(0, classes, n)
    predictions = np.where(rng.random(n) < 0.4, labels, rng.integers(0, classes // 2, n))
    present = rng.random(n) < 0.85
    order = rng.permutation(n)
    rows = [(f"img_{i}.JPEG", predictions[i]) for i in order if present[i]]
    scores = scores_of(tmp_path, reference(tmp_path, labels, classes), submit(tmp_path, rows))
    as_scored = np.where(present, predictions, -1)  # a missing image counts as wrong
    assert scores["top1_accuracy"] == pytest.approx(accuracy_score(labels, as_scored), abs=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # -1 (missing) is a predicted class absent from y_true
        expected = balanced_accuracy_score(labels, as_scored)
    assert scores["mean_class_accuracy"] == pytest.approx(expected, abs=1e-12)
    assert scores["images_missing"] == int((~present).sum())


def test_one_correct_row_no_longer_scores_100_percent(tmp_path):
    """The 2020 bug: only rows present were scored. Now every reference image counts."""
    ref = reference(tmp_path, [3] * 50)
    scores = scores_of(tmp_path, ref, submit(tmp_path, [("img_0.JPEG", 3)]))
    assert scores["top1_accuracy"] == pytest.approx(1 / 50)
    assert scores["images_missing"] == 49


def test_bom_crlf_and_spaces_around_cells_are_tolerated(tmp_path):
    ref = reference(tmp_path, [1, 2])
    text = "\ufeffImage IDs , Predictions\r\n img_0.JPEG , 1 \r\n\r\nimg_1.JPEG,2\r\n"
    sub = write_zip(tmp_path / "s.zip", {"p.csv": text.encode("utf-8")})
    assert scores_of(tmp_path, ref, sub)["top1_accuracy"] == 1.0


@pytest.mark.parametrize(
    "body, fragments",
    [
        ("img_9.JPEG,1\n", ["p.csv, line 2", "unknown image id 'img_9.JPEG'"]),
        ("img_0.JPEG,1\nimg_0.JPEG,2\n", ["line 3", "image id 'img_0.JPEG' appears again (first on line 2)"]),
        ("img_0.JPEG,1.0\n", ["line 2", "class '1.0' is not an integer"]),
        ("img_0.JPEG,cat\n", ["line 2", "class 'cat' is not an integer"]),
        ("img_0.JPEG,1000\n", ["line 2", "class 1000 is outside 0..999"]),
        ("img_0.JPEG,-1\n", ["line 2", "class -1 is outside 0..999"]),
        ("img_0.JPEG\n", ["line 2", "expected 2 cells"]),
        ("img_0.JPEG,1,2\n", ["line 2", "expected 2 cells"]),
        ("img_0.JPEG,\n", ["line 2", "class '' is not an integer"]),
    ],
)
def test_invalid_rows_are_rejected_with_file_line_and_value(tmp_path, body, fragments):
    ref = reference(tmp_path, [1, 2])
    sub = write_zip(tmp_path / "s.zip", {"p.csv": "Image IDs,Predictions\n" + body})
    assert_rejected(score("--reference", ref, sub, "--output", tmp_path / "o"), tmp_path / "o", *fragments)


def test_a_missing_header_is_rejected(tmp_path):
    ref = reference(tmp_path, [1, 2])
    sub = write_zip(tmp_path / "s.zip", {"p.csv": "img_0.JPEG,1\n"})
    assert_rejected(score("--reference", ref, sub), None, "p.csv, line 1: missing header", "'img_0.JPEG,1'")
    empty = write_zip(tmp_path / "e.zip", {"p.csv": ""})
    assert_rejected(score("--reference", ref, empty), None, "p.csv: the file is empty")


def test_a_file_that_is_not_utf8_is_rejected(tmp_path):
    ref = reference(tmp_path, [1, 2])
    sub = write_zip(tmp_path / "s.zip", {"p.csv": b"Image IDs,Predictions\nimg_0.JPEG,1\n\xff\xfe\n"})
    assert_rejected(score("--reference", ref, sub), None, "p.csv: not UTF-8 text")


def test_errors_never_reveal_a_reference_label(tmp_path):
    ref = reference(tmp_path, [777, 778])
    sub = write_zip(tmp_path / "s.zip", {"p.csv": "Image IDs,Predictions\nimg_0.JPEG,1\nimg_0.JPEG,1\n"})
    run = score("--reference", ref, sub)
    assert "777" not in run.err and "778" not in run.err


@pytest.fixture(scope="module")
def real_test_set(lists_2020, tmp_path_factory):
    """The 2020 classification test set: img_<i>.JPEG labelled by the sorted wnid index."""
    test = json.loads((lists_2020 / "classification" / "test.json").read_text())
    wnids = sorted({entry.split("/")[0] for entry in test})
    index = {wnid: i for i, wnid in enumerate(wnids)}
    labels = [index[entry.split("/")[0]] for entry in test]
    folder = tmp_path_factory.mktemp("cls")
    return folder, reference(folder, labels), labels


def test_the_real_2020_test_set_scores_a_perfect_and_a_random_submission(real_test_set):
    folder, ref, labels = real_test_set
    assert len(labels) == 50_000 and len(set(labels)) == 1000
    perfect = submit(folder, [(f"img_{i}.JPEG", label) for i, label in enumerate(labels)])
    assert scores_of(folder, ref, perfect) == {
        "top1_accuracy": 1.0, "mean_class_accuracy": 1.0,
        "images_total": 50_000, "images_predicted": 50_000, "images_missing": 0,
    }
    rng = random.Random(0)
    guesses = [rng.randrange(1000) for _ in labels]
    scores = scores_of(folder, ref, submit(folder, [(f"img_{i}.JPEG", g) for i, g in enumerate(guesses)]))
    assert scores["top1_accuracy"] == pytest.approx(accuracy_score(labels, guesses), abs=1e-12)
    assert scores["mean_class_accuracy"] == pytest.approx(balanced_accuracy_score(labels, guesses), abs=1e-12)
    assert 0.0 < scores["top1_accuracy"] < 0.01


# ---------- for the shared tests (tests/challenge_fixtures.py) ----------

def hostile_reference(folder: Path, text: str) -> Path:
    """A one-image reference whose image and classes are named after ``text`` (the results page names them)."""
    classes = "".join(f"{text}{i}\n" for i in range(3))
    return write_reference(folder, {"task": "classification", "num_classes": 3},
                           {"labels.csv": f"image,label\n{text}.JPEG,1\n", "classes.txt": classes})
