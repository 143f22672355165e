"""The organisers' basketball COCO files -> the instance segmentation challenge (2021-2023).

The source is the organisers' archive with the test labels: ``train/``, ``val/`` and ``test/`` image
folders beside ``train.json``, ``val.json`` and ``test.json`` (COCO, masks as RLE or polygons; categories
human 1 and ball 2). The splits are the organisers' own: no subset is drawn, and no list of them ships
(none of 2021-2023 is public). Train and val are published with their annotations; test images are
renamed ``<new id>.<suffix>`` and renumbered in a shuffle keyed by the build's secret seed, after the
largest train and val id (so no public mask shares an image id with a hidden one), and published with
ids and sizes only. The val and test references are their labelled COCO files.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np

from bundler.data.builder import DatasetBuilder, Selection, csv_text, every
from bundler.data.detection import Coco, DetectionData, coco_subset, read_coco
from bundler.data.engine import DataError, Plan, check_sources
from bundler.data.examples import COLOURS, image_file, noisy, write
from scoring.challenges.detection import PUBLIC_IMAGE_KEYS
from scoring.challenges.instance_segmentation import CATEGORIES, CHALLENGE
from scoring.metrics import rle

SPLITS = ("train", "val", "test")
EXAMPLE_SIZE = (64, 48)  # width, height of the example source's images
EXAMPLE_IMAGES = {"train": 8, "val": 4, "test": 4}  # at scale 1


def _example_image(rng: np.random.Generator) -> Tuple[np.ndarray, List[Tuple[int, np.ndarray]]]:
    """Noise with one to three people (a red upright rectangle each) and a ball (a blue disc), and their
    (category, mask); a later object hides what it covers of an earlier one."""
    width, height = EXAMPLE_SIZE
    pixels = noisy(rng, np.array([110, 110, 110]), (height, width))
    masks: List[Tuple[int, np.ndarray]] = []
    rows, columns = np.mgrid[:height, :width]
    for _ in range(int(rng.integers(1, 4))):
        w, h = int(rng.integers(8, 14)), int(rng.integers(18, 30))
        x, y = int(rng.integers(0, width - w)), int(rng.integers(0, height - h))
        masks.append((1, (columns >= x) & (columns < x + w) & (rows >= y) & (rows < y + h)))
    radius = float(rng.uniform(4, 7))
    cx, cy = float(rng.uniform(radius, width - radius)), float(rng.uniform(radius, height - radius))
    masks.append((2, (columns - cx) ** 2 + (rows - cy) ** 2 <= radius ** 2))
    for k, (category, mask) in enumerate(masks):
        pixels[mask] = noisy(rng, COLOURS[0 if category == 1 else 2], (int(mask.sum()), 1))[:, 0]
        for _, earlier in masks[:k]:
            earlier &= ~mask
    return pixels, [(category, mask) for category, mask in masks if mask.any()]


class InstanceSegmentationData(DatasetBuilder):
    competition = "instance-segmentation"
    challenge = CHALLENGE
    source_layout = "the organisers' archive: train/, val/, test/ and train.json, val.json, test.json (COCO, test labelled)"

    def example_source(self, root: Path, scale: int = 1) -> Path:
        """The archive's layout, 64x48 PNGs: people as red rectangles and a blue ball on grey noise, masks as
        compressed RLE, ids continuing across the splits."""
        rng = np.random.default_rng(4)
        width, height = EXAMPLE_SIZE
        categories = [{"id": i, "name": name, "supercategory": name} for i, name in CATEGORIES]
        image_id, annotation_id = 1, 1
        for split in SPLITS:
            images, annotations = [], []
            for _ in range(EXAMPLE_IMAGES[split] * scale):
                pixels, masks = _example_image(rng)
                name = f"{split}_{image_id:05d}.png"
                write(root / split / name, image_file(pixels, "PNG"))
                images.append({"id": image_id, "file_name": name, "width": width, "height": height})
                for category, mask in masks:
                    annotations.append({"id": annotation_id, "image_id": image_id, "category_id": category,
                                        "segmentation": rle.encode(mask), "area": int(mask.sum()), "iscrowd": 0})
                    annotation_id += 1
                image_id += 1
            document = {"images": images, "annotations": annotations, "categories": categories}
            write(root / f"{split}.json", json.dumps(document).encode())
        return root

    @staticmethod
    def _sources(source: Path) -> Dict[str, Coco]:
        """Each split's COCO file, checked: the same categories, every image's file present, test labelled."""
        coco = dict(zip(SPLITS, every(*(lambda split=split: read_coco(source / f"{split}.json") for split in SPLITS))))
        problems = [f"{source / f'{split}.json'}: its categories differ from train.json's; the splits must share them"
                    for split in SPLITS if coco[split]["categories"] != coco["train"]["categories"]]
        if not coco["test"]["annotations"]:
            problems.append(f"{source / 'test.json'}: no annotations; the build needs the test labels (the references)")
        if problems:
            raise DataError(problems)
        check_sources([source / split / image["file_name"] for split in SPLITS for image in coco[split]["images"]])
        return coco

    def plan(self, source: Path, selection: Selection) -> Plan:
        coco = self._sources(source)
        names = {c["id"]: c["name"] for c in coco["train"]["categories"]}
        plan, layout = Plan(), CHALLENGE.layout
        for split in ("train", "val"):
            images = sorted(coco[split]["images"], key=lambda i: i["id"])
            for image in images:
                plan.link(f"public/{layout.input_folder(split)}/{image['file_name']}", source / split / image["file_name"])
            same = {i["id"]: i["id"] for i in images}
            subset = coco_subset(coco[split], images, same)
            plan.write_json(f"public/{layout.annotation_file(split)}", subset)
            DetectionData.count_objects(plan, split, subset, names)
        plan.scored_json("val", "annotations.json", coco_subset(coco["val"], coco["val"]["images"],
                                                             {i["id"]: i["id"] for i in coco["val"]["images"]},
                                                             PUBLIC_IMAGE_KEYS))
        by_id = {image["id"]: image for image in coco["test"]["images"]}
        first = 1 + max((i["id"] for split in ("train", "val") for i in coco[split]["images"]), default=0)
        new_ids = {old: new for new, old in enumerate(selection.shuffled(sorted(by_id), "test ids"), first)}
        ordered = sorted(by_id, key=new_ids.get)
        test_images = [dict(by_id[old], file_name=f"{new_ids[old]}{Path(by_id[old]['file_name']).suffix.lower()}")
                       for old in ordered]
        for image, old in zip(test_images, ordered):
            plan.link(f"public/{layout.input_folder('test')}/{image['file_name']}", source / "test" / by_id[old]["file_name"])
        empty = {"annotations": [], "categories": coco["test"]["categories"]}
        plan.write_json(f"public/{layout.annotation_file('test')}", coco_subset(empty, test_images, new_ids, PUBLIC_IMAGE_KEYS))
        reference = coco_subset(coco["test"], test_images, new_ids, PUBLIC_IMAGE_KEYS)
        plan.scored_json("test", "annotations.json", reference)
        DetectionData.count_objects(plan, "test", reference, names)
        for split in ("val", "test"):
            plan.scored(split, "reference.json", data=CHALLENGE.reference_info())
        mapping = [(new_ids[old], old, f"test/{by_id[old]['file_name']}") for old in ordered]
        plan.write("private/test_mapping.csv", csv_text("new_id,old_id,source", mapping))
        return plan


BUILDER = InstanceSegmentationData()
