"""SynergyReID -> the re-identification challenge: training images with their identities, val and test as query and
gallery images renamed to ids, each split's identities in its reference.

The source is the organisers' copy of the 2021 archive, every image named ``<pid>_<seq>_<frame>.jpeg``:
``reid_training/``, ``reid_val/{query,gallery}/`` and ``reid_test/{query,gallery}/`` (the participants' archive
names the test images ``<n>.jpeg``, without their identities, and cannot make the test reference). A query is the
first frame of a sequence, the gallery the frames after it. The query and gallery images of val and test together
get the ids 1..n in an order drawn with the build's secret seed, so that neither names nor order reveal a test
identity; private/test_mapping.csv keeps each test id's source image.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np

from bundler.data.builder import DatasetBuilder, Selection, csv_text, every
from bundler.data.engine import DataError, Plan, check_sources
from bundler.data.examples import COLOURS, image_file, write
from scoring.challenges.reidentification import CHALLENGE, GALLERY, GALLERY_CAMERA, QUERIES, QUERY_CAMERA, Side, side_file

NAME = re.compile(r"(\d+)_(\d+)_(\d+)\.jpe?g", re.IGNORECASE)  # <pid>_<seq>_<frame>.jpeg
TRAINING, SPLITS = "reid_training", {"val": "reid_val", "test": "reid_test"}
SIDES = (("query", QUERY_CAMERA), ("gallery", GALLERY_CAMERA))
FIRST_PID = 101  # the example's first person id, apart from the image ids (1..n) the build gives
Image = Tuple[str, int]  # (source path relative to the source root, identity)


def _images(source: Path, folder: str) -> List[Image]:
    """The images of ``folder`` in name order, each with its identity; DataError naming every other file."""
    path = source / folder
    if not path.is_dir():
        raise DataError([f"{path}: not found; expected {folder}/<pid>_<seq>_<frame>.jpeg"])
    names = sorted(entry.name for entry in path.iterdir() if entry.is_file())
    bad = [name for name in names if not NAME.fullmatch(name)]
    if bad:
        raise DataError([f"{path / name}: not named <pid>_<seq>_<frame>.jpeg" for name in bad[:5]]
                        + [f"{len(bad)} image(s) in {path} without their identity: the build needs the organisers' copy, "
                           "each image named by its person id, sequence and frame"])
    if not names:
        raise DataError([f"{path}: no images; expected {folder}/<pid>_<seq>_<frame>.jpeg"])
    return [(f"{folder}/{name}", int(NAME.fullmatch(name).group(1))) for name in names]  # type: ignore[union-attr]


def _query_split(source: Path, split: str) -> Dict[str, List[Image]]:
    """The query and gallery images of a split; DataError naming every query whose identity the gallery lacks."""
    folder = SPLITS[split]
    query, gallery = every(*(lambda side=side: _images(source, f"{folder}/{side}") for side, _ in SIDES))
    present = {identity for _, identity in gallery}
    lonely = [path for path, identity in query if identity not in present]
    if lonely:
        raise DataError([f"{source / path}: no gallery image of its identity; every query needs one" for path in lonely])
    return {"query": query, "gallery": gallery}


class ReidentificationData(DatasetBuilder):
    competition = "reidentification"
    challenge = CHALLENGE
    source_layout = ("SynergyReID, the organisers' copy: reid_training/, reid_val/{query,gallery}/ and "
                     "reid_test/{query,gallery}/, every image <pid>_<seq>_<frame>.jpeg")

    def plan(self, source: Path, selection: Selection) -> Plan:
        train, val, test = every(lambda: _images(source, TRAINING), lambda: _query_split(source, "val"),
                                 lambda: _query_split(source, "test"))
        check_sources([source / path for path, _ in train]
                      + [source / path for split in (val, test) for images in split.values() for path, _ in images])
        layout = CHALLENGE.layout
        plan = Plan()
        for path, identity in train:
            plan.link(f"public/{layout.input_folder('train')}/{Path(path).name}", source / path)
            plan.count("train", str(identity))
        for split, sides in (("val", val), ("test", test)):
            mapping = self._renamed(plan, source, selection, split, sides)
            if split == "test":
                plan.write("private/test_mapping.csv", csv_text("id,side,source", mapping))
        return plan

    @staticmethod
    def _renamed(plan: Plan, source: Path, selection: Selection, split: str, sides: Dict[str, List[Image]]
                 ) -> List[Tuple[int, str, str]]:
        """Link a split's images under their new ids, write its reference; (id, side, source image) of each image."""
        layout = CHALLENGE.layout
        images = [(side, path) for side, _ in SIDES for path, _ in sides[side]]
        ids = {image: number for number, image in enumerate(selection.shuffled(images, f"{split} ids"), 1)}
        mapping = []
        for (side, camera), name in zip(SIDES, (QUERIES, GALLERY)):
            folder = layout.query_folder(split) if side == "query" else layout.gallery_folder(split)
            rows = sorted((ids[(side, path)], identity) for path, identity in sides[side])
            for path, identity in sides[side]:
                plan.link(f"public/{folder}/{layout.image_name(ids[(side, path)])}", source / path)
                plan.count(split, str(identity))
                mapping.append((ids[(side, path)], side, path))
            reference = Side([item for item, _ in rows], np.array([identity for _, identity in rows]),
                             np.full(len(rows), camera))
            plan.scored(split, name, data=side_file(reference, labelled=True))
        plan.scored(split, "reference.json", data=CHALLENGE.reference_info())
        return sorted(mapping)

    def example_source(self, root: Path, scale: int = 1) -> Path:
        """SynergyReID's layout, 48x24 people: each identity a shirt and trousers colour of its own on noise, several
        frames of a sequence each (a query and gallery frames for val and test); identities differ between splits.

        The 8 test identities keep the chance level of the leak guard (one over the identities) low enough that a
        public copy of the test reference stands out."""
        rng = np.random.default_rng(0)
        pairs = [(top, bottom) for top in range(len(COLOURS)) for bottom in range(len(COLOURS)) if top != bottom]
        order = rng.permutation(len(pairs))
        counts = {TRAINING: 4 * scale, SPLITS["val"]: 4, SPLITS["test"]: 8}
        start = 0
        for folder, identities in counts.items():
            for index in range(start, start + identities):
                pid = FIRST_PID + index
                top, bottom = pairs[order[index % len(pairs)]]
                for sequence in (1, 2) if folder == TRAINING else (1,):
                    for frame in range(1, 7):
                        side = "" if folder == TRAINING else "query/" if frame == 1 else "gallery/"
                        person = _person(rng, COLOURS[top], COLOURS[bottom])
                        write(root / folder / f"{side}{pid}_{sequence}_{frame}.jpeg", image_file(person, "JPEG"))
            start += identities
        return root


def _person(rng: np.random.Generator, top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    """A 48x24 person: a grey noisy background, a shirt above trousers, shifted a few pixels at random."""
    pixels = rng.normal(128, 20, (48, 24, 3))
    x, y = rng.integers(2, 6), rng.integers(2, 6)
    pixels[y:y + 20, x:x + 16] = top + rng.normal(0, 10, (20, 16, 3))
    pixels[y + 20:y + 40, x + 2:x + 14] = bottom + rng.normal(0, 10, (20, 12, 3))
    return np.clip(pixels, 0, 255).astype(np.uint8)


BUILDER = ReidentificationData()
