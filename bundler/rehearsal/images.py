"""Image files of generated arrays, for the generated datasets and the frames of their clips."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image


def image_file(array: np.ndarray, kind: str) -> bytes:
    """An image file (``kind`` "JPEG", at quality 95, or "PNG") of an array; the PNG's mode follows the array's type."""
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=kind, **({"quality": 95} if kind == "JPEG" else {}))
    return buffer.getvalue()
