"""Re-identification at the 2021 test size: ours beside numpy.loadtxt + scikit-learn, a case of tests/bench.py.

The data is the 2021 SynergyReID test split's shape, 468 queries x 8 703 gallery images, as the 2021 toolkit's
``write_mat_csv`` writes it (about 45 MB of CSV), with every query's identity in the gallery.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Tuple

import numpy as np

from tests.bench_cases import Command, ours, results_row, snippet
from tests.helpers import write_reference, write_zip

#: results may take at most this many times one score.py run
RESULTS_TARGET = 2
QUERIES, GALLERY = 468, 8703
UNIT = 100_000  # '%10.5f': distances are whole multiples of 1e-5


def case_2021(seed: int) -> Tuple[np.ndarray, ...]:
    """Query and gallery ids (shuffled), identities (each query's in the gallery) and distances in 1e-5 units."""
    rng = np.random.default_rng(seed)
    query_ids, gallery_ids = rng.permutation(10_000)[:QUERIES], 10_000 + rng.permutation(20_000)[:GALLERY]
    gallery_labels = rng.integers(0, QUERIES, GALLERY)
    gallery_labels[rng.permutation(GALLERY)[:QUERIES]] = np.arange(QUERIES)
    units = rng.integers(0, 4 * UNIT, (QUERIES, GALLERY))
    return query_ids, gallery_ids, np.arange(QUERIES), gallery_labels, units


def toolkit_csv(query_ids: np.ndarray, gallery_ids: np.ndarray, units: np.ndarray) -> bytes:
    """The bytes ``write_mat_csv`` writes for the distances ``units / 1e5`` (units below 1e6), formatted at numpy speed."""
    whole, fraction = np.divmod(units, UNIT)
    cells = np.full(units.shape + (11,), ord(" "), dtype=np.uint8)  # '%10.5f' and the comma after it
    cells[..., 3] = ord("0") + whole
    cells[..., 4] = ord(".")
    for place in range(5):
        cells[..., 9 - place] = ord("0") + fraction // 10**place % 10
    cells[..., 10] = ord(",")
    cells[:, -1, 10] = ord("\n")
    header = ",".join(map(str, [0, *gallery_ids.tolist()])) + "\n"
    return header.encode() + b"".join(b"%d," % query + row.tobytes() for query, row in zip(query_ids.tolist(), cells))


SKLEARN = """
import sys
import numpy as np
from sklearn.metrics import average_precision_score
reference = np.load(sys.argv[1])
table = np.loadtxt(sys.argv[2], delimiter=",")
row = {int(q): i for i, q in enumerate(table[1:, 0], 1)}
column = {int(g): j for j, g in enumerate(table[0, 1:], 1)}
distances = table[np.ix_([row[q] for q in reference["query_ids"].tolist()],
                         [column[g] for g in reference["gallery_ids"].tolist()])]
match = reference["gallery_labels"][None, :] == reference["query_labels"][:, None]
aps = [average_precision_score(m, -d) for m, d in zip(match, distances)]
first = np.array([np.flatnonzero(m[np.argsort(d, kind="stable")])[0] for m, d in zip(match, distances)])
print(np.mean(aps), [np.mean(first < k) for k in (1, 5, 10)])
"""


def _table(ids: np.ndarray, labels: np.ndarray, camera: int) -> str:
    return "id,identity,camera\n" + "".join(f"{i},{label},{camera}\n" for i, label in zip(ids.tolist(), labels.tolist()))


def case(folder: Path) -> List[Tuple[str, Command]]:
    """The 2021 test size: 468 queries x 8 703 gallery items, about 45 MB of the toolkit's CSV, zipped."""
    query_ids, gallery_ids, query_labels, gallery_labels, units = case_2021(0)
    np.savez(folder / "reference.npz", query_ids=query_ids, gallery_ids=gallery_ids, query_labels=query_labels,
             gallery_labels=gallery_labels)
    ref = write_reference(folder / "ref", {"task": "reidentification"}, {
        "queries.csv": _table(query_ids, query_labels, 0), "gallery.csv": _table(gallery_ids, gallery_labels, 1)})
    submission = folder / "distances.csv"
    submission.write_bytes(toolkit_csv(query_ids, gallery_ids, units))
    zipped = write_zip(folder / "sub.zip", {"distances.csv": submission.read_bytes()})
    print(f"reidentification: {QUERIES} x {GALLERY}, {submission.stat().st_size / 1e6:.0f} MB of CSV", file=sys.stderr)
    return [
        ("vipriors-bench", ours(ref, zipped, folder / "out")),
        ("numpy.loadtxt + scikit-learn", snippet(SKLEARN, folder / "reference.npz", submission)),
        results_row("reidentification", ref, zipped, folder),
    ]
