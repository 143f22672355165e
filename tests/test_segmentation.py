"""Segmentation scorer: equal to cityscapesScripts on generated scenes, every error path, every PNG variant."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import List, Tuple

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from scoring.challenges import segmentation
from scoring.challenges.segmentation import LabelMaps, demo_scene, label_map_fact
from scoring.facts import HiddenFacts
from scoring.metrics.cityscapes import CATEGORIES, LABELS, PixelLevelEvaluation
from tests.helpers import assert_rejected, found_in, leaked, score, write_reference, write_zip

if not hasattr(np, "in1d"):  # cityscapesScripts calls np.in1d, removed in numpy 2.4
    np.in1d = np.isin
from cityscapesscripts.evaluation import evalPixelLevelSemanticLabeling as cityscapes  # noqa: E402

WIDTH, HEIGHT = 200, 100


def png(array: np.ndarray, mode: str = "") -> bytes:
    buffer = io.BytesIO()
    image = Image.fromarray(array) if not mode else Image.fromarray(array).convert(mode)
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def scenes(seed: int, count: int):
    rng = np.random.default_rng(seed)
    return [demo_scene(rng, WIDTH, HEIGHT) for _ in range(count)]


def noisy(labels: np.ndarray, rng: np.random.Generator, rate: float, never: tuple = ()) -> np.ndarray:
    prediction = labels.copy()
    noise = rng.random(labels.shape) < rate
    prediction[noise] = rng.integers(0, 34, int(noise.sum()))
    for label in never:  # classes never predicted
        prediction[prediction == label] = 7
    return prediction


def reference_folder(tmp_path, ground_truth):
    files = {}
    for i, (labels, instances) in enumerate(ground_truth):
        files[f"{i:04d}_gtFine_labelIds.png"] = png(labels)
        files[f"{i:04d}_gtFine_instanceIds.png"] = png(instances)
    return write_reference(tmp_path / "ref", {"task": "segmentation"}, files)


def oracle(tmp_path, ref, predictions):
    (tmp_path / "pred").mkdir(exist_ok=True)
    prediction_files, truth_files = [], []
    for i, prediction in enumerate(predictions):
        (tmp_path / "pred" / f"{i:04d}.png").write_bytes(png(prediction))
        prediction_files.append(str(tmp_path / "pred" / f"{i:04d}.png"))
        truth_files.append(str(ref / f"{i:04d}_gtFine_labelIds.png"))
    cityscapes.args.quiet = True
    cityscapes.args.JSONOutput = False
    return cityscapes.evaluateImgLists(prediction_files, truth_files, cityscapes.args)


def ours(tmp_path, ref, predictions):
    sub = write_zip(tmp_path / "sub.zip", {f"{i:04d}.png": png(p) for i, p in enumerate(predictions)})
    run = score("--reference", ref, sub, "--output", tmp_path / "out")
    assert run.code == 0, run.err
    return json.loads((tmp_path / "out" / "scores.json").read_text())


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or abs(a - b) <= 1e-9


@pytest.mark.parametrize("seed", range(4))
def test_every_number_equals_cityscapes_scripts(tmp_path, seed):
    rng = np.random.default_rng(100 + seed)
    truth = scenes(seed, 5)
    never = (26, 33) if seed % 2 else ()  # classes absent from the predictions
    predictions = [noisy(labels, rng, 0.05 + 0.1 * seed, never) for labels, _ in truth]
    ref = reference_folder(tmp_path, truth)
    expected = oracle(tmp_path, ref, predictions)
    got = ours(tmp_path, ref, predictions)
    assert same(got["iou_class"], expected["averageScoreClasses"])
    assert same(got["iiou_class"], expected["averageScoreInstClasses"])
    assert same(got["iou_category"], expected["averageScoreCategories"])
    assert same(got["iiou_category"], expected["averageScoreInstCategories"])

    evaluation = PixelLevelEvaluation()
    for (labels, instances), prediction in zip(truth, predictions):
        evaluation.update(prediction, labels, instances)
    scores = evaluation.compute()
    for label in LABELS:
        assert same(scores.class_iou[label.name], expected["classScores"][label.name]), label.name
        assert same(scores.class_iiou[label.name], expected["classInstScores"][label.name]), label.name
    for category in CATEGORIES:
        assert same(scores.category_iou[category], expected["categoryScores"][category]), category
        assert same(scores.category_iiou[category], expected["categoryInstScores"][category]), category
    assert np.array_equal(scores.confusion, np.asarray(expected["confMatrix"], dtype=np.int64))


def test_classes_absent_from_the_ground_truth_are_skipped_in_the_means(tmp_path):
    labels = np.full((HEIGHT, WIDTH), 7, np.uint8)
    labels[:50] = 23
    labels[60:70, 10:30] = 24
    instances = labels.astype(np.uint16)
    instances[60:70, 10:30] = 24001
    prediction = labels.copy()
    prediction[0:5] = 11  # predicted, absent from the ground truth: IoU 0 for building
    ref = reference_folder(tmp_path, [(labels, instances)])
    expected = oracle(tmp_path, ref, [prediction])
    got = ours(tmp_path, ref, [prediction])
    assert same(got["iou_class"], expected["averageScoreClasses"])
    assert same(got["iiou_class"], expected["averageScoreInstClasses"])


def test_pixel_accuracy_counts_only_pixels_of_evaluated_classes(tmp_path):
    labels = np.full((HEIGHT, WIDTH), 7, np.uint8)
    labels[:, : WIDTH // 2] = 0  # unlabeled: ignored
    prediction = np.full_like(labels, 7)
    prediction[:10, WIDTH // 2:] = 8
    ref = reference_folder(tmp_path, [(labels, labels.astype(np.uint16))])
    got = ours(tmp_path, ref, [prediction])
    assert got["pixel_accuracy"] == pytest.approx(1 - 10 * (WIDTH // 2) / (HEIGHT * WIDTH // 2))


def test_a_perfect_submission_scores_one_everywhere(tmp_path):
    truth = scenes(7, 3)
    ref = reference_folder(tmp_path, truth)
    got = ours(tmp_path, ref, [labels for labels, _ in truth])
    assert [got[k] for k in ("iou_class", "iiou_class", "iou_category", "iiou_category", "pixel_accuracy")] == [1.0] * 5


@pytest.mark.parametrize("mode", ["L", "P", "I;16", "I"])
def test_every_single_channel_png_variant_gives_the_same_scores(tmp_path, monkeypatch, mode):
    truth = scenes(3, 2)
    rng = np.random.default_rng(3)
    predictions = [noisy(labels, rng, 0.2) for labels, _ in truth]
    ref = reference_folder(tmp_path, truth)
    expected = ours(tmp_path, ref, predictions)

    def encoded(array):
        if mode == "P":
            image = Image.fromarray(array, "P")
            image.putpalette([v for i in range(256) for v in ((i * 7) % 256, (i * 3) % 256, i)])
        elif mode == "I;16":
            image = Image.fromarray(array.astype(np.uint16))
        elif mode == "I":  # older Pillow opens 16-bit PNGs as "I"; newer ones cannot write "I" as PNG
            image = Image.fromarray(array.astype(np.uint16)).convert("I")
        else:
            image = Image.fromarray(array)
        assert image.mode == mode
        buffer = io.BytesIO()
        (image.convert("I;16") if mode == "I" else image).save(buffer, format="PNG")
        return buffer.getvalue()

    if mode == "I":
        opened_as_16_bit = segmentation.Image.open

        def open_as_old_pillow(*args, **kwargs):
            image = opened_as_16_bit(*args, **kwargs)
            if image.mode != "I;16":
                return image
            converted = image.convert("I")
            converted.format = image.format
            return converted

        monkeypatch.setattr(segmentation.Image, "open", open_as_old_pillow)
    sub = write_zip(tmp_path / "v.zip", {f"images/{i:04d}.png": encoded(p) for i, p in enumerate(predictions)})
    run = score("--reference", ref, sub, "--output", tmp_path / "v")
    assert run.code == 0, run.err
    assert json.loads((tmp_path / "v" / "scores.json").read_text()) == expected


@pytest.fixture
def two_images(tmp_path):
    truth = scenes(5, 2)
    return reference_folder(tmp_path, truth), [labels for labels, _ in truth]


def rejected(tmp_path, ref, files, *fragments):
    sub = write_zip(tmp_path / "bad.zip", files)
    assert_rejected(score("--reference", ref, sub, "--output", tmp_path / "o"), tmp_path / "o", *fragments)


def test_an_rgb_image_is_rejected_saying_labelids_not_colours(tmp_path, two_images):
    ref, labels = two_images
    rgb = np.stack([labels[1]] * 3, axis=-1)
    rejected(tmp_path, ref, {"0000.png": png(labels[0]), "0001.png": png(rgb)}, "0001.png", "RGB", "not colours")


def test_a_size_mismatch_is_rejected(tmp_path, two_images):
    ref, labels = two_images
    rejected(tmp_path, ref, {"0000.png": png(labels[0]), "0001.png": png(labels[1][:50])},
             "0001.png: size 200x50, expected 200x100")


def test_a_value_outside_0_33_is_rejected_naming_the_image_and_value(tmp_path, two_images):
    ref, labels = two_images
    bad = labels[1].copy()
    bad[4, 9] = 34
    rejected(tmp_path, ref, {"0000.png": png(labels[0]), "0001.png": png(bad)},
             "0001.png: value 34 at row 4, column 9", "(0..33)")


def test_missing_unknown_doubled_and_unreadable_images_are_rejected(tmp_path, two_images):
    ref, labels = two_images
    rejected(tmp_path, ref, {"0000.png": png(labels[0])}, "missing image 0001.png", "2 in all")
    rejected(tmp_path, ref, {"0000.png": png(labels[0]), "0001.png": png(labels[1]), "9999.png": png(labels[1])},
             "9999.png: unknown image")
    rejected(tmp_path, ref, {"a/0000.png": png(labels[0]), "b/0000.png": png(labels[0]), "0001.png": png(labels[1])},
             "appears twice")
    rejected(tmp_path, ref, {"0000.png": png(labels[0]), "0001.png": b"not a png at all"}, "0001.png: not a readable PNG")
    jpeg = io.BytesIO()
    Image.fromarray(labels[1]).save(jpeg, format="JPEG")
    rejected(tmp_path, ref, {"0000.png": png(labels[0]), "0001.png": jpeg.getvalue()}, "0001.png: a JPEG image")


def test_the_detailed_page_shows_per_class_scores_and_the_confusion_matrix(tmp_path, two_images):
    ref, labels = two_images
    ours(tmp_path, ref, labels)
    page = (tmp_path / "out" / "detailed_results.html").read_text()
    assert "IoU per class" in page and "traffic sign" in page and "Confusion matrix" in page and "<svg" in page


def test_a_written_label_map_reads_back_as_the_same_labelids_and_a_value_that_is_no_labelid_is_refused():
    labels = demo_scene(np.random.default_rng(1), 32, 16)[0]
    files = segmentation.CHALLENGE.write_submission({"scene": labels})
    assert list(files) == ["scene.png"]
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(files["scene.png"]))), labels)
    with pytest.raises(ValueError, match="scene: expected a 2-D map of labelIds 0..33"):
        segmentation.CHALLENGE.write_submission({"scene": np.full((4, 4), 34)})


# ---------- for the shared tests (tests/challenge_fixtures.py) ----------

def restatements(reference_folder: Path, hidden: HiddenFacts) -> List[Tuple[str, bytes]]:
    """The first hidden label map re-encoded as a palette PNG and as a 16-bit PNG."""
    first = min(reference_folder.glob(f"*{segmentation.CHALLENGE.layout.label_suffix}"))
    labels = np.asarray(Image.open(first))
    return [("masks/one.png", png(labels, "P")), ("gt/one.png", png(labels.astype(np.uint16)))]


# The label maps the leak guard looks for, as a property: any re-encoding is found; another map never is.
LABEL_MAP = np.random.default_rng(3).choice(np.array([0, 7, 8, 11, 24, 26], np.uint8), (24, 40))
MAP_FACTS = LabelMaps(frozenset({label_map_fact(LABEL_MAP)}))


@given(mode=st.sampled_from(["L", "P", "I;16", "RGB", "RGBA"]), level=st.integers(0, 9), optimize=st.booleans(),
       noise=st.integers(0, 23 * 39))
def test_any_re_encoding_of_a_label_map_is_found_and_another_map_never_is(mode, level, optimize, noise):
    def png(labels: np.ndarray) -> bytes:
        image = {"L": lambda: Image.fromarray(labels, "L"), "P": lambda: Image.fromarray(labels, "L").convert("P"),
                 "I;16": lambda: Image.fromarray(labels.astype(np.uint16)),
                 "RGB": lambda: Image.fromarray(np.stack([labels] * 3, axis=-1)),
                 "RGBA": lambda: Image.fromarray(np.stack([labels] * 3 + [np.full_like(labels, 255)], axis=-1))}[mode]()
        buffer = io.BytesIO()
        image.save(buffer, format="PNG", compress_level=level, optimize=optimize)
        return buffer.getvalue()

    assert leaked(found_in(png(LABEL_MAP), MAP_FACTS), MAP_FACTS)
    other = LABEL_MAP.copy()
    other.flat[noise] = 33 if other.flat[noise] != 33 else 7
    assert not leaked(found_in(png(other), MAP_FACTS), MAP_FACTS)
