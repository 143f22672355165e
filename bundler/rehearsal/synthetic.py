"""Small canonical datasets whose labels a model can learn: real JPEGs, PNGs and AVIs, in the archives' layouts.

Each is written where the real dataset would be unpacked (ImageNet 2012, Cityscapes, COCO 2017,
UCF-101 with its split lists), so ``bundler data`` reads it as it reads the real one, and the labels
are a simple function of the pixels, so that a baseline trained for a few epochs learns them.
Classification: one colour per class. Segmentation: each image a few vertical bands, each band one
class, coloured by its class. Detection: a coloured rectangle per object, its colour its category.
Action: a square moving down or up, slowly or fast, per class (an MJPEG AVI, written without PyAV).

``scale`` multiplies the number of items (1: a few dozen per challenge, seconds to train on; at most
``MAX_SCALE``, where UCF-101's groups run out).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Tuple

import numpy as np

from bundler.data.builder import Selection, build, builders
from bundler.rehearsal.avi import mjpeg_avi
from bundler.rehearsal.images import image_file

COLOURS = np.array([[220, 40, 40], [40, 200, 60], [50, 70, 230], [230, 210, 40], [200, 60, 220], [40, 200, 210]])
SEGMENT_LABELS = (7, 11, 21, 23)  # road, building, vegetation, sky: Cityscapes labelIds, evaluated classes
ACTIONS = ("MoveDown", "MoveUp", "FallDown", "JumpUp")  # the square's motion per class: down, up, down fast, up fast
MAX_SCALE = 4  # UCF-101 split 1 tests on groups 1-7 and trains on groups 8-25


def write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path``, creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def noisy(rng: np.random.Generator, colour: np.ndarray, shape: Tuple[int, int]) -> np.ndarray:
    """A patch of ``colour`` with Gaussian noise, as uint8 RGB."""
    return np.clip(colour + rng.normal(0, 12, (*shape, 3)), 0, 255).astype(np.uint8)


def imagenet(root: Path, scale: int = 1, classes: int = 4, size: int = 40) -> Path:
    """ImageNet 2012's ``train/<wnid>/*.JPEG`` and ``val/<wnid>/*.JPEG``: one colour per class."""
    rng = np.random.default_rng(0)
    for split, count in (("train", 18 * scale), ("val", 6 * scale)):
        for c in range(classes):
            wnid = f"n{c:08d}"
            for i in range(count):
                name = f"{wnid}_{i}.JPEG" if split == "train" else f"ILSVRC2012_val_{c * count + i:08d}.JPEG"
                write(root / split / wnid / name, image_file(noisy(rng, COLOURS[c], (size, size)), "JPEG"))
    return root


def cityscapes_name(city: str, index: int) -> str:
    """A Cityscapes image name, ``city/city_xxxxxx_yyyyyy_leftImg8bit.png``."""
    return f"{city}/{city}_{index:06d}_000019_leftImg8bit.png"


def cityscapes(root: Path, scale: int = 1, size: Tuple[int, int] = (64, 32)) -> Path:
    """Cityscapes' ``leftImg8bit/`` and ``gtFine/``: vertical bands, each of a random class coloured by its class."""
    rng = np.random.default_rng(1)
    width, height = size
    for split, count, cities in (("train", 12 * scale, ("aachen", "bremen")), ("val", 6 * scale, ("lindau", "munster"))):
        for city in cities:
            for i in range(count // 2):
                image = cityscapes_name(city, i)
                bands = rng.integers(0, len(SEGMENT_LABELS), 4)
                classes = np.repeat(bands, width // 4)[None, :].repeat(height, axis=0)
                labels = np.array(SEGMENT_LABELS, np.uint8)[classes]
                pixels = np.clip(COLOURS[classes] + rng.normal(0, 10, (height, width, 3)), 0, 255).astype(np.uint8)
                write(root / "leftImg8bit" / split / image, image_file(pixels, "PNG"))
                stem = root / "gtFine" / split / image.replace("_leftImg8bit.png", "_gtFine_")
                write(Path(f"{stem}labelIds.png"), image_file(labels, "PNG"))
                write(Path(f"{stem}instanceIds.png"), image_file(labels.astype(np.uint16), "PNG"))
    return root


def coco(root: Path, scale: int = 1, size: Tuple[int, int] = (64, 48)) -> Path:
    """COCO 2017's images and ``annotations/``: one or two coloured rectangles on grey, the colour the category."""
    rng = np.random.default_rng(2)
    categories = [{"id": 1, "name": "person", "supercategory": "person"}, {"id": 18, "name": "dog", "supercategory": "animal"}]
    width, height = size
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
                                    "bbox": [float(x), float(y), float(w), float(h)], "area": float(w * h), "iscrowd": 0})
                next_id += 1
            name = f"{image_id:012d}.jpg"
            write(root / f"{split}2017" / name, image_file(pixels, "JPEG"))
            images.append({"id": image_id, "file_name": name, "width": width, "height": height})
        document = {"images": images, "annotations": annotations, "categories": categories}
        write(root / "annotations" / f"instances_{split}2017.json", json.dumps(document).encode())
    return root


def moving_square(direction: int, frames: int = 12, size: int = 32) -> List[np.ndarray]:
    """A white square on black moving down or up, slowly or fast (a horizontal flip keeps the class)."""
    step = [(0, 1), (0, -1), (0, 2), (0, -2)][direction]
    shown = []
    for t in range(frames):
        frame = np.zeros((size, size, 3), np.uint8)
        x = size // 2 - 4 + step[0] * (t - frames // 2)
        y = size // 2 - 4 + step[1] * (t - frames // 2)
        frame[max(0, y):max(0, y + 8), max(0, x):max(0, x + 8)] = 255
        shown.append(frame)
    return shown


def clip(name: str, group: int, index: int) -> str:
    """A UCF-101 clip, ``Class/v_Class_gXX_cYY.avi``."""
    return f"{name}/v_{name}_g{group:02d}_c{index:02d}.avi"


def ucf101(root: Path, scale: int = 1) -> Path:
    """UCF-101's ``UCF-101/<Class>/*.avi`` and ``ucfTrainTestlist/`` (split 1 only): a moving square per class."""
    if not 1 <= scale <= MAX_SCALE:
        raise ValueError(f"scale {scale}: UCF-101's groups allow 1 to {MAX_SCALE}")
    train = [clip(c, g, i) for c in ACTIONS for g in range(8, 8 + 4 * scale) for i in range(1, 3)]
    test = [clip(c, g, i) for c in ACTIONS for g in range(1, 1 + scale) for i in range(1, 3)]
    videos = {name: mjpeg_avi(moving_square(number)) for number, name in enumerate(ACTIONS)}
    for name in train + test:
        write(root / "UCF-101" / name, videos[name.split("/")[0]])
    lists = root / "ucfTrainTestlist"
    number = {name: i for i, name in enumerate(ACTIONS, 1)}
    write(lists / "classInd.txt", "".join(f"{i} {name}\n" for name, i in number.items()).encode())
    write(lists / "trainlist01.txt", "".join(f"{c} {number[c.split('/')[0]]}\n" for c in train).encode())
    write(lists / "testlist01.txt", "".join(f"{c}\n" for c in test).encode())
    return root


@dataclass(frozen=True)
class Synthetic:
    """One competition's generated source and the ``bundler data --size`` it is drawn with (at scale 1)."""

    generate: Callable[[Path, int], Path]
    sizes: Dict[str, int]

    def sizes_at(self, scale: int) -> Dict[str, int]:
        """The ``--size SPLIT=N`` values for a source generated at ``scale``."""
        return {split: n * scale for split, n in self.sizes.items()}


SYNTHETIC: Dict[str, Synthetic] = {
    "classification": Synthetic(imagenet, {"train": 12, "val": 6, "test": 6}),
    "segmentation": Synthetic(cityscapes, {"train": 8, "val": 4, "test": 4}),
    "detection": Synthetic(coco, {"train": 5, "val": 3, "test": 4}),
    "action": Synthetic(ucf101, {}),
}


def make_learnable(name: str, root: Path, seed: int = 1, scale: int = 1) -> Path:
    """``bundler data NAME --seed SEED`` on the generated source in ``root/source``, into ``root/out``; the public/ folder."""
    source = root / "source"
    if not source.exists():
        SYNTHETIC[name].generate(source, scale)
    build(builders()[name], source, root / "out", Selection(seed=seed, sizes=SYNTHETIC[name].sizes_at(scale)))
    return root / "out" / "public"
