"""Data builders on their own generated example sources: outputs, determinism, safety, errors."""

from __future__ import annotations

import io
import json
import os
from collections import Counter
from pathlib import Path
from typing import Dict, Tuple

import numpy as np
import pytest
from PIL import Image

from bundler.cli import main
from bundler.config.competition import competition_names, load_competition
from bundler.data.action import moving_square
from bundler.data.avi import mjpeg_avi
from bundler.data.builder import Selection, build, builders
from bundler.data.engine import MANIFEST, MARKER, DataError
from bundler.ground.zips import sha256
from scoring.challenge import load_reference
from scoring.metrics.cityscapes import LABELS
from tests.fake_datasets import make
from tests.helpers import scores_of, write_zip


def tree(folder: Path) -> Dict[str, Tuple[int, int, int]]:
    """Every file's (inode, size, mtime): what a run must leave unchanged."""
    return {str(p.relative_to(folder)): (p.stat().st_ino, p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


NAMES = sorted(builders())


def example(name: str, tmp_path: Path) -> Path:
    """The example source of ``name``'s builder in ``tmp_path/source``."""
    return builders()[name].example_source(tmp_path / "source")


def test_an_example_clip_is_an_mjpeg_avi_that_pyav_decodes_frame_for_frame():
    av = pytest.importorskip("av", reason="PyAV (the baselines extra) is not installed")
    frames = moving_square(2)
    data = mjpeg_avi(frames)
    assert data[:4] == b"RIFF" and data[8:12] == b"AVI " and int.from_bytes(data[4:8], "little") == len(data) - 8
    with av.open(io.BytesIO(data)) as container:
        assert container.streams.video[0].codec_context.name == "mjpeg"
        decoded = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    assert len(decoded) == len(frames)
    assert all(np.abs(a.astype(int) - b).mean() < 4 for a, b in zip(decoded, frames))  # JPEG: close, not equal


def test_every_builder_prepares_a_competition_scored_by_its_challenge():
    assert set(NAMES) <= set(competition_names())
    assert all(load_competition(name).challenge.task == builder.challenge.task for name, builder in builders().items())


@pytest.mark.parametrize("name", NAMES)
def test_each_builder_writes_public_reference_and_a_manifest_and_the_reference_scores(name, tmp_path):
    source, out = make(name, tmp_path)
    manifest = json.loads((out / MANIFEST).read_text())
    files = sorted(str(p.relative_to(out)) for side in ("public", "reference", "private") for p in (out / side).rglob("*")
                   if p.is_file())
    assert sorted(manifest["files"]) == files
    assert all(manifest["files"][f] == sha256(out / f) for f in files)
    challenge, reference = load_reference(out / "reference" / "test")
    assert set(manifest["counts"]) == {"train", "val", "test"}
    assert (out / "public" / challenge.layout.reference_folder("val")).is_dir()
    assert challenge.task == builders()[name].challenge.task
    sample = write_zip(tmp_path / "sample.zip", challenge.sample_submission(reference, 3))
    scores = scores_of(tmp_path, out / "reference" / "test", sample)
    assert set(scores) >= {column.key for column in challenge.columns}


@pytest.mark.parametrize("name", NAMES)
def test_a_second_run_verifies_and_changes_nothing_and_never_touches_the_source(name, tmp_path):
    source, out = make(name, tmp_path)
    before_source, before_out = tree(source), tree(out)
    outcome = build(builders()[name], source, out, Selection(seed=1, sizes=builders()[name].example_sizes()))
    assert outcome.linked == outcome.copied == outcome.written == 0 and outcome.verified > 0
    assert tree(out) == before_out and tree(source) == before_source


@pytest.mark.parametrize("name", NAMES)
def test_the_same_seed_gives_the_same_output_and_another_seed_a_new_one(name, tmp_path):
    _, first = make(name, tmp_path, seed=5, out="a")
    _, again = make(name, tmp_path, seed=5, out="b")
    _, other = make(name, tmp_path, seed=6, out="c")
    assert (first / MANIFEST).read_bytes() == (again / MANIFEST).read_bytes()
    assert (first / MANIFEST).read_bytes() != (other / MANIFEST).read_bytes()


@pytest.mark.parametrize("name", NAMES)
def test_no_test_label_or_original_name_lands_in_public(name, tmp_path):
    source, out = make(name, tmp_path)
    public = {p: p.read_bytes() for p in (out / "public").rglob("*") if p.is_file()}
    mapping_file = out / "private" / "test_mapping.csv"  # none where the test names are the source's (Kinetics' ids)
    mapping = mapping_file.read_text().splitlines()[1:] if mapping_file.exists() else []
    originals = [Path(row.split(",")[-1]).name for row in mapping]
    public_names = " ".join(str(p.relative_to(out)) for p in public)
    assert not any(original in public_names for original in originals)
    text = b"\n".join(data for path, data in public.items() if path.suffix in (".txt", ".csv", ".json"))
    assert not any(original.encode() in text for original in originals)
    for path in (out / "reference" / "test").iterdir():
        if path.name not in ("reference.json", "classes.txt"):
            assert path.read_bytes() not in public.values(), path.name
    challenge, reference = load_reference(out / "reference" / "test")
    for item, label in (challenge.hidden_facts(reference).item_labels() or {}).items():
        assert f"{item} {label}".encode() not in text and f"{item},{label}".encode() not in text


def test_missing_and_corrupt_source_files_are_listed_at_once_and_nothing_is_written(tmp_path):
    source = example("detection", tmp_path)  # every image is drawn: 8 train images, 4 val
    (source / "train2017" / "000000001007.jpg").unlink()
    (source / "val2017" / "000000005014.jpg").unlink()
    (source / "train2017" / "000000001014.jpg").write_bytes(b"<html>not an image</html>")
    (source / "val2017" / "000000005000.jpg").write_bytes(b"")
    with pytest.raises(DataError) as exc:
        build(builders()["detection"], source, tmp_path / "out", Selection(seed=1, sizes=builders()["detection"].example_sizes()))
    assert exc.value.problems == [
        f"missing source file: {source}/train2017/000000001007.jpg",
        f"corrupt source file: {source}/train2017/000000001014.jpg is not a JPG file",
        f"corrupt source file: {source}/val2017/000000005000.jpg is empty",
        f"missing source file: {source}/val2017/000000005014.jpg",
        "4 source problem(s); nothing was written",
    ]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("name", NAMES)
def test_what_every_split_misses_is_reported_in_one_run(name, tmp_path):
    source = tmp_path / "source"  # empty: each split's own folder or list is missing (train and val from one, test another)
    source.mkdir()
    with pytest.raises(DataError) as exc:
        build(builders()[name], source, tmp_path / "out", Selection(seed=1, sizes=builders()[name].example_sizes()))
    problems = exc.value.problems
    assert len(set(problems)) == len(problems) >= 2 and all(str(source) in problem for problem in problems), problems
    assert not (tmp_path / "out").exists()


def test_too_few_source_items_for_train_val_and_for_test_are_reported_in_one_run(tmp_path):
    source = example("classification", tmp_path)  # 18 train and 6 val images per class
    with pytest.raises(DataError) as exc:
        build(builders()["classification"], source, tmp_path / "out", Selection(seed=1, sizes={"train": 10, "val": 9, "test": 7}))
    assert [problem.split(" (")[0] for problem in exc.value.problems] == [
        "not enough source items for train=10, val=9", "not enough source items for test=7"]


def test_segmentation_counts_the_label_classes_of_the_maps_not_the_cities(tmp_path):
    _, out = make("segmentation", tmp_path)  # bands of road, building, vegetation or sky, two cities per split
    counts = json.loads((out / MANIFEST).read_text())["counts"]["test"]
    maps = [np.asarray(Image.open(path)) for path in sorted((out / "reference" / "test").glob("*labelIds*"))]
    names = {label.id: label.name for label in LABELS}
    assert counts["per_class"] == dict(Counter(names[value] for labels in maps for value in np.unique(labels)))
    assert counts["total"] == len(maps) == builders()["segmentation"].example_sizes()["test"]


def test_a_corrupt_annotation_file_is_named(tmp_path):
    source = example("detection", tmp_path)
    (source / "annotations" / "instances_val2017.json").write_text("{\"images\": [")
    with pytest.raises(DataError, match="corrupt source file: .*instances_val2017.json is not COCO instances JSON"):
        build(builders()["detection"], source, tmp_path / "out", Selection(seed=1, sizes=builders()["detection"].example_sizes()))


def test_a_folder_it_did_not_make_or_made_for_another_build_is_refused(tmp_path):
    source, out = make("action", tmp_path)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    selection = Selection(seed=1)
    with pytest.raises(DataError, match="not empty and was not made by 'bundler data'"):
        build(builders()["action"], source, foreign, selection)
    with pytest.raises(DataError, match="holds another build \\(a different seed\\)"):
        build(builders()["action"], source, out, Selection(seed=2))
    with pytest.raises(DataError, match="overlaps --source"):
        build(builders()["action"], source, source / "out", selection)
    assert (foreign / "notes.txt").read_text() == "mine" and json.loads((out / MARKER).read_text())["seed"] == 1


def test_without_a_seed_a_secret_one_is_drawn_recorded_in_private_only_and_reused_by_a_second_run(tmp_path, capsys):
    source = example("action", tmp_path)
    first, other = tmp_path / "first", tmp_path / "other"
    assert main(["data", "action", "--source", str(source), "--out", str(first)]) == 0
    printed = capsys.readouterr().out
    seed = (first / "private" / "seed.txt").read_text().strip()
    assert "note: no --seed: a secret one was drawn and recorded in private/seed.txt" in printed and seed not in printed
    assert not [p for p in (first / "public").rglob("*") if p.is_file() and seed.encode() in p.read_bytes()]
    before = tree(first)
    assert main(["data", "action", "--source", str(source), "--out", str(first)]) == 0
    assert main(["data", "action", "--source", str(source), "--out", str(first), "--seed", seed]) == 0
    assert tree(first) == before and capsys.readouterr().out.count("0 linked, 0 copied, 0 written") == 2
    assert main(["data", "action", "--source", str(source), "--out", str(first), "--seed", "1"]) == 1
    assert "holds another build (a different seed)" in capsys.readouterr().err and tree(first) == before
    (first / "private" / "seed.txt").unlink()  # as if the first run had been interrupted: the marker holds the seed
    assert main(["data", "action", "--source", str(source), "--out", str(first)]) == 0
    assert (first / "private" / "seed.txt").read_text().strip() == seed and "no --seed" not in capsys.readouterr().out
    assert main(["data", "action", "--source", str(source), "--out", str(other)]) == 0
    assert (other / "private" / "seed.txt").read_text().strip() != seed
    mapping = "private/test_mapping.csv"  # 8 test clips: the same order by chance once in 8! runs
    assert (other / mapping).read_bytes() != (first / mapping).read_bytes()


def test_an_edited_output_file_stops_the_run_and_is_kept(tmp_path):
    source, out = make("action", tmp_path)
    labels = out / "reference" / "test" / "labels.txt"
    labels.write_text("edited by hand\n")
    with pytest.raises(DataError, match="labels.txt differs from what this build would write; it was left as it is"):
        build(builders()["action"], source, out, Selection(seed=1))
    assert labels.read_text() == "edited by hand\n"


def test_an_interrupted_run_resumes_with_only_the_missing_files(tmp_path):
    source, out = make("segmentation", tmp_path)
    lost = sorted((out / "public" / "leftImg8bit" / "test").iterdir())[:2]
    for path in lost:
        path.unlink()
    (out / MANIFEST).unlink()
    (out / "public" / "leftImg8bit" / "test" / ".left.png.partial").write_bytes(b"half")
    outcome = build(builders()["segmentation"], source, out, Selection(seed=1, sizes=builders()["segmentation"].example_sizes()))
    assert outcome.linked == 2 and all(p.exists() for p in lost) and (out / MANIFEST).exists()


def test_files_are_hard_linked_and_copied_where_links_are_refused(tmp_path, monkeypatch):
    source, out = make("classification", tmp_path)
    image = next((out / "public" / "test").iterdir())
    assert image.stat().st_nlink == 2

    def refuse(*args):
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", refuse)
    sizes = builders()["classification"].example_sizes()
    outcome = build(builders()["classification"], source, tmp_path / "copy", Selection(seed=1, sizes=sizes))
    assert outcome.linked == 0 and outcome.copied > 0
    assert (tmp_path / "copy" / MANIFEST).read_bytes() == (out / MANIFEST).read_bytes()


def test_detection_renumbers_the_test_images_in_the_reference_and_keeps_coco_format(tmp_path):
    source, out = make("detection", tmp_path)
    reference = json.loads((out / "reference" / "test" / "annotations.json").read_text())
    mapping = [row.split(",") for row in (out / "private" / "test_mapping.csv").read_text().splitlines()[1:]]
    new_to_old = {int(new): int(old) for new, old, _ in mapping}
    assert sorted(new_to_old) == sorted(i["id"] for i in reference["images"]) == list(range(1, 5))
    original = json.loads((source / "annotations" / "instances_val2017.json").read_text())
    boxes = {(a["image_id"], tuple(a["bbox"])) for a in original["annotations"]}
    assert {(new_to_old[a["image_id"]], tuple(a["bbox"])) for a in reference["annotations"]} == boxes
    train = json.loads((out / "public" / "annotations" / "instances_train.json").read_text())
    assert len(train["images"]) == 5 and {a["image_id"] for a in train["annotations"]} <= {i["id"] for i in train["images"]}
    document = json.loads((out / "public" / "annotations" / "test_images.json").read_text())
    assert document["annotations"] == [] and all(set(i) == {"id", "file_name", "width", "height"} for i in document["images"])


def test_the_command_prints_counts_and_reports_errors_in_one_line_each(tmp_path, capsys):
    source = example("action", tmp_path)
    assert main(["data", "action", "--source", str(source), "--out", str(tmp_path / "out"), "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "train: 16 item(s), 4 class(es)" in out and "val: 16 item(s)" in out and "test: 8 item(s)" in out
    hidden = [line for line in out.splitlines() if line.startswith("reference/test/:")]
    assert len(hidden) == 1 and hidden[0].lower().count("hidden") == 1 and "never publish" in hidden[0]
    assert main(["data", "detection", "--source", str(source), "--out", str(tmp_path / "x"), "--splits", "vipriors-2020"]) == 1
    assert "no official lists for detection" in capsys.readouterr().err
    assert main(["data", "action", "--source", str(tmp_path / "nope"), "--out", str(tmp_path / "y"), "--seed", "1"]) == 1
    assert "not a folder; expected UCF-101" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["data", "action", "--source", str(source), "--out", str(tmp_path / "z"), "--splits", "vipriors-2020",
              "--size", "train=3"])
    assert exc.value.code == 2
