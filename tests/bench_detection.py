"""Detection at COCO val2017 scale: ours beside pycocotools and faster-coco-eval, a case of tests/bench.py."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Tuple

from tests.bench_cases import COCO_EVAL, RANK_ANALYSIS, RANK_LABEL, RESAMPLES, Command, ours, results_row, snippet
from tests.helpers import write_reference, write_zip

#: results may take at most this many times one score.py run
RESULTS_TARGET = 10


def case(folder: Path) -> List[Tuple[str, Command]]:
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
