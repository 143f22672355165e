"""Person re-identification (VIPriors 2021, SynergyReID): mAP and CMC of the gallery ranked by distance to each query.

The submission is the distance matrix from every query to every gallery image (scoring/distance_matrix.py reads
it); the metric is scoring/metrics/reid.py, equal to scikit-learn's average precision per query.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Dict, List, Optional, Sequence, Tuple

import numpy as np

from scoring import report
from scoring.challenge import REFERENCE_INFO, Challenge, Column, PublicLayout, Result, Section, has_labels, replaced
from scoring.distance_matrix import SUFFIXES, read_distance_matrix
from scoring.errors import ReferenceDataError, SubmissionError
from scoring.facts import ItemLabels
from scoring.metrics.reid import RANKS, ReidMetric
from scoring.ranked_lists import csv_rows, open_reference, whole_number
from scoring.submission import Submission

QUERIES, GALLERY = "queries.csv", "gallery.csv"
LABELLED_HEADER, LABEL_FREE_HEADER = ("id", "identity", "camera"), ("id",)
QUERY_CAMERA, GALLERY_CAMERA = 0, 1  # the 2021 toolkit's cameras: every query seen by one, the gallery by the other
DISTANCE_FORMAT = "%.8g"


@dataclass(frozen=True)
class ReidLayout(PublicLayout):
    """train/<identity>_<sequence>_<frame>.jpeg (the identity first); val and test as <split>/query/<id>.jpeg and
    <split>/gallery/<id>.jpeg, each id the whole number the reference and the submission use for that image."""

    queries: str = "{split}/query"
    gallery: str = "{split}/gallery"
    suffix: str = ".jpeg"

    def query_folder(self, split: str) -> str:
        """The folder of ``split``'s query images."""
        return self.queries.format(split=split)

    def gallery_folder(self, split: str) -> str:
        """The folder of ``split``'s gallery images."""
        return self.gallery.format(split=split)

    def image_name(self, item: int) -> str:
        """The file name of the query or gallery image with id ``item``."""
        return f"{item}{self.suffix}"

    def item_id(self, name: str) -> Optional[int]:
        """The id of a query or gallery image file name, or None if it is not one."""
        return whole_number(name[: -len(self.suffix)]) if name.endswith(self.suffix) else None

    def train_identity(self, name: str) -> Optional[int]:
        """The identity of a training image name ``<identity>_<sequence>_<frame>.jpeg``, or None if it is not one."""
        parts = name[: -len(self.suffix)].split("_") if name.endswith(self.suffix) else []
        return int(parts[0]) if len(parts) == 3 and all(whole_number(part) is not None for part in parts) else None


@dataclass(frozen=True)
class Identities(ItemLabels):
    """(image id, identity) pairs of the query and gallery images, ids and identities as text."""

    noun: ClassVar[str] = "(image, identity) labels"


@dataclass
class Side:
    """The query or the gallery images of a reference: ids in file order, identities and cameras (zeros without
    labels: stand-ins that let every check run)."""

    ids: List[int]
    identities: np.ndarray
    cameras: np.ndarray


@dataclass
class ReidReference:
    queries: Side
    gallery: Side
    labelled: bool

    def metric(self) -> ReidMetric:
        """A fresh metric of this reference (without labels, every gallery image matches every query)."""
        cameras = (self.queries.cameras, self.gallery.cameras) if self.labelled else (None, None)
        return ReidMetric(self.queries.identities, self.gallery.identities, RANKS, *cameras)

    def item_identities(self) -> Dict[int, int]:
        """Every image id, query or gallery, and its identity."""
        return {item: int(identity) for side in (self.queries, self.gallery)
                for item, identity in zip(side.ids, side.identities.tolist())}


def _read_side(path: Path, labelled: bool) -> Side:
    """queries.csv or gallery.csv: a header, then one row per image (id, and with labels identity and camera)."""
    header = LABELLED_HEADER if labelled else LABEL_FREE_HEADER
    ids: List[int] = []
    values: List[Tuple[int, ...]] = []
    with open_reference(path) as stream:
        try:
            rows = csv_rows(stream, str(path))
            first = next(rows, None)
            if first is None or tuple(cell.lower() for cell in first[1]) != header:
                raise ReferenceDataError(f"{path}: the first line must be the header {','.join(header)!r}")
            for line, cells in rows:
                numbers = [whole_number(cell) for cell in cells]
                if len(cells) != len(header) or None in numbers:
                    raise ReferenceDataError(f"{path}, line {line}: expected {len(header)} whole numbers "
                                             f"({', '.join(header)}), found {','.join(cells)!r}")
                ids.append(numbers[0])  # type: ignore[arg-type]
                values.append(tuple(numbers[1:]))  # type: ignore[arg-type]
        except SubmissionError as exc:
            raise ReferenceDataError(str(exc)) from None
    if not ids:
        raise ReferenceDataError(f"{path}: no images")
    if len(set(ids)) != len(ids):
        raise ReferenceDataError(f"{path}: an id is listed twice")
    labels = np.array(values, dtype=np.int64).reshape(len(ids), len(header) - 1) if labelled else \
        np.zeros((len(ids), 2), dtype=np.int64)
    return Side(ids, labels[:, 0].copy(), labels[:, 1].copy())


def _csv(header: Sequence[str], rows: Sequence[Sequence[int]]) -> bytes:
    return (",".join(header) + "\n" + "".join(",".join(map(str, row)) + "\n" for row in rows)).encode()


def side_file(side: Side, labelled: bool) -> bytes:
    """queries.csv or gallery.csv of ``side``: with the identities and cameras, or (label-free) the ids alone."""
    if labelled:
        return _csv(LABELLED_HEADER, list(zip(side.ids, side.identities.tolist(), side.cameras.tolist())))
    return _csv(LABEL_FREE_HEADER, [(item,) for item in side.ids])


class Reidentification(Challenge):
    """Predictions (``write_submission``): ``(query_ids, gallery_ids, distances)``, the distances a queries x gallery
    array (lower is closer), written as the 2021 toolkit's distances.csv (``%.8g``). At the 2021 test's size (468 x
    8 703) that is 43 MB, 18 MB once zipped, written in about 2 s: an .npz of the float64 distances would be larger
    once zipped (31 MB) and no faster, so the toolkit's form is the one written."""

    task = "reidentification"
    title = "Person re-identification"
    reference_format = (
        "queries.csv and gallery.csv, each with the header 'id,identity,camera' and one row per image: its id (a whole "
        "number, unique over both files), its person's identity and its camera (whole numbers). A gallery image of the "
        "query's identity and camera is left out of that query's ranking (none in SynergyReID: queries camera 0, gallery "
        "camera 1); every query needs a match in the gallery. A label-free reference lists the ids alone (header 'id')."
    )
    submission_format = (
        "A zip holding exactly one distance matrix, rows the queries and columns the gallery images, lower = closer: "
        "distances.csv as the 2021 toolkit writes it (a header row '0,g1,...,gn' of gallery ids, then one row "
        "'q,d1,...,dn' per query), the same gzipped (distances.csv.gz), or distances.npz with the arrays query_ids, "
        "gallery_ids and distances (numpy.savez(\"distances.npz\", query_ids=q, gallery_ids=g, distances=d)). Ids are "
        "the image names' numbers (<split>/query/<id>.jpeg), in any order; every query and gallery id exactly once, "
        "every distance a finite number."
    )
    submission_example = "0,8,3,12\n5,0.41,1.27,0.88\n9,1.31,0.25,0.97\n"
    columns = (
        Column("mAP", "mAP", "Mean over the queries of the average precision of the gallery ranked by distance (the "
               "primary score)."),
        *(Column(f"rank{k}", f"Rank-{k}", f"Share of queries with a match among the {k} closest gallery images (CMC)."
                 ) for k in RANKS),
    )
    resampled = True
    layout = ReidLayout()

    def load_reference(self, folder: Path, info: Dict[str, Any]) -> ReidReference:
        labelled = has_labels(info)
        reference = ReidReference(_read_side(folder / QUERIES, labelled), _read_side(folder / GALLERY, labelled), labelled)
        shared = sorted(set(reference.queries.ids) & set(reference.gallery.ids))
        if shared:
            raise ReferenceDataError(f"{folder}: id {shared[0]} is both a query and a gallery image; an id names one image")
        reference.metric()  # every query has a match
        return reference

    def score(self, reference: ReidReference, submission: Submission) -> Result:
        name = submission.single(*SUFFIXES)
        with submission.open(name) as stream:
            distances = read_distance_matrix(stream, name, reference.queries.ids, reference.gallery.ids,
                                             self.max_submission_bytes)
        metric = reference.metric()
        metric.update(np.arange(len(reference.queries.ids)), distances)
        scores = metric.compute()
        queries = len(reference.queries.ids)
        return Result(
            scores={"mAP": scores.mean_ap, **{f"rank{k}": scores.cmc[k] for k in RANKS}},
            coverage=(queries, queries),
            counts={"queries": queries, "gallery_images": len(reference.gallery.ids)},
            sections=[self._per_query(reference, scores.average_precision, scores.first_match)],
            notes=["Every query counts. Tied distances: average precision takes a tie at once (as scikit-learn's "
                   "average_precision_score does); the ranks of CMC break ties by the gallery's order in the reference."],
            resampler=metric.resampler(),
        )

    @staticmethod
    def _per_query(reference: ReidReference, average_precision: np.ndarray, first_match: np.ndarray) -> Section:
        """One row per query, lowest average precision first."""
        queries = reference.queries
        order = sorted(range(len(queries.ids)), key=lambda q: (average_precision[q], queries.ids[q]))
        rows = [[queries.ids[q], int(queries.identities[q]), report.number(float(average_precision[q])),
                 int(first_match[q])] for q in order]
        header = ["Query id", "Identity", "Average precision", "Rank of the first match"]
        return Section("Per query, lowest average precision first", report.table(header, rows, numeric_from=2))

    def write_demo_reference(self, folder: Path, seed: int) -> None:
        rng = np.random.default_rng(seed)
        identities, frames = 12, 6
        ids = (rng.permutation(identities * frames) + 1).reshape(identities, frames).tolist()
        queries = Side([row[0] for row in ids], np.arange(identities), np.full(identities, QUERY_CAMERA))
        gallery_ids = [item for row in ids for item in row[1:]]
        gallery = Side(gallery_ids, np.repeat(np.arange(identities), frames - 1), np.full(len(gallery_ids), GALLERY_CAMERA))
        folder.mkdir(parents=True, exist_ok=True)
        (folder / REFERENCE_INFO).write_bytes(self.reference_info(demo=True))
        (folder / QUERIES).write_bytes(side_file(queries, True))
        (folder / GALLERY).write_bytes(side_file(gallery, True))

    def label_free_files(self, reference: ReidReference) -> Dict[str, bytes]:
        return {REFERENCE_INFO: self.reference_info(labels=False), QUERIES: side_file(reference.queries, False),
                GALLERY: side_file(reference.gallery, False)}

    def write_submission(self, predictions: Tuple[Sequence[int], Sequence[int], np.ndarray]) -> Dict[str, bytes]:
        query_ids, gallery_ids, distances = predictions
        distances = np.asarray(distances, dtype=np.float64)
        if distances.shape != (len(query_ids), len(gallery_ids)):
            raise ValueError(f"distances of shape {distances.shape} for {len(query_ids)} queries and "
                             f"{len(gallery_ids)} gallery images")
        buffer = io.BytesIO()
        np.savetxt(buffer, distances, fmt=DISTANCE_FORMAT, delimiter=",")
        header = ",".join(map(str, [0, *map(int, gallery_ids)]))
        rows = [f"{int(query)},{row}" for query, row in zip(query_ids, buffer.getvalue().decode().splitlines())]
        return {"distances.csv": "".join(f"{line}\n" for line in [header, *rows]).encode()}

    def sample_submission(self, reference: ReidReference, seed: int) -> Dict[str, bytes]:
        rng = np.random.default_rng(seed)
        distances = rng.random((len(reference.queries.ids), len(reference.gallery.ids)))
        return self.write_submission((reference.queries.ids, reference.gallery.ids, distances))

    def labelled_submission(self, reference: ReidReference, noise: float, seed: int) -> Dict[str, bytes]:
        """Distance 0 to the gallery images of the query's identity, 1 to the others; a share ``noise`` of the queries
        random rows instead."""
        distances = (reference.gallery.identities[None, :] != reference.queries.identities[:, None]).astype(np.float64)
        rows = sorted(replaced(len(reference.queries.ids), noise, random.Random(seed)))
        distances[rows] = np.random.default_rng(seed).random((len(rows), len(reference.gallery.ids)))
        return self.write_submission((reference.queries.ids, reference.gallery.ids, distances))

    def hidden_facts(self, reference: ReidReference) -> Identities:
        identities = reference.item_identities()
        facts = frozenset((str(item), str(identity)) for item, identity in identities.items())
        return Identities(facts, chance=1 / len(set(identities.values())))


CHALLENGE = Reidentification()
