"""Action recognition at the 2020 test size: ours beside scikit-learn, a case of tests/bench.py."""

from __future__ import annotations

import random
from pathlib import Path
from typing import List, Tuple

from tests.bench_cases import Command, ours, snippet
from tests.helpers import write_reference, write_zip

SKLEARN = """
import sys, zipfile
import numpy as np
from sklearn.metrics import top_k_accuracy_score
truth = dict(line.split() for line in open(sys.argv[1]))
with zipfile.ZipFile(sys.argv[2]) as z:
    lines = z.read(z.namelist()[0]).decode().splitlines()
ranked = {line.split()[0]: [int(c) for c in line.split()[1:6]] for line in lines}
y = np.array([int(v) for v in truth.values()])
scores = np.zeros((len(y), 101))
for row, clip in enumerate(truth):
    for rank, c in enumerate(ranked.get(clip, [])):
        scores[row, c - 1] = 10 - rank
for k in (1, 3, 5):
    top_k_accuracy_score(y, scores, k=k, labels=np.arange(1, 102))
    [top_k_accuracy_score(y[y == c], scores[y == c], k=k, labels=np.arange(1, 102)) for c in np.unique(y)]
"""


def case(folder: Path) -> List[Tuple[str, Command]]:
    """The 2020 test set size: 3 783 clips, 101 classes, five ranked guesses each."""
    rng = random.Random(0)
    clips = [f"video_test_{i:07d}.avi" for i in range(1, 3784)]
    lines = "".join(f"{clip} {rng.randint(1, 101)}\n" for clip in clips)
    ref = write_reference(folder / "ref", {"task": "action"}, {"labels.txt": lines})
    guesses = "".join(f"{clip} {' '.join(map(str, rng.sample(range(1, 102), 5)))}\n" for clip in clips)
    sub = write_zip(folder / "sub.zip", {"predictions.txt": guesses})
    return [
        ("vipriors-bench", ours(ref, sub, folder / "out")),
        ("scikit-learn", snippet(SKLEARN, ref / "labels.txt", sub)),
    ]
