"""COCO 2017 -> the detection challenge: train and val from train2017, test from val2017 with new ids."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

from bundler.data.builder import DatasetBuilder, Selection, csv_text, every
from bundler.data.engine import DataError, Plan, check_sources
from scoring.challenges.detection import CHALLENGE, PUBLIC_IMAGE_KEYS

Coco = Dict[str, Any]


def _read(path: Path) -> Coco:
    try:
        data = json.loads(path.read_bytes())
        if not all(isinstance(data.get(key), list) for key in ("images", "annotations", "categories")):
            raise ValueError("images, annotations and categories must be lists")
        return data
    except FileNotFoundError:
        raise DataError([f"missing source file: {path}"]) from None
    except (OSError, ValueError, AttributeError) as exc:
        raise DataError([f"corrupt source file: {path} is not COCO instances JSON ({exc})"]) from None


def _subset(coco: Coco, images: List[Coco], new_ids: Dict[int, int], image_keys: Any = None) -> Coco:
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
    source_layout = "COCO 2017: train2017/, val2017/, annotations/instances_{train,val}2017.json"
    sizes = {"train": 6000, "val": 5000, "test": 5000}

    def _draw(self, source: Path, selection: Selection, coco_split: str, splits: Sequence[str]
              ) -> Tuple[Coco, Dict[str, List[int]]]:
        """COCO's ``coco_split`` annotations and the image ids drawn from it for ``splits``."""
        coco = _read(source / "annotations" / f"instances_{coco_split}2017.json")
        return coco, self.take({"all": sorted(i["id"] for i in coco["images"])}, selection, splits)

    def plan(self, source: Path, selection: Selection) -> Plan:
        (train_coco, chosen), (val_coco, drawn) = every(lambda: self._draw(source, selection, "train", ("train", "val")),
                                                       lambda: self._draw(source, selection, "val", ("test",)))
        test_ids = drawn["test"]
        by_id = {image["id"]: image for image in train_coco["images"] + val_coco["images"]}
        check_sources([source / "train2017" / by_id[i]["file_name"] for i in chosen["train"] + chosen["val"]]
                      + [source / "val2017" / by_id[i]["file_name"] for i in test_ids])
        names = {c["id"]: c["name"] for c in train_coco["categories"]}
        plan = Plan()
        for split in ("train", "val"):
            images = [by_id[i] for i in sorted(chosen[split])]
            for image in images:
                plan.link(f"public/{split}/{image['file_name']}", source / "train2017" / image["file_name"])
            subset = _subset(train_coco, images, {i["id"]: i["id"] for i in images})
            plan.write_json(f"public/annotations/instances_{split}.json", subset)
            self._count(plan, split, subset, names)
            if split == "val":
                plan.scored_json("val", "annotations.json", _subset(train_coco, images, {i["id"]: i["id"] for i in images},
                                                                     PUBLIC_IMAGE_KEYS))
                plan.scored("val", "reference.json", data=CHALLENGE.reference_info())
        new_ids = {old: new for new, old in enumerate(selection.shuffled(test_ids, "test ids"), 1)}
        ordered = sorted(test_ids, key=new_ids.get)
        test_images = [dict(by_id[old], file_name=f"{new_ids[old]:012d}.jpg") for old in ordered]
        for image, old in zip(test_images, ordered):
            plan.link(f"public/test/{image['file_name']}", source / "val2017" / by_id[old]["file_name"])
        public = _subset({"annotations": [], "categories": val_coco["categories"]}, test_images, new_ids, PUBLIC_IMAGE_KEYS)
        plan.write_json("public/annotations/test_images.json", public)
        reference = _subset(val_coco, test_images, new_ids, PUBLIC_IMAGE_KEYS)
        plan.scored_json("test", "annotations.json", reference)
        self._count(plan, "test", reference, names)
        plan.scored("test", "reference.json", data=CHALLENGE.reference_info())
        mapping = [(new_ids[old], old, f"val2017/{by_id[old]['file_name']}") for old in ordered]
        plan.write("private/test_mapping.csv", csv_text("new_id,old_id,source", mapping))
        return plan

    @staticmethod
    def _count(plan: Plan, split: str, subset: Coco, names: Dict[int, str]) -> None:
        plan.count(split, items=len(subset["images"]))
        for annotation in subset["annotations"]:
            plan.count(split, names.get(annotation["category_id"], str(annotation["category_id"])), items=0)


BUILDER = DetectionData()
