"""The DelftBikes builder: parts to COCO boxes (absent parts left out), 22 categories, val by rule, renamed test."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Dict, Set, Tuple

import pytest

from bundler.data.builder import Selection, build, builders
from bundler.data.delftbikes import ABSENT, ANNOTATIONS, PARTS, VAL_LIST
from bundler.data.engine import DataError
from scoring.challenge import load_reference
from scoring.challenges.detection import CHALLENGE
from tests.fake_datasets import make
from tests.helpers import scores_of, write_zip

BUILDER = builders()["delftbikes"]
Box = Tuple[int, int, float, float, float, float]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Tuple[Path, Path]:
    return make("delftbikes", tmp_path_factory.mktemp("delftbikes"))


def _boxes(coco: Dict) -> Set[Box]:
    return {(a["image_id"], a["category_id"], *map(float, a["bbox"])) for a in coco["annotations"]}


def _source_ids(out: Path) -> Dict[str, int]:
    """Source test image name -> its new image id, from the private mapping."""
    with (out / "private" / "test_mapping.csv").open() as stream:
        return {row["source"].split("/")[-1]: int(row["image_id"]) for row in csv.DictReader(stream)}


@pytest.mark.parametrize("split", ["val", "test"])
def test_a_perfect_submission_scores_one_and_the_sample_less(built, split, tmp_path):
    folder = built[1] / "reference" / split
    challenge, reference = load_reference(folder)
    perfect = write_zip(tmp_path / "perfect.zip", challenge.labelled_submission(reference, 0, 1))
    sample = write_zip(tmp_path / "sample.zip", challenge.sample_submission(reference, 1))
    assert scores_of(tmp_path / "p", folder, perfect)["AP"] == pytest.approx(1.0)
    assert scores_of(tmp_path / "s", folder, sample)["AP"] < 0.5


def test_the_22_parts_are_the_categories_in_a_fixed_order(built):
    for name in ("instances_train.json", "instances_val.json", "test_images.json"):
        document = json.loads((built[1] / "public" / "annotations" / name).read_text())
        assert [(c["id"], c["name"]) for c in document["categories"]] == list(enumerate(PARTS, 1))
    assert len(PARTS) == 22 and list(PARTS) == sorted(PARTS)


def test_absent_parts_are_not_ground_truth_and_every_other_part_is(built):
    source, out = built
    ids = _source_ids(out)
    parts = json.loads((source / ANNOTATIONS["test"]).read_text())
    present, absent = set(), set()
    for name, entry in parts.items():
        for category, part in enumerate(PARTS, 1):
            about = entry["parts"][part]
            box = about["absolute_bounding_box"]
            fact = (ids[name], category, *(float(box[k]) for k in ("left", "top", "width", "height")))
            (absent if about["object_state"] == ABSENT else present).add(fact)
    reference = _boxes(json.loads((out / "reference" / "test" / "annotations.json").read_text()))
    assert absent and reference == present and not reference & absent


def test_a_box_on_an_absent_part_counts_as_a_false_positive(built, tmp_path):
    source, out = built
    folder = out / "reference" / "test"
    challenge, reference = load_reference(folder)
    name, image = next(iter(json.loads((source / ANNOTATIONS["test"]).read_text()).items()))
    category, part = next((c, p) for c, p in enumerate(PARTS, 1) if image["parts"][p]["object_state"] == ABSENT)
    box = image["parts"][part]["absolute_bounding_box"]
    detections = json.loads(challenge.labelled_submission(reference, 0, 1)["detections.json"])
    detections.append({"image_id": _source_ids(out)[name], "category_id": category, "score": 1.0,
                       "bbox": [box["left"], box["top"], box["width"], box["height"]]})
    submission = write_zip(tmp_path / "absent.zip", CHALLENGE.write_submission(detections))
    assert scores_of(tmp_path, folder, submission)["AP"] < 1


def test_val_is_the_first_training_images_in_sorted_name_order(built):
    source, out = built
    names = sorted(os.listdir(source / "train"))
    wanted = BUILDER.example_sizes()["val"]
    assert sorted(os.listdir(out / "public" / "val")) == names[:wanted]
    assert sorted(os.listdir(out / "public" / "train")) == names[wanted:]
    assert (out / VAL_LIST).read_text().split() == names[:wanted]
    assert names[:wanted] != sorted(names, key=lambda n: int(n.split(".")[0]))[:wanted]  # string order, not numbers


def test_a_rebuild_from_a_changed_training_folder_stops_at_the_recorded_val_list(tmp_path):
    source, out = make("delftbikes", tmp_path)
    annotations = json.loads((source / ANNOTATIONS["train"]).read_text())
    first = sorted(annotations)[0]
    annotations["00.jpg"] = annotations[first]
    (source / ANNOTATIONS["train"]).write_text(json.dumps(annotations))
    (source / "train" / "00.jpg").write_bytes((source / "train" / first).read_bytes())
    with pytest.raises(DataError) as exc:
        build(BUILDER, source, out, Selection(seed=1, sizes=BUILDER.example_sizes()))
    assert any(VAL_LIST in problem and "differs" in problem for problem in exc.value.problems)


def test_test_images_are_renamed_to_their_id_in_a_secret_order_so_toolkit_ids_match(built, tmp_path):
    out = built[1]
    images = json.loads((out / "public" / "annotations" / "test_images.json").read_text())["images"]
    files = sorted(os.listdir(out / "public" / "test"))
    assert [(i["id"], i["file_name"]) for i in images] == list(enumerate(files))  # id = position in sorted(listdir)
    other = make("delftbikes", tmp_path, seed=2)[1]
    assert _source_ids(other) != _source_ids(out) and set(_source_ids(other)) == set(_source_ids(out))


def test_nothing_hidden_reaches_public(built):
    source, out = built
    hidden = _boxes(json.loads((out / "reference" / "test" / "annotations.json").read_text()))
    paths = [path for path in (out / "public").rglob("*") if path.is_file()]
    documents = [json.loads(path.read_text()) for path in paths if path.suffix == ".json"]
    assert not hidden & set().union(*(_boxes(d) for d in documents if "annotations" in d))
    text = " ".join(str(path) for path in paths) + " ".join(p.read_text() for p in paths if p.suffix in (".json", ".txt"))
    assert not any(original in text for original in _source_ids(out))
    test_images = json.loads((out / "public" / "annotations" / "test_images.json").read_text())
    assert test_images["annotations"] == [] and all(set(i) == {"id", "file_name", "width", "height"}
                                                   for i in test_images["images"])


def test_an_image_missing_a_part_or_naming_an_unknown_one_is_one_clear_error(tmp_path):
    source = BUILDER.example_source(tmp_path / "source")
    annotations = json.loads((source / ANNOTATIONS["train"]).read_text())
    first, second = sorted(annotations)[:2]
    del annotations[first]["parts"]["bell"]
    annotations[second]["parts"]["basket"] = annotations[second]["parts"].pop("lock")
    (source / ANNOTATIONS["train"]).write_text(json.dumps(annotations))
    with pytest.raises(DataError) as exc:
        build(BUILDER, source, tmp_path / "out", Selection(seed=1, sizes=BUILDER.example_sizes()))
    [problem] = exc.value.problems
    assert f"{first}: missing bell" in problem and f"{second}: missing lock, unknown basket" in problem
    assert "exactly the 22 DelftBikes parts" in problem and not (tmp_path / "out").exists()


def test_a_val_size_that_leaves_no_training_image_is_refused(tmp_path):
    source = BUILDER.example_source(tmp_path / "source")
    with pytest.raises(DataError, match="val=10: the source has 10 training images"):
        build(BUILDER, source, tmp_path / "out", Selection(seed=1, sizes={"val": 10}))


def test_the_detection_baseline_starts_from_the_toolkits_recipe_on_delftbikes_data(built, tmp_path, capsys):
    pytest.importorskip("torchvision")
    from baselines.cli import main

    out, run = built[1], tmp_path / "run"
    assert main(["train", "detection", "--data", str(out / "public"), "--out", str(run), "--epochs", "0",
                 "--workers", "0", "--device", "cpu"]) == 0
    config = json.loads((run / "config.json").read_text(encoding="utf-8"))
    assert config["args"]["recipe"] == "delftbikes" and config["reference_batch"] == 4
    assert {key: config["args"][key] for key in ("lr", "batch_size", "lr_steps")} == {"lr": 0.01, "batch_size": 4,
                                                                                      "lr_steps": [15]}
    assert "detection (delftbikes's recipe)" in capsys.readouterr().err
