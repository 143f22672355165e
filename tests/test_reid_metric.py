"""Re-identification scoring core: the distance-matrix reader and mAP/CMC, against scikit-learn and open-reid's rules."""

from __future__ import annotations

import gzip
import io
import time
import zipfile
from typing import Dict, Optional, Tuple

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.metrics import average_precision_score

from scoring.distance_matrix import read_distance_matrix
from scoring.errors import ReferenceDataError, SubmissionError
from scoring.limits import LIMITS
from scoring.metrics.reid import ReidMetric
from scoring.resampling import resample_counts
from scoring.submission import Submission
from tests.bench_reidentification import UNIT, case_2021, toolkit_csv

QUERY_IDS = [3, 11, 7]
GALLERY_IDS = [40, 41, 42, 43]
DISTANCES = np.array([[0.5, 1.25, 0.0, 3.0], [2.0, 0.75, 1.5, 0.25], [1.0, 1.0, 2.5, 0.125]])


# ---------- the metric against scikit-learn ----------

def reid_case(seed: int, queries: int, gallery: int, identities: int, levels: int,
              cameras: bool) -> Tuple[np.ndarray, ...]:
    """Labels with at least one valid match per query, optional cameras, and distances from few levels (many ties)."""
    rng = np.random.default_rng(seed)
    gallery_labels = rng.integers(0, identities, gallery)
    query_labels = rng.choice(gallery_labels, queries)
    gallery_cameras = rng.integers(0, 3, gallery) if cameras else None
    query_cameras = rng.integers(0, 3, queries) if cameras else None
    if cameras:  # each query is seen by another camera than one of its matches
        for q, label in enumerate(query_labels):
            query_cameras[q] = (gallery_cameras[rng.choice(np.flatnonzero(gallery_labels == label))] + 1) % 3
    distances = rng.integers(0, levels, (queries, gallery)) / 4
    return query_labels, gallery_labels, query_cameras, gallery_cameras, distances


def sklearn_scores(query_labels, gallery_labels, query_cameras, gallery_cameras, distances, ks=(1, 5, 10)):
    """Per-query AP by scikit-learn, and CMC by open-reid's market1501 loop with a stable sort."""
    aps, firsts = [], []
    for q, row in enumerate(distances):
        match = gallery_labels == query_labels[q]
        valid = np.ones_like(match) if query_cameras is None else ~(match & (gallery_cameras == query_cameras[q]))
        aps.append(average_precision_score(match[valid], -row[valid]))
        order = np.argsort(row[valid], kind="stable")
        firsts.append(int(np.flatnonzero(match[valid][order])[0]) + 1)
    firsts = np.array(firsts)
    return np.array(aps), {k: float(np.mean(firsts <= k)) for k in ks}, firsts


def scored(query_labels, gallery_labels, query_cameras, gallery_cameras, distances, blocks=1):
    metric = ReidMetric(query_labels, gallery_labels, query_cameras=query_cameras, gallery_cameras=gallery_cameras)
    order = np.random.default_rng(1).permutation(len(query_labels))  # queries arrive in any order, in blocks
    for part in np.array_split(order, blocks):
        metric.update(part, distances[part])
    return metric


@pytest.mark.parametrize("cameras", [False, True])
@pytest.mark.parametrize("levels", [2, 5, 10_000])
@pytest.mark.parametrize("seed", range(3))
def test_ap_per_query_equals_scikit_learn_with_ties_and_junk(seed, levels, cameras):
    case = reid_case(seed, queries=40, gallery=300, identities=25, levels=levels, cameras=cameras)
    scores = scored(*case, blocks=3).compute()
    aps, cmc, firsts = sklearn_scores(*case)
    np.testing.assert_allclose(scores.average_precision, aps, rtol=0, atol=1e-12)
    assert abs(scores.mean_ap - aps.mean()) < 1e-12
    assert scores.cmc == cmc
    np.testing.assert_array_equal(scores.first_match, firsts)
    assert scores.missing == 0


@given(st.integers(0, 2**32 - 1), st.integers(1, 12), st.integers(1, 60), st.integers(1, 8), st.integers(1, 6),
       st.booleans())
def test_generated_cases_equal_scikit_learn(seed, queries, gallery, identities, levels, cameras):
    case = reid_case(seed, queries, gallery, identities, levels, cameras)
    aps, cmc, _ = sklearn_scores(*case)
    scores = scored(*case).compute()
    np.testing.assert_allclose(scores.average_precision, aps, rtol=0, atol=1e-12)
    assert scores.cmc == cmc


def test_a_single_match_query_scores_one_over_its_rank_and_ties_share_it():
    metric = ReidMetric([1, 2], [9, 1, 8, 2, 7])
    metric.update(0, [0.1, 0.3, 0.2, 0.9, 0.4])  # the match is third: AP 1/3, first match at rank 3
    metric.update(1, [0.5, 0.5, 0.9, 0.5, 0.1])  # tied with two others at rank 2..4: AP 1/4, rank 4 by gallery order
    scores = metric.compute()
    np.testing.assert_allclose(scores.average_precision, [1 / 3, 1 / 4], rtol=0, atol=1e-15)
    assert scores.first_match.tolist() == [3, 4]
    assert scores.cmc == {1: 0.0, 5: 1.0, 10: 1.0}


def test_ties_are_broken_by_the_reference_gallery_order_not_the_submission_order():
    metric = ReidMetric([5], [5, 6, 5])
    metric.update(0, [1.0, 1.0, 1.0])  # all tied: the match at position 0 comes first
    assert metric.compute().first_match.tolist() == [1]
    metric = ReidMetric([5], [6, 5, 5])
    metric.update(0, [1.0, 1.0, 1.0])
    assert metric.compute().first_match.tolist() == [2]


def test_junk_is_left_out_and_a_query_without_a_valid_match_is_a_reference_error():
    metric = ReidMetric([1], [1, 2, 1], query_cameras=[0], gallery_cameras=[0, 1, 1])
    metric.update(0, [0.0, 0.5, 0.9])  # the same-camera match is junk: the other match is second
    assert metric.compute().first_match.tolist() == [2]
    with pytest.raises(ReferenceDataError, match="query 1 .* no match"):
        ReidMetric([1, 2], [1, 1, 3], query_cameras=[0, 0], gallery_cameras=[1, 1, 1])
    with pytest.raises(ReferenceDataError, match="no match in the gallery seen by another camera"):
        ReidMetric([1], [1, 2], query_cameras=[0], gallery_cameras=[0, 0])


@pytest.mark.parametrize("query_cameras, gallery_cameras, message", [
    ([0], [1, 1], r"gallery cameras and labels differ in number \(2 and 3\)"),
    ([0, 0], [1, 1, 1], r"query cameras and labels differ in number \(2 and 1\)"),
    ([0], [1, 1, 1, 1], r"gallery cameras and labels differ in number \(4 and 3\)"),
])
def test_cameras_not_one_per_label_are_a_reference_error(query_cameras, gallery_cameras, message):
    with pytest.raises(ReferenceDataError, match=message):
        ReidMetric([1], [1, 2, 1], query_cameras=query_cameras, gallery_cameras=gallery_cameras)


def test_a_query_never_updated_counts_as_zero():
    metric = ReidMetric([1, 2], [1, 2])
    metric.update(0, [0.0, 1.0])
    scores = metric.compute()
    assert (scores.mean_ap, scores.cmc[10], scores.missing) == (0.5, 0.5, 1)


def test_the_resampler_gives_map_on_all_ones_and_weights_queries_by_their_draws():
    case = reid_case(0, queries=30, gallery=200, identities=20, levels=7, cameras=False)
    metric = scored(*case)
    resampler, aps = metric.resampler(), metric.compute().average_precision
    assert abs(resampler.primary(np.ones(30, dtype=np.int64)) - metric.compute().mean_ap) < 1e-12
    counts = resample_counts(3, 0, 30)
    assert abs(resampler.primary(counts) - np.repeat(aps, counts).mean()) < 1e-12


# ---------- the reader ----------

def csv_text(query_ids=QUERY_IDS, gallery_ids=GALLERY_IDS, distances=DISTANCES) -> bytes:
    """The 2021 toolkit's write_mat_csv output."""
    out = io.BytesIO()
    np.savetxt(out, np.array([0, *gallery_ids]).reshape(1, -1), delimiter=",", fmt="%i")
    np.savetxt(out, np.hstack((np.array(query_ids)[:, None], distances)), newline="\n",
               fmt=["%i", *["%10.5f"] * distances.shape[1]], delimiter=",")
    return out.getvalue()


def npz_bytes(compressed: bool = False, **arrays: np.ndarray) -> bytes:
    out = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(out, **arrays)
    return out.getvalue()


def read(data: bytes, name: str = "distances.csv", max_bytes: int = LIMITS.max_bytes) -> np.ndarray:
    return read_distance_matrix(io.BytesIO(data), name, QUERY_IDS, GALLERY_IDS, max_bytes)


def shuffled() -> Tuple[list, list, np.ndarray]:
    rows, columns = [2, 0, 1], [3, 1, 0, 2]
    return [QUERY_IDS[i] for i in rows], [GALLERY_IDS[j] for j in columns], DISTANCES[np.ix_(rows, columns)]


def test_the_toolkit_csv_with_shuffled_ids_reads_in_reference_order():
    np.testing.assert_array_equal(read(csv_text(*shuffled())), DISTANCES)


@pytest.mark.parametrize("form", ["csv.gz", "npz", "npz compressed", "npz string ids", "float32"])
def test_gzip_and_npz_read_alike(form):
    queries, gallery, distances = shuffled()
    if form == "csv.gz":
        data, name = gzip.compress(csv_text(queries, gallery, distances), mtime=0), "d.csv.gz"
    else:
        ids = (np.array(queries).astype(str), np.array(gallery).astype(str)) if "string" in form else (queries, gallery)
        values = distances.astype(np.float32) if form == "float32" else distances
        data, name = npz_bytes("compressed" in form, query_ids=ids[0], gallery_ids=ids[1], distances=values), "d.npz"
    np.testing.assert_array_equal(read(data, name), DISTANCES)


def test_bom_crlf_blank_lines_and_leading_zeros_are_tolerated():
    text = csv_text().replace(b"\n", b"\r\n").replace(b",40,", b",040,")
    np.testing.assert_array_equal(read(b"\xef\xbb\xbf" + text + b"\r\n\r\n"), DISTANCES)


def test_a_distance_matrix_reads_from_a_zipped_submission(tmp_path):
    path = tmp_path / "sub.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("team/distances.csv.gz", gzip.compress(csv_text(), mtime=0))
    with Submission(path, LIMITS.max_bytes) as submission, submission.open("distances.csv.gz") as stream:
        np.testing.assert_array_equal(read_distance_matrix(stream, "distances.csv.gz", QUERY_IDS, GALLERY_IDS), DISTANCES)


def edit(line: int, old: bytes, new: bytes) -> bytes:
    lines = csv_text().split(b"\n")
    assert old in lines[line - 1]
    lines[line - 1] = lines[line - 1].replace(old, new, 1)
    return b"\n".join(lines)


CSV_ERRORS: Dict[str, Tuple[bytes, str]] = {
    "empty": (b"\n \n", "distances.csv: empty; expected a header row"),
    "unknown gallery id": (edit(1, b",41", b",99"), "line 1, column 3: gallery id 99 is not in the reference"),
    "duplicate gallery id": (edit(1, b",41", b",40"),
                             "line 1, column 3: gallery id 40 appears again (first at distances.csv, line 1, column 2)"),
    "missing gallery id": (csv_text(QUERY_IDS, GALLERY_IDS[:3], DISTANCES[:, :3]), "line 1: no column for gallery id 43"),
    "gallery id not a number": (edit(1, b",41", b",g41"), "line 1, column 3: gallery id 'g41' is not a whole number"),
    "unknown query id": (edit(3, b"11,", b"12,"), "line 3, column 1: query id 12 is not in the reference"),
    "duplicate query id": (edit(3, b"11,", b"3,"), "line 3, column 1: query id 3 appears again (first at distances.csv, "
                                                   "line 2, column 1)"),
    "missing query": (csv_text(QUERY_IDS[:2], GALLERY_IDS, DISTANCES[:2]), "distances.csv: no row for query id 7"),
    "ragged row": (edit(4, b",   0.12500", b""), "line 4: 4 cells, expected 5 as in the header"),
    "not a number": (edit(3, b"0.75000", b"0.7x"), "line 3, column 3: distance '0.7x' is not a number"),
    "two dots": (edit(3, b"0.75000", b"0.7.5"), "line 3, column 3: distance '0.7.5' is not a number"),
    "empty cell": (edit(3, b"   0.75000", b""), "line 3, column 3: distance '' is not a number"),
    "NaN": (edit(4, b"   2.50000", b"nan"), "line 4, column 4: distance 'nan' is NaN; every distance must be a finite"),
    "infinite": (edit(2, b"   3.00000", b"-inf"), "line 2, column 5: distance '-inf' is infinite"),
    "overflow": (edit(2, b"   0.50000", b"1e999"), "line 2, column 2: distance '1e999' is infinite"),
    "underscore": (edit(2, b"   1.25000", b"1_25"), "line 2, column 3: distance '1_25' is not a decimal number"),
    "vertical tab": (edit(2, b"   1.25000", b"1.25\x0b"), r"line 2, column 3: distance '1.25\x0b' is not a decimal"),
}


@pytest.mark.parametrize("case", list(CSV_ERRORS))
def test_each_csv_error_names_its_line_and_column(case):
    data, message = CSV_ERRORS[case]
    with pytest.raises(SubmissionError) as error:
        read(data)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_a_form_feed_before_a_query_id_is_tolerated_like_a_space():
    text = b"0,1,2\n\x0c7,1.0,2.0\n"
    np.testing.assert_array_equal(read_distance_matrix(io.BytesIO(text), "d.csv", [7], [1, 2]), [[1.0, 2.0]])


@pytest.mark.parametrize("name", ["d.npz.gz", "d.gz", "d.txt", "d"])
def test_a_file_named_neither_csv_csv_gz_nor_npz_is_refused_by_its_name(name):
    with pytest.raises(SubmissionError) as error:
        read(gzip.compress(csv_text(), mtime=0), name)
    assert str(error.value) == f"{name}: not a distance matrix; name it with one of .csv, .csv.gz, .npz"


def test_a_line_over_the_limit_and_a_gzip_over_the_byte_limit_are_refused():
    long = csv_text().replace(b"0,40", b"0" + b" " * (LIMITS.max_line_chars + 5) + b",40", 1)
    with pytest.raises(SubmissionError, match="line 1: longer than the limit of 1048576 characters"):
        read(long)
    with pytest.raises(SubmissionError, match="more than the limit of 100 bytes once uncompressed"):
        read(gzip.compress(csv_text() * 3), "d.csv.gz", max_bytes=100)
    with pytest.raises(SubmissionError, match="d.csv.gz: not a readable gzip file"):
        read(gzip.compress(csv_text())[:-20], "d.csv.gz")


def npz_with(**changes: Optional[np.ndarray]) -> bytes:
    arrays = {"query_ids": np.array(QUERY_IDS), "gallery_ids": np.array(GALLERY_IDS), "distances": DISTANCES}
    arrays.update(changes)
    return npz_bytes(**{key: value for key, value in arrays.items() if value is not None})


NPZ_ERRORS: Dict[str, Tuple[bytes, str]] = {
    "not a zip": (b"not an npz", "d.npz: not a readable .npz file"),
    "absent array": (npz_with(distances=None, dist=DISTANCES), "d.npz: no array 'distances' (it holds 'dist', "),
    "unknown id": (npz_with(gallery_ids=np.array([40, 41, 42, 44])), "d.npz: gallery_ids[3]: gallery id 44 is not in"),
    "duplicate id": (npz_with(query_ids=np.array([3, 3, 7])), "d.npz: query_ids[1]: query id 3 appears again"),
    "missing id": (npz_with(query_ids=np.array([3, 7]), distances=DISTANCES[:2]),
                   "d.npz: no entry of query_ids for query id 11"),
    "float ids": (npz_with(query_ids=np.array(QUERY_IDS, dtype=float)), "d.npz: query_ids holds float64 values; save "
                                                                        "it as one-dimensional integers"),
    "text id": (npz_with(query_ids=np.array(["3", "x", "7"])), "d.npz: query_ids[1]: id 'x' is not a whole number"),
    "wrong shape": (npz_with(distances=DISTANCES.T), "d.npz: distances has shape (4, 3); expected 3 x 4"),
    "object array": (npz_with(distances=np.array([[None] * 4] * 3)), "d.npz: distances holds object values"),
    "NaN": (npz_with(distances=np.where(DISTANCES == 1.5, np.nan, DISTANCES)),
            "d.npz: distances[1, 2] is NaN; every distance must be a finite number"),
    "infinite": (npz_with(distances=np.where(DISTANCES == 3.0, np.inf, DISTANCES)), "d.npz: distances[0, 3] is infinite"),
}


@pytest.mark.parametrize("case", list(NPZ_ERRORS))
def test_each_npz_error_names_its_array_and_index(case):
    data, message = NPZ_ERRORS[case]
    with pytest.raises(SubmissionError) as error:
        read(data, "d.npz")
    assert message in str(error.value) and "\n" not in str(error.value)


def test_an_npz_whose_header_claims_a_huge_array_is_refused_before_reading_it():
    member = io.BytesIO()
    np.lib.format.write_array_header_1_0(member, {"descr": "<f8", "fortran_order": False, "shape": (10**6, 10**6)})
    archive = io.BytesIO(npz_with(distances=None))
    with zipfile.ZipFile(archive, "a") as npz:
        npz.writestr("distances.npy", member.getvalue() + bytes(96))
    with pytest.raises(SubmissionError, match=r"distances has shape \(1000000, 1000000\); expected 3 x 4"):
        read(archive.getvalue(), "d.npz")
    with pytest.raises(SubmissionError, match="d.npz: query_ids: more than the limit of 8 bytes"):
        read(npz_with(), "d.npz", max_bytes=8)


@given(st.sampled_from(["d.csv", "d.csv.gz", "d.npz", "d.npz compressed"]),
       st.lists(st.tuples(st.integers(0, 2000), st.integers(0, 255)), max_size=4), st.integers(0, 64))
def test_a_mutated_or_truncated_file_reads_or_fails_with_one_clear_error(form, changes, cut):
    name = form.split()[0]
    valid = {"d.csv": csv_text(), "d.csv.gz": gzip.compress(csv_text(), mtime=0), "d.npz": npz_with(),
             "d.npz compressed": npz_bytes(True, query_ids=np.array(QUERY_IDS), gallery_ids=np.array(GALLERY_IDS),
                                           distances=DISTANCES)}[form]
    data = bytearray(valid)
    for at, value in changes:
        data[at % len(data)] = value
    try:
        distances = read(bytes(data[: len(data) - cut]), name)
    except SubmissionError as error:
        assert "\n" not in str(error) and str(error).startswith(name)
    else:
        assert distances.shape == (3, 4) and np.isfinite(distances).all()


def test_the_bench_writes_exactly_what_the_toolkit_writes():
    units = np.random.default_rng(0).integers(0, 10 * UNIT, (3, 4))
    query_ids, gallery_ids = np.array([5, 17, 2]), np.array([9, 1000, 3, 44])
    assert toolkit_csv(query_ids, gallery_ids, units) == csv_text(query_ids, gallery_ids, units / UNIT)


def test_the_2021_test_size_reads_and_scores_in_seconds():
    """468 queries x 8 703 gallery items, as the 2021 toolkit writes them (about 45 MB of CSV); memory: make bench."""
    query_ids, gallery_ids, query_labels, gallery_labels, units = case_2021(0)
    text = toolkit_csv(query_ids, gallery_ids, units)
    start = time.perf_counter()
    distances = read_distance_matrix(io.BytesIO(text), "d.csv", query_ids.tolist(), gallery_ids.tolist())
    metric = ReidMetric(query_labels, gallery_labels)
    metric.update(np.arange(len(query_ids)), distances)
    scores = metric.compute()
    seconds = time.perf_counter() - start
    np.testing.assert_array_equal(distances, units / UNIT)
    assert 0 < scores.mean_ap < 1
    assert seconds < 60, seconds  # about 2 s on one idle core; generous for a loaded machine
