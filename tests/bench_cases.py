"""What the benchmark cases of tests/bench.py share, and its leak-guard case.

Each challenge's case is a module of its own, ``tests/bench_<task, '-' written '_'>.py``, defining
``case(folder)``: it writes its data in ``folder`` and returns the commands to time, labelled. A case with a
``bundler results`` row (:func:`results_row`) also defines ``RESULTS_TARGET``: results may take at most this
many times one score.py run.
"""

from __future__ import annotations

import sys
import textwrap
import zipfile
from pathlib import Path
from typing import Callable, List, Tuple

from tests.helpers import REPO, write_zip

Command = List[str]
Case = Callable[[Path], List[Tuple[str, Command]]]


def ours(reference: Path, submission: Path, output: Path) -> Command:
    """Our scoring program, started exactly as a participant would run it locally."""
    return [sys.executable, str(REPO / "scoring" / "score.py"), "--reference", str(reference), str(submission),
            "--output", str(output), "--quiet"]


RESAMPLES = 1000
RESULTS_LABEL = f"bundler results, B={RESAMPLES}"


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
        results = json.loads(z.read(z.namelist()[0]))
    evaluation = COCOeval(truth, truth.loadRes(results), iouType=sys.argv[4])
    evaluation.evaluate()
    evaluation.accumulate()
    evaluation.summarize()
"""


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

