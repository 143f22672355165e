"""Kinetics400ViPriors -> the Kinetics action challenge (2021, 2022): clips and lists as the organisers give them.

The archive holds ``train/``, ``val/`` and ``test/`` with ``<videoid>.mp4`` clips (random 10-letter ids)
and ``annotations/``: ``clsIdx.csv`` (``label,idx``, 1..N), ``kinetics400ViPriors-{train,val}.csv``
(``label,videoid,split``) and the organisers' labelled ``kinetics400ViPriors-test.csv`` (same columns;
participants got ``-test-public.csv``, ``videoid,split``). Ids are kept as given, and so are the
splits and the class numbers: the test ids are random, so nothing is renamed; every list is written in
id order, which tells nothing of a label. The class count comes from clsIdx.csv.

Excluded clips are left out of every split, list and reference (they cannot be decoded) and named in
``public/excluded.txt`` (``<split>/<videoid>`` lines): with ``--splits vipriors-2022``, 2022's 323
corrupted videos (the committed list); without ``--splits``, the archive's
``annotations/kinetics400ViPriors_corrupted_videos.txt`` if it has one. ``--splits vipriors-2021``
or ``vipriors-2022`` also checks the archive's lists against the committed ones (2022's are 2021's).
"""

from __future__ import annotations

import csv
import io
import string
from pathlib import Path, PurePosixPath
from typing import Dict, List, Set, Tuple

import numpy as np

from bundler.data.action import moving_square
from bundler.data.avi import mjpeg_avi
from bundler.data.builder import DatasetBuilder, Selection, csv_text, every
from bundler.data.engine import DataError, Plan, check_sources, shipped_list
from bundler.data.examples import write
from scoring.challenges.action import CHALLENGE

ANNOTATIONS = "annotations"
CLASSES = "clsIdx.csv"
SPLITS = ("train", "val", "test")
LISTS = {split: f"kinetics400ViPriors-{split}.csv" for split in SPLITS}
PUBLIC_TEST = "kinetics400ViPriors-test-public.csv"
HEADERS = {CLASSES: ["label", "idx"], **{name: ["label", "videoid", "split"] for name in LISTS.values()},
           PUBLIC_TEST: ["videoid", "split"]}
CORRUPTED = "kinetics400ViPriors_corrupted_videos.txt"
LISTS_OF = {"vipriors-2021": "vipriors-2021", "vipriors-2022": "vipriors-2021"}  # whose committed lists an edition used
EXCLUDED_IN = ("vipriors-2022",)  # editions that excluded the corrupted videos (committed as <split>/<videoid> lines)
EXCLUDED = "excluded.txt"  # in public/: the clips left out
SUFFIX = ".mp4"
EXAMPLE_CLASSES = {"falling down": 2, "jumping up": 3, "moving down": 0, "moving up": 1}  # name -> moving_square motion
Row = List[str]


def _rows(data: bytes, name: str, header: Row) -> List[Row]:
    """The rows of a CSV after its ``header``; DataError naming the first row of another shape."""
    try:
        rows = [row for row in csv.reader(io.StringIO(data.decode("utf-8-sig"))) if row]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise DataError([f"corrupt source file: {name} ({exc})"]) from None
    if not rows or rows[0] != header:
        raise DataError([f"{name}: expected the header {','.join(header)}, found {','.join(rows[0]) if rows else 'nothing'}"])
    bad = next((number for number, row in enumerate(rows[1:], 2) if len(row) != len(header) or not all(row)), None)
    if bad is not None:
        raise DataError([f"{name}, line {bad}: expected {len(header)} values ({','.join(header)})"])
    return rows[1:]


def _read(path: Path, header: Row) -> List[Row]:
    try:
        return _rows(path.read_bytes(), str(path), header)
    except FileNotFoundError:
        raise DataError([f"missing source file: {path}"]) from None
    except OSError as exc:
        raise DataError([f"unreadable source file: {path} ({exc.strerror})"]) from None


def _numbers(rows: List[Row], name: str) -> Dict[str, int]:
    """Class name -> number from clsIdx.csv rows, which must number the classes 1..N once each."""
    numbers = {label: int(idx) if idx.isdigit() else 0 for label, idx in rows}
    if len(numbers) != len(rows) or sorted(numbers.values()) != list(range(1, len(rows) + 1)):
        raise DataError([f"{name}: the classes must be numbered 1..{len(rows)}, each name and number once"])
    return numbers


def listed_clips(data: bytes) -> Set[Tuple[str, str]]:
    """(split, videoid) of each path of a corrupted-videos list (``.../<split>/<videoid>.mp4`` or ``<split>/<videoid>``)."""
    paths = [PurePosixPath(line.strip().replace("\\", "/")) for line in data.decode("utf-8").splitlines() if line.strip()]
    return {(path.parent.name, path.stem if path.suffix == SUFFIX else path.name) for path in paths}


class KineticsData(DatasetBuilder):
    competition = "kinetics"
    challenge = CHALLENGE
    source_layout = (f"Kinetics400ViPriors: {{train,val,test}}/<videoid>{SUFFIX}, {ANNOTATIONS}/{CLASSES}, "
                     f"{ANNOTATIONS}/kinetics400ViPriors-{{train,val,test}}.csv (test: the organisers' labelled list)")
    editions = tuple(LISTS_OF)

    def example_source(self, root: Path, scale: int = 1) -> Path:
        """The archive's layout with 4 classes, a square moving down or up, slowly or fast (MJPEG clips named .mp4,
        as FFmpeg reads a file by its content), 6, 2 and 2 clips per class and ``scale``, one clip per split listed
        as corrupted (its file is not a video)."""
        rng = np.random.default_rng(4)
        letters = np.array(list(string.ascii_letters))
        videos = {name: mjpeg_avi(moving_square(motion)) for name, motion in EXAMPLE_CLASSES.items()}
        corrupted = []
        for split, count in (("train", 6), ("val", 2), ("test", 2)):
            rows = [(name, "".join(rng.choice(letters, 10))) for name in sorted(EXAMPLE_CLASSES) for _ in range(count * scale)]
            for name, videoid in rows:
                write(root / split / f"{videoid}{SUFFIX}", videos[name])
            broken = rows[0][1]
            write(root / split / f"{broken}{SUFFIX}", b"not a video")
            corrupted.append(f"/data/Kinetics400ViPriors/{split}/{broken}{SUFFIX}\n")
            order = [rows[i] for i in rng.permutation(len(rows))]
            write(root / ANNOTATIONS / LISTS[split], csv_text("label,videoid,split", [(*row, split) for row in order]))
            if split == "test":
                write(root / ANNOTATIONS / PUBLIC_TEST, csv_text("videoid,split", [(row[1], split) for row in order]))
        write(root / ANNOTATIONS / CLASSES, csv_text("label,idx", [(n, i) for i, n in enumerate(sorted(EXAMPLE_CLASSES), 1)]))
        write(root / ANNOTATIONS / CORRUPTED, "".join(corrupted).encode())
        return root

    def _official(self, selection: Selection, classes: List[Row], clips: Dict[str, List[Row]]) -> None:
        """Check the archive's lists against the edition's committed ones (the test list by its ids)."""
        edition = LISTS_OF[str(selection.splits)]
        ours = {CLASSES: classes, LISTS["train"]: clips["train"], LISTS["val"]: clips["val"],
                PUBLIC_TEST: [[videoid, split] for _, videoid, split in clips["test"]]}
        differ = [name for name, rows in ours.items() if sorted(rows) != sorted(_rows(
            shipped_list(self.competition, edition, name, selection.competitions), f"{edition}/{name}", HEADERS[name]))]
        if differ:
            committed = selection.competitions / self.competition / "splits" / edition
            raise DataError([f"{ANNOTATIONS}/ is not {selection.splits}'s Kinetics400ViPriors: {', '.join(differ)} "
                             f"differ from the committed lists ({committed}/)"])

    def _excluded(self, source: Path, selection: Selection, clips: Dict[str, List[Row]]) -> Set[Tuple[str, str]]:
        """(split, videoid) of the clips left out, each checked to be in its split's list."""
        if selection.splits:
            data = shipped_list(self.competition, selection.splits, CORRUPTED, selection.competitions) \
                if selection.splits in EXCLUDED_IN else b""
        else:
            path = source / ANNOTATIONS / CORRUPTED
            data = path.read_bytes() if path.is_file() else b""
        excluded = listed_clips(data)
        known = {(split, row[1]) for split, rows in clips.items() for row in rows}
        unknown = sorted(excluded - known)
        if unknown:
            raise DataError([f"{ANNOTATIONS}/{CORRUPTED}: {len(unknown)} clip(s) not in their split's list, e.g. "
                             f"{'/'.join(unknown[0])}"])
        return excluded

    def plan(self, source: Path, selection: Selection) -> Plan:
        classes, *lists = every(*(lambda name=name: _read(source / ANNOTATIONS / name, HEADERS[name])
                                  for name in (CLASSES, *LISTS.values())))
        clips = dict(zip(SPLITS, lists))
        numbers = _numbers(classes, f"{ANNOTATIONS}/{CLASSES}")
        self._check(clips, numbers)
        if selection.splits:
            self._official(selection, classes, clips)
        excluded = self._excluded(source, selection, clips)
        kept = {split: sorted((videoid, numbers[label]) for label, videoid, _ in clips[split]
                              if (split, videoid) not in excluded) for split in SPLITS}
        check_sources(source / split / f"{videoid}{SUFFIX}" for split in SPLITS for videoid, _ in kept[split])
        layout = CHALLENGE.layout
        by_number = sorted(numbers, key=numbers.__getitem__)
        plan = Plan()
        for split in SPLITS:
            for videoid, number in kept[split]:
                plan.link(f"public/{layout.input_folder(split)}/{videoid}{SUFFIX}", source / split / f"{videoid}{SUFFIX}")
                plan.count(split, by_number[number - 1])
            labels = "".join(f"{videoid} {number}\n" for videoid, number in kept[split]).encode()
            shown = "".join(f"{videoid}\n" for videoid, _ in kept[split]).encode() if split == "test" else labels
            plan.write(f"public/{layout.list_file(split)}", shown)
            if split != "train":
                plan.scored(split, "labels.txt", data=labels)
                plan.scored(split, "classes.txt", data="".join(f"{name}\n" for name in by_number).encode())
                plan.scored(split, "reference.json", data=CHALLENGE.reference_info(num_classes=len(numbers)))
        plan.write(f"public/{layout.classes}", "".join(f"{numbers[name]} {name}\n" for name in by_number).encode())
        if excluded:
            plan.write(f"public/{EXCLUDED}", "".join(f"{split}/{videoid}\n" for split, videoid in sorted(excluded)).encode())
            plan.notes.append(f"{len(excluded)} excluded clip(s) left out of every split and reference, listed in "
                              f"public/{EXCLUDED}")
        return plan

    @staticmethod
    def _check(clips: Dict[str, List[Row]], numbers: Dict[str, int]) -> None:
        """Every row in its own split's list, of a known class, and every id once over all splits."""
        problems = []
        seen: Dict[str, str] = {}
        for split in SPLITS:
            for label, videoid, listed in clips[split]:
                if listed != split or label not in numbers:
                    problems.append(f"{ANNOTATIONS}/{LISTS[split]}: {videoid} has split {listed!r} and class {label!r} "
                                    f"(expected {split!r} and a class of {CLASSES})")
                elif videoid in seen:
                    problems.append(f"{ANNOTATIONS}/{LISTS[split]}: {videoid} is also in {seen[videoid]}")
                seen.setdefault(videoid, split)
        if problems:
            raise DataError(problems[:5] + ([f"... {len(problems) - 5} more"] if len(problems) > 5 else []))


BUILDER = KineticsData()
