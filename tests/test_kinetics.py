"""The Kinetics400ViPriors builder: ids and classes as given, class count from the data, excluded clips left out."""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections import Counter
from pathlib import Path
from typing import List, Tuple

import pytest

from bundler.config.competition import COMPETITIONS
from bundler.data import kinetics
from bundler.data.builder import Selection, build, builders
from bundler.data.engine import DataError
from bundler.data.kinetics import ANNOTATIONS, CLASSES, CORRUPTED, EXCLUDED, LISTS, SUFFIX, listed_clips
from scoring.challenge import load_reference
from tests.fake_datasets import make
from tests.helpers import scores_of, write_zip

BUILDER = builders()["kinetics"]
SPLITS = COMPETITIONS / "kinetics" / "splits"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Tuple[Path, Path]:
    return make("kinetics", tmp_path_factory.mktemp("kinetics"))


def _rows(path: Path) -> List[List[str]]:
    return list(csv.reader(io.StringIO(path.read_text())))[1:]


def _committed(edition: str, name: str) -> List[List[str]]:
    return list(csv.reader(io.StringIO(gzip.decompress((SPLITS / edition / f"{name}.gz").read_bytes()).decode())))[1:]


@pytest.mark.parametrize("split", ["val", "test"])
def test_a_perfect_submission_scores_one_and_the_sample_less(built, split, tmp_path):
    folder = built[1] / "reference" / split
    challenge, reference = load_reference(folder)
    perfect = write_zip(tmp_path / "perfect.zip", challenge.labelled_submission(reference, 0, 1))
    sample = write_zip(tmp_path / "sample.zip", challenge.sample_submission(reference, 1))
    assert scores_of(tmp_path / "p", folder, perfect)["mca_top1"] == 1.0
    assert scores_of(tmp_path / "s", folder, sample)["mca_top1"] < 1.0


def test_ids_classes_and_their_count_are_the_archives(built):
    source, out = built
    numbers = dict(_rows(source / ANNOTATIONS / CLASSES))
    assert (out / "public" / "classInd.txt").read_text().splitlines() == [f"{n} {name}" for name, n in numbers.items()]
    challenge, reference = load_reference(out / "reference" / "test")
    assert reference.num_classes == len(numbers) == 4 and reference.class_names == list(numbers)
    excluded = {line.split("/")[1] for line in (out / "public" / EXCLUDED).read_text().split()}
    labels = {videoid: numbers[label] for label, videoid, _ in _rows(source / ANNOTATIONS / LISTS["test"])
              if videoid not in excluded}
    assert dict(zip(reference.ids, (reference.class_number(int(i)) for i in reference.labels))) == \
        {videoid: int(number) for videoid, number in labels.items()}
    assert sorted(p.name for p in (out / "public" / "test").iterdir()) == sorted(f"{v}{SUFFIX}" for v in labels)


def test_a_submission_in_the_toolkit_format_scores(built, tmp_path):
    folder = built[1] / "reference" / "test"
    lines = [line.split() for line in (folder / "labels.txt").read_text().splitlines()]
    text = "".join(f"{videoid} {label} {' '.join(str(n) for n in range(1, 5) if str(n) != label)}\n"
                   for videoid, label in lines)
    scores = scores_of(tmp_path, folder, write_zip(tmp_path / "toolkit.zip", {"submission.txt": text}))
    assert scores["mca_top1"] == scores["clip_top5"] == 1.0


def test_excluded_clips_are_left_out_of_every_split_and_listed_in_public(built, tmp_path):
    source, out = built
    excluded = sorted(listed_clips((source / ANNOTATIONS / CORRUPTED).read_bytes()))
    assert (out / "public" / EXCLUDED).read_text().split() == [f"{split}/{videoid}" for split, videoid in excluded]
    public_text = " ".join(p.read_text() for p in (out / "public").rglob("*.txt") if p.name != EXCLUDED)
    for split, videoid in excluded:
        assert not (out / "public" / split / f"{videoid}{SUFFIX}").exists() and videoid not in public_text
        for folder in (out / "reference").iterdir():
            assert videoid not in (folder / "labels.txt").read_text()
    folder = out / "reference" / "test"
    challenge, reference = load_reference(folder)
    perfect = write_zip(tmp_path / "perfect.zip", challenge.labelled_submission(reference, 0, 1))
    scores = scores_of(tmp_path, folder, perfect)
    kept = len(_rows(source / ANNOTATIONS / LISTS["test"])) - sum(split == "test" for split, _ in excluded)
    assert scores["clips_total"] == scores["clips_predicted"] == kept and scores["clips_missing"] == 0


def test_nothing_hidden_reaches_public(built):
    out = built[1]
    labels = (out / "reference" / "test" / "labels.txt").read_text().splitlines()
    text = " ".join(p.read_text() for p in (out / "public").rglob("*.txt"))
    assert not any(line in text for line in labels)
    test_list = (out / "public" / "test.txt").read_text().split()
    assert test_list == sorted(line.split()[0] for line in labels)  # id order: no trace of the archive's class order
    assert {p.name for p in (out / "public" / "references" / "test").iterdir()} == {"reference.json", "clips.txt"}


def test_a_clip_listed_twice_or_of_an_unknown_class_is_refused(tmp_path):
    source = BUILDER.example_source(tmp_path / "source")
    train = (source / ANNOTATIONS / LISTS["train"]).read_text().splitlines()
    val = (source / ANNOTATIONS / LISTS["val"]).read_text().splitlines()
    twice = val[1].split(",")[1]
    train += [f"{val[1].split(',')[0]},{twice},train", "skydiving,abcdefghij,train"]
    (source / ANNOTATIONS / LISTS["train"]).write_text("\n".join(train) + "\n")
    with pytest.raises(DataError) as exc:
        build(BUILDER, source, tmp_path / "out", Selection(seed=1))
    assert any(f"{twice} is also in" in problem for problem in exc.value.problems)
    assert any("abcdefghij has split 'train' and class 'skydiving'" in problem for problem in exc.value.problems)


def test_an_edition_checks_the_archive_against_its_committed_lists(tmp_path):
    source = BUILDER.example_source(tmp_path / "source")
    with pytest.raises(DataError, match="is not vipriors-2022's Kinetics400ViPriors: clsIdx.csv, "):
        build(BUILDER, source, tmp_path / "out", Selection(splits="vipriors-2022", seed=1))


def test_the_committed_lists_are_2021s_and_2022_excludes_its_323_corrupted_videos():
    classes = _committed("vipriors-2021", CLASSES)
    assert [int(n) for _, n in classes] == list(range(1, 401)) and [c for c, _ in classes] == sorted(c for c, _ in classes)
    train, val = (_committed("vipriors-2021", LISTS[split]) for split in ("train", "val"))
    test = _committed("vipriors-2021", "kinetics400ViPriors-test-public.csv")
    assert (len(train), len(val), len(test)) == (40_000, 10_000, 20_000)
    assert set(Counter(label for label, _, _ in train).values()) == {100}
    ids = {"train": {row[1] for row in train}, "val": {row[1] for row in val}, "test": {row[0] for row in test}}
    excluded = listed_clips(gzip.decompress((SPLITS / "vipriors-2022" / f"{CORRUPTED}.gz").read_bytes()))
    assert Counter(split for split, _ in excluded) == {"train": 193, "val": 38, "test": 92}
    assert all(videoid in ids[split] for split, videoid in excluded)


def test_the_toolkit_paths_of_corrupted_videos_name_their_split_and_id():
    lines = b"/Users/someone/data/test/WeUxiPaqti.mp4\r\ntrain/grUjqtShiP\n\n"
    assert listed_clips(lines) == {("test", "WeUxiPaqti"), ("train", "grUjqtShiP")}


def test_the_2022_archive_plans_with_its_corrupted_videos_left_out(tmp_path, monkeypatch):
    source = tmp_path / "source"
    (source / ANNOTATIONS).mkdir(parents=True)
    for name in (CLASSES, LISTS["train"], LISTS["val"]):
        (source / ANNOTATIONS / name).write_bytes(gzip.decompress((SPLITS / "vipriors-2021" / f"{name}.gz").read_bytes()))
    classes = [label for label, _ in _committed("vipriors-2021", CLASSES)]
    test = _committed("vipriors-2021", "kinetics400ViPriors-test-public.csv")
    (source / ANNOTATIONS / LISTS["test"]).write_text("label,videoid,split\n" + "".join(
        f"{classes[i % 400]},{videoid},{split}\n" for i, (videoid, split) in enumerate(test)))
    monkeypatch.setattr(kinetics, "check_sources", lambda paths: None)  # 70 000 clips: the lists are what is tested
    plan = BUILDER.plan(source, Selection(splits="vipriors-2022", seed=1))
    files = {item.dest: item.data for item in plan.items if item.data is not None}
    assert len(files[f"public/{EXCLUDED}"].split()) == 323
    assert len(files["reference/test/labels.txt"].splitlines()) == 20_000 - 92
    assert len(files["public/train.txt"].splitlines()) == 40_000 - 193
    assert json.loads(files["reference/test/reference.json"])["num_classes"] == 400
    assert sum(item.dest.startswith("public/test/") for item in plan.items) == 20_000 - 92
