"""Instance segmentation: the scorer equals pycocotools' COCOeval("segm"), refuses a bad mask in one line naming its
entry, counts every image; the leak guard finds copied masks and no honest file; the data build; the baseline."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import pytest

from scoring.challenge import load_reference
from scoring.challenges.instance_segmentation import CHALLENGE, Masks
from scoring.facts import HiddenFacts
from scoring.metrics import rle
from scoring.metrics.cocoeval import STAT_NAMES
from tests.coco_mask_cases import generate, pycocotools_segm, with_polygons
from tests.fake_datasets import make
from tests.helpers import assert_rejected, score, write_reference, write_zip

CASES = {
    "default": {},
    "crowded, many crowds": {"per_image": 15, "detections": 40, "crowd_rate": 0.35},
    "all scores tied, tiny masks": {"tie_rate": 1.0, "size": (30, 40)},
    "over 100 results per image": {"images": 4, "categories": 2, "per_image": 20, "detections": 120},
    "many empty images": {"empty_rate": 0.5},
}


def reference(tmp_path: Path, truth: Dict[str, Any]) -> Path:
    return write_reference(tmp_path / "ref", {"task": CHALLENGE.task}, {"annotations.json": json.dumps(truth)})


def ours(tmp_path: Path, ref: Path, results: List[Dict[str, Any]]) -> Dict[str, float]:
    run = score("--reference", ref, write_zip(tmp_path / "sub.zip", {"masks.json": json.dumps(results)}),
                "--output", tmp_path / "out")
    assert run.code == 0, run.err
    return json.loads((tmp_path / "out" / "scores.json").read_text())


def stats(scores: Dict[str, float]) -> np.ndarray:
    return np.array([scores[key] for key in STAT_NAMES])


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("seed", range(2))
def test_all_twelve_stats_equal_pycocotools_segm(tmp_path, case, seed):
    truth, results = generate(seed, **CASES[case])
    expected, _ = pycocotools_segm(truth, results)
    assert np.abs(stats(ours(tmp_path, reference(tmp_path, truth), results)) - expected).max() <= 1e-12


@pytest.mark.parametrize("seed", range(3))
def test_polygon_ground_truth_is_rasterised_as_pycocotools_does(tmp_path, seed):
    truth, results = generate(seed, size=(60, 80))
    truth = with_polygons(truth, seed)
    assert any(isinstance(a["segmentation"], list) for a in truth["annotations"])
    expected, _ = pycocotools_segm(truth, results)
    assert np.abs(stats(ours(tmp_path, reference(tmp_path, truth), results)) - expected).max() <= 1e-12


def test_uncompressed_counts_score_as_the_compressed_string(tmp_path):
    truth, results = generate(4)
    ref = reference(tmp_path, truth)
    listed = [dict(r, segmentation={"size": r["segmentation"]["size"],
                                    "counts": rle.counts_of(rle.decode(r["segmentation"])).tolist()}) for r in results]
    assert ours(tmp_path, ref, listed) == ours(tmp_path, ref, results)


def test_every_reference_image_counts_not_only_those_with_a_prediction(tmp_path):
    truth, _ = generate(5, crowd_rate=0.0, empty_rate=0.0)
    first = truth["images"][0]["id"]
    perfect = [{"image_id": a["image_id"], "category_id": a["category_id"], "segmentation": a["segmentation"], "score": 1.0}
               for a in truth["annotations"] if a["image_id"] == first]
    got = ours(tmp_path, reference(tmp_path, truth), perfect)
    expected, _ = pycocotools_segm(truth, perfect)
    assert np.abs(stats(got) - expected).max() <= 1e-12
    assert got["AR100"] < 0.5


def test_a_perfect_submission_scores_one_and_a_noisy_one_less(tmp_path):
    CHALLENGE.write_demo_reference(tmp_path / "demo", 1)
    _, demo = load_reference(tmp_path / "demo")
    for noise, check in ((0.0, lambda ap: ap == 1.0), (0.5, lambda ap: 0 < ap < 0.9)):
        sub = write_zip(tmp_path / "sub.zip", CHALLENGE.labelled_submission(demo, noise, 2))
        run = score("--reference", tmp_path / "demo", sub, "--output", tmp_path / "out")
        assert run.code == 0, run.err
        assert check(json.loads((tmp_path / "out" / "scores.json").read_text())["AP"]), noise
    sub = write_zip(tmp_path / "sample.zip", CHALLENGE.sample_submission(demo, 3))
    assert score("--reference", tmp_path / "demo", sub, "--output", tmp_path / "sample").code == 0


def test_the_detailed_results_name_the_images_with_the_lowest_recall(tmp_path):
    truth, results = generate(6)
    ours(tmp_path, reference(tmp_path, truth), results)
    page = (tmp_path / "out" / "detailed_results.html").read_text()
    assert "Images with the lowest recall" in page and "AP per category" in page


MASK = {"size": [4, 5], "counts": rle.encode(np.eye(4, 5, dtype=bool))["counts"]}
GOOD = {"image_id": 1, "category_id": 1, "segmentation": MASK, "score": 0.5}
BAD = {
    "a polygon": ({"segmentation": [[0, 0, 3, 0, 3, 3]]}, "polygons"),
    "a bitmap": ({"segmentation": np.eye(4, 5, dtype=int).tolist()}, "a bitmap"),
    "the wrong size": ({"segmentation": rle.encode(np.zeros((5, 4), bool))}, "is not the size of image 1, [4, 5]"),
    "an unknown category": ({"category_id": 3}, "unknown category_id 3; the categories are 1, 2"),
    "an unknown image": ({"image_id": 9}, "unknown image_id 9"),
    "counts of the wrong sum": ({"segmentation": {"size": [4, 5], "counts": [3, 2]}}, "counts sum to 5"),
    "a character outside the alphabet": ({"segmentation": {"size": [4, 5], "counts": "0~"}}, "'~'"),
    "a score that is text": ({"score": "high"}, "score must be a number"),
}


@pytest.mark.parametrize("what", BAD)
def test_a_bad_mask_is_one_error_line_naming_its_entry(tmp_path, what):
    change, fragment = BAD[what]
    truth = {"images": [{"id": 1, "height": 4, "width": 5, "file_name": "1.png"}],
             "categories": [{"id": 1, "name": "human"}, {"id": 2, "name": "ball"}], "annotations": []}
    entries = [GOOD, {**GOOD, **change}]
    sub = write_zip(tmp_path / "sub.zip", {"masks.json": json.dumps(entries)})
    run = score("--reference", reference(tmp_path, truth), sub, "--output", tmp_path / "out")
    assert_rejected(run, tmp_path / "out", "entry 1", fragment)


def test_write_submission_encodes_boolean_masks_as_pycocotools_does():
    from pycocotools import mask as coco_mask

    masks = [np.random.default_rng(k).random((7, 9)) < 0.4 for k in range(3)]
    files = CHALLENGE.write_submission([{"image_id": 5, "category_id": 2, "mask": m, "score": 0.1 * k}
                                        for k, m in enumerate(masks)])
    written = json.loads(files["masks.json"])
    assert [e["score"] for e in written] == [0.2, 0.1, 0.0]
    for entry, mask in zip(written, masks[::-1]):
        assert entry["segmentation"]["counts"] == coco_mask.encode(np.asfortranarray(mask, dtype=np.uint8))["counts"].decode()


class PublicJson:
    """The leak guard's view of a public JSON file (only ``json`` matters to masks)."""

    def __init__(self, name: str, document: Any) -> None:
        self.name, self.document = name, document
        self.data = json.dumps(document).encode()

    def json(self) -> Any:
        return self.document

    def rows(self) -> List[List[str]]:
        return []

    def image(self) -> Optional[np.ndarray]:
        return None


@pytest.fixture
def demo(tmp_path):
    CHALLENGE.write_demo_reference(tmp_path / "demo", 4)
    document = json.loads((tmp_path / "demo" / "annotations.json").read_text())
    return document, CHALLENGE.hidden_facts(load_reference(tmp_path / "demo")[1])


def _copies(document: Dict[str, Any]) -> Dict[str, Any]:
    """The demo's masks re-encoded, re-ordered, re-numbered and as polygons (each a rectangle's corners)."""
    kept = [a for a in document["annotations"] if not a["iscrowd"]]
    shuffled = random.Random(0).sample(kept, len(kept))
    uncompressed = [dict(a, id=1000 + k, segmentation={"size": a["segmentation"]["size"],
                                                        "counts": rle.counts_of(rle.decode(a["segmentation"])).tolist()})
                    for k, a in enumerate(shuffled)]
    polygons = []
    for a in kept:  # the demo's masks are rectangles: their corners are a polygon pycocotools fills exactly
        mask = rle.decode(a["segmentation"])
        (x0, x1), (y0, y1) = (np.flatnonzero(mask.any(axis=axis))[[0, -1]] + [0, 1] for axis in (0, 1))
        polygons.append({"image_id": a["image_id"], "segmentation": [[int(v) for v in (x0, y0, x1, y0, x1, y1, x0, y1)]]})
    return {"re-encoded, re-ordered, re-numbered": {"annotations": uncompressed},
            "polygons": {"objects": polygons},
            "bare RLE, no image ids": [a["segmentation"] for a in shuffled]}


def test_the_leak_guard_finds_copies_of_the_hidden_masks_in_any_form(demo):
    document, hidden = demo
    assert isinstance(hidden, Masks) and len(hidden.facts) > 10
    for name, copied in _copies(document).items():
        found = hidden.found_in(PublicJson(name, copied))
        assert found.facts == set(hidden.facts), name


def test_the_leak_guard_flags_no_honest_public_file(demo, tmp_path):
    document, hidden = demo
    CHALLENGE.write_demo_reference(tmp_path / "other", 5)  # masks of other images, as train and val are
    other = json.loads((tmp_path / "other" / "annotations.json").read_text())
    _, reference_ = load_reference(tmp_path / "demo")
    honest = {
        "train annotations, other ids": {**other, "images": [dict(i, id=i["id"] + 100) for i in other["images"]],
                                         "annotations": [dict(a, image_id=a["image_id"] + 100) for a in other["annotations"]]},
        "test image list": json.loads(CHALLENGE.label_free_files(reference_)["annotations.json"]),
        "sample submission": json.loads(CHALLENGE.sample_submission(reference_, 1)["masks.json"]),
        "not JSON masks": {"image_id": 1, "segmentation": {"size": "big", "counts": 7}},
    }
    for name, content in honest.items():
        assert hidden.found_in(PublicJson(name, copy.deepcopy(content))).facts == set(), name


def test_the_data_build_publishes_masks_of_train_and_val_and_only_ids_and_sizes_of_test(tmp_path):
    _, out = make("instance-segmentation", tmp_path)
    public, layout = out / "public", CHALLENGE.layout
    test_list = json.loads((public / layout.annotation_file("test")).read_text())
    assert test_list["annotations"] == [] and set(test_list["images"][0]) == {"id", "file_name", "width", "height"}
    assert sorted(i["file_name"] for i in test_list["images"]) == sorted(p.name for p in (public / "test").iterdir())
    shown = {i["id"] for split in ("train", "val")
             for i in json.loads((public / layout.annotation_file(split)).read_text())["images"]}
    assert shown.isdisjoint(i["id"] for i in test_list["images"])
    _, test = load_reference(out / "reference" / "test")
    assert len(test.truth.score) > 0 and [i["id"] for i in test.images] == sorted(i["id"] for i in test_list["images"])
    hidden = CHALLENGE.hidden_facts(test)
    for path in public.rglob("*.json"):
        assert hidden.found_in(PublicJson(path.name, json.loads(path.read_text()))).facts == set(), path


def test_the_baselines_loss_falls_and_the_scorer_accepts_its_val_and_test_submissions(tmp_path, capsys):
    pytest.importorskip("torch", reason="the baselines extra (torch, torchvision) is not installed")
    from baselines.cli import baselines, main

    data = make("instance-segmentation", tmp_path)[1] / "public"
    run, here = tmp_path / "run", ["--workers", "0", "--device", "cpu"]
    smoke = list(baselines()[CHALLENGE.task].smoke_arguments)
    assert main(["train", CHALLENGE.task, "--data", str(data), "--out", str(run), "--epochs", "3", "--seed", "0",
                 *smoke, *here]) == 0
    with (run / "log.csv").open() as stream:
        losses = [float(line.split(",")[1]) for line in stream.readlines()[1:]]
    assert min(losses[1:]) < losses[0] * 0.8, losses  # with a margin (seen: 0.4 to 0.6)
    for split in ("val", "test"):
        zipped = tmp_path / f"{split}.zip"
        assert main(["predict", CHALLENGE.task, "--data", str(data), "--run", str(run), "--split", split,
                     "--output", str(zipped), *here]) == 0, capsys.readouterr()
        reference_ = data / CHALLENGE.layout.reference_folder(split)
        assert score("--reference", reference_, zipped, "--output", tmp_path / split).code == 0


# ---------- for the shared tests (tests/challenge_fixtures.py) ----------

def restatements(reference_folder: Path, hidden: HiddenFacts) -> List[Tuple[str, bytes]]:
    """The hidden masks re-encoded, as polygons and as bare RLE (:func:`_copies`), each a JSON file."""
    document = json.loads((reference_folder / "annotations.json").read_text())
    return [(f"notes/masks_{k}.json", json.dumps(copied).encode()) for k, copied in enumerate(_copies(document).values())]


def hostile_reference(folder: Path, text: str) -> Path:
    """A one-mask reference whose category is named ``text`` (the results page names each category)."""
    return write_reference(folder, {"task": CHALLENGE.task}, {"annotations.json": json.dumps({
        "images": [{"id": 1, "height": 4, "width": 5}], "categories": [{"id": 1, "name": text}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "segmentation": MASK, "area": 4, "iscrowd": 0}]})})
