"""Whatever a participant sends, score.py ends in exit 0, or exit 1 with one ``error:`` line: never a bug.

Property-based: Hypothesis generates and mutates inputs for every reader (the zip layer and any file, for
every challenge; the CSV, TXT, JSON and PNG readers) and for the organiser's reference files of every
challenge, against each challenge's demo reference. ``make test`` runs a bounded
budget (the ``ci`` profile); ``make fuzz`` runs the ``fuzz`` profile, many times longer.
"""

from __future__ import annotations

import gzip
import io
import json
import tempfile
import zipfile
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from PIL import Image

from scoring.challenge import REFERENCE_INFO, challenges, load_reference
from scoring.challenges.segmentation import demo_scene
from scoring.limits import LIMITS
from tests.challenge_fixtures import challenge_fixture
from tests.helpers import Run, score

TASKS = sorted(challenges())
HOSTILE_NAMES = ["../evil.csv", "/abs/p.csv", "C:\\p.csv", "a\\..\\..\\b.csv", "dir/", "__MACOSX/p.csv", ".hidden.csv",
                 "line\nbreak.csv", "<script>alert(1)</script>.csv", "ünï cödé.csv", "p.csv", "team/p.csv", "p.CSV"]


def clean_outcome(run: Run, allowed: Tuple[int, ...] = (0, 1)) -> None:
    """The promise: an allowed exit code, no traceback, no internal error, one 'error:' line on failure."""
    assert run.code in allowed, (run.code, run.err)
    assert "Traceback" not in run.err + run.out and "internal error" not in run.err, run.err
    if run.code != 0:
        lines = run.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), run.err


def png(array: np.ndarray, mode: str = "") -> bytes:
    buffer = io.BytesIO()
    image = Image.fromarray(array)
    (image.convert(mode) if mode else image).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def references(tmp_path_factory) -> Dict[str, Path]:
    """Each challenge's demo reference, by task."""
    root = tmp_path_factory.mktemp("references")
    for task in TASKS:
        challenges()[task].write_demo_reference(root / task, 0)
    return {task: root / task for task in TASKS}


@pytest.fixture(scope="module")
def file_names(references) -> Dict[str, Dict[str, List[str]]]:
    """Per task, the names of its files: "labelled" and "label-free" reference files, and "submission" files."""
    names = {}
    for task, folder in references.items():
        challenge, reference = load_reference(folder)
        names[task] = {"labelled": sorted(p.name for p in folder.iterdir() if p.name != REFERENCE_INFO),
                       "label-free": sorted(set(challenge.label_free_files(reference)) - {REFERENCE_INFO}),
                       "submission": sorted(challenge.sample_submission(reference, 0))}
    return names


@pytest.fixture(scope="module")
def segmentation_image(references) -> Tuple[str, int, int, Dict[str, bytes]]:
    """The name, width and height of the first image of the segmentation reference, and a sample submission's files
    (the first one to be replaced: each test image needs a PNG before any is read)."""
    challenge, reference = load_reference(references["segmentation"])
    return (reference.names[0], *reference.size(reference.names[0]), challenge.sample_submission(reference, 0))


def submit(reference: Path, data: bytes, name: str = "submission.zip") -> Run:
    """Score ``data`` (a zip or a single prediction file) against ``reference`` in a fresh folder."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        return score("--reference", reference, path, "--output", Path(folder) / "out")


def zipped(files: Dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


@st.composite
def mutated(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` truncated, with bytes overwritten, or with a slice repeated."""
    kind = draw(st.sampled_from(["truncate", "overwrite", "repeat", "none"]))
    if kind == "truncate" and data:
        return data[: draw(st.integers(0, len(data) - 1))]
    if kind == "overwrite" and data:
        out = bytearray(data)
        for position, value in draw(st.lists(st.tuples(st.integers(0, len(data) - 1), st.integers(0, 255)), max_size=8)):
            out[position] = value
        return bytes(out)
    if kind == "repeat" and data:
        start = draw(st.integers(0, len(data) - 1))
        return data[:start] + data[start:] * draw(st.integers(2, 4))
    return data


# --- the zip layer -------------------------------------------------------------------------------

NAME_TEXT = st.text(st.characters(exclude_characters="\x00", exclude_categories=["Cs"]), min_size=1, max_size=20)
MEMBERS = st.dictionaries(st.sampled_from(HOSTILE_NAMES) | NAME_TEXT,
                          st.binary(max_size=200) | st.just(b"Image IDs,Predictions\nimg_0.JPEG,1\n"), max_size=5)


@given(task=st.sampled_from(TASKS), data=st.data(), files=MEMBERS)
def test_any_zip_mutated_or_not_gives_a_score_or_one_error_line_in_every_challenge(references, task, data, files):
    archive = data.draw(mutated(zipped(files)))
    clean_outcome(submit(references[task], archive))


@given(task=st.sampled_from(TASKS), data=st.data(), content=st.binary(max_size=400))
def test_any_bytes_as_a_submission_file_give_a_score_or_one_error_line_in_every_challenge(references, file_names, task,
                                                                                           data, content):
    name = data.draw(st.sampled_from(file_names[task]["submission"]))
    clean_outcome(submit(references[task], zipped({name: content})))
    clean_outcome(submit(references[task], content, name))


@given(flag=st.sampled_from([0x1, 0x0]), method=st.sampled_from([0, 8, 12, 14, 99, 6]))
def test_encrypted_members_and_unknown_compression_methods_are_refused_by_name(references, flag, method):
    raw = bytearray(zipped({"p.csv": b"Image IDs,Predictions\nimg_0.JPEG,1\n"}))
    for signature, flag_at, method_at in ((b"PK\x03\x04", 6, 8), (b"PK\x01\x02", 8, 10)):
        at = raw.find(signature)
        raw[at + flag_at] |= flag
        raw[at + method_at: at + method_at + 2] = method.to_bytes(2, "little")
    run = submit(references["classification"], bytes(raw))
    clean_outcome(run)
    if flag:
        assert "encrypted" in run.err
    elif method not in (0, 8, 12, 14):
        assert "compression method" in run.err


def test_a_zip_with_more_files_than_the_limit_is_refused_naming_it(references, monkeypatch):
    monkeypatch.setattr("scoring.submission.LIMITS", LIMITS.__class__(max_files=3))
    run = submit(references["classification"], zipped({f"f{i}.txt": b"x" for i in range(4)}))
    clean_outcome(run)
    assert "4 files, more than the limit of 3" in run.err


def test_a_member_name_twice_in_the_zip_is_refused(references):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive, pytest.warns(UserWarning, match="Duplicate name"):
        for _ in range(2):
            archive.writestr("p.csv", "Image IDs,Predictions\n")
    run = submit(references["classification"], buffer.getvalue())
    clean_outcome(run)
    assert "'p.csv' is in the zip twice" in run.err


# --- the CSV and TXT readers ---------------------------------------------------------------------

CELLS = st.sampled_from(["img_0.JPEG", "img_5.JPEG", "img_9.JPEG", "0", "2", "-1", "1_0", "٣", "1.0", "", " ", '"', "\x00",
                         "9" * 30, "Image IDs", "Predictions"]) | st.text(max_size=8)
LINES = st.lists(st.lists(CELLS, max_size=4), max_size=12)
ENCODINGS = st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "latin-1", "cp1252"])


def encoded(text: str, encoding: str) -> bytes:
    return text.encode(encoding, errors="replace")


@given(rows=LINES, separator=st.sampled_from([",", ";", "\t"]), newline=st.sampled_from(["\n", "\r\n", "\r"]),
       encoding=ENCODINGS, header=st.booleans())
def test_any_csv_gives_a_score_or_one_error_line(references, rows, separator, newline, encoding, header):
    lines = (["Image IDs,Predictions"] if header else []) + [separator.join(row) for row in rows]
    data = encoded(newline.join(lines), encoding)
    clean_outcome(submit(references["classification"], zipped({"p.csv": data})))


@given(rows=LINES, encoding=ENCODINGS)
def test_any_txt_gives_a_score_or_one_error_line(references, rows, encoding):
    lines = [" ".join([f"video_test_{1 + i % 7:07d}.avi", *row]) for i, row in enumerate(rows)]
    clean_outcome(submit(references["action"], zipped({"p.txt": encoded("\n".join(lines), encoding)})))


def test_a_line_longer_than_the_limit_is_refused_naming_the_line(references, monkeypatch):
    monkeypatch.setattr("scoring.ranked_lists.LIMITS", LIMITS.__class__(max_line_chars=50))
    run = submit(references["action"], b"video_test_0000001.avi 1\n" + b"9" * 80 + b"\n", "p.txt")
    clean_outcome(run)
    assert "p.txt, line 2: longer than the limit of 50 characters" in run.err


# --- the JSON reader -----------------------------------------------------------------------------

NUMBERS = (st.integers(min_value=-(2 ** 70), max_value=2 ** 70) | st.floats(allow_nan=True, allow_infinity=True)
           | st.sampled_from([10 ** 400, -(10 ** 400), 2 ** 63, -(2 ** 63) - 1, 1, 2, 3, True, None]))
JSON_VALUES = st.recursive(NUMBERS | st.text(max_size=5), lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=5), inner, max_size=4), max_leaves=12)


@pytest.fixture(scope="module")
def detection_ids(references) -> Tuple[List[int], List[int]]:
    """A few image ids and the category ids of the detection reference."""
    _, reference = load_reference(references["detection"])
    return reference.image_ids[:3].tolist(), reference.category_ids.tolist()


def detection(image_ids: List[int], category_ids: List[int]) -> st.SearchStrategy:
    """A detection with any of its keys, each a value of the reference or any JSON value."""
    return st.fixed_dictionaries({}, optional={
        "image_id": NUMBERS | st.sampled_from(image_ids), "category_id": NUMBERS | st.sampled_from(category_ids),
        "bbox": st.lists(NUMBERS, min_size=3, max_size=5) | JSON_VALUES, "score": NUMBERS, "extra": JSON_VALUES})


def json_text(value: object) -> bytes:
    return json.dumps(value, allow_nan=True).encode()


@given(data=st.data(), gz=st.booleans())
def test_any_json_value_gives_a_score_or_one_error_line(references, detection_ids, data, gz):
    text = json_text(data.draw(st.lists(detection(*detection_ids), max_size=6) | JSON_VALUES))
    name = "d.json.gz" if gz else "d.json"
    clean_outcome(submit(references["detection"], zipped({name: gzip.compress(text) if gz else text})))


@given(data=st.data())
def test_mutated_json_text_gives_a_score_or_one_error_line(references, detection_ids, data):
    (image_id, *_), (category_id, *_) = detection_ids
    valid = json_text([{"image_id": image_id, "category_id": category_id, "bbox": [1.5, 2, 10, 12], "score": 0.9}])
    text = data.draw(mutated(valid) | st.sampled_from([
        b"[" * 100_000, b"{\"a\":" * 50_000, b"1" * 5000, b"[NaN]", b"[Infinity, -Infinity]", b"[1e999]", b"\xff\xfe[",
        b"[{\"image_id\": 1e400}]", b"\"" + b"\\u0000" * 10 + b"\""]))
    clean_outcome(submit(references["detection"], zipped({"d.json": text})))
    clean_outcome(submit(references["detection"], zipped({"d.json.gz": data.draw(mutated(gzip.compress(text)))})))


# --- the PNG reader ------------------------------------------------------------------------------

MODES = st.sampled_from(["L", "P", "I;16", "I", "1", "F", "RGB", "RGBA", "LA", "PA", "I;16B"])


@given(mode=MODES, narrower=st.sampled_from([0, 1, None]), lower=st.booleans(),
       high=st.sampled_from([1, 33, 34, 255, 65535]), seed=st.integers(0, 10))
def test_any_png_mode_size_and_values_give_a_score_or_one_error_line(references, segmentation_image, mode, narrower, lower,
                                                                     high, seed):
    """The image's size, one pixel narrower or 1 wide (``narrower`` None), its height or 2."""
    name, width, height, sample = segmentation_image
    shape = (2 if lower else height, 1 if narrower is None else width - narrower)
    values = np.random.default_rng(seed).integers(0, high + 1, shape)
    try:
        data = png(values.astype(np.uint16 if high > 255 else np.uint8), mode)
    except (OSError, ValueError, KeyError):
        assume(False)  # Pillow cannot write that mode as PNG
    clean_outcome(submit(references["segmentation"], zipped({**sample, f"{name}.png": data})))


@given(data=st.data())
def test_damaged_png_data_gives_a_score_or_one_error_line(references, segmentation_image, data):
    name, width, height, sample = segmentation_image
    labels, _ = demo_scene(np.random.default_rng(1), width, height)
    image = data.draw(mutated(png(labels)))
    clean_outcome(submit(references["segmentation"], zipped({**sample, f"{name}.png": image})))


def test_a_png_header_claiming_huge_dimensions_is_refused_before_decoding(references, segmentation_image, monkeypatch):
    name, width, height, sample = segmentation_image
    labels, _ = demo_scene(np.random.default_rng(1), width, height)
    monkeypatch.setattr("scoring.challenges.segmentation.LIMITS", LIMITS.__class__(max_image_pixels=100))
    run = submit(references["segmentation"], zipped({**sample, f"{name}.png": png(labels)}))
    clean_outcome(run)
    assert f"{width}x{height} pixels, more than the limit of 100" in run.err


# --- the organiser's reference files -------------------------------------------------------------

@given(task=st.sampled_from(TASKS), info=st.binary(max_size=60) | JSON_VALUES.map(json_text),
       content=st.binary(max_size=300) | JSON_VALUES.map(json_text), keep_info=st.booleans(), labels=st.booleans(),
       data=st.data())
def test_any_reference_files_give_a_score_or_one_error_line(file_names, task, info, content, keep_info, labels, data):
    """One of the challenge's reference files (labelled or label-free) holds anything, and reference.json too."""
    name = data.draw(st.sampled_from(file_names[task]["labelled" if labels else "label-free"]))
    with tempfile.TemporaryDirectory() as folder:
        reference = Path(folder) / "ref"
        reference.mkdir()
        reference_info = json.dumps({"task": task, "labels": labels}).encode() if keep_info else info
        (reference / REFERENCE_INFO).write_bytes(reference_info)
        (reference / name).write_bytes(content)
        submission = Path(folder) / "s.csv"
        submission.write_bytes(b"Image IDs,Predictions\n")
        clean_outcome(score("--reference", reference, submission), allowed=(0, 1, 2))


# --- escaping on the results page ----------------------------------------------------------------

SCRIPT = "<script>alert(1)</script>"


@pytest.mark.parametrize("task", TASKS)
def test_hostile_names_of_reference_and_submission_reach_the_detailed_results_page_escaped(tmp_path, task):
    """The reference is the challenge's own hostile one where its test module gives one (``hostile_reference``: names
    the page shows hold SCRIPT), else its demo; the submission is a sample in a folder named SCRIPT."""
    hostile = challenge_fixture(task, "hostile_reference")
    if hostile:
        reference = hostile(tmp_path / "reference", SCRIPT)
    else:
        reference = tmp_path / "reference"
        challenges()[task].write_demo_reference(reference, 0)
    challenge, loaded = load_reference(reference)
    archive = tmp_path / "submission.zip"
    archive.write_bytes(zipped({f"{SCRIPT}/{name}": data for name, data in challenge.sample_submission(loaded, 1).items()}))
    run = score("--reference", reference, archive, "--output", tmp_path / "out")
    assert run.code == 0, run.err
    page = (tmp_path / "out" / "detailed_results.html").read_text()
    assert "<script" not in page.lower()
    assert not hostile or "&lt;script&gt;alert(1)&lt;/script&gt;" in page
