"""Test sources: each builder's own generated example source, built with ``bundler data`` (:func:`make`,
:func:`public`), and fast fake sources (image and clip bytes that are not images) laid out after given lists,
for the 2020 lists' tens of thousands of files."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Dict, Iterable, List, Tuple

import numpy as np
from PIL import Image

from bundler.data.action import write_split_lists
from bundler.data.builder import Selection, build, builders
from bundler.data.examples import write

SIZE = (16, 8)  # width, height of the fake Cityscapes images


def make(name: str, tmp_path: Path, seed: int = 1, out: str = "out", scale: int = 1) -> Tuple[Path, Path]:
    """``bundler data NAME --seed SEED`` on the builder's example source (at ``scale``) in ``tmp_path/source``:
    (source, out)."""
    builder = builders()[name]
    source = tmp_path / "source"
    if not source.exists():
        builder.example_source(source, scale)
    build(builder, source, tmp_path / out, Selection(seed=seed, sizes=builder.example_sizes(scale)))
    return source, tmp_path / out


def public(name: str, root: Path, seed: int = 1, scale: int = 1) -> Path:
    """The public/ folder of :func:`make` in ``root``: what participants download (and the baselines train on)."""
    return make(name, root, seed, scale=scale)[1] / "public"


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


def imagenet(root: Path, train: Dict[str, List[str]], val: Dict[str, List[str]]) -> Path:
    """``train/<wnid>/<file>`` and ``val/<wnid>/<file>`` for the given files."""
    for split, files in (("train", train), ("val", val)):
        for wnid, names in files.items():
            for name in names:
                write(root / split / wnid / name, jpeg(f"{split}/{wnid}/{name}"))
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


def ucf101(root: Path, train: List[str], test: List[str], classes: List[str]) -> Path:
    """``UCF-101/<Class>/*.avi`` and ``ucfTrainTestlist/`` for ``Class/v_Class_gXX_cYY.avi`` clips."""
    for clip in train + test:
        write(root / "UCF-101" / clip, avi(clip))
    write_split_lists(root, train, test, classes)
    return root
