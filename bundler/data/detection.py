"""COCO 2017 -> the detection challenge: train and val from train2017, test from val2017 with new ids."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

import numpy as np

from bundler.data.builder import DatasetBuilder, Selection, csv_text, every
from bundler.data.engine import DataError, Plan, check_sources
from bundler.data.examples import COLOURS, image_file, write
from scoring.challenges.detection import CHALLENGE, PUBLIC_IMAGE_KEYS

Coco = Dict[str, Any]


def read_coco(path: Path) -> Coco:
    """A COCO instances file of the source; DataError naming it if it is missing or not COCO."""
    try:
        data = json.loads(path.read_bytes())
        if not all(isinstance(data.get(key), list) for key in ("images", "annotations", "categories")):
            raise ValueError("images, annotations and categories must be lists")
        return data
    except FileNotFoundError:
        raise DataError([f"missing source file: {path}"]) from None
    except (OSError, ValueError, AttributeError) as exc:
        raise DataError([f"corrupt source file: {path} is not COCO instances JSON ({exc})"]) from None


def coco_subset(coco: Coco, images: List[Coco], new_ids: Dict[int, int], image_keys: Any = None) -> Coco:
    """The COCO file of ``images`` (renumbered by ``new_ids``) with their annotations."""
    kept = [{k: v for k, v in image.items() if image_keys is None or k in image_keys} for image in images]
    for image in kept:
        image["id"] = new_ids[image["id"]]
    annotations = [dict(a, image_id=new_ids[a["image_id"]]) for a in coco["annotations"] if a["image_id"] in new_ids]
    subset = {key: coco[key] for key in ("info", "licenses") if key in coco}
    subset.update(images=kept, annotations=annotations, categories=coco["categories"])
    return subset


class DetectionData(DatasetBuilder):
    competition = "detection"
    challenge = CHALLENGE
    source_layout = "COCO 2017: train2017/, val2017/, annotations/instances_{train,val}2017.json"
    sizes = {"train": 6000, "val": 5000, "test": 5000}
    example_size = {"train": 5, "val": 3, "test": 4}

    def example_source(self, root: Path, scale: int = 1) -> Path:
        """COCO 2017's images and ``annotations/`` (person and dog), 64x48: one or two coloured rectangles on grey,
        the colour the category."""
        rng = np.random.default_rng(2)
        categories = [{"id": 1, "name": "person", "supercategory": "person"},
                      {"id": 18, "name": "dog", "supercategory": "animal"}]
        width, height = 64, 48
        next_id = 1
        for split, count, first in (("train", 8 * scale, 1000), ("val", 4 * scale, 5000)):
            images, annotations = [], []
            for i in range(count):
                image_id = first + i * 7
                pixels = np.full((height, width, 3), 128, np.uint8)
                for k in range(1 + i % 2):
                    category = (1, 18)[(i + k) % 2]
                    w, h = int(rng.integers(14, 24)), int(rng.integers(12, 20))
                    x, y = int(rng.integers(0, width - w)) if k == 0 else width - w, int(rng.integers(0, height - h))
                    pixels[y:y + h, x:x + w] = COLOURS[0 if category == 1 else 2]
                    annotations.append({"id": next_id, "image_id": image_id, "category_id": category,
                                        "bbox": [float(x), float(y), float(w), float(h)], "area": float(w * h),
                                        "iscrowd": 0})
                    next_id += 1
                name = f"{image_id:012d}.jpg"
                write(root / f"{split}2017" / name, image_file(pixels, "JPEG"))
                images.append({"id": image_id, "file_name": name, "width": width, "height": height})
            document = {"images": images, "annotations": annotations, "categories": categories}
            write(root / "annotations" / f"instances_{split}2017.json", json.dumps(document).encode())
        return root

    def _draw(self, source: Path, selection: Selection, coco_split: str, splits: Sequence[str]
              ) -> Tuple[Coco, Dict[str, List[int]]]:
        """COCO's ``coco_split`` annotations and the image ids drawn from it for ``splits``."""
        coco = read_coco(source / "annotations" / f"instances_{coco_split}2017.json")
        return coco, self.take({"all": sorted(i["id"] for i in coco["images"])}, selection, splits)

    def plan(self, source: Path, selection: Selection) -> Plan:
        (train_coco, chosen), (val_coco, drawn) = every(lambda: self._draw(source, selection, "train", ("train", "val")),
                                                       lambda: self._draw(source, selection, "val", ("test",)))
        test_ids = drawn["test"]
        by_id = {image["id"]: image for image in train_coco["images"] + val_coco["images"]}
        check_sources([source / "train2017" / by_id[i]["file_name"] for i in chosen["train"] + chosen["val"]]
                      + [source / "val2017" / by_id[i]["file_name"] for i in test_ids])
        names = {c["id"]: c["name"] for c in train_coco["categories"]}
        plan, layout = Plan(), CHALLENGE.layout
        for split in ("train", "val"):
            images = [by_id[i] for i in sorted(chosen[split])]
            for image in images:
                plan.link(f"public/{layout.input_folder(split)}/{image['file_name']}", source / "train2017" / image["file_name"])
            subset = coco_subset(train_coco, images, {i["id"]: i["id"] for i in images})
            plan.write_json(f"public/{layout.annotation_file(split)}", subset)
            self.count_objects(plan, split, subset, names)
            if split == "val":
                plan.scored_json("val", "annotations.json", coco_subset(train_coco, images, {i["id"]: i["id"] for i in images},
                                                                     PUBLIC_IMAGE_KEYS))
                plan.scored("val", "reference.json", data=CHALLENGE.reference_info())
        new_ids = {old: new for new, old in enumerate(selection.shuffled(test_ids, "test ids"), 1)}
        ordered = sorted(test_ids, key=new_ids.get)
        test_images = [dict(by_id[old], file_name=f"{new_ids[old]:012d}.jpg") for old in ordered]
        for image, old in zip(test_images, ordered):
            plan.link(f"public/{layout.input_folder('test')}/{image['file_name']}", source / "val2017" / by_id[old]["file_name"])
        public = coco_subset({"annotations": [], "categories": val_coco["categories"]}, test_images, new_ids, PUBLIC_IMAGE_KEYS)
        plan.write_json(f"public/{layout.annotation_file('test')}", public)
        reference = coco_subset(val_coco, test_images, new_ids, PUBLIC_IMAGE_KEYS)
        plan.scored_json("test", "annotations.json", reference)
        self.count_objects(plan, "test", reference, names)
        plan.scored("test", "reference.json", data=CHALLENGE.reference_info())
        mapping = [(new_ids[old], old, f"val2017/{by_id[old]['file_name']}") for old in ordered]
        plan.write("private/test_mapping.csv", csv_text("new_id,old_id,source", mapping))
        return plan

    @staticmethod
    def count_objects(plan: Plan, split: str, subset: Coco, names: Dict[int, str]) -> None:
        """Count ``subset``'s images in ``split`` and its objects per category name for the manifest."""
        plan.count(split, items=len(subset["images"]))
        for annotation in subset["annotations"]:
            plan.count(split, names.get(annotation["category_id"], str(annotation["category_id"])), items=0)


BUILDER = DetectionData()
