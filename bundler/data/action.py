"""UCF-101 split 1 -> the action challenge: trainlist01 halved per class into train and val,
testlist01 as the test set, every clip renamed and the classes renumbered.

With ``--splits vipriors-2020`` the class numbers are 2020's, and each class's clips of trainlist01
(in the list's order) go first to train, then to val, as many as 2020's lists hold per class; the
2020 lists name only the renamed clips, so the builder checks that its train, val and test lists
equal 2020's clip for clip (names and classes; 2020 called val "validation"). The test names are
2020's, but the test clips are assigned to them in a shuffle keyed by the build's secret seed: 2020
named them class by class, which gave every test label away, and its test list names the clips
without their order. Without ``--splits`` the classes get a new numbering and each class is halved by
whole groups (``_gXX_``: clips of one group come from one video), so no video is split across train
and val.
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import numpy as np

from bundler.data.avi import mjpeg_avi
from bundler.data.builder import DatasetBuilder, Selection, csv_text, every, text_lines
from bundler.data.engine import DataError, Plan, check_sources
from bundler.data.examples import write
from scoring.challenges.action import CHALLENGE

Clip = str  # "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi"
LISTS = "ucfTrainTestlist"
SPLITS = ("train", "val", "test")
CLIP_NAMES = {"train": "train", "val": "validation", "test": "test"}  # 2020's names: video_<this>_0000001.avi
SHUFFLED_2020 = ("the 2020 test names are kept, but the test clips are assigned to them in a shuffle keyed by the secret "
                 "seed: 2020 named them class by class, which gave every test label away; its test list names the clips "
                 "without their order, so the test set is 2020's (private/test_mapping.csv says which clip is which)")
EXAMPLE_ACTIONS = ("MoveDown", "MoveUp", "FallDown", "JumpUp")  # the square's motion per class: down, up, down fast, up fast
MAX_SCALE = 4  # of the example source: UCF-101 split 1 tests on groups 1-7 and trains on groups 8-25


def _read_list(path: Path) -> List[Clip]:
    try:
        return [row[0] for row in text_lines(path.read_bytes())]
    except FileNotFoundError:
        raise DataError([f"missing source file: {path} (UCF-101's {LISTS}/)"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError([f"corrupt source file: {path} ({exc})"]) from None


def _clip_name(split: str, number: int) -> str:
    return f"video_{CLIP_NAMES[split]}_{number:07d}.avi"


def _class_of(clip: Clip) -> str:
    return clip.split("/")[0]


def _by_class(clips: List[Clip]) -> Dict[str, List[Clip]]:
    grouped: Dict[str, List[Clip]] = {}
    for clip in clips:
        grouped.setdefault(_class_of(clip), []).append(clip)
    return grouped


def moving_square(direction: int, frames: int = 12, size: int = 32) -> List[np.ndarray]:
    """The frames of a white square on black moving down or up, slowly or fast (a horizontal flip keeps the class)."""
    step = [(0, 1), (0, -1), (0, 2), (0, -2)][direction]
    shown = []
    for t in range(frames):
        frame = np.zeros((size, size, 3), np.uint8)
        x = size // 2 - 4 + step[0] * (t - frames // 2)
        y = size // 2 - 4 + step[1] * (t - frames // 2)
        frame[max(0, y):max(0, y + 8), max(0, x):max(0, x + 8)] = 255
        shown.append(frame)
    return shown


def ucf101_clip(name: str, group: int, index: int) -> Clip:
    """A UCF-101 clip, ``Class/v_Class_gXX_cYY.avi``."""
    return f"{name}/v_{name}_g{group:02d}_c{index:02d}.avi"


def write_split_lists(root: Path, train: Sequence[Clip], test: Sequence[Clip], classes: Sequence[str]) -> None:
    """UCF-101's ``ucfTrainTestlist/`` of split 1 for these clips, ``classes`` numbered from 1 in classInd.txt."""
    number = {name: i for i, name in enumerate(classes, 1)}
    write(root / LISTS / "classInd.txt", "".join(f"{i} {name}\n" for name, i in number.items()).encode())
    write(root / LISTS / "trainlist01.txt", "".join(f"{c} {number[_class_of(c)]}\n" for c in train).encode())
    write(root / LISTS / "testlist01.txt", "".join(f"{c}\n" for c in test).encode())


class ActionData(DatasetBuilder):
    competition = "action"
    challenge = CHALLENGE
    source_layout = "UCF-101: UCF-101/<Class>/*.avi and ucfTrainTestlist/{trainlist01,testlist01}.txt"
    editions = ("vipriors-2020",)

    def example_source(self, root: Path, scale: int = 1) -> Path:
        """UCF-101's ``UCF-101/<Class>/*.avi`` and ``ucfTrainTestlist/`` (split 1 only), 4 classes: a moving square
        per class (an MJPEG AVI); ``scale`` at most MAX_SCALE, where UCF-101's groups run out."""
        if not 1 <= scale <= MAX_SCALE:
            raise ValueError(f"scale {scale}: UCF-101's groups allow 1 to {MAX_SCALE}")
        train = [ucf101_clip(c, g, i) for c in EXAMPLE_ACTIONS for g in range(8, 8 + 4 * scale) for i in range(1, 3)]
        test = [ucf101_clip(c, g, i) for c in EXAMPLE_ACTIONS for g in range(1, 1 + scale) for i in range(1, 3)]
        videos = {name: mjpeg_avi(moving_square(number)) for number, name in enumerate(EXAMPLE_ACTIONS)}
        for clip in train + test:
            write(root / "UCF-101" / clip, videos[_class_of(clip)])
        write_split_lists(root, train, test, EXAMPLE_ACTIONS)
        return root

    def _official(self, train_list: List[Clip], test_list: List[Clip], selection: Selection
                  ) -> Tuple[Dict[str, int], Dict[str, List[Clip]]]:
        """2020's class numbers and train and val lists, checked; the test clips in testlist01's order."""
        numbers = {row[1]: int(row[0]) for row in text_lines(self.shipped(selection, "mod-ucf101-classInd.txt"))}
        official = {split: text_lines(self.shipped(selection, f"mod-ucf101-{CLIP_NAMES[split]}.txt"))
                    for split in SPLITS}
        wanted = Counter(int(row[1]) for row in official["train"])
        chosen: Dict[str, List[Clip]] = {"train": [], "val": [], "test": test_list}
        for name, clips in _by_class(train_list).items():
            first = wanted[numbers.get(name, 0)]
            chosen["train"] += clips[:first]
            chosen["val"] += clips[first:]
        for split in SPLITS:
            ours = [(_clip_name(split, i), str(numbers.get(_class_of(c), "?"))) for i, c in enumerate(chosen[split], 1)]
            theirs = [(row[0], row[1] if len(row) > 1 else "?") for row in official[split]]
            if split == "test":
                ours = [(name, "?") for name, _ in ours]
            if ours != theirs:
                first = next((i for i, (a, b) in enumerate(zip(ours, theirs), 1) if a != b), min(len(ours), len(theirs)) + 1)
                raise DataError([f"{LISTS}/ does not give 2020's {split} list (mod-ucf101-{CLIP_NAMES[split]}.txt): is "
                                 f"it UCF-101's official split 1? first difference at clip {first}"])
        return numbers, chosen

    def _drawn(self, train_list: List[Clip], test_list: List[Clip], selection: Selection
               ) -> Tuple[Dict[str, int], Dict[str, List[Clip]]]:
        names = sorted(_by_class(train_list + test_list))
        numbers = {name: i for i, name in enumerate(selection.shuffled(names, "class numbers"), 1)}
        chosen: Dict[str, List[Clip]] = {"train": [], "val": [], "test": selection.shuffled(test_list, "test order")}
        for name, clips in sorted(_by_class(train_list).items()):
            groups = _by_class([f"{clip.split('_g')[1][:2]}/{clip}" for clip in clips])
            target, taken = math.ceil(len(clips) / 2), 0
            for group in selection.shuffled(sorted(groups), f"groups:{name}"):
                split = "train" if taken < target else "val"
                chosen[split] += [clip.split("/", 1)[1] for clip in groups[group]]
                taken += len(groups[group]) if split == "train" else 0
        return numbers, chosen

    def plan(self, source: Path, selection: Selection) -> Plan:
        train_list, test_list = every(*(lambda name=name: _read_list(source / LISTS / name)
                                        for name in ("trainlist01.txt", "testlist01.txt")))
        if selection.splits:
            numbers, chosen = self._official(train_list, test_list, selection)
            chosen["test"] = selection.shuffled(test_list, f"{selection.splits} test order")  # keyed by the secret seed
        else:
            numbers, chosen = self._drawn(train_list, test_list, selection)
        check_sources(source / "UCF-101" / clip for split in SPLITS for clip in chosen[split])
        unknown = sorted({_class_of(c) for split in SPLITS for c in chosen[split]} - set(numbers))
        if unknown:
            raise DataError([f"classes not in the class list: {', '.join(unknown)}"])
        plan, layout = Plan(), CHALLENGE.layout
        mapping = []
        for split in SPLITS:
            rows = []
            for i, clip in enumerate(chosen[split], 1):
                name = _clip_name(split, i)
                plan.link(f"public/{layout.input_folder(split)}/{name}", source / "UCF-101" / clip)
                plan.count(split, _class_of(clip))
                rows.append(f"{name} {numbers[_class_of(clip)]}")
                if split == "test":
                    mapping.append((name, f"UCF-101/{clip}"))
            labels = "".join(f"{row}\n" for row in rows).encode()
            listed = "".join(f"{row.split()[0]}\n" for row in rows).encode() if split == "test" else labels
            plan.write(f"public/{layout.list_file(split)}", listed)
            if split != "train":
                plan.scored(split, "labels.txt", data=labels)
        by_number = sorted(numbers.items(), key=lambda item: item[1])
        plan.write(f"public/{layout.classes}", "".join(f"{number} {name}\n" for name, number in by_number).encode())
        for scored in ("val", "test"):
            plan.scored(scored, "classes.txt", data="".join(f"{name}\n" for name, _ in by_number).encode())
            plan.scored(scored, "reference.json", data=CHALLENGE.reference_info(num_classes=len(numbers)))
        plan.write("private/test_mapping.csv", csv_text("clip,source", mapping))
        plan.notes += [SHUFFLED_2020] if selection.splits else []
        return plan


BUILDER = ActionData()
