"""Tiny fake datasets in the canonical layouts (ImageNet, Cityscapes, COCO, UCF-101), written as bytes."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Dict, Iterable, List, Tuple

import numpy as np
from PIL import Image

from bundler.data.builder import Selection, build, builders

SIZE = (16, 8)  # width, height of the fake Cityscapes images


def jpeg(tag: str) -> bytes:
    """Bytes that start and end like a JPEG, unique per ``tag``."""
    return b"\xff\xd8\xff\xe0" + tag.encode() + b"\xff\xd9"


def avi(tag: str) -> bytes:
    return b"RIFF\x00\x00\x00\x00AVI LIST" + tag.encode()


def png(array: np.ndarray) -> bytes:
    """A PNG whose mode follows the array: RGB (h, w, 3) uint8, L uint8, I;16 uint16."""
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def imagenet(root: Path, train: Dict[str, List[str]], val: Dict[str, List[str]]) -> Path:
    """``train/<wnid>/<file>`` and ``val/<wnid>/<file>`` for the given files."""
    for split, files in (("train", train), ("val", val)):
        for wnid, names in files.items():
            (root / split / wnid).mkdir(parents=True, exist_ok=True)
            for name in names:
                (root / split / wnid / name).write_bytes(jpeg(f"{split}/{wnid}/{name}"))
    return root


def small_imagenet(root: Path, classes: int = 4, train: int = 10, val: int = 5) -> Path:
    wnids = [f"n{index:08d}" for index in range(classes)]
    return imagenet(root, {w: [f"{w}_{i}.JPEG" for i in range(train)] for w in wnids},
                    {w: [f"ILSVRC2012_val_{c * val + i:08d}.JPEG" for i in range(val)] for c, w in enumerate(wnids)})


def cityscapes(root: Path, train: Iterable[str], val: Iterable[str]) -> Path:
    """Images and gtFine (labelIds, instanceIds, color) for ``city/city_x_y_leftImg8bit.png`` names."""
    rng = np.random.default_rng(0)
    for split, images in (("train", train), ("val", val)):
        for image in images:
            write(root / "leftImg8bit" / split / image, png(rng.integers(0, 255, (SIZE[1], SIZE[0], 3), np.uint8)))
            labels = rng.choice(np.array([7, 8, 11, 24, 26, 0], np.uint8), (SIZE[1], SIZE[0]))
            stem = root / "gtFine" / split / image.replace("_leftImg8bit.png", "_gtFine_")
            write(Path(f"{stem}labelIds.png"), png(labels))
            instances = np.where(labels >= 24, labels.astype(np.int32) * 1000 + 1, labels).astype(np.uint16)
            write(Path(f"{stem}instanceIds.png"), png(instances))
            write(Path(f"{stem}color.png"), png(np.zeros((SIZE[1], SIZE[0], 3), np.uint8)))
    return root


def cityscapes_name(city: str, index: int) -> str:
    """A Cityscapes image name, ``city/city_xxxxxx_yyyyyy_leftImg8bit.png``."""
    return f"{city}/{city}_{index:06d}_000019_leftImg8bit.png"


def small_cityscapes(root: Path, train: int = 8, val: int = 4) -> Path:
    return cityscapes(root, [cityscapes_name(c, i) for c in ("aachen", "bremen") for i in range(train)],
                      [cityscapes_name(c, i) for c in ("lindau", "munster") for i in range(val)])


def small_coco(root: Path, train: int = 12, val: int = 6) -> Path:
    categories = [{"id": 1, "name": "person", "supercategory": "person"}, {"id": 18, "name": "dog", "supercategory": "animal"}]
    next_id = 1
    for split, count, first in (("train", train, 1000), ("val", val, 5000)):
        images, annotations = [], []
        for i in range(count):
            image_id = first + i * 7
            name = f"{image_id:012d}.jpg"
            write(root / f"{split}2017" / name, jpeg(f"{split}/{name}"))
            images.append({"id": image_id, "file_name": name, "width": 64, "height": 48,
                           "coco_url": f"http://example.invalid/{split}2017/{name}", "date_captured": "2013"})
            for k in range(1 + i % 3):
                annotations.append({"id": next_id, "image_id": image_id, "category_id": (1, 18)[k % 2],
                                    "bbox": [2.0 + k, 3.0, 20.0, 10.0 + k], "area": 200.0, "iscrowd": 0})
                next_id += 1
        document = {"info": {"description": "fake"}, "licenses": [], "images": images, "annotations": annotations,
                    "categories": categories}
        write(root / "annotations" / f"instances_{split}2017.json", json.dumps(document).encode())
    return root


def ucf101(root: Path, train: List[str], test: List[str], classes: List[str]) -> Path:
    """``UCF-101/<Class>/*.avi`` and ``ucfTrainTestlist/`` for ``Class/v_Class_gXX_cYY.avi`` clips."""
    for clip in train + test:
        write(root / "UCF-101" / clip, avi(clip))
    lists = root / "ucfTrainTestlist"
    lists.mkdir(parents=True, exist_ok=True)
    number = {name: i for i, name in enumerate(classes, 1)}
    (lists / "classInd.txt").write_text("".join(f"{i} {name}\n" for name, i in number.items()))
    (lists / "trainlist01.txt").write_text("".join(f"{clip} {number[clip.split('/')[0]]}\n" for clip in train))
    (lists / "testlist01.txt").write_text("".join(f"{clip}\n" for clip in test))
    return root


def clip(name: str, group: int, index: int) -> str:
    return f"{name}/v_{name}_g{group:02d}_c{index:02d}.avi"


def small_ucf101(root: Path) -> Path:
    classes = ["ApplyEyeMakeup", "Archery", "YoYo"]
    train = [clip(c, g, i) for c in classes for g in range(8, 13) for i in range(1, 3)]
    test = [clip(c, g, i) for c in classes for g in range(1, 3) for i in range(1, 3)]
    return ucf101(root, train, test, classes)


#: a small fake source per competition, and its --size for --seed builds
SMALL = {
    "classification": (small_imagenet, {"train": 4, "val": 3, "test": 3}),
    "segmentation": (small_cityscapes, {"train": 6, "val": 4, "test": 5}),
    "detection": (small_coco, {"train": 6, "val": 4, "test": 6}),
    "action": (small_ucf101, {}),
}


def make(name: str, tmp_path: Path, seed: int = 1, out: str = "out") -> Tuple[Path, Path]:
    """``bundler data NAME --seed SEED`` on the small fake source in ``tmp_path/source``: (source, out)."""
    source = tmp_path / "source"
    if not source.exists():
        SMALL[name][0](source)
    build(builders()[name], source, tmp_path / out, Selection(seed=seed, sizes=SMALL[name][1]))
    return source, tmp_path / out
