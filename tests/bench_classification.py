"""Classification at the 2020 test size: ours beside scikit-learn, a case of tests/bench.py."""

from __future__ import annotations

import random
from pathlib import Path
from typing import List, Tuple

from tests.bench_cases import Command, ours, snippet
from tests.helpers import write_reference, write_zip

SKLEARN = """
import csv, io, sys, zipfile
from sklearn.metrics import accuracy_score, balanced_accuracy_score
with open(sys.argv[1]) as f:
    rows = list(csv.reader(f))[1:]
truth = {r[0]: int(r[1]) for r in rows}
with zipfile.ZipFile(sys.argv[2]) as z:
    text = z.read(z.namelist()[0]).decode()
predicted = {r[0]: int(r[1]) for r in list(csv.reader(io.StringIO(text)))[1:]}
y = list(truth.values()); p = [predicted.get(k, -1) for k in truth]
print(accuracy_score(y, p), balanced_accuracy_score(y, p))
"""


def case(folder: Path) -> List[Tuple[str, Command]]:
    """The 2020 test set size: 50 000 images, 1 000 classes, a random submission."""
    rng = random.Random(0)
    labels = [rng.randrange(1000) for _ in range(50_000)]
    rows = "".join(f"img_{i}.JPEG,{label}\n" for i, label in enumerate(labels))
    ref = write_reference(folder / "ref", {"task": "classification"}, {"labels.csv": "image,label\n" + rows})
    guesses = "".join(f"img_{i}.JPEG,{rng.randrange(1000)}\n" for i in range(50_000))
    sub = write_zip(folder / "sub.zip", {"predictions.csv": "Image IDs,Predictions\n" + guesses})
    return [
        ("vipriors-bench", ours(ref, sub, folder / "out")),
        ("scikit-learn", snippet(SKLEARN, ref / "labels.csv", sub)),
    ]
