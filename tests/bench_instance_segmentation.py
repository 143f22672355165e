"""Instance segmentation, COCO mask AP: ours beside pycocotools and faster-coco-eval, a case of tests/bench.py."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Tuple

from tests.bench_cases import COCO_EVAL, Command, ours, results_row, snippet
from tests.helpers import write_reference, write_zip

#: results may take at most this many times one score.py run
RESULTS_TARGET = 10


def case(folder: Path) -> List[Tuple[str, Command]]:
    """1 000 full-HD images, 15 objects and 100 masks each (compressed RLE), mask AP as COCOeval("segm")."""
    import json

    from tests.coco_mask_cases import basketball

    truth, results = basketball(0)
    ref = write_reference(folder / "ref", {"task": "instance-segmentation"}, {"annotations.json": json.dumps(truth)})
    sub = write_zip(folder / "sub.zip", {"masks.json": json.dumps(results)})
    print(f"instance segmentation: {len(truth['annotations'])} masks, {len(results)} results", file=sys.stderr)
    return [
        ("vipriors-bench", ours(ref, sub, folder / "out")),
        ("pycocotools", snippet(COCO_EVAL, ref / "annotations.json", sub, "pycocotools", "segm")),
        ("faster-coco-eval", snippet(COCO_EVAL, ref / "annotations.json", sub, "faster-coco-eval", "segm")),
        results_row("instance-segmentation", ref, sub, folder),
    ]
