"""Reading the participants' images, with one clear error per unreadable file, and the usual normalisation."""

from __future__ import annotations

from pathlib import Path
from typing import List, Sequence

from PIL import Image

from baselines.task import BaselineError

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)  # per-channel statistics of natural images


def read_image(path: Path, mode: str = "RGB") -> Image.Image:
    """The image at ``path`` in ``mode``, decoded; BaselineError naming the file if it cannot be."""
    try:
        with Image.open(path) as image:
            return image.convert(mode)
    except (OSError, ValueError, SyntaxError) as exc:  # Pillow's errors for a missing, damaged or foreign file
        raise BaselineError(f"{path}: not a readable image ({exc})") from None


def files(folder: Path, suffixes: Sequence[str]) -> List[Path]:
    """The files of ``folder`` (not below it) with one of ``suffixes`` (any case), sorted by name."""
    wanted = tuple(s.lower() for s in suffixes)
    return sorted(p for p in folder.iterdir() if p.is_file() and p.name.lower().endswith(wanted))
