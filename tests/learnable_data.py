"""Tiny canonical datasets whose labels a model can learn: real JPEGs, PNGs and AVIs, a simple function of the pixels.

Classification: one colour per class. Segmentation: each image a few vertical bands, each band one
class, coloured by its class. Detection: a coloured rectangle per object, its colour its category.
Action: a square moving down or up, slowly or fast, per class. Each goes through ``bundler data --seed`` like
the real datasets, so the baselines are tested on exactly what participants download.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np
from PIL import Image

from bundler.data.builder import Selection, build, builders
from tests.fake_datasets import cityscapes_name, clip, ucf101, write

COLOURS = np.array([[220, 40, 40], [40, 200, 60], [50, 70, 230], [230, 210, 40], [200, 60, 220], [40, 200, 210]])
SEGMENT_LABELS = (7, 11, 21, 23)  # road, building, vegetation, sky: Cityscapes labelIds, evaluated classes


def encoded(array: np.ndarray, kind: str) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=kind, **({"quality": 95} if kind == "JPEG" else {}))
    return buffer.getvalue()


def noisy(rng: np.random.Generator, colour: np.ndarray, shape: Tuple[int, int]) -> np.ndarray:
    return np.clip(colour + rng.normal(0, 12, (*shape, 3)), 0, 255).astype(np.uint8)


def imagenet(root: Path, classes: int = 4, train: int = 18, val: int = 6, size: int = 40) -> Path:
    rng = np.random.default_rng(0)
    for split, count in (("train", train), ("val", val)):
        for c in range(classes):
            wnid = f"n{c:08d}"
            for i in range(count):
                name = f"{wnid}_{i}.JPEG" if split == "train" else f"ILSVRC2012_val_{c * count + i:08d}.JPEG"
                write(root / split / wnid / name, encoded(noisy(rng, COLOURS[c], (size, size)), "JPEG"))
    return root


def cityscapes(root: Path, train: int = 12, val: int = 6, size: Tuple[int, int] = (64, 32)) -> Path:
    """Images of vertical bands; each band's class is drawn at random, its colour is its class's."""
    rng = np.random.default_rng(1)
    width, height = size
    for split, count, cities in (("train", train, ("aachen", "bremen")), ("val", val, ("lindau", "munster"))):
        for city in cities:
            for i in range(count // 2):
                image = cityscapes_name(city, i)
                bands = rng.integers(0, len(SEGMENT_LABELS), 4)
                classes = np.repeat(bands, width // 4)[None, :].repeat(height, axis=0)
                labels = np.array(SEGMENT_LABELS, np.uint8)[classes]
                pixels = np.clip(COLOURS[classes] + rng.normal(0, 10, (height, width, 3)), 0, 255).astype(np.uint8)
                write(root / "leftImg8bit" / split / image, encoded(pixels, "PNG"))
                stem = root / "gtFine" / split / image.replace("_leftImg8bit.png", "_gtFine_")
                write(Path(f"{stem}labelIds.png"), encoded(labels, "PNG"))
                write(Path(f"{stem}instanceIds.png"), encoded(labels.astype(np.uint16), "PNG"))
    return root


def coco(root: Path, train: int = 8, val: int = 4, size: Tuple[int, int] = (64, 48)) -> Path:
    """Images with one or two coloured rectangles on grey; the colour is the category (person red, dog blue)."""
    rng = np.random.default_rng(2)
    categories = [{"id": 1, "name": "person", "supercategory": "person"}, {"id": 18, "name": "dog", "supercategory": "animal"}]
    width, height = size
    next_id = 1
    for split, count, first in (("train", train, 1000), ("val", val, 5000)):
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
            write(root / f"{split}2017" / name, encoded(pixels, "JPEG"))
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


def avi(frames: List[np.ndarray]) -> bytes:
    """An MPEG-4 AVI of ``frames`` (written with PyAV)."""
    import av

    buffer = io.BytesIO()
    with av.open(buffer, "w", format="avi") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())
    return buffer.getvalue()


def ucf(root: Path) -> Path:
    classes = ["MoveDown", "MoveUp", "FallDown", "JumpUp"]
    train = [clip(c, g, i) for c in classes for g in range(8, 12) for i in range(1, 3)]
    test = [clip(c, g, i) for c in classes for g in range(1, 2) for i in range(1, 3)]
    ucf101(root, train, test, classes)
    for name in train + test:
        write(root / "UCF-101" / name, avi(moving_square(classes.index(name.split("/")[0]))))
    return root


LEARNABLE: Dict[str, Tuple] = {
    "classification": (imagenet, {"train": 12, "val": 6, "test": 6}),
    "segmentation": (cityscapes, {"train": 8, "val": 4, "test": 4}),
    "detection": (coco, {"train": 5, "val": 3, "test": 4}),
    "action": (ucf, {}),
}


def make_learnable(name: str, root: Path, seed: int = 1) -> Path:
    """``bundler data NAME --seed SEED`` on the learnable source in ``root/source``; the public/ folder."""
    source = root / "source"
    if not source.exists():
        LEARNABLE[name][0](source)
    build(builders()[name], source, root / "out", Selection(seed=seed, sizes=LEARNABLE[name][1]))
    return root / "out" / "public"
