"""DelftBikes -> the DelftBikes detection challenge (2021-2023): bike parts as COCO boxes.

The archive holds ``train/`` (8 000 photos) with ``train_annotations.json`` and ``test/`` (2 000) with
the organisers' true ``test_annotations.json``, both in DelftBikes' per-image format: image name ->
``{"parts": {part name: {"object_state": intact|damaged|occluded|absent, "absolute_bounding_box":
{"left", "top", "width", "height"}}}}``, in original pixels. Every image lists the same 22 parts; an
``absent`` part is not ground truth (a box on it is a false positive). Categories are the 22 names in
:data:`PARTS` order, numbered 1..22: alphabetical, as 2021 participants' code numbered them (the toolkit
took a part's position in each image's ``parts`` object, an order it never states).

Validation: the first ``--size val=N`` (1 000) training images in sorted name order, a rule anyone can
repeat (the toolkit moved the first 1 000 of ``os.listdir``, an order no other machine reproduces; the
real names are not public, so no list of them ships). The build writes the list to
``private/val_images.txt`` and a rebuild into the same --out checks it. Image ids are the toolkit's:
the position of the image in its split's sorted file names, from 0; test images are renamed
``<id>.jpg`` in a shuffle keyed by the build's secret seed, so the ids of a toolkit-made submission
(positions in ``sorted(os.listdir(test))``) are ours.
"""

from __future__ import annotations

import colorsys
import json
import math
from pathlib import Path
from typing import Any, Dict, List, Tuple

import numpy as np
from PIL import Image

from bundler.data.builder import DatasetBuilder, Selection, csv_text, every
from bundler.data.engine import DataError, Plan, check_sources
from bundler.data.examples import image_file, write
from scoring.challenges.detection import CHALLENGE, PUBLIC_IMAGE_KEYS

#: the 22 DelftBikes parts; category id = position + 1
PARTS = ("back_hand_break", "back_handle", "back_light", "back_mudguard", "back_pedal", "back_reflector", "back_wheel",
         "bell", "chain", "dress_guard", "dynamo", "front_handbreak", "front_handle", "front_light", "front_mudguard",
         "front_pedal", "front_wheel", "gear_case", "kickstand", "lock", "saddle", "steer")
STATES = ("intact", "damaged", "occluded", "absent")
ABSENT = "absent"
ANNOTATIONS = {"train": "train_annotations.json", "test": "test_annotations.json"}
BOX_KEYS = ("left", "top", "width", "height")
VAL_LIST = "private/val_images.txt"
SHOWN = 5  # offending images named in an error
Parts = Dict[str, Dict[str, Any]]  # image name -> its "parts" object
Coco = Dict[str, Any]
CATEGORIES = [{"id": i, "name": name, "supercategory": "bike"} for i, name in enumerate(PARTS, 1)]


def _read(path: Path) -> Parts:
    """Image name -> parts of a DelftBikes annotation file; DataError naming the first images that break the format."""
    try:
        document = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise DataError([f"missing source file: {path}"]) from None
    except (OSError, ValueError) as exc:
        raise DataError([f"corrupt source file: {path} is not JSON ({exc})"]) from None
    if not isinstance(document, dict) or not document:
        raise DataError([f"corrupt source file: {path}: expected an object of image name -> {{\"parts\": ...}}"])
    bad = [problem for name, entry in sorted(document.items()) for problem in _problems(name, entry)]
    if bad:
        more = f" (and {len(bad) - SHOWN} more)" if len(bad) > SHOWN else ""
        raise DataError([f"{path}: " + "; ".join(bad[:SHOWN]) + more + f"; every image must list exactly the "
                         f"{len(PARTS)} DelftBikes parts ({', '.join(PARTS)}), each with object_state one of "
                         f"{', '.join(STATES)} and absolute_bounding_box {{{', '.join(BOX_KEYS)}}} (width, height >= 0)"])
    return {name: entry["parts"] for name, entry in document.items()}


def _problems(name: str, entry: Any) -> List[str]:
    """What is wrong with one image's entry (nothing when it is well formed)."""
    parts = entry.get("parts") if isinstance(entry, dict) else None
    if not isinstance(parts, dict):
        return [f"{name}: no \"parts\" object"]
    missing, unknown = sorted(set(PARTS) - set(parts)), sorted(set(parts) - set(PARTS))
    if missing or unknown:
        return [f"{name}: " + ", ".join(f"{what} {', '.join(names)}" for what, names in
                                        (("missing", missing), ("unknown", unknown)) if names)]
    problems = []
    for part, about in sorted(parts.items()):
        about = about if isinstance(about, dict) else {}
        box = about.get("absolute_bounding_box")
        if about.get("object_state") not in STATES:
            problems.append(f"{name}: {part} has object_state {about.get('object_state')!r}")
        elif not (isinstance(box, dict) and all(_number(box.get(key)) for key in BOX_KEYS)
                  and box["width"] >= 0 and box["height"] >= 0):
            problems.append(f"{name}: {part} has absolute_bounding_box {box!r}")
    return problems


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _size(path: Path) -> Tuple[int, int]:
    """(width, height) of an image, from its header."""
    try:
        with Image.open(path) as image:
            return image.size
    except OSError as exc:
        raise DataError([f"corrupt source file: {path} ({exc})"]) from None


def _coco(images: List[Dict[str, Any]], parts: Parts, keep_state: bool) -> Coco:
    """The COCO file of ``images`` (each with its source ``name``): a box per part not absent."""
    annotations = []
    for image in images:
        for category, part in enumerate(PARTS, 1):
            about = parts[image["name"]][part]
            if about["object_state"] == ABSENT:
                continue
            box = [float(about["absolute_bounding_box"][key]) for key in BOX_KEYS]
            annotation = {"id": len(annotations) + 1, "image_id": image["id"], "category_id": category, "bbox": box,
                          "area": box[2] * box[3], "iscrowd": 0}
            annotations.append({**annotation, "object_state": about["object_state"]} if keep_state else annotation)
    public = [{key: image[key] for key in PUBLIC_IMAGE_KEYS} for image in images]
    return {"images": public, "annotations": annotations, "categories": CATEGORIES}


def _colour(category: int) -> np.ndarray:
    """A colour of its own per category (hues spread around the circle)."""
    return np.array(colorsys.hsv_to_rgb((category - 1) / len(PARTS), 0.9, 0.9)) * 255


class DelftBikesData(DatasetBuilder):
    competition = "delftbikes"
    challenge = CHALLENGE
    source_layout = ("DelftBikes: train/*.jpg with train_annotations.json, test/*.jpg with test_annotations.json "
                     "(the organisers' true test labels, in the same per-image format)")
    sizes = {"val": 1000}
    example_size = {"val": 3}

    def example_source(self, root: Path, scale: int = 1) -> Path:
        """DelftBikes' layout, 80x60 photos of noise: each part a box at a random place, drawn in its category's
        colour unless absent (about a third of the parts are present)."""
        rng = np.random.default_rng(3)
        width, height = 80, 60
        for split, count in (("train", 10 * scale), ("test", 4 * scale)):
            document = {}
            for i in range(count):
                name = f"{(i * 37) % 1000 + 1000 * (split == 'test')}.jpg"  # unpadded numbers: sorted != numeric order
                pixels = rng.integers(0, 90, (height, width, 3)).astype(np.uint8)
                parts = {}
                for category, part in enumerate(PARTS, 1):
                    w, h = int(rng.integers(8, 20)), int(rng.integers(8, 16))
                    left, top = int(rng.integers(0, width - w)), int(rng.integers(0, height - h))
                    state = str(rng.choice(STATES, p=[0.2, 0.05, 0.05, 0.7]))
                    if state != ABSENT:
                        pixels[top:top + h, left:left + w] = _colour(category)
                    parts[part] = {"part_name": part, "object_state": state, "trust": 1,
                                   "absolute_bounding_box": {"left": left, "top": top, "width": w, "height": h}}
                write(root / split / name, image_file(pixels, "JPEG"))
                document[name] = {"parts": parts, "image": {"channels": 3, "height": height, "width": width}}
            write(root / ANNOTATIONS[split], json.dumps(document).encode())
        return root

    def plan(self, source: Path, selection: Selection) -> Plan:
        train_parts, test_parts = every(*(lambda split=split: _read(source / ANNOTATIONS[split]) for split in ANNOTATIONS))
        check_sources([source / "train" / name for name in sorted(train_parts)]
                      + [source / "test" / name for name in sorted(test_parts)])
        names = sorted(train_parts)
        wanted = selection.sizes["val"]
        if not 0 < wanted < len(names):
            raise DataError([f"--size val={wanted}: the source has {len(names)} training images; the first N in sorted "
                             "order become val (1 000 in 2021-2023), at least one must stay for training"])
        test = selection.shuffled(sorted(test_parts), "test names")
        renamed = {name: f"{i:0{len(str(len(test) - 1))}d}.jpg" for i, name in enumerate(test)}  # sorted = id order
        plan = Plan()
        self._publish(plan, "train", source / "train", {name: name for name in names[wanted:]}, train_parts)
        references = {"val": self._publish(plan, "val", source / "train", {name: name for name in names[:wanted]}, train_parts),
                      "test": self._publish(plan, "test", source / "test", renamed, test_parts)}
        for split, reference in references.items():
            plan.scored_json(split, "annotations.json", reference)
            plan.scored(split, "reference.json", data=CHALLENGE.reference_info(competition=self.competition))
        plan.write(VAL_LIST, "".join(f"{name}\n" for name in names[:wanted]).encode())
        plan.write("private/test_mapping.csv", csv_text("image_id,file_name,source",
                                                        [(i, renamed[name], f"test/{name}") for i, name in enumerate(test)]))
        return plan

    def _publish(self, plan: Plan, split: str, folder: Path, names: Dict[str, str], parts: Parts) -> Coco:
        """Link ``split``'s images (source name -> public name, in id order), write its public COCO file (test: its
        images alone) and count it; return its reference."""
        layout = CHALLENGE.layout
        images = []
        for position, (name, public_name) in enumerate(names.items()):
            width, height = _size(folder / name)
            images.append({"id": position, "file_name": public_name, "width": width, "height": height, "name": name})
            plan.link(f"public/{layout.input_folder(split)}/{public_name}", folder / name)
        reference = _coco(images, parts, keep_state=False)
        plan.write_json(f"public/{layout.annotation_file(split)}",
                        dict(reference, annotations=[]) if split == "test" else _coco(images, parts, keep_state=True))
        self._count(plan, split, reference)
        return reference

    @staticmethod
    def _count(plan: Plan, split: str, coco: Coco) -> None:
        plan.count(split, items=len(coco["images"]))
        for annotation in coco["annotations"]:
            plan.count(split, PARTS[annotation["category_id"] - 1], items=0)


BUILDER = DelftBikesData()
