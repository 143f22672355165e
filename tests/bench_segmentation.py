"""Semantic segmentation at the MiniCity test size: ours beside cityscapesScripts, a case of tests/bench.py."""

from __future__ import annotations

from pathlib import Path
from typing import List, Tuple

from tests.bench_cases import Command, ours, results_row, snippet
from tests.helpers import write_reference, write_zip

#: results may take at most this many times one score.py run
RESULTS_TARGET = 2

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


def case(folder: Path) -> List[Tuple[str, Command]]:
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
