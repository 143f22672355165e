"""The re-identification challenge end to end: its scorer, its data builder, its leak facts and its baseline."""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np
import pytest
import torch
from sklearn.metrics import average_precision_score

from baselines.cli import main as baselines_main
from baselines.reidentification import BASELINE, batch_hard_triplet
from bundler.bundles.build import build
from bundler.bundles.check import check_bundle
from bundler.bundles.fingerprints import PublicView, chance_level
from bundler.bundles.order import order_leak
from bundler.config.competition import load_competition
from bundler.data.engine import DataError
from scoring.challenge import load_reference
from scoring.challenges.reidentification import CHALLENGE, GALLERY, QUERIES, Identities
from scoring.facts import HiddenFacts
from tests.fake_datasets import make
from tests.helpers import assert_rejected, score, scores_of, write_zip
from tests.test_leak_guard import planted, zipped

LAYOUT = CHALLENGE.layout


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """``bundler data reidentification`` on the builder's example source."""
    return make("reidentification", tmp_path_factory.mktemp("reid"))[1]


@pytest.fixture
def demo(tmp_path) -> Path:
    CHALLENGE.write_demo_reference(tmp_path / "reference", seed=3)
    return tmp_path / "reference"


def submitted(tmp_path: Path, files: Dict[str, bytes], name: str = "submission.zip") -> Path:
    return write_zip(tmp_path / name, files)


def rows_of(data: bytes) -> List[List[str]]:
    return list(csv.reader(io.StringIO(data.decode())))


# ---------- the scorer ----------

def test_a_valid_csv_gzip_or_npz_scores_as_scikit_learn_whatever_the_order_of_rows_and_columns(tmp_path, demo):
    _, reference = load_reference(demo)
    queries, gallery = reference.queries, reference.gallery
    rng = np.random.default_rng(0)
    distances = rng.integers(0, 4, (len(queries.ids), len(gallery.ids))) / 4  # few levels: many ties
    rows, columns = rng.permutation(len(queries.ids)), rng.permutation(len(gallery.ids))
    csv_files = CHALLENGE.write_submission(([queries.ids[r] for r in rows], [gallery.ids[c] for c in columns],
                                            distances[np.ix_(rows, columns)]))
    buffer = io.BytesIO()
    np.savez(buffer, query_ids=np.array(queries.ids), gallery_ids=np.array(gallery.ids).astype(str), distances=distances)
    forms = {"csv": csv_files, "gz": {"distances.csv.gz": gzip.compress(csv_files["distances.csv"])},
             "npz": {"distances.npz": buffer.getvalue()}}
    match = gallery.identities[None, :] == queries.identities[:, None]
    expected = np.mean([average_precision_score(m, -d) for m, d in zip(match, distances)])
    first = np.array([np.flatnonzero(m[np.argsort(d, kind="stable")])[0] for m, d in zip(match, distances)])
    for form, files in forms.items():
        scores = scores_of(tmp_path / form, demo, submitted(tmp_path, files, f"{form}.zip"))
        assert abs(scores["mAP"] - expected) < 1e-12, form
        for k in (1, 5, 10):
            assert abs(scores[f"rank{k}"] - np.mean(first < k)) < 1e-12, (form, k)


def test_the_perfect_submission_scores_one_and_noise_lowers_it(tmp_path, demo):
    _, reference = load_reference(demo)
    perfect = scores_of(tmp_path / "p", demo, submitted(tmp_path, CHALLENGE.labelled_submission(reference, 0, 1), "p.zip"))
    noisy = scores_of(tmp_path / "n", demo, submitted(tmp_path, CHALLENGE.labelled_submission(reference, 0.5, 1), "n.zip"))
    assert [perfect[column.key] for column in CHALLENGE.columns] == [1.0] * 4
    assert noisy["mAP"] < 0.9


def test_write_submission_writes_the_toolkit_csv_rows_the_queries_and_columns_the_gallery():
    files = CHALLENGE.write_submission(([5, 2], [9, 7, 8], np.array([[0.5, 1.0, 1e-7], [2.0, 0.25, 3.0]])))
    assert rows_of(files["distances.csv"]) == [["0", "9", "7", "8"], ["5", "0.5", "1", "1e-07"], ["2", "2", "0.25", "3"]]
    with pytest.raises(ValueError, match=r"distances of shape \(2, 2\) for 2 queries and 3 gallery images"):
        CHALLENGE.write_submission(([5, 2], [9, 7, 8], np.zeros((2, 2))))


def csv_submission(reference_ids, edit) -> Dict[str, bytes]:
    """The toolkit CSV of zero distances, its rows (lists of cells) changed by ``edit``."""
    queries, gallery = reference_ids
    rows = [["0", *map(str, gallery)]] + [[str(q), *["0.5"] * len(gallery)] for q in queries]
    edit(rows)
    return {"distances.csv": "".join(",".join(row) + "\n" for row in rows).encode()}


def _set(row: int, column: int, value: str):
    def edit(rows: List[List[str]]) -> None:
        rows[row][column] = value
    return edit


@pytest.mark.parametrize("edit, fragments", [
    (lambda rows: rows.pop(2), ["no row for query id"]),
    (lambda rows: rows.append(list(rows[1])), ["line 14, column 1", "appears again (first at distances.csv, line 2"]),
    (_set(0, 3, "99999"), ["line 1, column 4", "gallery id 99999 is not in the reference"]),
    (_set(1, 0, "99999"), ["line 2, column 1", "query id 99999 is not in the reference"]),
    (_set(3, 5, "nan"), ["line 4, column 6", "NaN"]),
    (_set(3, 5, "inf"), ["line 4, column 6", "infinite"]),
    (_set(4, 2, "close"), ["line 5, column 3", "'close' is not a number"]),
    (lambda rows: rows[5].pop(), ["line 6", "60 cells, expected 61"]),
])
def test_each_bad_distance_matrix_is_one_error_line_naming_its_row_and_column(tmp_path, demo, edit, fragments):
    _, reference = load_reference(demo)
    files = csv_submission((reference.queries.ids, reference.gallery.ids), edit)
    run = score("--reference", demo, submitted(tmp_path, files), "--output", tmp_path / "out")
    assert_rejected(run, tmp_path / "out", *fragments)


def test_an_npz_of_the_wrong_shape_or_a_pickle_is_refused_in_one_line(tmp_path, demo):
    _, reference = load_reference(demo)
    buffer = io.BytesIO()
    np.savez(buffer, query_ids=np.array(reference.queries.ids), gallery_ids=np.array(reference.gallery.ids),
             distances=np.zeros((2, 3)))
    run = score("--reference", demo, submitted(tmp_path, {"d.npz": buffer.getvalue()}), "--output", tmp_path / "out")
    assert_rejected(run, tmp_path / "out", "distances has shape (2, 3)")
    buffer = io.BytesIO()
    np.savez(buffer, query_ids=np.array(reference.queries.ids, dtype=object), gallery_ids=np.array(reference.gallery.ids),
             distances=np.zeros((len(reference.queries.ids), len(reference.gallery.ids))))
    run = score("--reference", demo, submitted(tmp_path, {"d.npz": buffer.getvalue()}, "p.zip"), "--output", tmp_path / "o")
    assert_rejected(run, tmp_path / "o", "query_ids holds object values")


def test_the_label_free_view_lists_only_ids_and_checks_a_submission_as_the_labelled_one(tmp_path, demo):
    _, reference = load_reference(demo)
    files = CHALLENGE.label_free_files(reference)
    hidden = CHALLENGE.hidden_facts(reference)
    for name in (QUERIES, GALLERY):
        assert rows_of(files[name])[0] == ["id"] and all(len(row) == 1 for row in rows_of(files[name]))
        assert not hidden.found_in(PublicView(name, files[name])).facts
    assert json.loads(files["reference.json"]) == {"task": "reidentification", "labels": False}
    label_free = tmp_path / "label_free"
    label_free.mkdir()
    for name, data in files.items():
        (label_free / name).write_bytes(data)
    sample = submitted(tmp_path, CHALLENGE.sample_submission(load_reference(label_free)[1], 1))
    valid = score("--reference", label_free, sample)
    assert valid.code == 0 and "no score" in valid.out + valid.err
    bad = submitted(tmp_path, csv_submission((reference.queries.ids, reference.gallery.ids), _set(2, 2, "nan")), "b.zip")
    assert_rejected(score("--reference", label_free, bad), None, "line 3, column 3", "NaN")


def test_a_reference_whose_query_has_no_match_or_whose_id_is_on_both_sides_is_refused(tmp_path, demo):
    text = (demo / GALLERY).read_text().splitlines()
    first_query = (demo / QUERIES).read_text().splitlines()[1].split(",")
    kept = [line for line in text if line.split(",")[1] != first_query[1]]
    (demo / GALLERY).write_text("\n".join(kept) + "\n")
    run = score("--reference", demo, submitted(tmp_path, {"distances.csv": b"0\n"}))
    assert run.code != 0 and "has no match in the gallery" in run.err
    (demo / GALLERY).write_text("\n".join(text + [f"{first_query[0]},{first_query[1]},1"]) + "\n")
    run = score("--reference", demo, submitted(tmp_path, {"distances.csv": b"0\n"}, "b.zip"))
    assert run.code != 0 and f"id {first_query[0]} is both a query and a gallery image" in run.err


def test_the_detailed_results_list_every_query_lowest_average_precision_first(tmp_path, demo):
    _, reference = load_reference(demo)
    scores_of(tmp_path, demo, submitted(tmp_path, CHALLENGE.labelled_submission(reference, 0.5, 2)))
    page = (tmp_path / "out" / "detailed_results.html").read_text()
    assert "Per query, lowest average precision first" in page
    assert page.count("<tr>") - page.count("<thead><tr>") >= len(reference.queries.ids)


# ---------- the data builder ----------

def test_the_build_renames_val_and_test_images_to_ids_that_reveal_no_identity(built):
    public = built / "public"
    _, test = load_reference(built / "reference" / "test")
    for side, folder, ids in (("query", LAYOUT.query_folder("test"), test.queries.ids),
                              ("gallery", LAYOUT.gallery_folder("test"), test.gallery.ids)):
        names = sorted(path.name for path in (public / folder).iterdir())
        assert names == sorted(LAYOUT.image_name(item) for item in ids), side
    test_names = [str(p.relative_to(public)) for p in public.rglob("*") if p.is_file() and "test" in p.parts]
    assert test_names and not any(re.search(r"\d+_\d+_\d+", name) for name in test_names)
    hidden = CHALLENGE.hidden_facts(test)
    assert order_leak(hidden.item_labels()) is None
    assert set(test.queries.identities.tolist()) <= set(test.gallery.identities.tolist())


def test_the_build_publishes_train_identities_and_the_val_reference_and_keeps_the_test_mapping_private(built):
    public = built / "public"
    train = [LAYOUT.train_identity(path.name) for path in (public / LAYOUT.input_folder("train")).iterdir()]
    assert train and None not in train
    val_public = public / LAYOUT.reference_folder("val")
    assert (val_public / QUERIES).read_bytes() == (built / "reference" / "val" / QUERIES).read_bytes()
    assert json.loads((public / LAYOUT.reference_folder("test") / "reference.json").read_text())["labels"] is False
    mapping = rows_of((built / "private" / "test_mapping.csv").read_bytes())
    _, test = load_reference(built / "reference" / "test")
    assert len(mapping) - 1 == len(test.queries.ids) + len(test.gallery.ids)
    assert {int(row[0]) for row in mapping[1:]} == set(test.queries.ids) | set(test.gallery.ids)
    assert not any("private" in p.parts for p in public.rglob("*"))


def test_the_build_refuses_the_participants_archive_whose_test_images_have_no_identity(tmp_path):
    source, _ = make("reidentification", tmp_path)
    anonymous = source / "reid_test" / "gallery"
    first = sorted(anonymous.iterdir())[0]
    first.rename(anonymous / "0.jpeg")
    with pytest.raises(DataError) as raised:
        make("reidentification", tmp_path, out="again")
    assert "0.jpeg: not named <pid>_<seq>_<frame>.jpeg" in str(raised.value)


# ---------- the leak guard ----------

def test_the_test_identities_are_found_in_any_public_copy_and_not_in_honest_public_files(built):
    _, test = load_reference(built / "reference" / "test")
    hidden = CHALLENGE.hidden_facts(test)
    assert isinstance(hidden, Identities) and hidden.chance == 1 / len(set(test.gallery.identities.tolist()))
    for name, data in restatements(built / "reference" / "test", hidden):
        found = hidden.found_in(PublicView(name, data))
        assert len(found.facts) >= len(test.gallery.ids), name
    honest = [p for p in (built / "public").rglob("*") if p.is_file() and p.suffix != ".jpeg"]
    for path in honest:
        found = hidden.found_in(PublicView(path.name, path.read_bytes()))
        assert len(found.facts) <= chance_level(found.guesses, hidden.chance)[1], path


def test_a_bundle_from_the_build_passes_check_and_a_planted_copy_of_the_test_identities_does_not(built, tmp_path):
    bundle = build(load_competition("reidentification"), tmp_path / "bundle.zip", data=built).path
    assert check_bundle(bundle) == []
    truth = (built / "reference" / "test" / QUERIES).read_bytes() + (built / "reference" / "test" / GALLERY).read_bytes()
    problems = check_bundle(planted(bundle, tmp_path / "leak.zip", "public data", "extra/players.csv", truth))
    assert any("extra/players.csv" in p and "hidden (image, identity) labels" in p for p in problems), problems
    _, test = load_reference(built / "reference" / "test")
    answers = zipped(CHALLENGE.labelled_submission(test, 0, 1))
    problems = check_bundle(planted(bundle, tmp_path / "answers.zip", "kit", "answers.zip", answers))
    assert any("answers.zip" in p and "far above random" in p for p in problems), problems


# ---------- the baseline ----------

def test_the_triplet_term_is_zero_when_every_anchor_is_far_closer_to_its_positive_or_has_none():
    embeddings = torch.tensor([[1.0, 0.0], [0.99, 0.01], [0.0, 1.0], [0.01, 0.99]])
    assert float(batch_hard_triplet(embeddings, torch.tensor([0, 0, 1, 1]))) == 0.0
    assert float(batch_hard_triplet(embeddings, torch.tensor([0, 1, 0, 1]))) > 0.0
    assert float(batch_hard_triplet(embeddings, torch.tensor([0, 1, 2, 3]))) == 0.0  # no anchor has a positive


def test_a_tiny_baseline_run_learns_and_writes_val_and_test_submissions_the_scorer_accepts(built, tmp_path):
    data, run = built / "public", tmp_path / "run"
    common = ["--data", str(data), "--device", "cpu", "--workers", "0"]
    assert baselines_main(["train", "reidentification", *common, "--out", str(run), "--epochs", "3",
                           *BASELINE.smoke_arguments]) == 0
    losses = [float(row["train_loss"]) for row in csv.DictReader((run / "log.csv").open())]
    assert losses[-1] < 0.8 * losses[0], losses
    for split in ("val", "test"):
        output = tmp_path / f"{split}.zip"
        assert baselines_main(["predict", "reidentification", *common, "--run", str(run), "--split", split,
                               "--output", str(output)]) == 0
        run_score = score("--reference", built / "reference" / split, output, "--output", tmp_path / f"{split}-out")
        assert run_score.code == 0, run_score.err


# ---------- for the shared tests (tests/challenge_fixtures.py) ----------

def restatements(reference_folder: Path, hidden: HiddenFacts) -> List[Tuple[str, bytes]]:
    """The hidden identities copied: the reference's gallery.csv, a JSON object of id -> identity, and sentences."""
    pairs = sorted(hidden.facts, key=lambda fact: int(fact[0]))
    return [("gallery.csv", (reference_folder / GALLERY).read_bytes()),
            ("truth.json", json.dumps({item: int(identity) for item, identity in pairs}).encode()),
            ("notes.txt", "".join(f"image {item} shows player {identity}\n" for item, identity in pairs).encode())]
