"""Detection scorer: equal to pycocotools on generated cases, a perfect score, every error path."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scoring.challenges.detection import CHALLENGE, Boxes, Entries, _read_reference
from scoring.facts import HiddenFacts
from scoring.metrics.cocoeval import STAT_NAMES, evaluate
from tests.coco_cases import generate, pycocotools_stats
from tests.helpers import assert_rejected, found_in, leaked, score, write_reference, write_zip

CASES = {
    "default": {},
    "crowded, many crowds": {"per_image": 30, "detections": 80, "crowd_rate": 0.3},
    "all scores tied, tiny boxes": {"tie_rate": 1.0, "size": 60},
    "over 100 detections per image": {"images": 5, "categories": 2, "per_image": 40, "detections": 150, "size": 100},
    "many empty images": {"empty_rate": 0.5},
}


def reference(tmp_path, truth):
    return write_reference(tmp_path / "ref", {"task": "detection"}, {"annotations.json": json.dumps(truth)})


def ours(tmp_path, ref, results, name="detections.json"):
    run = score("--reference", ref, write_zip(tmp_path / "sub.zip", {name: json.dumps(results)}), "--output", tmp_path / "out")
    assert run.code == 0, run.err
    return json.loads((tmp_path / "out" / "scores.json").read_text())


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("seed", range(4))
def test_all_twelve_stats_and_the_precision_array_equal_pycocotools(tmp_path, case, seed):
    truth, results = generate(seed, **CASES[case])
    expected, oracle = pycocotools_stats(truth, results)
    got = ours(tmp_path, reference(tmp_path, truth), results)
    assert np.abs(np.array([got[key] for key in STAT_NAMES]) - expected).max() <= 1e-12
    ref = _read_reference(tmp_path / "ref" / "annotations.json")
    engine = evaluate(ref.truth, Entries("x", ref).arrays(results), len(ref.image_ids), len(ref.category_ids))
    assert np.abs(engine.precision - oracle.eval["precision"]).max() <= 1e-12
    assert np.abs(engine.recall - oracle.eval["recall"]).max() <= 1e-12


def test_a_perfect_submission_scores_one(tmp_path):
    truth, _ = generate(3, crowd_rate=0.0)
    results = [{"image_id": a["image_id"], "category_id": a["category_id"], "bbox": a["bbox"], "score": 1.0}
               for a in truth["annotations"]]
    got = ours(tmp_path, reference(tmp_path, truth), results)
    assert got["AP"] == 1.0 and got["AP50"] == 1.0 and got["AR100"] == 1.0


def test_an_empty_list_is_valid_and_scores_zero(tmp_path):
    truth, _ = generate(1)
    got = ours(tmp_path, reference(tmp_path, truth), [])
    assert all(got[key] in (0.0, -1.0) for key in STAT_NAMES) and got["AP"] == 0.0


def test_undefined_values_are_minus_one_and_said_on_the_page(tmp_path):
    truth, results = generate(2, size=30)  # every box is small: medium and large are undefined
    got = ours(tmp_path, reference(tmp_path, truth), results)
    assert got["APl"] == -1.0 and got["ARl"] == -1.0
    assert "undefined" in (tmp_path / "out" / "detailed_results.html").read_text()
    assert "APl: -1.0" in "\n".join((tmp_path / "out" / "scores.txt").read_text().splitlines())


def test_a_gzipped_json_is_accepted(tmp_path):
    truth, results = generate(4)
    ref = reference(tmp_path, truth)
    plain = ours(tmp_path, ref, results)
    sub = write_zip(tmp_path / "gz.zip", {"detections.json.gz": gzip.compress(json.dumps(results).encode())})
    run = score("--reference", ref, sub, "--output", tmp_path / "gz")
    assert run.code == 0, run.err
    assert json.loads((tmp_path / "gz" / "scores.json").read_text()) == plain


def test_the_detailed_page_has_per_category_ap_and_a_precision_recall_picture(tmp_path):
    truth, results = generate(5)
    ours(tmp_path, reference(tmp_path, truth), results)
    page = (tmp_path / "out" / "detailed_results.html").read_text()
    assert "AP per category" in page and "class" in page and "<polyline" in page


DROP = object()


@pytest.mark.parametrize(
    "change, fragments",
    [
        ({"score": DROP}, ["entry 1: missing key 'score'"]),
        ({"image_id": "12"}, ["entry 1: image_id must be an integer, not '12'"]),
        ({"image_id": 1.0}, ["entry 1: image_id must be an integer"]),
        ({"category_id": True}, ["entry 1: category_id must be an integer"]),
        ({"bbox": [1, 2, 3]}, ["entry 1: bbox must be a list of 4 numbers"]),
        ({"bbox": [1, 2, "3", 4]}, ["entry 1: bbox must be a list of 4 numbers"]),
        ({"score": None}, ["entry 1: score must be a number, not None"]),
        ({"score": float("nan")}, ["entry 1: non-finite number"]),
        ({"bbox": [1, 2, float("inf"), 4]}, ["entry 1: non-finite number"]),
        ({"bbox": [1, 2, -3, 4]}, ["entry 1: negative width or height"]),
        ({"image_id": 987654}, ["entry 1: unknown image_id 987654"]),
        ({"category_id": 999}, ["entry 1: unknown category_id 999"]),
        ("a string", ["entry 1: expected an object"]),
    ],
)
def test_invalid_entries_are_rejected_naming_the_first_one(tmp_path, change, fragments):
    truth, _ = generate(6)
    good = {"image_id": truth["images"][0]["id"], "category_id": truth["categories"][0]["id"],
            "bbox": [1.0, 2.0, 3.0, 4.0], "score": 0.5}
    entry = change if isinstance(change, str) else {k: v for k, v in {**good, **change}.items() if v is not DROP}
    sub = write_zip(tmp_path / "bad.zip", {"detections.json": json.dumps([good, entry, entry])})
    assert_rejected(score("--reference", reference(tmp_path, truth), sub, "--output", tmp_path / "o"), tmp_path / "o",
                    "detections.json", *fragments)


def test_a_file_that_is_not_a_json_list_is_rejected(tmp_path):
    truth, _ = generate(7)
    ref = reference(tmp_path, truth)
    sub = write_zip(tmp_path / "a.zip", {"d.json": '{"image_id": 1}'})
    assert_rejected(score("--reference", ref, sub), None, "d.json: expected a JSON list of detections, found dict")
    sub = write_zip(tmp_path / "b.zip", {"d.json": "[{]"})
    assert_rejected(score("--reference", ref, sub), None, "d.json, line 1, column 3: not valid JSON")
    sub = write_zip(tmp_path / "c.zip", {"d.json.gz": b"not gzip"})
    assert_rejected(score("--reference", ref, sub), None, "d.json.gz: not a readable gzip file")


def test_written_detections_are_ordered_by_image_then_score_with_boxes_to_a_hundredth_whatever_the_input_order():
    detections = [{"image_id": 2, "category_id": 1, "bbox": [1.234, 2, 3, 4], "score": 0.5},
                  {"image_id": 1, "category_id": 3, "bbox": [0, 0, 1, 1], "score": 0.25},
                  {"image_id": 2, "category_id": 1, "bbox": [5, 6, 7, 8.006], "score": 0.9}]
    files = CHALLENGE.write_submission(detections)
    assert files == CHALLENGE.write_submission(detections[::-1])
    written = json.loads(files["detections.json"])
    assert [(d["image_id"], d["score"]) for d in written] == [(1, 0.25), (2, 0.9), (2, 0.5)]
    assert [d["bbox"] for d in written][1:] == [[5.0, 6.0, 7.0, 8.01], [1.23, 2.0, 3.0, 4.0]]


# ---------- for the shared tests (tests/challenge_fixtures.py) ----------

def restatements(reference_folder: Path, hidden: HiddenFacts) -> List[Tuple[str, bytes]]:
    """The hidden boxes as another tool writes them: to thousandths, wrapped in another object, indented, keys sorted."""
    document = json.loads((reference_folder / "annotations.json").read_text())
    for annotation in document["annotations"]:
        annotation["bbox"] = [float(f"{v:.3f}") for v in annotation["bbox"]]
    return [("notes/boxes.json", json.dumps({"data": document}, indent=4, sort_keys=True).encode())]


def hostile_reference(folder: Path, text: str) -> Path:
    """A one-box reference whose category is named ``text`` (the results page names each category)."""
    return write_reference(folder, {"task": "detection"}, {"annotations.json": json.dumps({
        "images": [{"id": 1}], "categories": [{"id": 1, "name": text}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 5, 5], "area": 25, "iscrowd": 0}]})})


# The boxes the leak guard looks for, as a property: any re-serialisation is found; moved boxes never are.
BOX_TRUTH = [{"image_id": i // 3 + 1, "category_id": (1, 18, 3)[i % 3], "bbox": [10.25 + i, 20.5, 30.0 + i, 40.75],
              "area": 100.0, "iscrowd": 0, "id": i + 1} for i in range(30)]
BOX_FACTS = Boxes(frozenset((b["image_id"], b["category_id"], *(round(v, 1) for v in b["bbox"])) for b in BOX_TRUTH))


@given(indent=st.sampled_from([None, 0, 2, 4, "\t"]), sort=st.booleans(), wrap=st.sampled_from(["list", "coco", "by image"]),
       digits=st.integers(2, 6), order=st.randoms(use_true_random=False), shift=st.floats(0.6, 50))
def test_any_re_serialisation_of_boxes_is_found_and_other_boxes_never_are(indent, sort, wrap, digits, order, shift):
    boxes = [dict(b, bbox=[float(f"{v:.{digits}f}") for v in b["bbox"]]) for b in BOX_TRUTH]
    order.shuffle(boxes)

    def document(found: List[Dict]) -> bytes:
        value = found if wrap == "list" else {"annotations": found, "images": []} if wrap == "coco" else \
            {str(i): [b for b in found if b["image_id"] == i] for i in sorted({b["image_id"] for b in found})}
        return json.dumps(value, indent=indent, sort_keys=sort).encode()

    assert leaked(found_in(document(boxes), BOX_FACTS), BOX_FACTS)
    moved = [dict(b, bbox=[b["bbox"][0] + shift, *b["bbox"][1:]]) for b in boxes]
    assert not leaked(found_in(document(moved), BOX_FACTS), BOX_FACTS)
