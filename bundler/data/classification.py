"""ImageNet 2012 -> the classification challenge: train and val from ImageNet train, test from ImageNet val."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np

from bundler.data.builder import DatasetBuilder, Selection, csv_text, every
from bundler.data.engine import DataError, Plan, check_sources
from bundler.data.examples import COLOURS, image_file, noisy, write
from scoring.challenges.classification import CHALLENGE

Image = Tuple[str, str]  # (wnid, file name)


def _scan(folder: Path) -> Dict[str, List[Image]]:
    if not folder.is_dir():
        raise DataError([f"{folder}: not found; expected ImageNet's {folder.name}/<wnid>/*.JPEG"])
    return {d.name: [(d.name, f.name) for f in sorted(d.iterdir()) if f.suffix.lower() in (".jpeg", ".jpg")]
            for d in sorted(folder.iterdir()) if d.is_dir()}


class ClassificationData(DatasetBuilder):
    competition = "classification"
    challenge = CHALLENGE
    source_layout = "ImageNet 2012: train/<wnid>/*.JPEG and val/<wnid>/*.JPEG"
    sizes = {"train": 50, "val": 50, "test": 50}
    per_class = True
    editions = ("vipriors-2020",)
    example_size = {"train": 12, "val": 6, "test": 6}

    def example_source(self, root: Path, scale: int = 1) -> Path:
        """ImageNet 2012's ``train/<wnid>/*.JPEG`` and ``val/<wnid>/*.JPEG``, 4 classes of 40x40: one colour per class."""
        rng = np.random.default_rng(0)
        for split, count in (("train", 18 * scale), ("val", 6 * scale)):
            for c in range(4):
                wnid = f"n{c:08d}"
                for i in range(count):
                    name = f"{wnid}_{i}.JPEG" if split == "train" else f"ILSVRC2012_val_{c * count + i:08d}.JPEG"
                    write(root / split / wnid / name, image_file(noisy(rng, COLOURS[c], (40, 40)), "JPEG"))
        return root

    def _official(self, selection: Selection) -> Tuple[List[Image], List[Image], List[Image]]:
        train, val = ([tuple(pair) for pair in json.loads(self.shipped(selection, f"{name}.json"))]
                      for name in ("train", "val"))
        test = [tuple(entry.split("/")) for entry in json.loads(self.shipped(selection, "test.json"))]
        return train, val, test  # type: ignore[return-value]

    def _drawn(self, source: Path, selection: Selection) -> Tuple[List[Image], List[Image], List[Image]]:
        chosen, test = every(lambda: self.take(_scan(source / "train"), selection, ("train", "val")),
                             lambda: self.take(_scan(source / "val"), selection, ("test",))["test"])
        return chosen["train"], chosen["val"], selection.shuffled(test, "test order")

    def plan(self, source: Path, selection: Selection) -> Plan:
        if selection.splits:
            train, val, test = self._official(selection)
        else:
            train, val, test = self._drawn(source, selection)
        check_sources([source / "train" / w / f for w, f in train + val] + [source / "val" / w / f for w, f in test])
        classes = sorted({wnid for wnid, _ in train + val + test})
        index = {wnid: i for i, wnid in enumerate(classes)}
        plan, layout = Plan(), CHALLENGE.layout
        for split, images in (("train", train), ("val", val)):
            for wnid, name in images:
                plan.link(f"public/{layout.input_folder(split)}/{wnid}/{name}", source / "train" / wnid / name)
                plan.count(split, wnid)
        rows, mapping = [], []
        for i, (wnid, name) in enumerate(test):
            plan.link(f"public/{layout.input_folder('test')}/img_{i}.JPEG", source / "val" / wnid / name)
            plan.count("test", wnid)
            rows.append((f"img_{i}.JPEG", index[wnid]))
            mapping.append((f"img_{i}.JPEG", f"val/{wnid}/{name}"))
        names = ("\n".join(classes) + "\n").encode()
        plan.write(f"public/{layout.classes}", names)
        scored = {"val": [(name, index[wnid]) for wnid, name in val], "test": rows}  # a val image's id: its file name
        for split, labels in scored.items():
            plan.scored(split, "classes.txt", data=names)
            plan.scored(split, "labels.csv", data=csv_text("image,label", labels))
            plan.scored(split, "reference.json", data=CHALLENGE.reference_info(num_classes=len(classes)))
        plan.write("private/test_mapping.csv", csv_text("image,source", mapping))
        return plan


BUILDER = ClassificationData()
