"""Cityscapes -> the segmentation challenge (MiniCity): train and val from Cityscapes train, test from val.

The manifest counts, per split, the images that hold each evaluated Cityscapes class (read from the labelIds maps).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np
from PIL import Image as PILImage

from bundler.data.builder import DatasetBuilder, Selection, csv_text, every
from bundler.data.engine import DataError, Plan, check_sources
from bundler.data.examples import COLOURS, image_file, write
from scoring.challenges.segmentation import CHALLENGE, PILLOW_ERRORS
from scoring.metrics.cityscapes import LABELS
from scoring.progress import progress

IMAGE_SUFFIX = "_leftImg8bit.png"
EVALUATED = {label.id: label.name for label in LABELS if not label.ignore_in_eval}
REFERENCE = ("labelIds", "instanceIds")  # what the scorer reads
OPTIONAL = ("color",)  # published with train and val when the source has it
Image = str  # "city/city_xxxxxx_yyyyyy_leftImg8bit.png"
EXAMPLE_LABELS = (7, 11, 21, 23)  # road, building, vegetation, sky: the evaluated classes of the example source


def _scan(folder: Path) -> Dict[str, List[Image]]:
    if not folder.is_dir():
        raise DataError([f"{folder}: not found; expected Cityscapes' leftImg8bit/{folder.name}/<city>/*{IMAGE_SUFFIX}"])
    return {"all": [f"{p.parent.name}/{p.name}" for p in sorted(folder.glob(f"*/*{IMAGE_SUFFIX}"))]}


def _truth_suffix(kind: str) -> str:
    """Cityscapes' name ending of an image's ground truth of ``kind``, in the source, public/ and the reference."""
    return f"_gtFine_{kind}.png"


def _ground_truth(source: Path, split: str, image: Image, kind: str) -> Path:
    return source / "gtFine" / split / image.replace(IMAGE_SUFFIX, _truth_suffix(kind))


def _classes_in(path: Path) -> List[str]:
    """The evaluated classes a labelIds map holds, by name."""
    try:
        with PILImage.open(path) as image:  # 8-bit maps: Pillow's histogram, far faster than numpy on the pixels
            present = ([value for value, count in enumerate(image.histogram()) if count] if image.mode in ("L", "P")
                       else np.unique(np.asarray(image)).tolist())
    except PILLOW_ERRORS as exc:
        raise DataError([f"corrupt source file: {path} is not a readable PNG ({exc})"]) from None
    return [EVALUATED[value] for value in present if value in EVALUATED]


def _count_classes(plan: Plan, labelled: List[Tuple[str, Path]]) -> None:
    """Count each (split, labelIds map) as an item, and as one image of every evaluated class it holds."""
    problems = []
    for split, path in progress(labelled, len(labelled), "counting classes"):
        try:
            classes = _classes_in(path)
        except DataError as exc:
            problems += exc.problems
            continue
        plan.count(split)
        for name in classes:
            plan.count(split, name, items=0)
    if problems:
        raise DataError(problems + [f"{len(problems)} source problem(s); nothing was written"])


def anonymous_name(selection: Selection, image: Image) -> str:
    """A 64-bit number, as the 2020 test names were, drawn from the seed."""
    return str(int.from_bytes(selection.key("name", image)[:8], "big"))


class SegmentationData(DatasetBuilder):
    competition = "segmentation"
    challenge = CHALLENGE
    source_layout = "Cityscapes: leftImg8bit/{train,val}/<city>/*_leftImg8bit.png and gtFine/{train,val}/<city>/"
    sizes = {"train": 200, "val": 100, "test": 200}
    editions = ("vipriors-2020",)
    example_size = {"train": 8, "val": 4, "test": 4}

    def example_source(self, root: Path, scale: int = 1) -> Path:
        """Cityscapes' ``leftImg8bit/`` and ``gtFine/`` (labelIds, instanceIds) of 64x32 images: 4 vertical bands,
        each of a random class and coloured by its class."""
        rng = np.random.default_rng(1)
        width, height = 64, 32
        for split, count, cities in (("train", 12 * scale, ("aachen", "bremen")), ("val", 6 * scale, ("lindau", "munster"))):
            for city in cities:
                for i in range(count // 2):
                    image = f"{city}/{city}_{i:06d}_000019{IMAGE_SUFFIX}"
                    bands = rng.integers(0, len(EXAMPLE_LABELS), 4)
                    classes = np.repeat(bands, width // 4)[None, :].repeat(height, axis=0)
                    labels = np.array(EXAMPLE_LABELS, np.uint8)[classes]
                    pixels = np.clip(COLOURS[classes] + rng.normal(0, 10, (height, width, 3)), 0, 255).astype(np.uint8)
                    write(root / "leftImg8bit" / split / image, image_file(pixels, "PNG"))
                    write(_ground_truth(root, split, image, "labelIds"), image_file(labels, "PNG"))
                    write(_ground_truth(root, split, image, "instanceIds"), image_file(labels.astype(np.uint16), "PNG"))
        return root

    def _selected(self, source: Path, selection: Selection) -> Tuple[List[Image], List[Image], Dict[Image, str]]:
        if selection.splits:
            train, val = (json.loads(self.shipped(selection, f"{n}.json")) for n in ("train", "val"))
            return train, val, json.loads(self.shipped(selection, "test.json"))
        chosen, test = every(lambda: self.take(_scan(source / "leftImg8bit" / "train"), selection, ("train", "val")),
                             lambda: self.take(_scan(source / "leftImg8bit" / "val"), selection, ("test",))["test"])
        names = {image: anonymous_name(selection, image) for image in test}
        if len(set(names.values())) != len(names):
            raise DataError(["this seed gives two test images the same name; run again with another --seed, or none"])
        return chosen["train"], chosen["val"], names

    def plan(self, source: Path, selection: Selection) -> Plan:
        train, val, test = self._selected(source, selection)
        required = [source / "leftImg8bit" / "train" / i for i in train + val]
        required += [_ground_truth(source, "train", i, kind) for i in train + val for kind in REFERENCE]
        required += [source / "leftImg8bit" / "val" / i for i in test]
        required += [_ground_truth(source, "val", i, kind) for i in test for kind in REFERENCE]
        check_sources(required)
        plan, layout = Plan(), CHALLENGE.layout
        labelled: List[Tuple[str, Path]] = []  # (split, labelIds map) of every image, for the counts
        for split, images in (("train", train), ("val", val)):
            for image in images:
                plan.link(f"public/{layout.input_folder(split)}/{image}", source / "leftImg8bit" / "train" / image)
                for kind in REFERENCE + OPTIONAL:
                    truth = _ground_truth(source, "train", image, kind)
                    if kind in REFERENCE or truth.is_file():
                        plan.link(f"public/{layout.truth_file(split, image, _truth_suffix(kind))}", truth)
                    if split == "val" and kind in REFERENCE:  # a prediction is named like its image file
                        plan.scored("val", f"{Path(image).stem}{_truth_suffix(kind)}", source=truth)
                labelled.append((split, _ground_truth(source, "train", image, "labelIds")))
        mapping = []
        for image, name in sorted(test.items(), key=lambda item: item[1]):
            plan.link(f"public/{layout.input_folder('test')}/{name}.png", source / "leftImg8bit" / "val" / image)
            for kind in REFERENCE:
                plan.scored("test", f"{name}{_truth_suffix(kind)}", source=_ground_truth(source, "val", image, kind))
            labelled.append(("test", _ground_truth(source, "val", image, "labelIds")))
            mapping.append((f"{name}.png", f"leftImg8bit/val/{image}"))
        for split in ("val", "test"):
            plan.scored(split, "reference.json", data=CHALLENGE.reference_info())
        plan.write("private/test_mapping.csv", csv_text("image,source", mapping))
        _count_classes(plan, labelled)
        return plan


BUILDER = SegmentationData()
