"""The benchmark cases of tests/bench.py: each writes its data and returns the commands to time."""

from __future__ import annotations

import random
import sys
import textwrap
import zipfile
from pathlib import Path
from typing import Callable, Dict, List, Tuple

from tests.bench_reid import reidentification
from tests.helpers import REPO, write_reference, write_zip

Command = List[str]
Case = Callable[[Path], List[Tuple[str, Command]]]


def ours(reference: Path, submission: Path, output: Path) -> Command:
    """Our scoring program, started exactly as a participant would run it locally."""
    return [sys.executable, str(REPO / "scoring" / "score.py"), "--reference", str(reference), str(submission),
            "--output", str(output), "--quiet"]


RESAMPLES = 1000
RESULTS_LABEL = f"bundler results, B={RESAMPLES}"
TARGETS = {"detection": 10, "segmentation": 2}  # results may take at most this many times one score.py run


def results_row(name: str, reference: Path, submission: Path, folder: Path) -> Tuple[str, Command]:
    """``bundler results`` on a folder holding the one submission, with B resamples on every core."""
    entries = folder / "entries"
    entries.mkdir()
    (entries / "team.zip").hardlink_to(submission)
    return RESULTS_LABEL, [sys.executable, "-m", "bundler", "results", name, "--submissions", str(entries), "--reference",
                           str(reference), "--bootstrap", str(RESAMPLES), "--output", str(folder / "results")]


RANK_ENTRANTS = 30
RANK_LABEL = f"rank analysis, {RANK_ENTRANTS} entrants"
RANK_ANALYSIS = f"""
import sys
import numpy as np
from bundler.results.stability import analyse
points = np.linspace(0.5, 0.2, {RANK_ENTRANTS})
primaries = points[:, None] + np.random.default_rng(0).normal(0, 0.02, ({RANK_ENTRANTS}, int(sys.argv[1])))
analyse(points, primaries)
"""


def snippet(code: str, *args: object) -> Command:
    """A command running a Python snippet with this interpreter."""
    return [sys.executable, "-c", textwrap.dedent(code), *map(str, args)]


SKLEARN_CLASSIFICATION = """
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

SKLEARN_ACTION = """
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


def classification(folder: Path) -> List[Tuple[str, Command]]:
    """The 2020 test set size: 50 000 images, 1 000 classes, a random submission."""
    rng = random.Random(0)
    labels = [rng.randrange(1000) for _ in range(50_000)]
    rows = "".join(f"img_{i}.JPEG,{label}\n" for i, label in enumerate(labels))
    ref = write_reference(folder / "ref", {"task": "classification"}, {"labels.csv": "image,label\n" + rows})
    guesses = "".join(f"img_{i}.JPEG,{rng.randrange(1000)}\n" for i in range(50_000))
    sub = write_zip(folder / "sub.zip", {"predictions.csv": "Image IDs,Predictions\n" + guesses})
    return [
        ("vipriors-bench", ours(ref, sub, folder / "out")),
        ("scikit-learn", snippet(SKLEARN_CLASSIFICATION, ref / "labels.csv", sub)),
    ]


def action(folder: Path) -> List[Tuple[str, Command]]:
    """The 2020 test set size: 3 783 clips, 101 classes, five ranked guesses each."""
    rng = random.Random(0)
    clips = [f"video_test_{i:07d}.avi" for i in range(1, 3784)]
    lines = "".join(f"{clip} {rng.randint(1, 101)}\n" for clip in clips)
    ref = write_reference(folder / "ref", {"task": "action"}, {"labels.txt": lines})
    guesses = "".join(f"{clip} {' '.join(map(str, rng.sample(range(1, 102), 5)))}\n" for clip in clips)
    sub = write_zip(folder / "sub.zip", {"predictions.txt": guesses})
    return [
        ("vipriors-bench", ours(ref, sub, folder / "out")),
        ("scikit-learn", snippet(SKLEARN_ACTION, ref / "labels.txt", sub)),
    ]


CITYSCAPES = """
import sys
import numpy as np
if not hasattr(np, "in1d"):
    np.in1d = np.isin
from pathlib import Path
from cityscapesscripts.evaluation import evalPixelLevelSemanticLabeling as ev
ref, pred = Path(sys.argv[1]), Path(sys.argv[2])
truth = sorted(ref.glob("*_gtFine_labelIds.png"))
predictions = [pred / (p.name[: -len("_gtFine_labelIds.png")] + ".png") for p in truth]
ev.args.quiet = True
ev.args.JSONOutput = False
ev.evaluateImgLists([str(p) for p in predictions], [str(p) for p in truth], ev.args)
"""

DECODE_ONLY = """
import io, sys, zipfile
from pathlib import Path
import numpy as np
from PIL import Image
with zipfile.ZipFile(sys.argv[2]) as z:
    for name in z.namelist():
        np.asarray(Image.open(io.BytesIO(z.read(name))))
for path in sorted(Path(sys.argv[1]).glob("*.png")):
    np.asarray(Image.open(path))
"""


def segmentation(folder: Path) -> List[Tuple[str, Command]]:
    """The MiniCity test size: 200 generated 2048x1024 scenes (10 distinct ones, each under 20 names)."""
    import io

    import numpy as np
    from PIL import Image

    from scoring.challenges.segmentation import demo_scene

    def png(array: np.ndarray) -> bytes:
        buffer = io.BytesIO()
        Image.fromarray(array).save(buffer, format="PNG")
        return buffer.getvalue()

    rng = np.random.default_rng(0)
    ref = write_reference(folder / "ref", {"task": "segmentation"}, {})
    (folder / "pred").mkdir()
    submission = {}
    for scene in range(10):
        labels, instances = demo_scene(rng, 2048, 1024)
        prediction = labels.copy()
        noise = rng.random(labels.shape) < 0.1
        prediction[noise] = rng.integers(0, 34, int(noise.sum()))
        encoded = png(labels), png(instances), png(prediction)
        for copy in range(20):
            name = f"{scene:02d}{copy:02d}{rng.integers(1 << 40):014d}"
            (ref / f"{name}_gtFine_labelIds.png").write_bytes(encoded[0])
            (ref / f"{name}_gtFine_instanceIds.png").write_bytes(encoded[1])
            (folder / "pred" / f"{name}.png").write_bytes(encoded[2])
            submission[f"{name}.png"] = encoded[2]
    sub = write_zip(folder / "sub.zip", submission)
    return [
        ("vipriors-bench", ours(ref, sub, folder / "out")),
        ("cityscapesScripts", snippet(CITYSCAPES, ref, folder / "pred")),
        ("decode only (floor)", snippet(DECODE_ONLY, ref, sub)),
        results_row("segmentation", ref, sub, folder),
    ]


COCO_EVAL = """
import contextlib, io, json, sys, zipfile
if sys.argv[3] == "faster-coco-eval":
    from faster_coco_eval import COCO, COCOeval_faster as COCOeval
else:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
with contextlib.redirect_stdout(io.StringIO()):
    truth = COCO(sys.argv[1])
    with zipfile.ZipFile(sys.argv[2]) as z:
        results = json.loads(z.read("detections.json"))
    evaluation = COCOeval(truth, truth.loadRes(results), iouType=sys.argv[4])
    evaluation.evaluate()
    evaluation.accumulate()
    evaluation.summarize()
"""


def detection(folder: Path) -> List[Tuple[str, Command]]:
    """COCO val2017 scale: 5 000 images, about 37 000 boxes, 80 categories, about 500 000 detections."""
    import json

    from tests.coco_cases import generate

    truth, results = generate(0, images=5000, categories=80, per_image=7.5, detections=100, empty_rate=0.01, size=640)
    ref = write_reference(folder / "ref", {"task": "detection"}, {"annotations.json": json.dumps(truth)})
    sub = write_zip(folder / "sub.zip", {"detections.json": json.dumps(results)})
    print(f"detection: {len(truth['annotations'])} boxes, {len(results)} detections", file=sys.stderr)
    return [
        ("vipriors-bench", ours(ref, sub, folder / "out")),
        ("pycocotools", snippet(COCO_EVAL, ref / "annotations.json", sub, "pycocotools", "bbox")),
        ("faster-coco-eval", snippet(COCO_EVAL, ref / "annotations.json", sub, "faster-coco-eval", "bbox")),
        results_row("detection", ref, sub, folder),
        (RANK_LABEL, snippet(RANK_ANALYSIS, RESAMPLES)),
    ]


OUR_MASK_AP = """
import json, sys, zipfile
sys.path.insert(0, sys.argv[3])
from tests.coco_mask_cases import ours
with open(sys.argv[1]) as f:
    truth = json.load(f)
with zipfile.ZipFile(sys.argv[2]) as z:
    results = json.loads(z.read("detections.json"))
ours(truth, results)
"""


def instance_segmentation(folder: Path) -> List[Tuple[str, Command]]:
    """1 000 full-HD images, 15 objects and 100 masks each (compressed RLE), mask AP as COCOeval("segm").

    Until the challenge's module exists, ours is the metric (scoring/metrics: RLE decoding and COCO
    mask AP) started on the same two files as the others, JSON reading included.
    """
    import json

    from tests.coco_mask_cases import basketball

    truth, results = basketball(0)
    (folder / "annotations.json").write_text(json.dumps(truth))
    sub = write_zip(folder / "sub.zip", {"detections.json": json.dumps(results)})
    print(f"instance segmentation: {len(truth['annotations'])} masks, {len(results)} results", file=sys.stderr)
    return [
        ("vipriors-bench", snippet(OUR_MASK_AP, folder / "annotations.json", sub, REPO)),
        ("pycocotools", snippet(COCO_EVAL, folder / "annotations.json", sub, "pycocotools", "segm")),
        ("faster-coco-eval", snippet(COCO_EVAL, folder / "annotations.json", sub, "faster-coco-eval", "segm")),
    ]


def leak_guard(folder: Path) -> List[Tuple[str, Command]]:
    """``bundler check`` of a classification bundle with 10 000 test items and their public data, guard on and off."""
    from bundler.bundles.build import build
    from bundler.config.competition import load_competition
    from bundler.data.builder import Selection, builders
    from bundler.data.builder import build as build_data
    from tests.fake_datasets import small_imagenet

    source = small_imagenet(folder / "source", classes=100, train=20, val=100)
    data = folder / "data"
    build_data(builders()["classification"], source, data, Selection(seed=1, sizes={"train": 10, "val": 10, "test": 100}))
    bundle = build(load_competition("classification"), folder / "plain.zip", data=data).path
    public = {f"public/{p.relative_to(data / 'public').as_posix()}": p.read_bytes()
              for p in sorted((data / "public").rglob("*")) if p.is_file()}
    with zipfile.ZipFile(bundle) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    files["public_data.zip"] = write_zip(folder / "public_data.zip", public).read_bytes()
    bundled = write_zip(folder / "bundle.zip", files)
    print(f"leak guard: {len(public)} public data files, 10 000 test items", file=sys.stderr)
    check = [sys.executable, "-m", "bundler", "check", str(bundled)]
    return [("bundler check --no-leak-guard", [*check, "--no-leak-guard"]), ("bundler check (leak guard on)", check)]


CASES: Dict[str, Case] = {
    "classification": classification,
    "action": action,
    "segmentation": segmentation,
    "detection": detection,
    "instance-segmentation": instance_segmentation,
    "reidentification": reidentification,
    "leak-guard": leak_guard,
}
