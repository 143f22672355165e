"""Each challenge's resampler equals a slow reference bootstrap: the reference implementation run in full
on the resampled items (pycocotools, cityscapesScripts, scikit-learn), with the same resamples; the
identity resample gives the ordinary score."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, balanced_accuracy_score

from scoring.challenges.detection import Entries, _read_reference
from scoring.challenges.segmentation import Segmentation
from scoring.metrics.cocoeval import evaluate
from scoring.metrics.topk import TopKAccuracy
from scoring.resampling import resample_counts, resample_draws
from scoring.submission import Submission
from tests.coco_cases import generate, pycocotools_stats
from tests.helpers import write_zip
from tests.test_segmentation import cityscapes, noisy, png, reference_folder, scenes

SEED = 11


@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")  # -1 stands for "no prediction"
@pytest.mark.parametrize("per_class", [False, True])
def test_accuracy_on_resamples_equals_scikit_learn_on_the_resampled_items(per_class):
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 7, 300)
    predicted = np.where(rng.random(300) < 0.4, labels, rng.integers(0, 7, 300))
    metric = TopKAccuracy(labels, 7, (1,))
    for index, guess in enumerate(predicted):
        if index % 17:  # some items have no prediction: they count as wrong
            metric.update(index, [int(guess)])
    seen = np.where(metric.seen, predicted, -1)
    resampler = metric.resampler(1, per_class)
    oracle_score = balanced_accuracy_score if per_class else accuracy_score
    assert resampler.primary(np.ones(300, np.int64)) == pytest.approx(oracle_score(labels, seen), abs=1e-12)
    for index in range(20):
        draws = resample_draws(SEED, index, 300)
        expected = oracle_score(labels[draws], seen[draws])
        assert resampler.primary(resample_counts(SEED, index, 300)) == pytest.approx(expected, abs=1e-12)


def resampled_coco(truth, results, draws):
    """Ground truth and detections with each drawn image repeated under consecutive new ids."""
    order = [image["id"] for image in truth["images"]]
    counts = np.bincount(draws, minlength=len(order))
    new_ids = {}
    images, annotations, detections = [], [], []
    for position, image_id in enumerate(order):
        new_ids[image_id] = list(range(len(images) + 1, len(images) + 1 + int(counts[position])))
        images += [{"id": new, "width": 400, "height": 400} for new in new_ids[image_id]]
    for annotation in truth["annotations"]:
        for new in new_ids[annotation["image_id"]]:
            annotations.append(dict(annotation, id=len(annotations) + 1, image_id=new))
    for result in results:
        detections += [dict(result, image_id=new) for new in new_ids[result["image_id"]]]
    return {"images": images, "annotations": annotations, "categories": truth["categories"]}, detections


@pytest.mark.parametrize("seed", range(3))
def test_coco_ap_on_resamples_equals_pycocotools_on_the_resampled_images_ties_included(tmp_path, seed):
    truth, results = generate(seed, images=25, tie_rate=0.4)
    (tmp_path / "annotations.json").write_text(json.dumps(truth))
    reference = _read_reference(tmp_path / "annotations.json")
    engine = evaluate(reference.truth, Entries("x", reference).arrays(results), len(reference.image_ids),
                      len(reference.category_ids))
    resampler = engine.resampler
    assert resampler.primary(np.ones(resampler.items, np.int64)) == engine.stats[0]
    for index in range(6):
        draws = resample_draws(SEED, index, resampler.items)
        expected = pycocotools_stats(*resampled_coco(truth, results, draws))[0][0]
        assert abs(resampler.primary(np.bincount(draws, minlength=resampler.items)) - expected) <= 1e-12, index


def test_class_iou_on_resamples_equals_cityscapes_scripts_on_the_resampled_images(tmp_path):
    truth = scenes(5, 6)
    reference = reference_folder(tmp_path, truth)
    rng = np.random.default_rng(2)
    predictions = [noisy(labels, rng, 0.3) for labels, _ in truth]
    challenge = Segmentation()
    loaded = challenge.load_reference(reference, {})
    with Submission(write_zip(tmp_path / "s.zip", {f"{i:04d}.png": png(p) for i, p in enumerate(predictions)}),
                    1 << 30) as submission:
        result = challenge.score(loaded, submission)
    resampler = result.resampler
    assert resampler.primary(np.ones(6, np.int64)) == result.scores["iou_class"]
    files = []
    for i, prediction in enumerate(predictions):
        files.append(tmp_path / f"pred{i}.png")
        files[-1].write_bytes(png(prediction))
    cityscapes.args.quiet, cityscapes.args.JSONOutput = True, False
    for index in range(4):
        draws = resample_draws(SEED, index, 6)
        expected = cityscapes.evaluateImgLists([str(files[i]) for i in draws],
                                               [str(reference / f"{i:04d}_gtFine_labelIds.png") for i in draws],
                                               cityscapes.args)
        assert abs(resampler.primary(np.bincount(draws, minlength=6)) - expected["averageScoreClasses"]) <= 1e-12


def test_resamples_are_the_same_in_any_order_and_process():
    forward = [resample_counts(5, index, 40) for index in range(10)]
    backward = [resample_counts(5, index, 40) for index in reversed(range(10))][::-1]
    assert all((a == b).all() for a, b in zip(forward, backward))
    assert all(counts.sum() == 40 for counts in forward) and not (forward[0] == forward[1]).all()
    assert (resample_counts(5, 3, 40) != resample_counts(6, 3, 40)).any()


def test_the_draws_of_a_seed_never_change():
    """Pinned: results published with a seed can be reproduced later, on any machine."""
    assert resample_draws(0, 0, 10).tolist() == [8, 6, 5, 2, 3, 0, 0, 0, 1, 8]
    assert resample_draws(2027, 5, 7).tolist() == [3, 4, 5, 1, 4, 3, 1]
