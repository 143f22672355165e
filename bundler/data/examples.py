"""The shared writers of the builders' generated example sources: image files, noisy colour patches, files in folders.

Each builder's ``example_source`` writes a small dataset in its archive's layout whose labels are a simple
function of the pixels (one of :data:`COLOURS` per class), so that ``bundler data`` reads it as it reads the
real one and a baseline trained for a few epochs learns it.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Tuple

import numpy as np
from PIL import Image

#: RGB colours of the generated classes: red, green, blue, yellow, magenta, cyan
COLOURS = np.array([[220, 40, 40], [40, 200, 60], [50, 70, 230], [230, 210, 40], [200, 60, 220], [40, 200, 210]])


def image_file(array: np.ndarray, kind: str) -> bytes:
    """An image file (``kind`` "JPEG", at quality 95, or "PNG") of an array; the PNG's mode follows the array's type."""
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=kind, **({"quality": 95} if kind == "JPEG" else {}))
    return buffer.getvalue()


def noisy(rng: np.random.Generator, colour: np.ndarray, shape: Tuple[int, int]) -> np.ndarray:
    """A patch of ``colour`` with Gaussian noise, as uint8 RGB."""
    return np.clip(colour + rng.normal(0, 12, (*shape, 3)), 0, 255).astype(np.uint8)


def write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path``, creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
