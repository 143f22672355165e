"""``--splits vipriors-2020`` reproduces the 2020 subsets exactly, driven by the real lists the project
ships (the images and videos are faked); a cross-check, where ../shared exists, proves those shipped
lists equal the ones we received."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import shutil
from collections import Counter
from pathlib import Path
from typing import List

import pytest

from bundler.bundles.build import build as build_bundle
from bundler.bundles.check import check_bundle
from bundler.cli import main
from bundler.config.competition import COMPETITIONS, load_competition
from bundler.data.action import ucf101_clip
from bundler.data.builder import Selection, build, builders
from tests import fake_datasets as fake
from tests.helpers import SHIPPED_2020

OFFICIAL = Selection(splits="vipriors-2020")


@pytest.mark.parametrize("competition", sorted(SHIPPED_2020))
def test_the_shipped_compressed_lists_equal_the_official_ones(shared_data, competition):
    shipped = sorted((COMPETITIONS / competition / "splits" / "vipriors-2020").glob("*.gz"))
    official = sorted((shared_data / SHIPPED_2020[competition]).iterdir())
    assert [p.name[:-3] for p in shipped] == [p.name for p in official]
    for packed, plain in zip(shipped, official):
        assert gzip.decompress(packed.read_bytes()) == plain.read_bytes(), packed.name


def test_classification_2020_membership_and_test_order_are_exact(lists_2020, tmp_path):
    lists = {name: json.loads((lists_2020 / "classification" / f"{name}.json").read_text()) for name in ("train", "val", "test")}
    train: dict = {}
    for wnid, name in lists["train"] + lists["val"]:
        train.setdefault(wnid, []).append(name)
    val: dict = {}
    for entry in lists["test"]:
        wnid, name = entry.split("/")
        val.setdefault(wnid, []).append(name)
    source = fake.imagenet(tmp_path / "imagenet", train, val)
    out = tmp_path / "out"
    build(builders()["classification"], source, out, OFFICIAL)
    for split in ("train", "val"):
        built = sorted(f"{p.parent.name}/{p.name}" for p in (out / "public" / split).glob("*/*"))
        assert built == sorted(f"{w}/{n}" for w, n in lists[split])
    classes = sorted({wnid for wnid, _ in lists["train"]})
    rows = (out / "reference" / "test" / "labels.csv").read_text().splitlines()
    assert rows[0] == "image,label" and len(rows) == 50_001
    for i in (0, 1, 24_999, 49_999):
        wnid = lists["test"][i].split("/")[0]
        assert rows[i + 1] == f"img_{i}.JPEG,{classes.index(wnid)}"
        assert (out / "public" / "test" / f"img_{i}.JPEG").read_bytes() == fake.jpeg(f"val/{lists['test'][i]}")


def test_segmentation_2020_membership_and_test_names_are_exact(lists_2020, tmp_path):
    lists = {name: json.loads((lists_2020 / "segmentation" / f"{name}.json").read_text()) for name in ("train", "val", "test")}
    source = fake.cityscapes(tmp_path / "cityscapes", lists["train"] + lists["val"], list(lists["test"]))
    out = tmp_path / "out"
    build(builders()["segmentation"], source, out, OFFICIAL)
    images = out / "public" / "leftImg8bit"
    for split in ("train", "val"):
        assert sorted(f"{p.parent.name}/{p.name}" for p in (images / split).glob("*/*")) == sorted(lists[split])
    assert sorted(p.name for p in (images / "test").iterdir()) == sorted(f"{n}.png" for n in lists["test"].values())
    for image, number in list(lists["test"].items())[:3]:
        truth = source / "gtFine" / "val" / image.replace("_leftImg8bit.png", "_gtFine_labelIds.png")
        assert (out / "reference" / "test" / f"{number}_gtFine_labelIds.png").read_bytes() == truth.read_bytes()


@pytest.fixture(scope="module")
def action_2020(lists_2020, tmp_path_factory):
    """(the 2020 lists, UCF-101's testlist01 as faked, the output of --splits vipriors-2020 on a fake UCF-101, that
    fake UCF-101), built without --seed: a secret one is drawn."""
    folder = lists_2020 / "action-recognition"
    names = {int(n): name for n, name in (line.split() for line in (folder / "mod-ucf101-classInd.txt").read_text().splitlines())}
    per_class: Counter = Counter()
    order = []
    for split in ("train", "validation"):
        for line in (folder / f"mod-ucf101-{split}.txt").read_text().splitlines():
            number = int(line.split()[1])
            per_class[number] += 1
            if number not in order:
                order.append(number)
    train = [ucf101_clip(names[n], 8 + i // 7, 1 + i % 7) for n in order for i in range(per_class[n])]
    tests = (folder / "mod-ucf101-test.txt").read_text().splitlines()
    test = [ucf101_clip(names[order[i * len(order) // len(tests)]], 1 + i % 7, 1 + i // 7 % 7) for i in range(len(tests))]
    test = sorted(set(test), key=test.index)
    root = tmp_path_factory.mktemp("action-2020")
    source = fake.ucf101(root / "ucf", train, test, sorted(names.values(), key=str.lower))
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main(["data", "action", "--source", str(source), "--out", str(root / "out"), "--splits", "vipriors-2020"]) == 0
    said = printed.getvalue()
    assert "note: the 2020 test names are kept, but the test clips are assigned to them in a shuffle keyed by the secret" in said
    assert "note: no --seed: a secret one was drawn and recorded in private/seed.txt" in said
    return folder, test, root / "out", source


def _test_order(out: Path) -> List[str]:
    """The source clip behind each test name, in the order of the names."""
    return [row.split(",")[1] for row in (out / "private" / "test_mapping.csv").read_text().splitlines()[1:]]


def _planned_test_order(source: Path, seed: int) -> List[str]:
    plan = builders()["action"].plan(source, Selection("vipriors-2020", seed))
    return [f"UCF-101/{item.source.relative_to(source / 'UCF-101').as_posix()}"
            for item in plan.items if item.dest.startswith("public/test/") and item.source is not None]


def test_action_2020_lists_are_reproduced_clip_for_clip_with_the_test_clips_shuffled(action_2020):
    folder, test, out, _ = action_2020
    for ours, theirs in (("train", "train"), ("val", "validation"), ("test", "test")):
        assert (out / "public" / f"{ours}.txt").read_text() == (folder / f"mod-ucf101-{theirs}.txt").read_text()
    mapping = dict(row.split(",") for row in (out / "private" / "test_mapping.csv").read_text().splitlines()[1:])
    assert sorted(mapping.values()) == sorted(f"UCF-101/{clip}" for clip in test)
    in_2020_order = [f"UCF-101/{clip}" for clip in test]
    assert sum(mapping[name] == clip for name, clip in zip(sorted(mapping), in_2020_order)) < 50  # of 3 783
    assert len((out / "reference" / "test" / "labels.txt").read_text().splitlines()) == 3783


def test_the_2020_action_test_order_is_keyed_by_the_recorded_secret_seed_and_not_by_public_text(action_2020):
    _, test, out, source = action_2020
    seed = int((out / "private" / "seed.txt").read_text())
    built = _test_order(out)
    assert _planned_test_order(source, seed) == built  # the recorded seed, and only it, gives the order back
    another = _planned_test_order(source, seed + 1)
    assert sorted(another) == sorted(built) and sum(a == b for a, b in zip(another, built)) < 50  # of 3 783
    public_key = sorted(test, key=lambda clip: hashlib.sha256(f"None:vipriors-2020 test order:{clip}".encode()).digest())
    assert sum(f"UCF-101/{clip}" == b for clip, b in zip(public_key, built)) < 50  # the key of the last commit
    assert not [p for p in (out / "public").glob("*.txt") if str(seed).encode() in p.read_bytes()]


def test_a_second_2020_action_run_with_the_recorded_seed_changes_nothing_and_another_seed_is_refused(action_2020, capsys):
    _, _, out, source = action_2020
    seed = (out / "private" / "seed.txt").read_text().strip()
    before = {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in sorted(out.rglob("*")) if p.is_file()}
    command = ["data", "action", "--source", str(source), "--out", str(out), "--splits", "vipriors-2020"]
    assert main(command) == 0 and main(command + ["--seed", seed]) == 0
    assert capsys.readouterr().out.count(" 0 linked, 0 copied, 0 written, ") == 2
    assert main(command + ["--seed", str(int(seed) + 1)]) == 1
    assert "holds another build (a different seed)" in capsys.readouterr().err
    assert {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in sorted(out.rglob("*")) if p.is_file()} == before


def test_the_2020_action_test_order_leak_is_found_when_built_the_old_way_and_not_in_the_new_build(action_2020, tmp_path):
    _, test, out, _ = action_2020
    old = tmp_path / "old-way"
    shutil.copytree(out / "reference" / "test", old)
    classes = (out / "public" / "classInd.txt").read_text().splitlines()
    numbers = {name: number for number, name in (row.split() for row in classes)}
    names = [row.split()[0] for row in (old / "labels.txt").read_text().splitlines()]
    (old / "labels.txt").write_text("".join(f"{name} {numbers[clip.split('/')[0]]}\n" for name, clip in zip(names, test)))
    competition = load_competition("action")
    new = build_bundle(competition, tmp_path / "new.zip", data=out).path
    assert not [problem for problem in check_bundle(new) if "sorted by their public names" in problem]
    problems = check_bundle(build_bundle(competition, tmp_path / "old.zip", {"Test": old}, data=out).path)
    said = [problem for problem in problems if "sorted by their public names" in problem]
    assert len(said) == 1 and said[0].startswith("reference_data_2.zip: sorted by their public names, 3682 of its 3782 "
                                                 "neighbouring items share their class (97%); random order would give "
                                                 "about "), problems


def test_an_ucf_list_that_is_not_2020s_is_refused(tmp_path):
    source = builders()["action"].example_source(tmp_path / "ucf")
    with pytest.raises(Exception, match="does not give 2020's train list"):
        build(builders()["action"], source, tmp_path / "out", OFFICIAL)
